/**
 * Retention: deletes history older than a cutoff, in short batches (the embedded PGlite runs one
 * transaction at a time, and the trader's journal writes share its one connection), then
 * VACUUMs what it touched so the freed space is reused (PGlite has no autovacuum; on a server
 * this only does early what autovacuum would do).
 *
 * What goes, when older than the cutoff:
 * - finished orders (filled, canceled, expired, rejected, denied — and not resting at the venue
 *   as far as the journal knows) with all their order events;
 * - trader decisions no kept order points to;
 * - finished sync runs (with their findings, position and balance snapshots), except the newest
 *   finished run of each environment (the account snapshot a start-up reads);
 * - with `recordings`: recorded sessions that ended before the cutoff, with every snapshot,
 *   delta, trade and gap row.
 * What always stays: fills (the money ledger: reconciliation compares them with the venue's, and
 * a fill the venue still lists must not look new), every open or unanswered order and its events,
 * active recordings. Part of src/adapters/store.
 */
import type { Pool } from 'pg';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import { query } from './database.ts';

export interface PruneOptions {
  /** Rows older than this (Unix ms) go. */
  beforeMs: number;
  /** Also delete recorded sessions that ended before the cutoff (default false). */
  recordings?: boolean;
  /** Rows per DELETE statement (default 2,000). */
  batchSize?: number;
  /** Count what would go, delete nothing. */
  dryRun?: boolean;
  /** Called between batches, e.g. to yield to the trader (default: a macrotask). */
  pause?: () => Promise<void>;
}

export interface PruneResult {
  orders: number;
  orderEvents: number;
  decisions: number;
  syncRuns: number;
  recordingSessions: number;
  /** Snapshot, delta, trade and gap rows of the deleted recordings. */
  recordedRows: number;
}

const CLOSED_ORDER_SQL = "('filled', 'canceled', 'expired', 'rejected', 'denied')";

const PRUNABLE_ORDERS = `
  SELECT client_order_id FROM orders
   WHERE state IN ${CLOSED_ORDER_SQL} AND updated_ms < $1 AND venue_status IS DISTINCT FROM 'resting'`;

const PRUNABLE_DECISIONS = `
  SELECT d.id FROM trader_decisions d
   WHERE d.at_ms < $1 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.decision_id = d.id)`;

const PRUNABLE_SYNC_RUNS = `
  SELECT r.id FROM sync_runs r
   WHERE r.started_ms < $1 AND r.status <> 'running'
     AND r.id NOT IN (SELECT DISTINCT ON (env) id FROM sync_runs
                       WHERE status IN ('agreed', 'mismatch') ORDER BY env, started_ms DESC, id DESC)`;

const PRUNABLE_RECORDINGS = `
  SELECT id FROM recording_sessions WHERE status <> 'active' AND ended_ms < $1`;

const RECORDED_TABLES = ['book_snapshots', 'book_deltas', 'book_trades', 'book_gaps'] as const;

