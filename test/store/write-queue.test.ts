import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OpenTestDatabase } from '../helpers/databases.ts';
import { testDatabases } from '../helpers/databases.ts';
import { createPool, query } from '../../src/adapters/store/database.ts';
import { createRecordingQueue, createRecordingSession } from '../../src/adapters/store/recorder.ts';
import type { DeltaRow } from '../../src/adapters/store/recorder.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { TcpProxy } from './tcp-proxy.ts';

const T0 = Date.UTC(2026, 0, 7);

function delta(sessionId: number, ord: number, overrides: Partial<DeltaRow> = {}): DeltaRow {
  return {
    sessionId,
    ticker: `M${ord % 7}`,
    ord,
    sid: 1,
    seq: ord + 2,
    tsMs: T0 + ord,
    recvMs: T0 + ord + 1,
    side: ord % 2 ? 'yes' : 'no',
    price: 1 + (ord % 9999),
    delta: (ord % 3) - 1 || 5,
    ...overrides,
  };
}

async function countDeltas(db: OpenTestDatabase, sessionId: number): Promise<{ n: number; sum: number }> {
  const [row] = await query<{ n: number; sum: number }>(
    db.pool,
    'SELECT count(*)::bigint AS n, coalesce(sum(delta), 0)::bigint AS sum FROM book_deltas WHERE session_id = $1',
    [sessionId],
  );
  return row;
}

