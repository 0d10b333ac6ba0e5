/**
 * Market actors: how long 1,000 market-subscription actors take to start (MarketRegistry.add)
 * and to go live on their snapshots, and how many order-book deltas per second flow from a parsed
 * WS frame → registry (seq check, state check) → OrderBook → listener (goal ≥ 100,000/s), plus
 * the same from raw JSON text through the Kalshi frame parser.
 */
import { systemClock } from '../src/core/clock.ts';
import { MarketRegistry } from '../src/actors/market-registry.ts';
import type { BookUpdate } from '../src/actors/market-registry.ts';
import { parseServerFrame } from '../src/adapters/kalshi/ws.schemas.ts';
import type { OrderbookDeltaMsg } from '../src/adapters/kalshi/ws.schemas.ts';
import { opsPerSecond, percentile, report } from './harness.ts';

const BENCH = 'market-actors';
const MARKETS = 1_000;
const SID = 1;
const tickers = Array.from({ length: MARKETS }, (_, i) => `KXBENCH-26JAN01-T${i}`);
const YES: [number, number][] = [
  [4_000, 10_000],
  [3_900, 5_000],
  [3_800, 2_500],
];
const NO: [number, number][] = [
  [5_500, 2_000],
  [5_400, 7_000],
];

function newRegistry(): MarketRegistry {
  return new MarketRegistry({ clock: systemClock, requestSnapshot: () => {} });
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

// ── start-up ───────────────────────────────────────────────────────────────────────────────────
const startMs: number[] = [];
const liveMs: number[] = [];
for (let round = 0; round < 7; round++) {
  gc();
  const registry = newRegistry();
  let t = performance.now();
  for (const ticker of tickers) registry.add(ticker);
  startMs.push(performance.now() - t);
  t = performance.now();
  for (let i = 0; i < MARKETS; i++) registry.applySnapshot(tickers[i], SID, i + 1, YES, NO);
  liveMs.push(performance.now() - t);
  if (registry.stateCounts().live !== MARKETS) throw new Error('not every market went live');
  registry.stopAll();
}
report({ bench: BENCH, metric: 'start_1000_markets_first', value: round2(startMs[0]), unit: 'ms', goal: '< 1000 ms' });
report({ bench: BENCH, metric: 'start_1000_markets_median', value: round2(median(startMs)), unit: 'ms', goal: '< 1000 ms' });
report({ bench: BENCH, metric: 'snapshot_1000_markets_to_live_median', value: round2(median(liveMs)), unit: 'ms' });

// ── delta hot path from parsed frames ──────────────────────────────────────────────────────────
{
  const registry = newRegistry();
  for (const ticker of tickers) registry.add(ticker);
  for (let i = 0; i < MARKETS; i++) registry.applySnapshot(tickers[i], SID, i + 1, YES, NO);
  let seq = MARKETS;
  let notified = 0;
  let checksum = 0;
  registry.onBookUpdate((u: BookUpdate) => {
    notified++;
    checksum += u.book.bestBid('yes')?.size ?? 0;
  });
  // Pairs of +n / −n at the same level keep every book valid however long the loop runs.
  const FRAMES = 20_000;
  const frames: { type: 'orderbook_delta'; sid: number; seq: number; msg: OrderbookDeltaMsg }[] = [];
  for (let i = 0; i < FRAMES; i += 2) {
    const ticker = tickers[(i * 7919) % MARKETS];
    const side = (i & 2) === 0 ? 'yes' : 'no';
    const price = side === 'yes' ? 3_700 + ((i >> 2) % 5) * 100 : 5_300 + ((i >> 2) % 4) * 100;
    const size = 100 * (1 + (i % 13));
    for (const delta of [size, -size]) {
      frames.push({
        type: 'orderbook_delta',
        sid: SID,
        seq: 0,
        msg: { ticker, marketId: undefined, side, price, delta, clientOrderId: undefined, subaccount: undefined, tsMs: undefined },
      });
    }
  }
  let rejected = 0;
  const perSecond = opsPerSecond(() => {
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      f.seq = ++seq;
      const m = f.msg;
      if (registry.applyDelta(m.ticker, f.sid, f.seq, m.side, m.price, m.delta) !== 'applied') rejected++;
    }
    return frames.length;
  }, 2_000);
  if (rejected > 0) throw new Error(`${rejected} deltas were not applied`);
  if (notified === 0 || checksum === 0) throw new Error('listener was not notified');
  if (registry.stateCounts().live !== MARKETS) throw new Error('markets left live during the run');
  report({ bench: BENCH, metric: 'deltas_per_second_parsed_frame', value: Math.round(perSecond), unit: 'deltas/s', goal: '>= 100000', markets: MARKETS });
  registry.stopAll();
}

// ── delta hot path from raw JSON text ─────────────────────────────────────────────────────────
{
  const registry = newRegistry();
  for (const ticker of tickers) registry.add(ticker);
  for (let i = 0; i < MARKETS; i++) registry.applySnapshot(tickers[i], SID, i + 1, YES, NO);
  let notified = 0;
  registry.onBookUpdate(() => {
    notified++;
  });
  const N = 200_000;
  const texts: string[] = new Array(N);
  for (let i = 0; i < N; i += 2) {
    const ticker = tickers[(i * 7919) % MARKETS];
    const price = (0.37 + ((i >> 1) % 5) / 100).toFixed(4);
    for (const [k, delta] of [
      [0, '3.00'],
      [1, '-3.00'],
    ] as const) {
      texts[i + k] = JSON.stringify({
        type: 'orderbook_delta',
        sid: SID,
        seq: MARKETS + 1 + i + k,
        msg: { market_ticker: ticker, market_id: 'bench', price_dollars: price, delta_fp: delta, side: 'yes', ts_ms: 1_767_225_600_000 },
      });
    }
  }
  gc();
  const t = performance.now();
  let applied = 0;
  for (let i = 0; i < N; i++) {
    const frame = parseServerFrame(texts[i]);
    if (frame.type !== 'orderbook_delta') throw new Error(`unexpected frame ${frame.type}`);
    if (registry.applyDelta(frame.msg.ticker, frame.sid, frame.seq, frame.msg.side, frame.msg.price, frame.msg.delta) === 'applied') applied++;
  }
  const seconds = (performance.now() - t) / 1000;
  if (applied !== N || notified !== N) throw new Error(`applied ${applied}, notified ${notified} of ${N}`);
  report({ bench: BENCH, metric: 'deltas_per_second_json_text', value: Math.round(N / seconds), unit: 'deltas/s', goal: '>= 100000', markets: MARKETS });
  registry.stopAll();
}

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
