/**
 * Seeded synthetic market timelines, in the same shape as recorded ones: a latent fair price
 * (random walk with drift), a bids-only book of `levels` levels per leg around it whose sizes
 * churn, and occasional trades. Used by tests, benchmarks, the "known optimal policy" training
 * check, and as a stand-in until recorded sessions are available.
 *
 * The book moves only through deltas (one event each), so a timeline replays exactly like a
 * recording: a snapshot first, then deltas and trades, optionally periodic snapshots and gaps.
 */
import { ONE_DOLLAR } from '../core/money.ts';
import type { Count, Price } from '../core/money.ts';
import { Rng } from '../core/random.ts';
import type { MarketTimeline, TimelineEvent } from './timeline.ts';

export interface SyntheticMarketOptions {
  seed: number;
  ticker?: string;
  sessionId?: string;
  /** Number of events to generate (≥ 2; default 2,000). */
  events?: number;
  /** Fair YES price at the start (default $0.50). */
  startPrice?: Price;
  /** Fair-price drift per move, in Price units (default 0). The fair price moves whenever the book has caught up with its last move. */
  drift?: number;
  /** Standard deviation of the fair-price step per move, in Price units (default 20 = 0.2¢). */
  volatility?: number;
  /** Tick size (default 100 = 1¢; 10 for deci-cent markets). */
  tick?: Price;
  /** Spread in ticks around the fair price (default 2). */
  spreadTicks?: number;
  /** Levels per leg (default 10). */
  levels?: number;
  /** Typical level size (Count; default 5,000 = 50 contracts). */
  levelSize?: Count;
  /** Probability that an event is a trade at the touch (default 0.05). */
  tradeProbability?: number;
  /** A snapshot every this many events (0 = only the first; default 0). */
  snapshotEvery?: number;
  /** Probability of a recorded gap per event (default 0). */
  gapProbability?: number;
  startMs?: number;
  /** Mean time between events (default 500 ms). */
  meanIntervalMs?: number;
  /** Settlement: a side, 'fair' (YES iff the final fair price ≥ 50¢) or null (default). */
  result?: 'yes' | 'no' | 'fair' | null;
}

