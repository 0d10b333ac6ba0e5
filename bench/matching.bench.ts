/**
 * Simulator matching-engine throughput: order operations per second through `Exchange` for a
 * realistic mix on 4 markets and 100 users — ~60% passive limit orders resting 1–10 ticks from a
 * wandering mid (10% of them post-only), ~25% marketable orders crossing up to 3 ticks (half IOC),
 * ~15% cancels of recently placed orders. Goal: ≥ 100,000 orders/s on one core.
 *
 * Figures: ops/s with no subscriber (the engine alone, keeping all history), ops/s with one
 * subscriber receiving every event (what the WS server sees), ops/s with a bounded history
 * (history.maxCount, as a long-running simulator would use), and per-operation latency percentiles
 * from 256-op batches. Keeping every order and fill is what costs most here: the young-generation
 * GC copies everything that is retained.
 * The operation parameters are drawn once from a seeded Rng so every run measures the same flow.
 */
import { VirtualClock } from '../src/core/clock.ts';
import { dollarsToMicros } from '../src/core/money.ts';
import { Exchange } from '../src/sim/exchange.ts';
import type { BookSide, TimeInForce } from '../src/sim/exchange.types.ts';
import { Rng } from '../src/core/random.ts';
import { percentile, report } from './harness.ts';

const MARKETS = ['BENCH-A', 'BENCH-B', 'BENCH-C', 'BENCH-D'];
const USERS = Array.from({ length: 100 }, (_, i) => `user-${i}`);
const STREAM = 1 << 17;
const TICK = 100; // 1¢

const enum Kind {
  Passive,
  Crossing,
  Cancel,
}

interface Stream {
  kind: Uint8Array;
  market: Uint8Array;
  user: Uint8Array;
  side: Uint8Array;
  price: Int32Array;
  count: Int32Array;
  ioc: Uint8Array;
  postOnly: Uint8Array;
  pick: Uint16Array;
}

function buildStream(seed: number): Stream {
  const rng = new Rng(seed);
  const s: Stream = {
    kind: new Uint8Array(STREAM),
    market: new Uint8Array(STREAM),
    user: new Uint8Array(STREAM),
    side: new Uint8Array(STREAM),
    price: new Int32Array(STREAM),
    count: new Int32Array(STREAM),
    ioc: new Uint8Array(STREAM),
    postOnly: new Uint8Array(STREAM),
    pick: new Uint16Array(STREAM),
  };
  const mids = MARKETS.map(() => 5000);
  for (let i = 0; i < STREAM; i++) {
    const m = rng.int(0, MARKETS.length - 1);
    if (i % 50 === 0) mids[m] = Math.min(7000, Math.max(3000, mids[m]! + TICK * rng.int(-1, 1)));
    const mid = mids[m]!;
    const bid = rng.chance(0.5);
    const r = rng.next();
    s.market[i] = m;
    s.user[i] = rng.int(0, USERS.length - 1);
    s.side[i] = bid ? 0 : 1;
    s.pick[i] = rng.int(0, 4095);
    if (r < 0.15) {
      s.kind[i] = Kind.Cancel;
    } else if (r < 0.4) {
      s.kind[i] = Kind.Crossing;
      const through = TICK * rng.int(0, 3);
      s.price[i] = bid ? mid + through : mid - through;
      s.count[i] = 100 * rng.int(1, 20);
      s.ioc[i] = rng.chance(0.5) ? 1 : 0;
    } else {
      s.kind[i] = Kind.Passive;
      const away = TICK * rng.int(1, 10);
      s.price[i] = bid ? mid - away : mid + away;
      s.count[i] = 100 * rng.int(1, 50);
      s.postOnly[i] = rng.chance(0.1) ? 1 : 0;
    }
  }
  return s;
}

function makeExchange(withListener: boolean, historyLimit?: number): { ex: Exchange; events: () => number } {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const ex = new Exchange({ clock, seed: 1, defaultCash: dollarsToMicros(1_000_000_000), ...(historyLimit !== undefined ? { history: { maxCount: historyLimit } } : {}) });
  for (const ticker of MARKETS) {
    ex.addMarket({
      ticker,
      eventTicker: 'BENCH',
      title: ticker,
      priceLevelStructure: 'linear_cent',
      openTimeMs: 0,
      closeTimeMs: Date.UTC(2027, 0, 1),
      feeType: 'quadratic_with_maker_fees',
    });
  }
  let n = 0;
  if (withListener) ex.subscribe(() => void n++);
  return { ex, events: () => n };
}

