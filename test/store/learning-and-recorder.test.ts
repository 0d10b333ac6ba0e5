import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenTestDatabase } from '../helpers/databases.ts';
import { testDatabases } from '../helpers/databases.ts';
import {
  finishSessionRun,
  getActiveModel,
  getSessionRun,
  listEpisodes,
  listModels,
  recordEpisode,
  registerModel,
  setModelStatus,
  startSessionRun,
} from '../../src/adapters/store/learning.ts';
import {
  SessionRecorder,
  closeAbandonedRecordingSessions,
  closeRecordingSession,
  createRecordingQueue,
  createRecordingSession,
  recordMarketSeen,
} from '../../src/adapters/store/recorder.ts';
import { getRecordedSession, listRecordedSessions } from '../../src/adapters/store/session-loader.ts';
import { query } from '../../src/adapters/store/database.ts';
import { VirtualClock } from '../../src/core/clock.ts';

const T0 = Date.UTC(2026, 0, 10);

describe.each(await testDatabases())('models, episodes, session runs and recordings on $name', (kind) => {
  let db: OpenTestDatabase;
  beforeAll(async () => {
    db = await kind.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('keeps at most one active version of a model', async () => {
    const v1 = await registerModel(db.pool, { name: 'ppo-spread', version: '1', algorithm: 'ppo', obsVersion: 'obs-v1' }, T0);
    const v2 = await registerModel(db.pool, { name: 'ppo-spread', version: '2', algorithm: 'ppo', obsVersion: 'obs-v1', sha256: 'ab' }, T0 + 1);
    await setModelStatus(db.pool, v1.id, 'active', T0 + 2);
    expect((await getActiveModel(db.pool, 'ppo-spread'))?.version).toBe('1');
    const activated = await setModelStatus(db.pool, v2.id, 'active', T0 + 3, { evalReturn: 1.5 });
    expect(activated).toMatchObject({ status: 'active', metrics: { evalReturn: 1.5 }, updatedMs: T0 + 3 });
    expect((await getActiveModel(db.pool, 'ppo-spread'))?.id).toBe(v2.id);
    const statuses = (await listModels(db.pool)).filter((m) => m.name === 'ppo-spread').map((m) => [m.version, m.status]);
    expect(statuses).toEqual([
      ['1', 'retired'],
      ['2', 'active'],
    ]);
    await expect(registerModel(db.pool, { name: 'ppo-spread', version: '2', algorithm: 'ppo', obsVersion: 'obs-v1' }, T0)).rejects.toMatchObject({
      code: '23505',
    });
  });

  it('stores episodes with money in micros', async () => {
    const model = await registerModel(db.pool, { name: 'ep', version: '1', algorithm: 'ppo', obsVersion: 'obs-v1' }, T0);
    for (let n = 1; n <= 3; n++) {
      await recordEpisode(db.pool, {
        modelId: model.id,
        kind: n === 3 ? 'evaluation' : 'training',
        episodeNumber: n,
        steps: 100 * n,
        totalReward: n / 4,
        pnl: -1_234_567 * n,
        fees: 70_000,
        trades: n,
        actionCounts: { hold: 90, buy_yes: 10 },
        createdMs: T0 + n,
      });
    }
    const training = await listEpisodes(db.pool, { modelId: model.id, kind: 'training' });
    expect(training.map((e) => [e.episodeNumber, e.pnl, e.totalReward])).toEqual([
      [1, -1_234_567, 0.25],
      [2, -2_469_134, 0.5],
    ]);
    expect(training[0].actionCounts).toEqual({ hold: 90, buy_yes: 10 });
  });

  it('records a scripted session run and its report', async () => {
    const id = await startSessionRun(db.pool, { scenario: 'sessions/gap.yaml', clock: 'virtual', startedMs: T0, seed: 7 });
    await finishSessionRun(db.pool, id, { status: 'passed', endedMs: T0 + 10, assertionsPassed: 4, assertionsFailed: 0, report: { fills: 3 } });
    expect(await getSessionRun(db.pool, id)).toMatchObject({ status: 'passed', endedMs: T0 + 10, report: { fills: 3 } });
    await expect(
      finishSessionRun(db.pool, id, { status: 'failed', endedMs: T0 + 11, assertionsPassed: 0, assertionsFailed: 1 }),
    ).rejects.toThrow(/not running/);
  });

  it('upserts the markets catalogue', async () => {
    await recordMarketSeen(db.pool, { ticker: 'KXM', seenMs: T0, title: 'first', info: { a: 1 } });
    await recordMarketSeen(db.pool, { ticker: 'KXM', seenMs: T0 + 5, status: 'active', info: { b: 2 } });
    await recordMarketSeen(db.pool, { ticker: 'KXM', seenMs: T0 + 1 });
    const [m] = await query(db.pool, 'SELECT * FROM markets WHERE ticker = $1', ['KXM']);
    expect(m).toMatchObject({ title: 'first', status: 'active', first_seen_ms: T0, last_seen_ms: T0 + 5, info: { a: 1, b: 2 } });
  });

  it('closes a session once, and marks sessions abandoned by a dead process as interrupted', async () => {
    const counts = { snapshots: 1, deltas: 2, trades: 3, gaps: 0, dropped: 0 };
    const id = await createRecordingSession(db.pool, { env: 'sim', mode: 'trade', startedMs: T0 });
    await closeRecordingSession(db.pool, id, counts, 'health_failure', { endedMs: T0 + 9, error: 'no message for 300 s' });
    await expect(closeRecordingSession(db.pool, id, counts, 'closed', { endedMs: T0 + 10 })).rejects.toThrow(/not active/);
    expect(await getRecordedSession(db.pool, id)).toMatchObject({ status: 'health_failure', error: 'no message for 300 s', counts: { ...counts } });

    const left = await createRecordingSession(db.pool, { env: 'sim', mode: 'record', startedMs: T0, owner: 'recorder' });
    const othersLive = await createRecordingSession(db.pool, { env: 'sim', mode: 'trade', startedMs: T0, owner: 'trader' });
    expect((await listRecordedSessions(db.pool)).map((s) => s.id)).not.toContain(left);
    expect((await listRecordedSessions(db.pool, { includeActive: true })).map((s) => s.id)).toContain(left);
    expect(await closeAbandonedRecordingSessions(db.pool, 'recorder', T0 + 100)).toBe(1);
    expect(await getRecordedSession(db.pool, left)).toMatchObject({ status: 'interrupted', owner: 'recorder', endedMs: T0 + 100 });
    expect((await getRecordedSession(db.pool, othersLive))?.status).toBe('active');
  });

  it('counts rows the recorder could not enqueue as dropped', async () => {
    const clock = new VirtualClock(T0);
    const queue = createRecordingQueue(db.pool, { clock, maxRows: 3 });
    const recorder = await SessionRecorder.start(db.pool, queue, { env: 'test', mode: 'record', clock });
    const accepted = [1, 2, 3, 4, 5].map((seq) => recorder.delta({ ticker: 'KXD', sid: 1, seq, side: 'yes', price: 100, delta: 100 }));
    expect(accepted).toEqual([true, true, true, false, false]);
    const counts = await recorder.close('closed');
    expect(counts).toEqual({ snapshots: 0, deltas: 3, trades: 0, gaps: 0, dropped: 2 });
    expect((await getRecordedSession(db.pool, recorder.sessionId))?.counts).toEqual(counts);
    await queue.close();
  });
});
