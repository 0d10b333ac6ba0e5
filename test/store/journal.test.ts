import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenTestDatabase } from '../helpers/databases.ts';
import { testDatabases } from '../helpers/databases.ts';
import {
  DuplicateOrderError,
  UnknownOrderError,
  closeInterruptedSyncRuns,
  finishSyncRun,
  getJournalOrder,
  journalOrderIntent,
  journaledClientOrderIds,
  latestAccountSnapshot,
  listFills,
  listOpenJournalOrders,
  listOrderEvents,
  listRecentDecisions,
  listSyncFindings,
  listUnansweredOrders,
  markOrderSent,
  recordBalanceSnapshot,
  recordDecision,
  recordFill,
  recordOrderEvent,
  recordPositionSnapshots,
  recordSyncFinding,
  recordVenueAnswer,
  setDecisionOutcome,
  settleJournalOrder,
  startSyncRun,
  stateForVenueAnswer,
} from '../../src/adapters/store/journal.ts';
import type { FillRecord, OrderIntent } from '../../src/adapters/store/journal.ts';
import { parseDollars, parsePrice } from '../../src/core/money.ts';

const T0 = Date.UTC(2026, 0, 5, 12);

function intent(id: string, overrides: Partial<OrderIntent> = {}): OrderIntent {
  return {
    clientOrderId: id,
    env: 'test',
    ticker: 'KXTEST-26JAN05-T50',
    side: 'bid',
    price: parsePrice('0.5600'),
    count: 1000,
    tif: 'good_till_canceled',
    createdMs: T0,
    trader: 'trader-1',
    ...overrides,
  };
}

function fill(id: string, venueOrderId: string, overrides: Partial<FillRecord> = {}): FillRecord {
  return {
    fillId: id,
    venueOrderId,
    env: 'test',
    ticker: 'KXTEST-26JAN05-T50',
    side: 'bid',
    outcomeSide: 'yes',
    yesPrice: parsePrice('0.5600'),
    count: 400,
    fee: parseDollars('0.070000'),
    isTaker: true,
    tsMs: T0 + 50,
    recordedMs: T0 + 60,
    source: 'ws',
    ...overrides,
  };
}