describe.each(await testDatabases())('write queue on $name', (kind) => {
  let db: OpenTestDatabase;
  const newSession = () => createRecordingSession(db.pool, { env: 'test', mode: 'record', startedMs: T0 });
  beforeAll(async () => {
    db = await kind.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('persists 100,000 rows with exact counts and nothing dropped', async () => {
    const sessionId = await newSession();
    const queue = createRecordingQueue(db.pool, { maxRows: 200_000 });
    let expectedSum = 0;
    for (let i = 0; i < 100_000; i++) {
      const row = delta(sessionId, i);
      expectedSum += row.delta;
      expect(queue.enqueue('book_deltas', row)).toBe(true);
    }
    const stats = await queue.close();
    expect(stats).toMatchObject({ flushed: 100_000, dropped: 0, rejected: 0, failures: 0, depth: 0, degraded: false });
    expect(stats.tables.book_deltas.flushed).toBe(100_000);
    expect(stats.batches).toBeGreaterThanOrEqual(20); // 5,000-row batches
    expect(await countDeltas(db, sessionId)).toEqual({ n: 100_000, sum: expectedSum });
  });

  it('refuses and counts rows beyond the bound, never blocking', async () => {
    const sessionId = await newSession();
    const queue = createRecordingQueue(db.pool, { maxRows: 1_000, batchRows: 400 });
    const accepted: boolean[] = [];
    // all in one synchronous run: no flush can complete in between
    for (let i = 0; i < 1_500; i++) accepted.push(queue.enqueue('book_deltas', delta(sessionId, i)));
    expect(accepted.filter(Boolean)).toHaveLength(1_000);
    expect(accepted.slice(0, 1_000).every(Boolean)).toBe(true);
    expect(queue.stats()).toMatchObject({ depth: 1_000, dropped: 500 });
    const stats = await queue.close();
    expect(stats).toMatchObject({ flushed: 1_000, dropped: 500, depth: 0 });
    expect(stats.tables.book_deltas.dropped).toBe(500);
    expect((await countDeltas(db, sessionId)).n).toBe(1_000);
    expect(queue.enqueue('book_deltas', delta(sessionId, 99_999))).toBe(false);
    expect(queue.stats().dropped).toBe(501);
  });

  it('flushes by age on the injected clock, and everything on close', async () => {
    const sessionId = await newSession();
    const clock = new VirtualClock(T0);
    const queue = createRecordingQueue(db.pool, { clock, flushIntervalMs: 150 });
    for (let i = 0; i < 10; i++) queue.enqueue('book_deltas', delta(sessionId, i));
    await new Promise((r) => setTimeout(r, 20));
    expect(queue.stats().flushed).toBe(0);
    clock.advance(149);
    await new Promise((r) => setTimeout(r, 20));
    expect(queue.stats().flushed).toBe(0);
    clock.advance(1);
    await vi.waitFor(() => expect(queue.stats().flushed).toBe(10), { timeout: 5_000, interval: 10 });
    expect((await countDeltas(db, sessionId)).n).toBe(10);

    for (let i = 10; i < 25; i++) queue.enqueue('book_deltas', delta(sessionId, i));
    const stats = await queue.close();
    expect(stats).toMatchObject({ flushed: 25, depth: 0 });
    expect((await countDeltas(db, sessionId)).n).toBe(25);
  });

  it('rejects only the invalid rows of a batch', async () => {
    const sessionId = await newSession();
    const rejected: string[] = [];
    const queue = createRecordingQueue(db.pool, { onRowRejected: (table, reason) => rejected.push(`${table}: ${reason}`) });
    for (let i = 0; i < 100; i++) {
      queue.enqueue('book_deltas', delta(sessionId, i, i === 37 ? { price: 0 } : i === 80 ? { side: 'maybe' as 'yes' } : {}));
    }
    const stats = await queue.close();
    expect(stats).toMatchObject({ flushed: 98, rejected: 2, dropped: 0, degraded: false });
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toMatch(/^book_deltas: .*23514/);
    expect((await countDeltas(db, sessionId)).n).toBe(98);
  });

  it('treats a re-sent batch (already committed) as done, without duplicating rows', async () => {
    const sessionId = await newSession();
    const queue = createRecordingQueue(db.pool);
    for (let i = 0; i < 300; i++) queue.enqueue('book_deltas', delta(sessionId, i));
    await queue.flush();
    // the same rows again, as after a commit whose answer was lost, plus new ones
    for (let i = 0; i < 400; i++) queue.enqueue('book_deltas', delta(sessionId, i));
    const stats = await queue.close();
    expect(stats).toMatchObject({ rejected: 0, dropped: 0, depth: 0 });
    expect((await countDeltas(db, sessionId)).n).toBe(400);
  });

  it('buffers while the database is unreachable, reports degraded, and recovers', async () => {
    const sessionId = await newSession();
    const proxy = TcpProxy.forUrl(db.url);
    await proxy.start();
    const pool = createPool(proxy.rewrite(db.url), 2, 1_000);
    const health: boolean[] = [];
    const queue = createRecordingQueue(pool, {
      flushIntervalMs: 20,
      initialBackoffMs: 20,
      maxBackoffMs: 100,
      maxRows: 50_000,
      onHealthChange: (degraded) => health.push(degraded),
    });
    try {
      for (let i = 0; i < 100; i++) queue.enqueue('book_deltas', delta(sessionId, i));
      await vi.waitFor(() => expect(queue.stats().flushed).toBe(100), { timeout: 5_000, interval: 10 });

      await proxy.stop();
      for (let i = 100; i < 6_100; i++) expect(queue.enqueue('book_deltas', delta(sessionId, i))).toBe(true);
      await vi.waitFor(() => expect(queue.stats().failures).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 10 });
      let stats = queue.stats();
      expect(stats.degraded).toBe(true);
      expect(stats.lastError).toBeTruthy();
      expect(stats.depth).toBe(6_000);
      expect(stats.dropped).toBe(0);
      // still accepting while degraded
      for (let i = 6_100; i < 7_000; i++) expect(queue.enqueue('book_deltas', delta(sessionId, i))).toBe(true);

      await proxy.start();
      await vi.waitFor(() => expect(queue.stats().depth).toBe(0), { timeout: 10_000, interval: 20 });
      stats = queue.stats();
      expect(stats).toMatchObject({ degraded: false, flushed: 7_000, dropped: 0, rejected: 0 });
      expect(health).toEqual([true, false]);
      expect((await countDeltas(db, sessionId)).n).toBe(7_000);
    } finally {
      await queue.close({ timeoutMs: 1_000 });
      await pool.end();
      await proxy.stop();
    }
  });

  it('counts what it could not write when closed during an outage', async () => {
    const sessionId = await newSession();
    const proxy = TcpProxy.forUrl(db.url);
    await proxy.start();
    const pool = createPool(proxy.rewrite(db.url), 1, 500);
    const queue = createRecordingQueue(pool, { initialBackoffMs: 20, maxBackoffMs: 50 });
    try {
      await proxy.stop();
      for (let i = 0; i < 50; i++) queue.enqueue('book_deltas', delta(sessionId, i));
      const stats = await queue.close({ timeoutMs: 300 });
      expect(stats).toMatchObject({ flushed: 0, dropped: 50, depth: 0, degraded: true });
    } finally {
      await pool.end();
    }
  });
});
