/**
 * Round trip of a recorded session: snapshots, deltas (with sid/seq), trades and a gap with a
 * resubscription are recorded through the write queue while books are built live; the session
 * is loaded back and replayed, and every replayed book equals the live one at the same point.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenTestDatabase } from '../helpers/databases.ts';
import { testDatabases } from '../helpers/databases.ts';
import { SessionRecorder, createRecordingQueue, recordMarketSeen } from '../../src/adapters/store/recorder.ts';
import {
  listRecordedSessions,
  loadRecordedSession,
  replayBooks,
  replaySession,
} from '../../src/adapters/store/session-loader.ts';
import type { LoadedSession } from '../../src/adapters/store/session-loader.ts';
import { query } from '../../src/adapters/store/database.ts';
import { OrderBook } from '../../src/core/orderbook.ts';
import type { OutcomeSide } from '../../src/core/orderbook.ts';
import { VirtualClock } from '../../src/core/clock.ts';

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

const TICKERS = ['KXA-26JAN08-T1', 'KXB-26JAN08-T2', 'KXC-26JAN08-T3'];

interface LiveMarket {
  book: OrderBook;
  valid: boolean;
  kinds: string[];
  /** Every delta recorded for the market, as sent to the recorder. */
  deltas: Array<{ sid: number; seq: number; tsMs: number | null; side: OutcomeSide; price: number; delta: number }>;
  /** Book copies at some event indexes, to compare with the replay mid-way. */
  checkpoints: Map<number, OrderBook>;
}

/** Records a synthetic multi-market stream and builds the books live, like a market actor. */
async function recordSession(db: OpenTestDatabase, eventsPerMarket: number): Promise<{ sessionId: number; live: Map<string, LiveMarket> }> {
  const clock = new VirtualClock(Date.UTC(2026, 0, 8, 14));
  const queue = createRecordingQueue(db.pool, { clock, batchRows: 500 });
  const recorder = await SessionRecorder.start(db.pool, queue, { env: 'test', mode: 'record', tickers: TICKERS, clock });
  for (const t of TICKERS) await recordMarketSeen(db.pool, { ticker: t, seenMs: clock.now(), sessionId: recorder.sessionId });
  const rand = mulberry32(20260108);
  const live = new Map<string, LiveMarket>(
    TICKERS.map((t) => [t, { book: new OrderBook(t), valid: false, kinds: [], deltas: [], checkpoints: new Map() }]),
  );
  let sid = 1;
  let seq = 0;
  const note = (ticker: string, kind: string) => {
    const m = live.get(ticker)!;
    m.kinds.push(kind);
    if (m.kinds.length % 37 === 0) m.checkpoints.set(m.kinds.length - 1, m.book.clone());
  };
  const snapshot = (ticker: string) => {
    const levels = (n: number): Array<[number, number]> => {
      const prices = new Set<number>();
      while (prices.size < n) prices.add(100 * (1 + Math.floor(rand() * 98)));
      return [...prices].sort((a, b) => a - b).map((p) => [p, 100 * (1 + Math.floor(rand() * 50))]);
    };
    const yes = levels(1 + Math.floor(rand() * 8));
    const no = levels(Math.floor(rand() * 8));
    seq++;
    const m = live.get(ticker)!;
    m.book.applySnapshot(yes, no);
    m.valid = true;
    expect(recorder.snapshot({ ticker, sid, seq, tsMs: clock.now(), yes, no })).toBe(true);
    note(ticker, 'snapshot');
  };
  for (const t of TICKERS) snapshot(t);

  const total = eventsPerMarket * TICKERS.length;
  for (let i = 0; i < total; i++) {
    clock.advance(1 + Math.floor(rand() * 20));
    const ticker = TICKERS[Math.floor(rand() * TICKERS.length)];
    const m = live.get(ticker)!;
    const r = rand();
    if (i === Math.floor(total / 2)) {
      // a sequence gap on the subscription: every market's book is unknown until resubscribed
      for (const t of TICKERS) {
        recorder.gap({ ticker: t, kind: 'seq_gap', sid, expectedSeq: seq + 1, receivedSeq: seq + 3 });
        live.get(t)!.valid = false;
        note(t, 'gap');
      }
      seq += 2;
      // deltas still arrive before the resubscription; a live actor ignores them
      for (const t of TICKERS) {
        seq++;
        recorder.delta({ ticker: t, sid, seq, tsMs: clock.now(), side: 'yes', price: 4200, delta: 700 });
        live.get(t)!.deltas.push({ sid, seq, tsMs: clock.now(), side: 'yes', price: 4200, delta: 700 });
        note(t, 'delta');
      }
      sid = 2;
      seq = 0;
      for (const t of TICKERS) snapshot(t);
    } else if (r < 0.04) {
      snapshot(ticker);
    } else if (r < 0.12) {
      const count = 100 * (1 + Math.floor(rand() * 10));
      recorder.trade({ ticker, tradeId: `tr-${i}`, yesPrice: 100 * (1 + Math.floor(rand() * 98)), count, takerSide: rand() < 0.5 ? 'yes' : 'no', tsMs: clock.now() });
      note(ticker, 'trade');
    } else {
      const side: OutcomeSide = rand() < 0.5 ? 'yes' : 'no';
      const price = 100 * (1 + Math.floor(rand() * 98));
      const size = m.book.sizeAt(side, price);
      const change = size > 0 && rand() < 0.5 ? -Math.min(size, 100 * (1 + Math.floor(rand() * 5))) : 100 * (1 + Math.floor(rand() * 20));
      seq++;
      if (m.valid) m.book.applyDelta(side, price, change);
      // Kalshi's ts_ms is optional: some deltas carry none
      const tsMs = i % 5 === 0 ? null : clock.now();
      recorder.delta({ ticker, sid, seq, tsMs, side, price, delta: change });
      m.deltas.push({ sid, seq, tsMs, side, price, delta: change });
      note(ticker, 'delta');
    }
  }
  const counts = await recorder.close('closed');
  const stats = await queue.close();
  expect(stats).toMatchObject({ dropped: 0, rejected: 0, depth: 0 });
  expect(counts.dropped).toBe(0);
  return { sessionId: recorder.sessionId, live };
}