/** Runs operations from the stream; returns a function that runs the next `batch` of them. */
function driver(ex: Exchange, s: Stream, batch: number): () => number {
  const recentUser = new Array<string>(4096).fill('');
  const recentId = new Array<string>(4096).fill('');
  let recent = 0;
  let i = 0;
  return () => {
    for (let k = 0; k < batch; k++) {
      const j = i;
      i = (i + 1) & (STREAM - 1);
      const user = USERS[s.user[j]!]!;
      if (s.kind[j] === Kind.Cancel) {
        const slot = (recent - 1 - s.pick[j]!) & 4095;
        if (recentId[slot] !== '') {
          ex.cancelOrder(recentUser[slot]!, recentId[slot]!);
          recentId[slot] = '';
        }
        continue;
      }
      const tif: TimeInForce = s.ioc[j] === 1 ? 'immediate_or_cancel' : 'good_till_canceled';
      const r = ex.createOrder({
        userId: user,
        ticker: MARKETS[s.market[j]!]!,
        side: (s.side[j] === 0 ? 'bid' : 'ask') as BookSide,
        price: s.price[j]!,
        count: s.count[j]!,
        timeInForce: tif,
        selfTradePrevention: 'maker',
        postOnly: s.postOnly[j] === 1,
      });
      if (r.ok && r.value.order.status === 'resting') {
        const slot = recent & 4095;
        recentUser[slot] = user;
        recentId[slot] = r.value.order.orderId;
        recent++;
      }
    }
    return batch;
  };
}

/**
 * Like opsPerSecond, but also per second of this process's CPU time (user + system, GC threads
 * included): on a shared machine the wall-clock figure drops when other processes take the core.
 */
function measure(fn: () => number, ms: number): { wall: number; cpu: number } {
  const warmEnd = performance.now() + Math.min(300, ms / 3);
  while (performance.now() < warmEnd) fn();
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    ops += fn();
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: (ops * 1000) / (now - start), cpu: (ops * 1e6) / (cpu.user + cpu.system) };
}

const stream = buildStream(20260101);

{
  const { ex } = makeExchange(false);
  const run = driver(ex, stream, 1000);
  const rate = measure(run, 3000);
  const trades = ex.listTrades().length;
  report({ bench: 'matching', metric: 'order_ops_per_second', value: Math.round(rate.wall), unit: 'ops/s', goal: '>= 100000', perCpuSecond: Math.round(rate.cpu), subscribers: 0, trades });
}

{
  const { ex, events } = makeExchange(true);
  const run = driver(ex, stream, 1000);
  const rate = measure(run, 3000);
  report({ bench: 'matching', metric: 'order_ops_per_second_with_subscriber', value: Math.round(rate.wall), unit: 'ops/s', goal: '>= 100000', perCpuSecond: Math.round(rate.cpu), subscribers: 1, events: events() });
}

{
  // a long-running simulator bounds its memory: keep the newest 10,000 orders/fills per user
  const { ex } = makeExchange(false, 10_000);
  const run = driver(ex, stream, 1000);
  const rate = measure(run, 3000);
  report({ bench: 'matching', metric: 'order_ops_per_second_history_limit', value: Math.round(rate.wall), unit: 'ops/s', goal: '>= 100000', perCpuSecond: Math.round(rate.cpu), historyLimit: 10_000 });
}

{
  const { ex } = makeExchange(false);
  const batch = 256;
  const run = driver(ex, stream, batch);
  for (let w = 0; w < 500; w++) run();
  const perOp: number[] = [];
  for (let b = 0; b < 4000; b++) {
    const t = performance.now();
    run();
    perOp.push(((performance.now() - t) * 1000) / batch);
  }
  perOp.sort((a, b) => a - b);
  report({ bench: 'matching', metric: 'op_latency_p50', value: Number(percentile(perOp, 50).toFixed(3)), unit: 'us', batch });
  report({ bench: 'matching', metric: 'op_latency_p99', value: Number(percentile(perOp, 99).toFixed(3)), unit: 'us', batch });
  const books = MARKETS.map((t) => ex.bookLevels(t)!);
  const levels = books.reduce((n, b) => n + b.yes.length + b.no.length, 0);
  report({ bench: 'matching', metric: 'book_levels_at_end', value: levels, unit: 'levels', markets: MARKETS.length });
}
