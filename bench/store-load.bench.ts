/**
 * Session load: time to read a recorded session of 1,000,000 deltas (20 markets, plus snapshots
 * and trades) from the database into per-market timelines, and to rebuild every book from them
 * (checked equal to the books built while recording). The first load right after recording is
 * the realistic one (fresh pages, no statistics); a second load is reported for comparison.
 * Real server (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test, in a temporary
 * database) and embedded PGlite. Goal: load + rebuild ≤ 5 s on the server.
 */
import type { Pool } from 'pg';
import { report } from './harness.ts';
import { withServerDatabase } from './server-database.ts';
import { createPool, openDatabase } from '../src/adapters/store/database.ts';
import { migrate } from '../src/adapters/store/migrate.ts';
import { SessionRecorder, createRecordingQueue } from '../src/adapters/store/recorder.ts';
import { loadRecordedSession, replayBooks } from '../src/adapters/store/session-loader.ts';
import { OrderBook } from '../src/core/orderbook.ts';
import type { OutcomeSide } from '../src/core/orderbook.ts';
import { VirtualClock } from '../src/core/clock.ts';

const BENCH = 'store-load';
const DELTAS = 1_000_000;
const MARKETS = 20;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Records a valid synthetic session (deltas never take a level below zero); returns its id and final books. */
async function recordSession(pool: Pool): Promise<{ sessionId: number; books: Map<string, OrderBook> }> {
  const clock = new VirtualClock(Date.UTC(2026, 0, 9));
  const queue = createRecordingQueue(pool, { clock, maxRows: 500_000 });
  const tickers = Array.from({ length: MARKETS }, (_, i) => `KXLOAD-26JAN09-T${String(i).padStart(2, '0')}`);
  const recorder = await SessionRecorder.start(pool, queue, { env: 'test', mode: 'synthetic', tickers, clock });
  const rand = mulberry32(42);
  const books = new Map(tickers.map((t) => [t, new OrderBook(t)]));
  let seq = 0;
  for (const t of tickers) {
    const yes: Array<[number, number]> = [[4000, 1000], [4500, 2000]];
    const no: Array<[number, number]> = [[5000, 1500]];
    books.get(t)!.applySnapshot(yes, no);
    recorder.snapshot({ ticker: t, sid: 1, seq: ++seq, yes, no });
  }
  for (let i = 0; i < DELTAS; i++) {
    const ticker = tickers[Math.floor(rand() * MARKETS)];
    const book = books.get(ticker)!;
    const side: OutcomeSide = rand() < 0.5 ? 'yes' : 'no';
    const price = 100 * (1 + Math.floor(rand() * 98));
    const size = book.sizeAt(side, price);
    const delta = size > 0 && rand() < 0.45 ? -Math.min(size, 100 * (1 + Math.floor(rand() * 5))) : 100 * (1 + Math.floor(rand() * 10));
    book.applyDelta(side, price, delta);
    recorder.delta({ ticker, sid: 1, seq: ++seq, side, price, delta });
    if (i % 50 === 0) recorder.trade({ ticker, tradeId: `t${i}`, yesPrice: price, count: 100, takerSide: side });
    if (i % 5_000 === 4_999) {
      clock.advance(100); // lets the queue's age-based flush run
      while (queue.stats().depth > 300_000) await sleep(2);
    }
  }
  await recorder.close('closed');
  const stats = await queue.close({ timeoutMs: 300_000 });
  if (stats.dropped || stats.rejected) throw new Error(`recording lost rows: ${JSON.stringify(stats)}`);
  return { sessionId: recorder.sessionId, books };
}

async function measure(pool: Pool, label: string): Promise<void> {
  const { sessionId, books } = await recordSession(pool);
  globalThis.gc?.();
  const t0 = performance.now();
  const loaded = await loadRecordedSession(pool, sessionId);
  const t1 = performance.now();
  let mismatches = 0;
  let applied = 0;
  for (const market of loaded.markets) {
    const result = replayBooks(market);
    applied += result.applied;
    if (!result.book.equals(books.get(market.ticker)!)) mismatches++;
  }
  const t2 = performance.now();
  const deltas = loaded.markets.reduce((n, m) => n + m.counts.deltas, 0);
  const events = loaded.markets.reduce((n, m) => n + m.events.length, 0);
  if (mismatches > 0 || deltas !== DELTAS) throw new Error(`${label}: ${mismatches} books differ, ${deltas} deltas loaded`);
  report({ bench: BENCH, metric: `${label}.load_s`, value: Number(((t1 - t0) / 1000).toFixed(3)), unit: 's', events, deltas });
  report({ bench: BENCH, metric: `${label}.rebuild_s`, value: Number(((t2 - t1) / 1000).toFixed(3)), unit: 's', applied });
  report({
    bench: BENCH,
    metric: `${label}.load_and_rebuild_s`,
    value: Number(((t2 - t0) / 1000).toFixed(3)),
    unit: 's',
    goal: '<= 5',
    deltas_per_s: Math.round(deltas / ((t2 - t0) / 1000)),
    heap_mb: Math.round(process.memoryUsage().heapUsed / 1e6),
  });
  // again, now that the server has the pages cached and hint bits set
  globalThis.gc?.();
  const t3 = performance.now();
  await loadRecordedSession(pool, sessionId);
  report({ bench: BENCH, metric: `${label}.second_load_s`, value: Number(((performance.now() - t3) / 1000).toFixed(3)), unit: 's' });
}

async function onServer(): Promise<void> {
  await withServerDatabase(BENCH, async (url) => {
    const pool = createPool(url, 4);
    try {
      await migrate(pool);
      await measure(pool, 'postgres');
    } finally {
      await pool.end();
    }
  });
}

async function onPglite(): Promise<void> {
  const db = await openDatabase({ dataDir: 'memory://', poolSize: 4 });
  try {
    await migrate(db.pool);
    await measure(db.pool, 'pglite');
  } finally {
    await db.close();
  }
}

await onServer();
await onPglite();
