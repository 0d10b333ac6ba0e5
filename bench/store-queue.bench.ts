/**
 * WriteQueue throughput: book deltas persisted per second, into a real PostgreSQL server
 * (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; a temporary database is
 * created and dropped) and into the embedded PGlite. Two figures per database:
 *  - max: 1,000,000 deltas offered as fast as the queue takes them (the producer yields
 *    between bursts and backs off above a high-water mark, as a WebSocket reader would under
 *    TCP back-pressure); rate = rows / time until all are committed;
 *  - paced: a steady 100,000 deltas/s offered for 5 s; drops must be 0.
 * Goal: ≥ 100,000 deltas/s with no drops on the server.
 */
import type { Pool } from 'pg';
import { report } from './harness.ts';
import { withServerDatabase } from './server-database.ts';
import { createPool, openDatabase, query } from '../src/adapters/store/database.ts';
import { migrate } from '../src/adapters/store/migrate.ts';
import { createRecordingQueue, createRecordingSession } from '../src/adapters/store/recorder.ts';
import type { DeltaRow, RecordingQueue } from '../src/adapters/store/recorder.ts';

const BENCH = 'store-queue';
const TICKERS = Array.from({ length: 50 }, (_, i) => `KXBENCH-26JAN01-T${i}`);

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function makeDelta(sessionId: number, ord: number): DeltaRow {
  return {
    sessionId,
    ticker: TICKERS[ord % TICKERS.length],
    ord,
    sid: 1,
    seq: ord + 1,
    tsMs: 1_767_225_600_000 + ord,
    recvMs: 1_767_225_600_000 + ord,
    side: ord & 1 ? 'yes' : 'no',
    price: 100 + (ord % 9_800),
    delta: ord % 5 === 0 ? -300 : 500,
  };
}

async function maxThroughput(pool: Pool, label: string, total: number): Promise<void> {
  const sessionId = await createRecordingSession(pool, { env: 'test', mode: 'synthetic', startedMs: Date.now() });
  const queue = createRecordingQueue(pool, { maxRows: 500_000 });
  const highWater = 400_000;
  const start = performance.now();
  let ord = 0;
  let maxDepth = 0;
  while (ord < total) {
    const burstEnd = Math.min(total, ord + 5_000);
    for (; ord < burstEnd; ord++) queue.enqueue('book_deltas', makeDelta(sessionId, ord));
    const depth = queue.stats().depth;
    if (depth > maxDepth) maxDepth = depth;
    while (queue.stats().depth > highWater) await sleep(1);
    await tick();
  }
  const stats = await queue.close({ timeoutMs: 120_000 });
  const seconds = (performance.now() - start) / 1000;
  const [{ n }] = await query<{ n: number }>(pool, 'SELECT count(*)::bigint AS n FROM book_deltas WHERE session_id = $1', [sessionId]);
  report({
    bench: BENCH,
    metric: `${label}.max_deltas_per_s`,
    value: Math.round(n / seconds),
    unit: 'rows/s',
    goal: label === 'postgres' ? '>= 100000' : undefined,
    rows: n,
    dropped: stats.dropped,
    batches: stats.batches,
    max_depth: maxDepth,
  });
}

async function paced(pool: Pool, label: string, ratePerSecond: number, seconds: number): Promise<void> {
  const sessionId = await createRecordingSession(pool, { env: 'test', mode: 'synthetic', startedMs: Date.now() });
  const queue: RecordingQueue = createRecordingQueue(pool, { maxRows: 500_000 });
  const start = performance.now();
  const total = ratePerSecond * seconds;
  let ord = 0;
  let maxDepth = 0;
  while (ord < total) {
    // offer what is due by now (a steady stream, in 10 ms slices)
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * ratePerSecond));
    for (; ord < due; ord++) queue.enqueue('book_deltas', makeDelta(sessionId, ord));
    maxDepth = Math.max(maxDepth, queue.stats().depth);
    await sleep(10);
  }
  const offeredSeconds = (performance.now() - start) / 1000;
  const stats = await queue.close({ timeoutMs: 120_000 });
  const drainSeconds = (performance.now() - start) / 1000 - offeredSeconds;
  report({
    bench: BENCH,
    metric: `${label}.paced_${ratePerSecond}_per_s.dropped`,
    value: stats.dropped,
    unit: 'rows',
    goal: '0',
    persisted: stats.flushed,
    offered_s: Number(offeredSeconds.toFixed(2)),
    drain_after_s: Number(drainSeconds.toFixed(3)),
    max_depth: maxDepth,
  });
}

async function onServer(): Promise<void> {
  await withServerDatabase(BENCH, async (url) => {
    const pool = createPool(url, 4);
    try {
      await migrate(pool);
      await maxThroughput(pool, 'postgres', 1_000_000);
      await paced(pool, 'postgres', 100_000, 5);
    } finally {
      await pool.end();
    }
  });
}

async function onPglite(): Promise<void> {
  const db = await openDatabase({ dataDir: 'memory://', poolSize: 4 });
  try {
    await migrate(db.pool);
    await maxThroughput(db.pool, 'pglite', 500_000);
    await paced(db.pool, 'pglite', 50_000, 5);
  } finally {
    await db.close();
  }
}

await onServer();
await onPglite();
