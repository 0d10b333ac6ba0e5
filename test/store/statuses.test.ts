/**
 * Every enumerated value the code can write satisfies the CHECK constraints (the original system
 * failed closing sessions with a status its own CHECK refused), and a value outside them is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenTestDatabase } from '../helpers/databases.ts';
import { testDatabases } from '../helpers/databases.ts';
import * as S from '../../src/adapters/store/statuses.ts';
import {
  closeRecordingSession,
  createRecordingQueue,
  createRecordingSession,
  SessionRecorder,
} from '../../src/adapters/store/recorder.ts';
import {
  finishSyncRun,
  journalOrderIntent,
  recordDecision,
  recordFill,
  recordOrderEvent,
  recordSyncFinding,
  recordVenueAnswer,
  startSyncRun,
} from '../../src/adapters/store/journal.ts';
import {
  finishSessionRun,
  recordEpisode,
  registerModel,
  setModelStatus,
  startSessionRun,
} from '../../src/adapters/store/learning.ts';
import { query } from '../../src/adapters/store/database.ts';
import { getRecordedSession } from '../../src/adapters/store/session-loader.ts';

const T0 = Date.UTC(2026, 0, 6);
const zeroCounts = { snapshots: 0, deltas: 0, trades: 0, gaps: 0, dropped: 0 };

describe.each(await testDatabases())('CHECK constraints accept what the code writes, on $name', (kind) => {
  let db: OpenTestDatabase;
  beforeAll(async () => {
    db = await kind.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('recording sessions: every env, mode and end status', async () => {
    for (const env of S.ENVIRONMENTS) {
      for (const mode of S.RECORDING_MODES) {
        await createRecordingSession(db.pool, { env, mode, startedMs: T0 });
      }
    }
    for (const status of S.RECORDING_STATUSES.filter((s) => s !== 'active')) {
      const id = await createRecordingSession(db.pool, { env: 'test', mode: 'record', startedMs: T0, tickers: ['A'] });
      await closeRecordingSession(db.pool, id, zeroCounts, status as S.RecordingEndStatus, { endedMs: T0 + 1, error: 'why' });
      expect((await getRecordedSession(db.pool, id))?.status).toBe(status);
    }
    await expect(
      query(db.pool, `UPDATE recording_sessions SET status = 'bogus', ended_ms = started_ms WHERE id = (SELECT min(id) FROM recording_sessions)`),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('gap kinds through the write queue', async () => {
    const queue = createRecordingQueue(db.pool);
    const recorder = await SessionRecorder.start(db.pool, queue, { env: 'test', mode: 'record' });
    for (const k of S.GAP_KINDS) recorder.gap({ ticker: 'A', kind: k, sid: 1, expectedSeq: 5, receivedSeq: 9 });
    await recorder.close('closed');
    const stats = await queue.close();
    expect(stats.rejected).toBe(0);
    expect(stats.tables.book_gaps.flushed).toBe(S.GAP_KINDS.length);
  });

  it('orders: every state, time in force and venue status; fills: every source', async () => {
    let n = 0;
    for (const tif of S.TIME_IN_FORCE) {
      for (const state of S.ORDER_STATES) {
        const id = `c-${n++}`;
        await journalOrderIntent(db.pool, {
          clientOrderId: id,
          env: 'test',
          ticker: 'A',
          side: n % 2 ? 'bid' : 'ask',
          price: 100,
          count: 100,
          tif,
          createdMs: T0,
          ...(state === 'denied' ? { state: 'denied' as const, error: 'max position' } : {}),
        });
        await recordOrderEvent(db.pool, { clientOrderId: id, kind: 'test', state, atMs: T0 + 1 });
      }
    }
    for (const status of S.VENUE_ORDER_STATUSES) {
      const id = `v-${status}`;
      await journalOrderIntent(db.pool, { clientOrderId: id, env: 'test', ticker: 'A', side: 'bid', price: 9999, count: 1, tif: 'fill_or_kill', createdMs: T0 });
      await recordVenueAnswer(db.pool, id, { answeredMs: T0 + 1, orderId: `venue-${status}`, status, fillCount: 1 });
    }
    for (const source of S.FILL_SOURCES) {
      expect(
        await recordFill(db.pool, {
          fillId: `f-${source}`,
          venueOrderId: 'venue-resting',
          env: 'test',
          ticker: 'A',
          side: 'ask',
          outcomeSide: 'no',
          yesPrice: 1,
          count: 1,
          fee: 0,
          isTaker: false,
          tsMs: T0,
          recordedMs: T0,
          source,
        }),
      ).toBe(true);
    }
    await expect(recordOrderEvent(db.pool, { clientOrderId: 'c-0', kind: 'x', state: 'bogus' as S.JournalOrderState, atMs: T0 })).rejects.toMatchObject({
      code: '23514',
    });
  });

  it('sync runs, findings, decisions', async () => {
    for (const status of S.SYNC_STATUSES.filter((s) => s !== 'running')) {
      const id = await startSyncRun(db.pool, { env: 'test', reason: 'periodic', startedMs: T0 });
      for (const severity of S.FINDING_SEVERITIES) await recordSyncFinding(db.pool, id, { kind: 'k', severity, message: 'm' });
      await finishSyncRun(db.pool, id, { status: status as Exclude<S.SyncStatus, 'running'>, endedMs: T0 + 5 });
    }
    for (const action of S.DECISION_ACTIONS) {
      for (const outcome of S.DECISION_OUTCOMES) {
        await recordDecision(db.pool, { trader: 't', strategy: 's', env: 'test', ticker: 'A', atMs: T0, action, outcome });
      }
    }
  });

  it('models, episodes, session runs', async () => {
    const model = await registerModel(db.pool, { name: 'ppo', version: 'v1', algorithm: 'ppo', obsVersion: 'obs-v1' }, T0);
    for (const status of S.MODEL_STATUSES) await setModelStatus(db.pool, model.id, status, T0 + 1);
    for (const k of S.EPISODE_KINDS) {
      await recordEpisode(db.pool, { modelId: model.id, kind: k, episodeNumber: 1, steps: 10, totalReward: 0.5, pnl: -1, fees: 1, trades: 1, createdMs: T0 });
    }
    for (const status of S.SESSION_RUN_STATUSES.filter((s) => s !== 'running')) {
      const id = await startSessionRun(db.pool, { scenario: 'gap-recovery', clock: 'virtual', startedMs: T0, seed: 42 });
      await finishSessionRun(db.pool, id, {
        status: status as Exclude<S.SessionRunStatus, 'running'>,
        endedMs: T0 + 1,
        assertionsPassed: 3,
        assertionsFailed: 0,
      });
    }
  });
});
