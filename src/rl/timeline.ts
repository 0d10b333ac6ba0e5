/**
 * Market timelines: the in-memory input of the RL environment — one market of one recorded (or
 * synthetic) session as an ordered list of book events. Training and evaluation read only these,
 * never a live stream or the database (the store's `loadRecordedSession` output converts with
 * `fromRecordedTimeline`).
 *
 * `compileTimeline` turns the object form into a columnar one (typed arrays) that the environment
 * steps through without allocating and that crosses to worker threads cheaply.
 */
import { z } from 'zod';
import type { Count, Price } from '../core/money.ts';
import type { OutcomeSide } from '../core/orderbook.ts';
import type { MarketTimeline as RecordedTimeline } from '../adapters/store/session-loader.ts';

export type TimelineLevels = ReadonlyArray<readonly [Price, Count]>;

export type TimelineEvent =
  | { kind: 'snapshot'; seq: number | null; tsMs: number; yes: TimelineLevels; no: TimelineLevels }
  | { kind: 'delta'; seq: number | null; tsMs: number; side: OutcomeSide; price: Price; delta: Count }
  | { kind: 'trade'; seq: number | null; tsMs: number; yesPrice: Price; count: Count; takerSide: OutcomeSide | null }
  | { kind: 'gap'; seq: number | null; tsMs: number };

export interface MarketTimeline {
  ticker: string;
  /** The recorded session it came from (per-session evaluation figures group by it). */
  sessionId?: string;
  events: TimelineEvent[];
  /** Settlement, when known: open positions are paid $1 / $0 at the end of an episode. */
  result?: 'yes' | 'no' | null;
}

export class TimelineError extends Error {
  override readonly name = 'TimelineError';
}

const price = z.number().int().min(1).max(9_999);
const count = z.number().int();
const levels = z.array(z.tuple([price, count.positive()]));
const seq = z.number().int().nullable();
const ts = z.number().finite();

export const timelineEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('snapshot'), seq, tsMs: ts, yes: levels, no: levels }),
  z.object({ kind: z.literal('delta'), seq, tsMs: ts, side: z.enum(['yes', 'no']), price, delta: count }),
  z.object({
    kind: z.literal('trade'),
    seq,
    tsMs: ts,
    yesPrice: price,
    count: count.positive(),
    takerSide: z.enum(['yes', 'no']).nullable(),
  }),
  z.object({ kind: z.literal('gap'), seq, tsMs: ts }),
]);

export const marketTimelineSchema = z.object({
  ticker: z.string().min(1),
  sessionId: z.string().optional(),
  events: z.array(timelineEventSchema),
  result: z.enum(['yes', 'no']).nullable().optional(),
});

/** Validates an untrusted timeline (e.g. read from a JSON file). Throws TimelineError. */
export function parseMarketTimeline(input: unknown): MarketTimeline {
  const parsed = marketTimelineSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TimelineError(`invalid market timeline at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'malformed'}`);
  }
  return parsed.data as MarketTimeline;
}

/**
 * The store's per-market timeline (`loadRecordedSession(...).markets[i]`) → ours. Exchange
 * timestamps are used when recorded, the receive time otherwise.
 */
export function fromRecordedTimeline(recorded: RecordedTimeline, sessionId?: string | number, result?: 'yes' | 'no' | null): MarketTimeline {
  const events: TimelineEvent[] = new Array(recorded.events.length);
  for (let i = 0; i < recorded.events.length; i++) {
    const e = recorded.events[i];
    switch (e.kind) {
      case 'snapshot':
        events[i] = { kind: 'snapshot', seq: e.seq, tsMs: e.tsMs ?? e.recvMs, yes: e.yes, no: e.no };
        break;
      case 'delta':
        events[i] = { kind: 'delta', seq: e.seq, tsMs: e.tsMs ?? e.recvMs, side: e.side, price: e.price, delta: e.delta };
        break;
      case 'trade':
        events[i] = { kind: 'trade', seq: e.seq, tsMs: e.tsMs ?? e.recvMs, yesPrice: e.yesPrice, count: e.count, takerSide: e.takerSide };
        break;
      case 'gap':
        events[i] = { kind: 'gap', seq: e.receivedSeq, tsMs: e.recvMs };
        break;
    }
  }
  const out: MarketTimeline = { ticker: recorded.ticker, events };
  if (sessionId !== undefined) out.sessionId = String(sessionId);
  if (result !== undefined) out.result = result;
  return out;
}

export const EVENT_SNAPSHOT = 0;
export const EVENT_DELTA = 1;
export const EVENT_TRADE = 2;
export const EVENT_GAP = 3;

/** `side` column values: the book leg of a delta, the taker's leg of a trade. */
export const SIDE_YES = 0;
export const SIDE_NO = 1;
export const SIDE_UNKNOWN = 2;

/** Columnar timeline; plain data (structured-clone friendly). */
export interface CompiledTimeline {
  ticker: string;
  sessionId: string | null;
  result: 'yes' | 'no' | null;
  length: number;
  kind: Uint8Array;
  tsMs: Float64Array;
  side: Uint8Array;
  /** Delta / trade price; for a snapshot, its index in `snapshots`. */
  price: Int32Array;
  /** Delta amount / trade count. */
  amount: Float64Array;
  snapshots: Array<{ yes: Array<[Price, Count]>; no: Array<[Price, Count]> }>;
  /** Index of the first snapshot (−1 when there is none: the timeline cannot be played). */
  firstSnapshot: number;
}

export function compileTimeline(timeline: MarketTimeline): CompiledTimeline {
  const n = timeline.events.length;
  const compiled: CompiledTimeline = {
    ticker: timeline.ticker,
    sessionId: timeline.sessionId ?? null,
    result: timeline.result ?? null,
    length: n,
    kind: new Uint8Array(n),
    tsMs: new Float64Array(n),
    side: new Uint8Array(n),
    price: new Int32Array(n),
    amount: new Float64Array(n),
    snapshots: [],
    firstSnapshot: -1,
  };
  for (let i = 0; i < n; i++) {
    const e = timeline.events[i];
    compiled.tsMs[i] = e.tsMs;
    switch (e.kind) {
      case 'snapshot':
        compiled.kind[i] = EVENT_SNAPSHOT;
        compiled.price[i] = compiled.snapshots.length;
        compiled.snapshots.push({ yes: e.yes.map(([p, s]) => [p, s]), no: e.no.map(([p, s]) => [p, s]) });
        if (compiled.firstSnapshot < 0) compiled.firstSnapshot = i;
        break;
      case 'delta':
        compiled.kind[i] = EVENT_DELTA;
        compiled.side[i] = e.side === 'yes' ? SIDE_YES : SIDE_NO;
        compiled.price[i] = e.price;
        compiled.amount[i] = e.delta;
        break;
      case 'trade':
        compiled.kind[i] = EVENT_TRADE;
        compiled.side[i] = e.takerSide === 'yes' ? SIDE_YES : e.takerSide === 'no' ? SIDE_NO : SIDE_UNKNOWN;
        compiled.price[i] = e.yesPrice;
        compiled.amount[i] = e.count;
        break;
      case 'gap':
        compiled.kind[i] = EVENT_GAP;
        break;
      default:
        throw new TimelineError(`${timeline.ticker}: event ${i} has unknown kind ${JSON.stringify((e as { kind: unknown }).kind)}`);
    }
  }
  return compiled;
}

/** Events after the first snapshot: the most steps an episode on this timeline can take. */
export function playableSteps(timeline: CompiledTimeline): number {
  return timeline.firstSnapshot < 0 ? 0 : timeline.length - 1 - timeline.firstSnapshot;
}
