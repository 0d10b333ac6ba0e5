/**
 * The recorder end to end against the embedded simulator over loopback: a few seconds of live
 * books recorded into a session, loaded back with loadRecordedSession and replayed — the replayed
 * books must be the recorder's live books level for level, and the stored counts the rows stored.
 * A forced sequence gap (simulator fault skipSeq) and a dropped connection must appear as gap rows
 * followed by fresh snapshots. Runs on PGlite always and on PostgreSQL when TEST_DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { KalshiWsClient } from '../../src/adapters/kalshi/ws.ts';
import { query } from '../../src/adapters/store/database.ts';
import { getRecordedSession, loadRecordedSession, replayBooks } from '../../src/adapters/store/session-loader.ts';
import type { MarketTimeline, TimelineEvent } from '../../src/adapters/store/session-loader.ts';
import { MarketRecorder } from '../../src/actors/recorder.ts';
import { systemClock } from '../../src/core/clock.ts';
import { startSimulator } from '../../src/sim/simulator.ts';
import type { RunningSimulator } from '../../src/sim/simulator.ts';
import { testDatabases } from '../helpers/databases.ts';
import type { OpenTestDatabase } from '../helpers/databases.ts';

const KEY_ID = 'record-test';

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Index of the first event after `from` matching `match`, or -1. */
function indexAfter(events: TimelineEvent[], from: number, match: (e: TimelineEvent) => boolean): number {
  for (let i = from + 1; i < events.length; i++) if (match(events[i])) return i;
  return -1;
}

