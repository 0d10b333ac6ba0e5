/**
 * How much finished history the simulator's exchange keeps for queries (GET /portfolio/orders,
 * /portfolio/fills, /portfolio/settlements, /markets/trades), so a long run has bounded memory.
 * Kalshi keeps everything; the simulator keeps a window: the newest `maxCount` entries of each
 * list, none older than `maxAgeMs` on the exchange's clock. Resting orders are never dropped.
 * Lists are trimmed from the oldest end in batches (past the bound by a slack), so the cost of
 * trimming is amortized over many appends. Part of the matching engine (src/sim/matching).
 */

export interface HistoryRetention {
  /** Newest entries kept per list (per account: finished orders, fills, settlements; per market: trades). */
  maxCount: number;
  /** Entries older than this (exchange clock, ms) are dropped. */
  maxAgeMs: number;
}

/** Keep everything (the Exchange class's default: tests, benchmarks and the RL environment). */
export const KEEP_ALL_HISTORY: HistoryRetention = { maxCount: Infinity, maxAgeMs: Infinity };

/** Fills in what `partial` leaves out from `base`, and checks the bounds. */
export function resolveRetention(partial: Partial<HistoryRetention> | undefined, base: HistoryRetention): HistoryRetention {
  const r = { maxCount: partial?.maxCount ?? base.maxCount, maxAgeMs: partial?.maxAgeMs ?? base.maxAgeMs };
  if (!(r.maxCount >= 0)) throw new RangeError(`history maxCount must be a non-negative number, got ${r.maxCount}`);
  if (!(r.maxAgeMs >= 0)) throw new RangeError(`history maxAgeMs must be a non-negative number of ms, got ${r.maxAgeMs}`);
  return r;
}

/** How far past maxCount a list may grow before it is trimmed. */
export function countSlack(r: HistoryRetention): number {
  return Math.max(64, Math.floor(r.maxCount / 4));
}

/** How far past maxAgeMs the oldest entry may be before a list is trimmed. */
export function ageSlack(r: HistoryRetention): number {
  return Math.max(1_000, Math.floor(r.maxAgeMs / 8));
}

/**
 * How many entries to drop from the front of an oldest-first list: 0 until the list is past its
 * bound by the slack, then every entry beyond maxCount and every leading entry older than
 * `nowMs − maxAgeMs`. `ts` is an entry's time.
 */
export function excessAtFront<T>(list: readonly T[], r: HistoryRetention, nowMs: number, ts: (entry: T) => number): number {
  const n = list.length;
  if (n === 0) return 0;
  const overCount = n > r.maxCount + countSlack(r);
  const cutoff = nowMs - r.maxAgeMs;
  const overAge = ts(list[0]!) < cutoff - ageSlack(r);
  if (!overCount && !overAge) return 0;
  let drop = overCount ? n - r.maxCount : 0;
  if (r.maxAgeMs !== Infinity) while (drop < n && ts(list[drop]!) < cutoff) drop++;
  return drop;
}

/** Drops what `excessAtFront` says from an oldest-first list; returns the dropped entries. */
export function trimFront<T>(list: T[], r: HistoryRetention, nowMs: number, ts: (entry: T) => number): T[] {
  const drop = excessAtFront(list, r, nowMs, ts);
  return drop === 0 ? [] : list.splice(0, drop);
}
