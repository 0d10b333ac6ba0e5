/**
 * Group commit (store/journal-writer.ts) on each database: writes made together share one
 * statement and resolve in queue order with their own results; a bad row fails only its own op;
 * a read waits for the writes queued before it but not for a steady stream queued after; an
 * unreachable database fails every op of the batch (the callers' outage path).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenTestDatabase } from '../helpers/databases.ts';
import { testDatabases } from '../helpers/databases.ts';
import { createPool, isDatabaseUnavailable } from '../../src/adapters/store/database.ts';
import { answerOp, getJournalOrder, intentOp, listOrderEvents } from '../../src/adapters/store/journal.ts';
import type { OrderIntent } from '../../src/adapters/store/journal.ts';
import { JournalWriter, journalWriter, settleJournalWrites } from '../../src/adapters/store/journal-writer.ts';

const T0 = Date.UTC(2026, 0, 5, 12);

function intent(id: string): OrderIntent {
  return { clientOrderId: id, env: 'test', ticker: 'KXTEST-W', side: 'bid', price: 5600, count: 1000, tif: 'good_till_canceled', createdMs: T0, trader: 't' };
}

describe.each(await testDatabases())('journal group commit on $name', (kind) => {
  let db: OpenTestDatabase;
  beforeAll(async () => {
    db = await kind.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('writes made together share one statement and resolve in order with their own results', async () => {
    const writer = new JournalWriter(db.pool);
    const ids = Array.from({ length: 20 }, (_, i) => `gc-${i}`);
    const written = ids.flatMap((id) => [
      writer.write(intentOp(intent(id))),
      writer.write({ op: 'sent', clientOrderId: id, sentMs: T0 + 1 }),
      writer.write(answerOp(id, { answeredMs: T0 + 2, orderId: `v-${id}`, status: 'resting', fillCount: 0, remainingCount: 1000 })),
    ]);
    written.push(writer.write(intentOp(intent('gc-0')))); // a duplicate, refused in place
    const results = await Promise.all(written);
    expect(writer.stats.batches).toBe(1);
    expect(writer.stats.ops).toBe(61);
    expect(results[0].row).toMatchObject({ client_order_id: 'gc-0', state: 'initialized' });
    expect(results[1]).toEqual({ ok: true });
    expect(results[2].row).toMatchObject({ client_order_id: 'gc-0', state: 'accepted', venue_order_id: 'v-gc-0' });
    expect(results[60]).toEqual({ error: 'duplicate' });
    expect(await getJournalOrder(db.pool, 'gc-19')).toMatchObject({ state: 'accepted', venueOrderId: 'v-gc-19', sentMs: T0 + 1, answeredMs: T0 + 2 });
  });

  it('a bad row fails only its own op; the rest of its batch is stored', async () => {
    const writer = new JournalWriter(db.pool);
    const good = writer.write(intentOp(intent('br-1')));
    const bad = writer.write(intentOp({ ...intent('br-2'), price: 0 })); // CHECK (price > 0)
    const after = writer.write({ op: 'event', clientOrderId: 'br-1', kind: 'note', atMs: T0 + 5 });
    await expect(bad).rejects.toMatchObject({ code: '23514' });
    expect((await good).row).toMatchObject({ client_order_id: 'br-1' });
    expect((await after).id).toBeGreaterThan(0);
    expect(await getJournalOrder(db.pool, 'br-2')).toBeNull();
  });

  it('a read sees every write queued before it, and is not held up by writes queued after', async () => {
    const writer = journalWriter(db.pool);
    await writer.write(intentOp(intent('rd-1')));
    void writer.write({ op: 'event', clientOrderId: 'rd-1', kind: 'first', atMs: T0 + 1 });
    // a read of the journal waits for the queued event
    expect((await listOrderEvents(db.pool, 'rd-1')).map((e) => e.kind)).toEqual(['first']);
    // a steady stream of writes: new ones are queued on every turn, while batches are in flight
    let streaming = true;
    let streamed = 0;
    const stream = (async () => {
      while (streaming && streamed < 20_000) {
        for (let i = 0; i < 2; i++, streamed++) void writer.write({ op: 'event', clientOrderId: 'rd-1', kind: 'stream', atMs: T0 + 2 });
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await settleJournalWrites(db.pool);
    // resolved while the stream still ran (waiting for an empty queue, it would have waited
    // until the stream stopped at 20,000 writes): a reader is not starved by later writes
    const streamedAtSettle = streamed;
    streaming = false;
    await stream;
    expect(streamedAtSettle).toBeLessThan(20_000);
    await settleJournalWrites(db.pool);
    expect((await listOrderEvents(db.pool, 'rd-1')).filter((e) => e.kind === 'stream')).toHaveLength(streamed);
  });

  it('an unreachable database fails every op of the batch as unavailable', async () => {
    const dead = createPool('postgres://postgres:x@127.0.0.1:9/none', 1, 1_000);
    try {
      const writer = new JournalWriter(dead);
      const outcomes = await Promise.allSettled([writer.write(intentOp(intent('dead-1'))), writer.write({ op: 'sent', clientOrderId: 'dead-1', sentMs: T0 })]);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect(isDatabaseUnavailable((outcome as PromiseRejectedResult).reason)).toBe(true);
      }
      await writer.settled();
      expect(writer.pending).toBe(0);
    } finally {
      await dead.end();
    }
  });
});