describe.each(await testDatabases())('trading journal on $name', (kind) => {
  let db: OpenTestDatabase;
  beforeAll(async () => {
    db = await kind.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('journals an intent, then the venue answer', async () => {
    const journaled = await journalOrderIntent(db.pool, intent('coid-1'));
    expect(journaled).toMatchObject({ clientOrderId: 'coid-1', state: 'initialized', price: 5600, count: 1000, answeredMs: null });
    expect((await listUnansweredOrders(db.pool)).map((o) => o.clientOrderId)).toContain('coid-1');

    await markOrderSent(db.pool, 'coid-1', T0 + 1);
    expect((await getJournalOrder(db.pool, 'coid-1'))?.state).toBe('submitted');

    const answered = await recordVenueAnswer(db.pool, 'coid-1', {
      answeredMs: T0 + 20,
      orderId: 'venue-1',
      status: 'resting',
      fillCount: 400,
      remainingCount: 600,
      avgFillPrice: 5600,
      fees: parseDollars('0.07'),
    });
    expect(answered).toMatchObject({
      state: 'partially_filled',
      venueOrderId: 'venue-1',
      venueStatus: 'resting',
      fillCount: 400,
      remainingCount: 600,
      fees: 70_000,
      sentMs: T0 + 1,
      answeredMs: T0 + 20,
    });
    expect((await listUnansweredOrders(db.pool)).map((o) => o.clientOrderId)).not.toContain('coid-1');
    expect((await listOpenJournalOrders(db.pool)).map((o) => o.clientOrderId)).toContain('coid-1');
    const events = await listOrderEvents(db.pool, 'coid-1');
    expect(events.map((e) => [e.kind, e.state])).toEqual([['venue_answer', 'partially_filled']]);
    expect(events[0].details).toMatchObject({ orderId: 'venue-1', status: 'resting' });
  });

  it('keeps a closed order closed when an older answer arrives late', async () => {
    await journalOrderIntent(db.pool, intent('coid-late'));
    await markOrderSent(db.pool, 'coid-late', T0 + 1);
    // The stream reported it filled before the create's own answer came back.
    await recordVenueAnswer(db.pool, 'coid-late', { answeredMs: T0 + 5, orderId: 'venue-late', status: 'executed', fillCount: 1000, remainingCount: 0 });
    const late = await recordVenueAnswer(db.pool, 'coid-late', { answeredMs: T0 + 9, orderId: 'venue-late', status: 'resting', fillCount: 0, remainingCount: 1000 });
    expect(late).toMatchObject({ state: 'filled', venueStatus: 'executed', fillCount: 1000, remainingCount: 0 });
  });

  it('a resend moves sent_ms to the latest send (a create can land until the timeout after its last send)', async () => {
    await journalOrderIntent(db.pool, intent('coid-resent'));
    await markOrderSent(db.pool, 'coid-resent', T0 + 1);
    await markOrderSent(db.pool, 'coid-resent', T0 + 12_000);
    expect((await getJournalOrder(db.pool, 'coid-resent'))?.sentMs).toBe(T0 + 12_000);
    await markOrderSent(db.pool, 'coid-resent', T0 + 5); // an older write applied late does not move it back
    expect((await getJournalOrder(db.pool, 'coid-resent'))?.sentMs).toBe(T0 + 12_000);
  });

  it('refuses a second intent with the same client_order_id', async () => {
    await journalOrderIntent(db.pool, intent('coid-dup'));
    await expect(journalOrderIntent(db.pool, intent('coid-dup', { price: 4000 }))).rejects.toBeInstanceOf(DuplicateOrderError);
    expect((await getJournalOrder(db.pool, 'coid-dup'))?.price).toBe(5600);
  });

  it('refuses answers and events for orders it never journaled', async () => {
    await expect(recordVenueAnswer(db.pool, 'nope', { answeredMs: T0, orderId: 'x' })).rejects.toBeInstanceOf(UnknownOrderError);
    await expect(recordOrderEvent(db.pool, { clientOrderId: 'nope', kind: 'x', atMs: T0 })).rejects.toBeInstanceOf(
      UnknownOrderError,
    );
    await expect(markOrderSent(db.pool, 'nope', T0)).rejects.toBeInstanceOf(UnknownOrderError);
  });

  it('records a venue rejection as rejected, and an unanswered timeout as unknown', async () => {
    await journalOrderIntent(db.pool, intent('coid-rej'));
    const rejected = await recordVenueAnswer(db.pool, 'coid-rej', { answeredMs: T0 + 5, error: '400 invalid_price' });
    expect(rejected.state).toBe('rejected');
    expect(rejected.error).toBe('400 invalid_price');

    await journalOrderIntent(db.pool, intent('coid-timeout'));
    await markOrderSent(db.pool, 'coid-timeout', T0 + 1);
    await recordOrderEvent(db.pool, { clientOrderId: 'coid-timeout', kind: 'timeout', state: 'unknown', atMs: T0 + 10_000 });
    const unanswered = await listUnansweredOrders(db.pool);
    expect(unanswered.find((o) => o.clientOrderId === 'coid-timeout')?.state).toBe('unknown');
    expect(unanswered.find((o) => o.clientOrderId === 'coid-rej')).toBeUndefined();
  });

  it('derives journal states from venue answers', () => {
    expect(stateForVenueAnswer({ answeredMs: 0, orderId: 'o', status: 'resting', fillCount: 0 })).toBe('accepted');
    expect(stateForVenueAnswer({ answeredMs: 0, orderId: 'o', status: 'executed' })).toBe('filled');
    expect(stateForVenueAnswer({ answeredMs: 0, orderId: 'o', status: 'canceled' })).toBe('canceled');
    expect(stateForVenueAnswer({ answeredMs: 0, error: '409' })).toBe('rejected');
    expect(stateForVenueAnswer({ answeredMs: 0 })).toBe('unknown');
    expect(stateForVenueAnswer({ answeredMs: 0, orderId: 'o', state: 'expired' })).toBe('expired');
  });

  it('order events move the journal state', async () => {
    await journalOrderIntent(db.pool, intent('coid-ev'));
    await recordVenueAnswer(db.pool, 'coid-ev', { answeredMs: T0 + 2, orderId: 'venue-ev', status: 'resting', fillCount: 0 });
    await recordOrderEvent(db.pool, { clientOrderId: 'coid-ev', kind: 'cancel_requested', state: 'pending_cancel', atMs: T0 + 3 });
    await recordOrderEvent(db.pool, {
      clientOrderId: 'coid-ev',
      kind: 'canceled',
      state: 'canceled',
      venueStatus: 'canceled',
      remainingCount: 0,
      atMs: T0 + 4,
      details: { reducedBy: 1000 },
    });
    const order = await getJournalOrder(db.pool, 'coid-ev');
    expect(order).toMatchObject({ state: 'canceled', venueStatus: 'canceled', remainingCount: 0, updatedMs: T0 + 4 });
    expect((await listOpenJournalOrders(db.pool)).map((o) => o.clientOrderId)).not.toContain('coid-ev');
    expect((await listOrderEvents(db.pool, 'coid-ev')).map((e) => e.kind)).toEqual(['venue_answer', 'cancel_requested', 'canceled']);
  });

  it('stores a fill once: the second insert returns false', async () => {
    expect(await recordFill(db.pool, fill('fill-1', 'venue-1'))).toBe(true);
    expect(await recordFill(db.pool, fill('fill-1', 'venue-1', { source: 'rest', recordedMs: T0 + 999 }))).toBe(false);
    const fills = await listFills(db.pool, { venueOrderId: 'venue-1' });
    expect(fills).toHaveLength(1);
    // linked to the journal by venue order id, and stored exactly (micros, price units)
    expect(fills[0]).toMatchObject({ fillId: 'fill-1', clientOrderId: 'coid-1', fee: 70_000, yesPrice: 5600, count: 400, source: 'ws' });
  });

  it('records fills concurrently without duplicates', async () => {
    const attempts = Array.from({ length: 20 }, (_, i) => recordFill(db.pool, fill(`fill-c${i % 5}`, 'venue-c')));
    const results = await Promise.all(attempts);
    expect(results.filter(Boolean)).toHaveLength(5);
    expect(await listFills(db.pool, { venueOrderId: 'venue-c' })).toHaveLength(5);
  });

  it('stores sync runs with findings, positions and balance', async () => {
    const syncId = await startSyncRun(db.pool, { env: 'test', reason: 'startup', startedMs: T0 });
    await recordPositionSnapshots(db.pool, syncId, T0 + 10, [
      { ticker: 'A', position: 500, exposure: 280_000, realizedPnl: -10_000, feesPaid: 7_000, totalTraded: 280_000 },
      { ticker: 'B', position: -300, exposure: 120_000, realizedPnl: 0, feesPaid: 2_000, totalTraded: 120_000 },
    ]);
    await recordBalanceSnapshot(db.pool, syncId, { atMs: T0 + 10, balance: parseDollars('99.123456'), portfolioValue: 400_000 });
    await recordSyncFinding(db.pool, syncId, {
      kind: 'missing_fill',
      severity: 'warning',
      message: 'fill f9 was at the venue but not in the journal; imported',
      ticker: 'A',
    });
    await finishSyncRun(db.pool, syncId, { status: 'mismatch', endedMs: T0 + 20, ordersChecked: 3, fillsImported: 1 });
    await expect(finishSyncRun(db.pool, syncId, { status: 'agreed', endedMs: T0 + 30 })).rejects.toThrow(/not running/);

    const snapshot = await latestAccountSnapshot(db.pool, { env: 'test' });
    expect(snapshot).toMatchObject({ syncId, balance: 99_123_456, portfolioValue: 400_000 });
    expect(snapshot?.positions.map((p) => [p.ticker, p.position])).toEqual([
      ['A', 500],
      ['B', -300],
    ]);
    expect((await listSyncFindings(db.pool, syncId)).map((f) => f.kind)).toEqual(['missing_fill']);
  });

  it('reconciliation settles an open order to its venue state, never a closed one, and says which ids it knows', async () => {
    await journalOrderIntent(db.pool, intent('settle-open'));
    await recordVenueAnswer(db.pool, 'settle-open', { answeredMs: T0 + 5, orderId: 'v-settle', status: 'resting', fillCount: 0, remainingCount: 1000 });
    expect(await settleJournalOrder(db.pool, 'settle-open', { atMs: T0 + 50, state: 'filled', venueStatus: 'executed', fillCount: 1000 })).toBe(true);
    expect(await getJournalOrder(db.pool, 'settle-open')).toMatchObject({ state: 'filled', venueStatus: 'executed', fillCount: 1000, remainingCount: 0 });
    expect((await listOrderEvents(db.pool, 'settle-open')).at(-1)).toMatchObject({ kind: 'reconciled', state: 'filled' });
    // closed stays closed
    expect(await settleJournalOrder(db.pool, 'settle-open', { atMs: T0 + 60, state: 'canceled' })).toBe(false);
    expect((await getJournalOrder(db.pool, 'settle-open'))?.state).toBe('filled');
    // never answered, not at the venue: rejected with the reason
    await journalOrderIntent(db.pool, intent('settle-lost'));
    expect(await settleJournalOrder(db.pool, 'settle-lost', { atMs: T0 + 70, state: 'rejected', error: 'never reached the venue' })).toBe(true);
    expect(await getJournalOrder(db.pool, 'settle-lost')).toMatchObject({ state: 'rejected', error: 'never reached the venue' });
    expect([...(await journaledClientOrderIds(db.pool, 'test', ['settle-open', 'settle-lost', 'nobody']))].sort()).toEqual(['settle-lost', 'settle-open']);
    expect(await journaledClientOrderIds(db.pool, 'sim', ['settle-open'])).toEqual(new Set());
  });

  it('closes sync runs a killed process left running, as interrupted', async () => {
    const left = await startSyncRun(db.pool, { env: 'paper', reason: 'periodic', startedMs: T0 });
    const finished = await startSyncRun(db.pool, { env: 'paper', reason: 'periodic', startedMs: T0 + 1 });
    await finishSyncRun(db.pool, finished, { status: 'agreed', endedMs: T0 + 2 });
    expect(await closeInterruptedSyncRuns(db.pool, 'paper', T0 + 100)).toBe(1);
    expect(await closeInterruptedSyncRuns(db.pool, 'paper', T0 + 200)).toBe(0);
    await expect(finishSyncRun(db.pool, left, { status: 'agreed', endedMs: T0 + 300 })).rejects.toThrow(/not running/);
  });

  it('stores trader decisions and links orders to them', async () => {
    const id = await recordDecision(db.pool, {
      trader: 'trader-1',
      strategy: 'spread-quoter',
      env: 'test',
      ticker: 'A',
      atMs: T0 + 100,
      action: 'buy_yes',
      price: 4500,
      count: 100,
      outcome: 'proposed',
      details: { spread: 300 },
    });
    await journalOrderIntent(db.pool, intent('coid-dec', { decisionId: id }));
    await setDecisionOutcome(db.pool, id, 'submitted');
    const [latest] = await listRecentDecisions(db.pool, { trader: 'trader-1', limit: 1 });
    expect(latest).toMatchObject({ id, action: 'buy_yes', outcome: 'submitted', details: { spread: 300 } });
    expect((await getJournalOrder(db.pool, 'coid-dec'))?.decisionId).toBe(id);
  });
});
