/**
 * Order-book throughput: deltas applied per second on a realistic book (~30 levels per side,
 * activity concentrated near the touch, levels appearing and emptying, best levels emptying
 * and forcing a rescan), and snapshots applied per second. Goal: ≥ 10,000,000 deltas/s on one
 * core (the Python original managed about 1,000,000/s).
 *
 * The delta stream is generated once from a seeded model and followed by its own inverse, so
 * replaying it in a loop always returns the book to the starting snapshot and never goes negative.
 */
import { OrderBook } from '../src/core/orderbook.ts';
import type { OutcomeSide } from '../src/core/orderbook.ts';
import { opsPerSecond, report } from './harness.ts';

const LEVELS_PER_SIDE = 30;
const HALF_STREAM = 1 << 15;

/** Deterministic xorshift32 so every run measures the same stream. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

interface Stream {
  sides: OutcomeSide[];
  prices: Int32Array;
  deltas: Float64Array;
  snapshot: { yes: Array<[number, number]>; no: Array<[number, number]> };
}

function buildStream(seed: number): Stream {
  const rand = rng(seed);
  // YES bids on 1¢ ticks from 15¢ to 44¢, NO bids from 15¢ to 44¢ (YES asks 56¢..85¢).
  const model: Record<OutcomeSide, Map<number, number>> = { yes: new Map(), no: new Map() };
  const snapshot: Stream['snapshot'] = { yes: [], no: [] };
  for (const side of ['yes', 'no'] as const) {
    for (let i = 0; i < LEVELS_PER_SIDE; i++) {
      const price = 1_500 + i * 100;
      const size = (1 + Math.floor(rand() * 500)) * 100;
      model[side].set(price, size);
      snapshot[side].push([price, size]);
    }
  }
  const n = HALF_STREAM * 2;
  const sides: OutcomeSide[] = new Array(n);
  const prices = new Int32Array(n);
  const deltas = new Float64Array(n);
  for (let i = 0; i < HALF_STREAM; i++) {
    const side: OutcomeSide = rand() < 0.5 ? 'yes' : 'no';
    const levels = model[side];
    // Most activity sits near the touch (highest prices), as in recorded Kalshi sessions.
    const fromTop = Math.floor(Math.pow(rand(), 2.5) * (LEVELS_PER_SIDE + 4));
    const price = 1_500 + (LEVELS_PER_SIDE - 1 - fromTop + 2) * 100;
    const current = levels.get(price) ?? 0;
    let delta: number;
    const r = rand();
    if (current > 0 && r < 0.15) delta = -current; // level cancelled out entirely
    else if (current > 0 && r < 0.55) delta = -Math.max(100, Math.floor(rand() * current / 100) * 100);
    else delta = (1 + Math.floor(rand() * 200)) * 100;
    if (current + delta < 0) delta = -current;
    if (delta === 0) delta = 100;
    const next = current + delta;
    if (next === 0) levels.delete(price);
    else levels.set(price, next);
    sides[i] = side;
    prices[i] = price;
    deltas[i] = delta;
  }
  // The inverse half: undo every delta in reverse order.
  for (let i = 0; i < HALF_STREAM; i++) {
    const j = HALF_STREAM - 1 - i;
    sides[HALF_STREAM + i] = sides[j];
    prices[HALF_STREAM + i] = prices[j];
    deltas[HALF_STREAM + i] = -deltas[j];
  }
  return { sides, prices, deltas, snapshot };
}

const stream = buildStream(0xc0ffee);
const book = new OrderBook('BENCH-MARKET');
book.applySnapshot(stream.snapshot.yes, stream.snapshot.no);
const reference = book.clone();
const n = stream.prices.length;

function applyStream(): number {
  const { sides, prices, deltas } = stream;
  for (let i = 0; i < n; i++) book.applyDelta(sides[i], prices[i], deltas[i]);
  return n;
}

const deltasPerSecond = opsPerSecond(applyStream, 3000);
if (!book.equals(reference)) throw new Error('delta stream did not return the book to its snapshot');
report({
  bench: 'orderbook',
  metric: 'deltas_applied_per_s',
  value: Math.round(deltasPerSecond),
  unit: 'deltas/s',
  goal: '>= 10000000',
  levels_per_side: LEVELS_PER_SIDE,
  stream_length: n,
  python_original: 1_000_000,
});

let touchChecksum = 0;
function applyStreamReadingTouch(): number {
  const { sides, prices, deltas } = stream;
  for (let i = 0; i < n; i++) {
    book.applyDelta(sides[i], prices[i], deltas[i]);
    touchChecksum += book.mid() ?? 0;
  }
  return n;
}
const withTouch = opsPerSecond(applyStreamReadingTouch, 2000);
report({
  bench: 'orderbook',
  metric: 'deltas_with_mid_read_per_s',
  value: Math.round(withTouch),
  unit: 'deltas/s',
  checksum_nonzero: touchChecksum !== 0,
});

// Snapshots: alternate between two 30-level snapshots so each one really replaces the book.
const other = buildStream(0xbeef).snapshot;
const snapshots = [stream.snapshot, other];
let flip = 0;
function applySnapshots(): number {
  for (let i = 0; i < 1000; i++) {
    const s = snapshots[flip];
    flip ^= 1;
    book.applySnapshot(s.yes, s.no);
  }
  return 1000;
}
const snapshotsPerSecond = opsPerSecond(applySnapshots, 2000);
report({
  bench: 'orderbook',
  metric: 'snapshots_applied_per_s',
  value: Math.round(snapshotsPerSecond),
  unit: 'snapshots/s',
  levels_per_side: LEVELS_PER_SIDE,
});

const levelsPerSecond = opsPerSecond(() => {
  let total = 0;
  for (let i = 0; i < 1000; i++) total += book.levels('yes').length + book.depth('no', 10).length;
  return total > 0 ? 1000 : 0;
}, 1000);
report({ bench: 'orderbook', metric: 'levels_plus_depth10_reads_per_s', value: Math.round(levelsPerSecond), unit: 'reads/s' });