describe.each(await testDatabases())('recording from the simulator ($name)', (kind) => {
  let sim: RunningSimulator;
  let db: OpenTestDatabase;
  let recorder: MarketRecorder;
  let gapTicker: string;
  let summary: Awaited<ReturnType<MarketRecorder['stop']>>;
  let liveBooks: ReturnType<MarketRecorder['books']>;
  let timelines: Map<string, MarketTimeline>;

  beforeAll(async () => {
    const pair = generateKeyPair();
    sim = await startSimulator({
      markets: 4,
      seed: 7,
      keys: [{ keyId: KEY_ID, publicKeyPem: pair.publicKeyPem }],
      activityStepMs: { min: 20, max: 80 },
    });
    // One connection for PGlite (one backend session); a few for a real server.
    db = await kind.open({ poolSize: kind.name === 'pglite' ? 1 : 4 });
    const credentials = createCredentials(KEY_ID, loadPrivateKey({ pem: pair.privateKeyPem }));
    const endpoints = endpointsFor('sim', { restBaseUrl: sim.restUrl, wsUrl: sim.wsUrl });
    recorder = await MarketRecorder.start({
      ws: new KalshiWsClient({ url: endpoints.wsUrl, credentials, useYesPrice: false }),
      rest: new KalshiRestClient({ endpoints, credentials }),
      pool: db.pool,
      env: 'sim',
      selection: { mode: 'discovery', limit: 4 },
      clock: systemClock,
      sourceUrl: endpoints.wsUrl,
    });

    await until('every market live', () => recorder.progress().markets.live === 4);
    await until('some deltas', () => recorder.progress().counts.deltas >= 100);
    // The next delta of this market jumps its subscription's seq by two.
    const gapsBefore = recorder.progress().counts.gaps;
    gapTicker = [...recorder.books().keys()][0];
    sim.faults.skipSeq(gapTicker);
    await until('the gap to be recorded', () => recorder.progress().counts.gaps > gapsBefore);
    await until('every market live again', () => recorder.progress().markets.live === 4);
    await sleep(1_500);
    // A dropped connection: disconnect rows, reconnect rows after resubscribing, then snapshots.
    const snapshotsBefore = recorder.progress().counts.snapshots;
    sim.faults.dropWebSockets();
    await until('resnapshots after the reconnect', () => recorder.progress().counts.snapshots >= snapshotsBefore + 4);
    await until('every market live after the reconnect', () => recorder.progress().markets.live === 4);
    await sleep(2_000);

    summary = await recorder.stop();
    liveBooks = recorder.books();
    const loaded = await loadRecordedSession(db.pool, recorder.sessionId);
    timelines = new Map(loaded.markets.map((m) => [m.ticker, m]));
  }, 60_000);

  afterAll(async () => {
    await recorder?.stop().catch(() => undefined);
    await sim?.close();
    await db?.close();
  });

  it('closes the session with the counts of the rows stored', async () => {
    const session = await getRecordedSession(db.pool, recorder.sessionId);
    expect(session).toMatchObject({ status: 'closed', mode: 'record', env: 'sim', owner: 'recorder' });
    expect(session!.counts).toEqual(summary.counts);
    expect(summary.counts.dropped).toBe(0);
    expect(summary.counts.deltas).toBeGreaterThan(100);
    const totals = { snapshots: 0, deltas: 0, trades: 0, gaps: 0 };
    for (const t of timelines.values()) {
      totals.snapshots += t.counts.snapshots;
      totals.deltas += t.counts.deltas;
      totals.trades += t.counts.trades;
      totals.gaps += t.counts.gaps;
    }
    expect(totals).toEqual({ snapshots: summary.counts.snapshots, deltas: summary.counts.deltas, trades: summary.counts.trades, gaps: summary.counts.gaps });
    // what the recorder counted while running is what reached the database
    expect(recorder.progress().counts).toMatchObject({ ...totals, dropped: 0 });
  });

  it('records the markets it covered in the catalogue', async () => {
    const rows = await query<{ ticker: string }>(db.pool, 'SELECT ticker FROM session_markets WHERE session_id = $1 ORDER BY ticker', [recorder.sessionId]);
    expect(rows.map((r) => r.ticker)).toEqual(recorder.markets.map((m) => m.ticker).sort());
    expect([...timelines.keys()].sort()).toEqual(recorder.markets.map((m) => m.ticker).sort());
  });

  it('replays to exactly the books the recorder had live at the end', () => {
    expect(liveBooks.size).toBe(4);
    for (const [ticker, live] of liveBooks) {
      const replay = replayBooks(timelines.get(ticker)!);
      expect(replay.valid, ticker).toBe(true);
      expect(replay.refused, ticker).toBe(0);
      expect(replay.book.levels('yes'), ticker).toEqual(live.levels('yes'));
      expect(replay.book.levels('no'), ticker).toEqual(live.levels('no'));
      expect(replay.book.equals(live), ticker).toBe(true);
    }
  });

  it('keeps every delta with its sid and a strictly increasing seq per subscription', () => {
    for (const t of timelines.values()) {
      const lastSeq = new Map<number, number>();
      for (const e of t.events) {
        // a new connection numbers its subscriptions afresh (the simulator reuses sid 1)
        if (e.kind === 'gap' && e.gapKind === 'reconnect') lastSeq.clear();
        if (e.kind !== 'delta' && e.kind !== 'snapshot') continue;
        const last = lastSeq.get(e.sid);
        if (last !== undefined) expect(e.seq, `${t.ticker} sid ${e.sid}`).toBeGreaterThan(last);
        lastSeq.set(e.sid, e.seq);
      }
      expect(t.events[0].kind, t.ticker).toBe('snapshot');
    }
  });

  it('records the forced sequence gap, followed by a fresh snapshot', () => {
    const events = timelines.get(gapTicker)!.events;
    const gap = events.findIndex((e) => e.kind === 'gap' && e.gapKind === 'seq_gap');
    expect(gap).toBeGreaterThan(0);
    const g = events[gap];
    expect(g.kind === 'gap' && g.receivedSeq! - g.expectedSeq!).toBe(1);
    const snapshot = indexAfter(events, gap, (e) => e.kind === 'snapshot');
    expect(snapshot).toBeGreaterThan(gap);
    // between the gap and its snapshot nothing is applicable: the live stream withheld the deltas
    expect(events.slice(gap + 1, snapshot).filter((e) => e.kind === 'delta')).toEqual([]);
  });

  it('records the dropped connection as disconnect and reconnect rows, each market re-snapshotted after', () => {
    for (const t of timelines.values()) {
      const disconnect = t.events.findIndex((e) => e.kind === 'gap' && e.gapKind === 'disconnect');
      expect(disconnect, t.ticker).toBeGreaterThan(0);
      const reconnect = indexAfter(t.events, disconnect, (e) => e.kind === 'gap' && e.gapKind === 'reconnect');
      expect(reconnect, t.ticker).toBeGreaterThan(disconnect);
      const snapshot = indexAfter(t.events, reconnect, (e) => e.kind === 'snapshot');
      expect(snapshot, t.ticker).toBeGreaterThan(reconnect);
      const reconnectRow = t.events[reconnect];
      const snapshotRow = t.events[snapshot];
      // the fresh snapshot belongs to the new subscription
      expect(snapshotRow.kind === 'snapshot' && reconnectRow.kind === 'gap' && snapshotRow.sid === reconnectRow.sid).toBe(true);
    }
  });
});
