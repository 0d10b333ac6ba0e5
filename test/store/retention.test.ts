/**
 * Retention (src/adapters/store/retention.ts) on PGlite and, with TEST_DATABASE_URL, PostgreSQL:
 * old finished orders with their events, unreferenced decisions, old sync runs and (when asked)
 * old recordings go, in batches; fills, open and unanswered orders, the newest sync run, active
 * recordings and anything newer than the cutoff stay.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runDbCommand } from '../../src/cli/db.command.ts';
import { UsageError } from '../../src/app/errors.ts';
import type { Pool } from 'pg';
import {
  createRecordingSession,
  closeRecordingSession,
  finishSyncRun,
  getJournalOrder,
  journalOrderIntent,
  latestAccountSnapshot,
  listFills,
  listOrderEvents,
  listUnansweredOrders,
  pruneHistory,
  startRetention,
  recordBalanceSnapshot,
  recordDecision,
  recordFill,
  recordPositionSnapshots,
  recordVenueAnswer,
  startSyncRun,
} from '../../src/adapters/store/index.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import type { PruneResult } from '../../src/adapters/store/retention.ts';
import { testDatabases, type OpenTestDatabase } from '../helpers/databases.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const OLD = NOW - 10 * DAY;
const CUTOFF = NOW - 7 * DAY;
const T = 'KXRET-26JUN01-A';

async function order(pool: Pool, id: string, atMs: number, outcome: 'filled' | 'canceled' | 'resting' | 'unanswered', decisionId: number | null = null) {
  await journalOrderIntent(pool, { clientOrderId: id, env: 'sim', ticker: T, side: 'bid', price: 5000, count: 100, tif: 'good_till_canceled', createdMs: atMs, decisionId });
  if (outcome === 'unanswered') return;
  await recordVenueAnswer(pool, id, {
    answeredMs: atMs + 1,
    orderId: `v-${id}`,
    status: outcome === 'filled' ? 'executed' : outcome,
    fillCount: outcome === 'filled' ? 100 : 0,
    remainingCount: outcome === 'resting' ? 100 : 0,
  });
}

async function count(pool: Pool, table: string): Promise<number> {
  return Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
}

describe.each(await testDatabases())('retention on $name', (kind) => {
  let db: OpenTestDatabase;
  let recordingOld: number;
  let recordingActive: number;

  beforeAll(async () => {
    db = await kind.open();
    const pool = db.pool;
    // 30 old finished orders (filled and canceled), some from decisions; their events come along
    for (let i = 0; i < 30; i++) {
      const decision = i % 3 === 0 ? await recordDecision(pool, { trader: 't', strategy: 's', env: 'sim', ticker: T, atMs: OLD, action: 'buy_yes', outcome: 'submitted' }) : null;
      await order(pool, `old-${i}`, OLD + i, i % 2 ? 'filled' : 'canceled', decision);
    }
    await recordFill(pool, { fillId: 'fill-old', venueOrderId: 'v-old-1', env: 'sim', ticker: T, side: 'bid', yesPrice: 5000, count: 100, fee: 0, isTaker: true, tsMs: OLD, recordedMs: OLD, source: 'ws' });
    // old but still open, or never answered: never pruned
    await order(pool, 'old-resting', OLD, 'resting');
    await order(pool, 'old-unanswered', OLD, 'unanswered');
    // a new finished order
    await order(pool, 'new-filled', NOW - DAY, 'filled');
    // an old decision nothing points to, and one that a kept order points to
    await recordDecision(pool, { trader: 't', strategy: 's', env: 'sim', ticker: T, atMs: OLD, action: 'hold', outcome: 'skipped' });
    const keptDecision = await recordDecision(pool, { trader: 't', strategy: 's', env: 'sim', ticker: T, atMs: OLD, action: 'buy_yes', outcome: 'submitted' });
    await order(pool, 'old-resting-2', OLD, 'resting', keptDecision);
    // sync runs: 50 old paper ones with snapshots (the newest is the newest finished paper run: kept), 5 old sim ones and a recent one
    for (let i = 0; i < 50; i++) {
      const id = await startSyncRun(pool, { env: 'paper', reason: 'periodic', startedMs: OLD + i });
      await recordPositionSnapshots(pool, id, OLD + i, [{ ticker: T, position: i, exposure: 0, realizedPnl: 0, feesPaid: 0, totalTraded: 0 }]);
      await recordBalanceSnapshot(pool, id, { atMs: OLD + i, balance: 1_000 + i, portfolioValue: null });
      await finishSyncRun(pool, id, { status: 'agreed', endedMs: OLD + i });
    }
    for (let i = 0; i < 5; i++) {
      const id = await startSyncRun(pool, { env: 'sim', reason: 'periodic', startedMs: OLD + i });
      await finishSyncRun(pool, id, { status: 'agreed', endedMs: OLD + i });
    }
    const recent = await startSyncRun(pool, { env: 'sim', reason: 'periodic', startedMs: NOW - DAY });
    await finishSyncRun(pool, recent, { status: 'agreed', endedMs: NOW - DAY });
    // recordings: one old and closed with 700 deltas, one still active
    recordingOld = await createRecordingSession(pool, { env: 'sim', mode: 'record', startedMs: OLD });
    await pool.query(
      `INSERT INTO book_deltas (session_id, ticker, ord, sid, seq, ts_ms, recv_ms, side, price, delta)
       SELECT $1, $2, g, 1, g, $3, $3, 'yes', 5000, 100 FROM generate_series(1, 700) g`,
      [recordingOld, T, OLD],
    );
    await closeRecordingSession(pool, recordingOld, { snapshots: 0, deltas: 700, trades: 0, gaps: 0, dropped: 0 }, 'closed', { endedMs: OLD + 1 });
    recordingActive = await createRecordingSession(pool, { env: 'sim', mode: 'record', startedMs: OLD });
  }, 120_000);

  afterAll(async () => {
    await db?.close();
  });

  it('`kalshiflow db prune --dry-run` says what would go (the figures are relative to now, so everything above is old)', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      expect(await runDbCommand(['prune', '--older-than', '1d', '--dry-run', '--recordings', '--db', db.url], {})).toBe(0);
    } finally {
      log.mockRestore();
    }
    expect(lines.join('\n')).toMatch(/would delete 31 finished orders \(\d+ order events\), \d+ trader decisions, 54 sync runs, 1 recorded sessions \(700 rows\) older than /);
    expect(await count(db.pool, 'orders')).toBe(34);
    await expect(runDbCommand(['prune', '--db', db.url], {})).rejects.toThrow(/needs --older-than/);
    await expect(runDbCommand(['prune', '--older-than', 'soon', '--db', db.url], {})).rejects.toBeInstanceOf(UsageError);
    await expect(runDbCommand(['migrate', '--dry-run', '--db', db.url], {})).rejects.toThrow(/belong to db prune/);
  });

  it('counts without deleting on a dry run', async () => {
    const dry = await pruneHistory(db.pool, { beforeMs: CUTOFF, recordings: true, dryRun: true });
    expect(dry).toMatchObject({ orders: 30, syncRuns: 49 + 5, recordingSessions: 1, recordedRows: 700 });
    expect(dry.orderEvents).toBeGreaterThanOrEqual(30);
    expect(await count(db.pool, 'orders')).toBe(34);
  });

  it('prunes old finished history in batches and keeps the ledger, open orders, the newest sync run and active recordings', async () => {
    const eventsBefore = await count(db.pool, 'order_events');
    const result = await pruneHistory(db.pool, { beforeMs: CUTOFF, recordings: true, batchSize: 7 });
    expect(result).toMatchObject({ orders: 30, decisions: 11, syncRuns: 54, recordingSessions: 1, recordedRows: 700 });
    expect(await count(db.pool, 'order_events')).toBe(eventsBefore - result.orderEvents);

    expect(await getJournalOrder(db.pool, 'old-3')).toBeNull();
    expect(await listOrderEvents(db.pool, 'old-3')).toEqual([]);
    expect((await getJournalOrder(db.pool, 'old-resting'))?.state).toBe('accepted');
    expect((await listOrderEvents(db.pool, 'old-resting')).length).toBeGreaterThan(0);
    expect((await getJournalOrder(db.pool, 'old-resting-2'))?.decisionId).not.toBeNull();
    expect((await listUnansweredOrders(db.pool)).map((o) => o.clientOrderId)).toEqual(['old-unanswered']);
    expect((await getJournalOrder(db.pool, 'new-filled'))?.state).toBe('filled');
    // fills are the money ledger: never pruned
    expect((await listFills(db.pool)).map((f) => f.fillId)).toEqual(['fill-old']);
    // the account snapshot a start-up reads survives in each environment
    expect(await latestAccountSnapshot(db.pool, { env: 'paper' })).toMatchObject({ balance: 1_049, positions: [{ position: 49 }] });
    expect(await count(db.pool, 'sync_runs')).toBe(2);
    expect(await count(db.pool, 'position_snapshots')).toBe(1);
    // the old recording is gone with its rows; the active one stays
    expect(await count(db.pool, 'book_deltas')).toBe(0);
    expect((await db.pool.query('SELECT id FROM recording_sessions ORDER BY id')).rows.map((r) => Number(r.id))).toEqual([recordingActive]);
    void recordingOld;
  });

  it('leaves recordings alone unless asked, and a second pass finds nothing', async () => {
    const again = await pruneHistory(db.pool, { beforeMs: NOW });
    // only the order that became old at NOW (new-filled) and its events go
    expect(again).toMatchObject({ orders: 1, syncRuns: 0, recordingSessions: 0, recordedRows: 0 });
    expect(await count(db.pool, 'recording_sessions')).toBe(1);
    expect(await pruneHistory(db.pool, { beforeMs: NOW })).toMatchObject({ orders: 0, orderEvents: 0, decisions: 0, syncRuns: 0 });
  });

  it('prunes on the clock while running: a pass a minute after start, then every interval, keeping retainMs', async () => {
    await order(db.pool, 'timer-old', NOW - 2 * DAY, 'canceled');
    await order(db.pool, 'timer-new', NOW - DAY + 5 * 60_000, 'canceled');
    const clock = new VirtualClock(NOW);
    const passes: Array<PruneResult | Error> = [];
    const stop = startRetention(db.pool, { retainMs: DAY, everyMs: 10 * 60_000, clock, onPass: (r) => passes.push(r) });
    const waitForPasses = async (n: number) => {
      for (let i = 0; i < 500 && passes.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    clock.advance(59_999);
    expect(passes).toHaveLength(0);
    clock.advance(1);
    await waitForPasses(1);
    expect(passes[0]).toMatchObject({ orders: 1 });
    expect(await getJournalOrder(db.pool, 'timer-old')).toBeNull();
    expect(await getJournalOrder(db.pool, 'timer-new')).not.toBeNull();
    clock.advance(10 * 60_000); // the next pass, 10 min after the first: timer-new is older than a day by then
    await waitForPasses(2);
    expect(passes[1]).toMatchObject({ orders: 1 });
    await stop();
    clock.advance(DAY);
    await new Promise((r) => setTimeout(r, 50));
    expect(passes).toHaveLength(2);
  });
});