/** A market whose fair price random-walks; see SyntheticMarketOptions for the knobs. */
export function syntheticTimeline(options: SyntheticMarketOptions): MarketTimeline {
  const rng = new Rng(options.seed);
  const total = Math.max(2, options.events ?? 2_000);
  const tick = options.tick ?? 100;
  const spreadTicks = Math.max(1, options.spreadTicks ?? 2);
  const levels = Math.max(1, options.levels ?? 10);
  const levelSize = options.levelSize ?? 5_000;
  const drift = options.drift ?? 0;
  const vol = options.volatility ?? 20;
  const tradeP = options.tradeProbability ?? 0.05;
  const gapP = options.gapProbability ?? 0;
  const snapshotEvery = options.snapshotEvery ?? 0;
  const meanInterval = options.meanIntervalMs ?? 500;
  let ts = options.startMs ?? Date.UTC(2026, 0, 5, 15, 0, 0);
  let fair = options.startPrice ?? ONE_DOLLAR / 2;

  const minBid = tick;
  const maxBid = ONE_DOLLAR - tick * (spreadTicks + 1);
  // current book per leg: price → size
  const yes = new Map<Price, Count>();
  const no = new Map<Price, Count>();
  const events: TimelineEvent[] = [];
  let seq = 1;

  const randomSize = (): Count => Math.max(100, Math.round((levelSize * (0.3 + 1.4 * rng.next())) / 100) * 100);

  /** Target best YES bid for the current fair price. */
  const bestBidFor = (f: number): Price => {
    const raw = Math.round((f - (spreadTicks * tick) / 2) / tick) * tick;
    return Math.min(maxBid, Math.max(minBid, raw));
  };

  const targetLevels = (bestYesBid: Price): { yes: Price[]; no: Price[] } => {
    const bestNoBid = ONE_DOLLAR - (bestYesBid + spreadTicks * tick);
    const y: Price[] = [];
    const n: Price[] = [];
    for (let k = 0; k < levels; k++) {
      if (bestYesBid - k * tick >= tick) y.push(bestYesBid - k * tick);
      if (bestNoBid - k * tick >= tick) n.push(bestNoBid - k * tick);
    }
    return { yes: y, no: n };
  };

  const snapshotEvent = (): TimelineEvent => ({
    kind: 'snapshot',
    seq: seq++,
    tsMs: ts,
    yes: [...yes.entries()].sort((a, b) => a[0] - b[0]),
    no: [...no.entries()].sort((a, b) => a[0] - b[0]),
  });

  const initial = targetLevels(bestBidFor(fair));
  for (const p of initial.yes) yes.set(p, randomSize());
  for (const p of initial.no) no.set(p, randomSize());
  events.push(snapshotEvent());

  // pending deltas that move the book toward the target; drained one per event
  const pending: Array<{ side: 'yes' | 'no'; price: Price; delta: Count }> = [];

  const planMoves = (): void => {
    const target = targetLevels(bestBidFor(fair));
    const sides = [
      ['yes', yes, target.yes],
      ['no', no, target.no],
    ] as const;
    // removals first so the book never crosses while it moves; then additions, best first
    for (const [side, book, want] of sides) {
      const wanted = new Set(want);
      for (const [p, s] of book) if (!wanted.has(p)) pending.push({ side, price: p, delta: -s });
    }
    for (const [side, book, want] of sides) {
      for (const p of want) if (!book.has(p)) pending.push({ side, price: p, delta: randomSize() });
    }
  };

  while (events.length < total) {
    ts += Math.max(1, Math.round(rng.exponential(meanInterval)));
    if (pending.length === 0) {
      // the fair price moves once the book has caught up with its previous move
      fair = Math.min(ONE_DOLLAR - tick, Math.max(tick, fair + drift + vol * rng.normal()));
      planMoves();
    }

    if (snapshotEvery > 0 && events.length % snapshotEvery === 0) {
      events.push(snapshotEvent());
      continue;
    }
    if (gapP > 0 && rng.chance(gapP)) {
      events.push({ kind: 'gap', seq: null, tsMs: ts });
      events.push(snapshotEvent());
      continue;
    }
    if (pending.length > 0) {
      const move = pending.shift()!;
      const book = move.side === 'yes' ? yes : no;
      const current = book.get(move.price) ?? 0;
      const next = current + move.delta;
      if (next < 0 || (move.delta < 0 && current === 0)) continue;
      if (next === 0) book.delete(move.price);
      else book.set(move.price, next);
      events.push({ kind: 'delta', seq: seq++, tsMs: ts, side: move.side, price: move.price, delta: move.delta });
      continue;
    }
    if (tradeP > 0 && rng.chance(tradeP)) {
      // a taker hits one touch: a trade, then the level shrinks by the traded count
      const sellYes = rng.chance(0.5);
      const book = sellYes ? yes : no;
      let best = 0;
      for (const p of book.keys()) if (p > best) best = p;
      if (best > 0) {
        const size = book.get(best)!;
        const count = Math.min(size, Math.max(100, Math.round((size * rng.next()) / 200) * 100));
        const yesPrice = sellYes ? best : ONE_DOLLAR - best;
        events.push({ kind: 'trade', seq: null, tsMs: ts, yesPrice, count, takerSide: sellYes ? 'no' : 'yes' });
        if (events.length < total) {
          if (size - count === 0) book.delete(best);
          else book.set(best, size - count);
          events.push({ kind: 'delta', seq: seq++, tsMs: ts, side: sellYes ? 'yes' : 'no', price: best, delta: -count });
        } else {
          break;
        }
        continue;
      }
    }
    // size churn on a random level near the touch
    const side = rng.chance(0.5) ? 'yes' : 'no';
    const book = side === 'yes' ? yes : no;
    const prices = [...book.keys()];
    if (prices.length === 0) continue;
    const price = rng.pick(prices);
    const size = book.get(price)!;
    let delta = Math.round(((rng.next() - 0.5) * levelSize) / 100) * 100;
    if (delta === 0) delta = 100;
    if (size + delta <= 0) delta = -size + 100;
    book.set(price, size + delta);
    events.push({ kind: 'delta', seq: seq++, tsMs: ts, side, price, delta });
  }
  events.length = Math.min(events.length, total);

  let result: 'yes' | 'no' | null = null;
  if (options.result === 'yes' || options.result === 'no') result = options.result;
  else if (options.result === 'fair') result = fair >= ONE_DOLLAR / 2 ? 'yes' : 'no';
  const timeline: MarketTimeline = { ticker: options.ticker ?? `SYN-${options.seed}`, events, result };
  if (options.sessionId !== undefined) timeline.sessionId = options.sessionId;
  return timeline;
}

export interface DriftMarketOptions {
  seed?: number;
  /** Fair price at the start and at the end (defaults $0.30 → $0.70), on the 1¢ grid. */
  from?: Price;
  to?: Price;
  /** Settlement (default 'yes'). */
  result?: 'yes' | 'no';
  levelSize?: Count;
}

/**
 * A market with a known optimal policy: the book moves up (or down) one cent at a time from
 * `from` to `to` with a 1¢ spread — four deltas per cent, no noise, no trades — and settles
 * `result`. With result 'yes' and an upward drift, buying YES up to the position limit on the
 * first step and holding to settlement is optimal.
 */
export function driftTimeline(options: DriftMarketOptions = {}): MarketTimeline {
  const from = options.from ?? 3_000;
  const to = options.to ?? 7_000;
  const cents = Math.round(Math.abs(to - from) / 100);
  return syntheticTimeline({
    seed: options.seed ?? 1,
    ticker: 'DRIFT',
    events: 1 + 4 * cents,
    startPrice: from,
    drift: Math.sign(to - from) * 100,
    volatility: 0,
    spreadTicks: 1,
    levels: 5,
    levelSize: options.levelSize ?? 20_000,
    tradeProbability: 0,
    result: options.result ?? 'yes',
  });
}