describe.each(await testDatabases())('recorded session round trip on $name', (kind) => {
  let db: OpenTestDatabase;
  let sessionId: number;
  let live: Map<string, LiveMarket>;
  let loaded: LoadedSession;

  beforeAll(async () => {
    db = await kind.open();
    ({ sessionId, live } = await recordSession(db, 1_500));
    loaded = await loadRecordedSession(db.pool, sessionId);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('stores the session with its counts', async () => {
    const expected = { snapshots: 0, deltas: 0, trades: 0, gaps: 0 };
    for (const m of live.values()) for (const k of m.kinds) expected[`${k}s` as keyof typeof expected]++;
    expect(loaded.session).toMatchObject({ id: sessionId, status: 'closed', env: 'test', mode: 'record', tickers: TICKERS });
    expect(loaded.session.counts).toEqual({ ...expected, dropped: 0 });
    expect(loaded.session.endedMs).toBeGreaterThan(loaded.session.startedMs);
    const sessions = await listRecordedSessions(db.pool, { status: 'closed' });
    expect(sessions.map((s) => s.id)).toContain(sessionId);
    const markets = await query<{ ticker: string }>(db.pool, 'SELECT ticker FROM session_markets WHERE session_id = $1 ORDER BY ticker', [sessionId]);
    expect(markets.map((m) => m.ticker)).toEqual(TICKERS);
  });

  it('loads every market timeline in the order recorded', () => {
    expect(loaded.markets.map((m) => m.ticker)).toEqual(TICKERS);
    for (const market of loaded.markets) {
      expect(market.events.map((e) => e.kind)).toEqual(live.get(market.ticker)!.kinds);
      const ords = market.events.map((e) => e.ord);
      expect(ords).toEqual([...ords].sort((a, b) => a - b));
      expect(market.counts.gaps).toBe(1);
    }
    for (const market of loaded.markets) {
      const deltas = market.events.flatMap((e) =>
        e.kind === 'delta' ? [{ sid: e.sid, seq: e.seq, tsMs: e.tsMs, side: e.side, price: e.price, delta: e.delta }] : [],
      );
      expect(deltas).toEqual(live.get(market.ticker)!.deltas);
      expect(deltas.some((d) => d.tsMs === null)).toBe(true);
      expect(deltas.some((d) => d.delta < 0)).toBe(true);
    }
  });

  it('replays every book to the live book, step by step', () => {
    for (const market of loaded.markets) {
      const m = live.get(market.ticker)!;
      let compared = 0;
      const result = replayBooks(market, (step) => {
        const expected = m.checkpoints.get(step.index);
        if (expected) {
          expect(step.book.equals(expected), `${market.ticker} at event ${step.index}`).toBe(true);
          compared++;
        }
      });
      expect(compared).toBe(m.checkpoints.size);
      expect(result.book.equals(m.book)).toBe(true);
      expect(result.valid).toBe(true);
      expect(result.refused).toBe(0);
      expect(result.book.levels('yes')).toEqual(m.book.levels('yes'));
    }
  });

  it('skips deltas between a gap and the next snapshot', () => {
    const market = loaded.markets[0];
    const outcomes: string[] = [];
    replayBooks(market, (step) => {
      if (step.event.kind === 'gap' || (!step.valid && step.event.kind === 'delta')) outcomes.push(`${step.event.kind}:${step.outcome}`);
    });
    expect(outcomes).toEqual(['gap:skipped', 'delta:skipped']);
  });

  it('loads only the requested markets, in small pages with the same result', async () => {
    const subset = await loadRecordedSession(db.pool, sessionId, { tickers: [TICKERS[2], TICKERS[0]], pageRows: 97 });
    expect(subset.markets.map((m) => m.ticker)).toEqual([TICKERS[0], TICKERS[2]]);
    expect(subset.markets[0].events).toEqual(loaded.markets[0].events);
    expect(subset.markets[1].events).toEqual(loaded.markets[2].events);
    const replayed = replaySession(subset);
    expect(replayed.get(TICKERS[2])!.book.equals(live.get(TICKERS[2])!.book)).toBe(true);
  });

  it('refuses an unknown session', async () => {
    await expect(loadRecordedSession(db.pool, 987_654_321)).rejects.toThrow(/does not exist/);
  });
});