const yieldToOthers = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Deletes (or, dry, counts) what the retention rules above say; see the module header. */
export async function pruneHistory(pool: Pool, options: PruneOptions): Promise<PruneResult> {
  const before = options.beforeMs;
  if (!Number.isSafeInteger(before)) throw new RangeError(`beforeMs must be a Unix time in ms, got ${before}`);
  const batch = options.batchSize ?? 2_000;
  if (!Number.isSafeInteger(batch) || batch <= 0) throw new RangeError(`batchSize must be a positive integer, got ${batch}`);
  const pause = options.pause ?? yieldToOthers;
  const result: PruneResult = { orders: 0, orderEvents: 0, decisions: 0, syncRuns: 0, recordingSessions: 0, recordedRows: 0 };

  if (options.dryRun) {
    const count = async (sql: string) => (await query<{ n: number }>(pool, `SELECT count(*)::int8 AS n FROM (${sql}) x`, [before]))[0]!.n;
    result.orders = await count(PRUNABLE_ORDERS);
    result.orderEvents = (
      await query<{ n: number }>(pool, `SELECT count(*)::int8 AS n FROM order_events WHERE client_order_id IN (${PRUNABLE_ORDERS})`, [before])
    )[0]!.n;
    // decisions whose only orders go too are counted with the next run
    result.decisions = await count(PRUNABLE_DECISIONS);
    result.syncRuns = await count(PRUNABLE_SYNC_RUNS);
    if (options.recordings) {
      const ids = (await query<{ id: number }>(pool, PRUNABLE_RECORDINGS, [before])).map((r) => r.id);
      result.recordingSessions = ids.length;
      for (const table of RECORDED_TABLES) {
        result.recordedRows += (await query<{ n: number }>(pool, `SELECT count(*)::int8 AS n FROM ${table} WHERE session_id = ANY($1::int8[])`, [ids]))[0]!.n;
      }
    }
    return result;
  }

  // orders first: their events reference them, decisions are referenced by them
  for (;;) {
    const rows = await query<{ orders: number; events: number }>(
      pool,
      `WITH doomed AS (${PRUNABLE_ORDERS} ORDER BY updated_ms LIMIT $2),
            events AS (DELETE FROM order_events WHERE client_order_id IN (SELECT client_order_id FROM doomed) RETURNING 1),
            gone AS (DELETE FROM orders WHERE client_order_id IN (SELECT client_order_id FROM doomed) RETURNING 1)
       SELECT (SELECT count(*) FROM gone)::int8 AS orders, (SELECT count(*) FROM events)::int8 AS events`,
      [before, batch],
    );
    result.orders += rows[0]!.orders;
    result.orderEvents += rows[0]!.events;
    if (rows[0]!.orders < batch) break;
    await pause();
  }
  result.decisions = await deleteInBatches(pool, 'trader_decisions', 'id', PRUNABLE_DECISIONS, before, batch, pause);
  // a run cascades to one row per market traded: fewer runs per statement
  result.syncRuns = await deleteInBatches(pool, 'sync_runs', 'id', PRUNABLE_SYNC_RUNS, before, Math.max(1, Math.floor(batch / 20)), pause);

  if (options.recordings) {
    for (const { id } of await query<{ id: number }>(pool, PRUNABLE_RECORDINGS, [before])) {
      for (const table of RECORDED_TABLES) {
        for (;;) {
          const rows = await query(
            pool,
            `DELETE FROM ${table} WHERE session_id = $1 AND ord IN (SELECT ord FROM ${table} WHERE session_id = $1 ORDER BY ord LIMIT $2) RETURNING 1`,
            [id, batch],
          );
          result.recordedRows += rows.length;
          if (rows.length < batch) break;
          await pause();
        }
      }
      // session_markets cascade; episodes and session runs keep their rows with the link cleared
      await query(pool, 'DELETE FROM recording_sessions WHERE id = $1', [id]);
      result.recordingSessions++;
    }
  }

  const touched = [
    ...(result.orders > 0 ? ['orders', 'order_events'] : []),
    ...(result.decisions > 0 ? ['trader_decisions'] : []),
    ...(result.syncRuns > 0 ? ['sync_runs', 'sync_findings', 'position_snapshots', 'balance_snapshots'] : []),
    ...(result.recordingSessions > 0 ? ['recording_sessions', 'session_markets', ...RECORDED_TABLES] : []),
  ];
  if (touched.length > 0) await pool.query(`VACUUM ${touched.join(', ')}`);
  return result;
}

async function deleteInBatches(
  pool: Pool,
  table: string,
  key: string,
  selectSql: string,
  before: number,
  batch: number,
  pause: () => Promise<void>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await query(pool, `DELETE FROM ${table} WHERE ${key} IN (${selectSql} LIMIT $2) RETURNING 1`, [before, batch]);
    total += rows.length;
    if (rows.length < batch) return total;
    await pause();
  }
}

/**
 * Prunes on the clock (first pass a minute after start, or sooner when `everyMs` is shorter,
 * then every `everyMs`, default 10 min), keeping `retainMs` of history. One pass at a time; a
 * failing pass is reported to `onPass` and the schedule goes on. Returns stop(), which waits for
 * a running pass.
 */
export function startRetention(
  pool: Pool,
  options: { retainMs: number; everyMs?: number; recordings?: boolean; clock?: Clock; onPass?: (result: PruneResult | Error) => void },
): () => Promise<void> {
  const every = options.everyMs ?? 10 * 60_000;
  const clock = options.clock ?? systemClock;
  let running: Promise<void> | null = null;
  let timer: TimerHandle | null = null;
  let stopped = false;
  const schedule = (delay: number) => {
    timer = clock.setTimeout(() => {
      timer = null;
      running = pruneHistory(pool, { beforeMs: clock.now() - options.retainMs, ...(options.recordings ? { recordings: true } : {}) })
        .then(
          (r) => options.onPass?.(r),
          (e: unknown) => options.onPass?.(e instanceof Error ? e : new Error(String(e))),
        )
        .finally(() => {
          running = null;
          if (!stopped) schedule(every);
        });
    }, delay);
    // retention alone must not keep the process alive
    (timer as { unref?: () => void } | null)?.unref?.();
  };
  schedule(Math.min(every, 60_000));
  return async () => {
    stopped = true;
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
    await running;
  };
}
