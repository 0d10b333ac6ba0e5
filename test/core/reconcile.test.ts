/**
 * Reconciliation rules: venue positions authoritative as of the fills they account for, a missing
 * or uncertain report is not flat, a snapshot never undoes a later fill nor counts one twice, this
 * trader's earlier orders are adopted and others' are external, unknown local orders block.
 */
import { describe, expect, it } from 'vitest';
import { applyFill, emptyPosition, type Position } from '../../src/core/positions.ts';
import { holdAfterSnapshot, reconcile, type FillRecord, type LocalOrderRecord, type VenueOrderRecord } from '../../src/core/reconcile.ts';

const T = 'KX-A';
const AS_OF = 1_000_000;

function pos(ticker: string, position: number, costBasis = Math.abs(position) * 5000): Position {
  return { ...emptyPosition(ticker), position, costBasis };
}

function fill(fillId: string, tsMs: number, over: Partial<FillRecord> = {}): FillRecord {
  return { fillId, orderId: 'o-1', ticker: T, side: 'bid', price: 5000, count: 100, fee: 0, isTaker: false, tsMs, ...over };
}

function localOrder(over: Partial<LocalOrderRecord> = {}): LocalOrderRecord {
  return {
    clientOrderId: 'T1-r-1',
    orderId: 'o-1',
    ticker: T,
    side: 'bid',
    price: 5000,
    count: 1000,
    filledCount: 0,
    remainingCount: 1000,
    state: 'accepted',
    createdAtMs: AS_OF - 10_000,
    ...over,
  };
}

function venueOrder(over: Partial<VenueOrderRecord> = {}): VenueOrderRecord {
  return {
    orderId: 'o-1',
    clientOrderId: 'T1-r-1',
    ticker: T,
    side: 'bid',
    price: 5000,
    status: 'resting',
    fillCount: 0,
    remainingCount: 1000,
    ...over,
  };
}

const none = { orders: [], fills: [], positions: [] };
const kinds = (r: ReturnType<typeof reconcile>) => r.findings.map((f) => f.kind);

describe('reconcile', () => {
  it('agrees when both sides say the same thing', () => {
    const r = reconcile(
      { orders: [localOrder()], fills: [fill('f0', AS_OF - 5)], positions: [pos(T, 100)] },
      { orders: [venueOrder()], fills: [fill('f0', AS_OF - 5)], positions: [pos(T, 100)] },
      AS_OF,
    );
    expect(r.agreed).toBe(true);
    expect(r.findings).toEqual([]);
    expect(r.positions).toEqual([pos(T, 100)]);
    expect(r.orderUpdates).toEqual([{ clientOrderId: 'T1-r-1', orderId: 'o-1', status: 'resting', fillCount: 0, remainingCount: 1000 }]);
  });

  it('an explicit venue position report is authoritative', () => {
    const r = reconcile({ ...none, positions: [pos(T, 300)] }, { ...none, positions: [pos(T, -200, 900_000)] }, AS_OF);
    expect(r.agreed).toBe(true);
    expect(r.positions).toEqual([pos(T, -200, 900_000)]);
    expect(r.findings).toMatchObject([{ kind: 'position_adopted', severity: 'warning', ticker: T }]);
  });

  it('a missing report does not mean flat: the local position is kept', () => {
    const r = reconcile({ ...none, positions: [pos(T, 300), pos('KX-B', 0)] }, none, AS_OF);
    expect(r.positions).toEqual([pos(T, 300), pos('KX-B', 0)]);
    expect(r.findings).toMatchObject([{ kind: 'position_unreported', ticker: T }]);
    expect(r.agreed).toBe(true);
  });

  it('a snapshot does not undo a fill that arrived after it, nor counts one twice (by fill id)', () => {
    // the venue's report (taken before f-late) shows 200; the holder applied f-late (+100) meanwhile
    const earlier = fill('f-early', AS_OF - 500);
    const later = fill('f-late', AS_OF + 50);
    const start = pos(T, 100, 500_000);
    const afterEarly = applyFill(start, earlier).position;
    const afterLate = applyFill(afterEarly, later).position;
    const r = reconcile(
      { orders: [localOrder({ filledCount: 100, remainingCount: 900, state: 'partially_filled' })], fills: [earlier, later], positions: [afterLate] },
      { orders: [venueOrder({ fillCount: 0, remainingCount: 1000 })], fills: [earlier], positions: [afterEarly] },
      AS_OF,
    );
    // as of the snapshot: the venue's report, which accounts for f-early only
    expect(r.positions).toEqual([afterEarly]);
    expect(r.reportedTickers).toEqual([T]);
    expect(r.accountedFillIds).toEqual(['f-early']);
    expect(kinds(r)).toContain('venue_order_behind');
    // the status update forwarded to the order actor keeps our fill count
    expect(r.orderUpdates[0]).toMatchObject({ fillCount: 100, remainingCount: 900 });

    const holder = {
      positions: { [T]: afterLate },
      cash: 1_000_000,
      appliedFills: [
        { ...earlier, appliedAtMs: AS_OF - 490 },
        { ...later, appliedAtMs: AS_OF + 60 },
      ],
      hasApplied: (id: string) => id === 'f-early' || id === 'f-late',
    };
    const held = holdAfterSnapshot(holder, {
      asOfMs: AS_OF,
      positions: r.positions,
      reportedTickers: r.reportedTickers,
      accountedFillIds: new Set(r.accountedFillIds),
      missingFills: r.missingFills,
      cash: 2_000_000,
    });
    // f-late re-applied on top of the report (never undone); f-early not again (never doubled)
    expect(held.positions[T]).toEqual(afterLate);
    expect(held.positions[T].position).toBe(300);
    expect(held.reapplied.map((f) => f.fillId)).toEqual(['f-late']);
    expect(held.cash).toBe(2_000_000 + applyFill(afterEarly, later).cashChange);

    // once a later snapshot accounts for f-late too, it is not applied on top any more
    const again = holdAfterSnapshot(
      { ...holder, positions: held.positions },
      { asOfMs: AS_OF + 1_000, positions: [afterLate], reportedTickers: [T], accountedFillIds: new Set(['f-early', 'f-late']), missingFills: [] },
    );
    expect(again.positions[T].position).toBe(300);
    expect(again.cash).toBe(holder.cash);
    // a fill applied before the venue was read is in its report even when the venue no longer
    // lists it (its fill list is a window): never applied on top a second time
    const windowed = holdAfterSnapshot(
      { ...holder, positions: held.positions },
      { asOfMs: AS_OF + 1_000, positions: [afterLate], reportedTickers: [T], accountedFillIds: new Set(['f-late']), missingFills: [] },
    );
    expect(windowed.positions[T].position).toBe(300);
  });

  it('a report read while fills landed is uncertain: the kept position stands until the next sync', () => {
    const r = reconcile(
      { ...none, positions: [pos(T, 100)] },
      { ...none, positions: [pos(T, 400)], uncertainTickers: new Set([T]) },
      AS_OF,
    );
    expect(r.reportedTickers).toEqual([]);
    expect(r.positions).toEqual([pos(T, 100)]);
    expect(kinds(r)).toEqual(['position_uncertain']);
    const held = holdAfterSnapshot(
      { positions: { [T]: pos(T, 200) }, cash: 5, appliedFills: [], hasApplied: () => false },
      { asOfMs: AS_OF, positions: r.positions, reportedTickers: r.reportedTickers, accountedFillIds: new Set(), missingFills: [] },
    );
    // the holder's current position (not the one the sync saw at its start) is kept
    expect(held.positions[T].position).toBe(200);
    expect(held.cash).toBe(5);
    // at a fresh start there is no tracked position to keep: the uncertain ticker blocks
    const fresh = reconcile({ ...none, positionsTracked: false }, { ...none, positions: [pos(T, 400)], uncertainTickers: new Set([T]) }, AS_OF);
    expect(fresh.agreed).toBe(false);
    expect(fresh.findings).toMatchObject([{ kind: 'position_uncertain', severity: 'blocking' }]);
  });

  it("adopts resting orders of this trader's earlier runs: known to the journal, or carrying its prefix", () => {
    const journaled = venueOrder({ orderId: 'o-j', clientOrderId: 'old-client-id' });
    const prefixed = venueOrder({ orderId: 'o-p', clientOrderId: 'T1-earlier-7', fillCount: 200, remainingCount: 800 });
    const foreign = venueOrder({ orderId: 'o-f', clientOrderId: 'someone-else-1' });
    const r = reconcile(
      { ...none, journalClientOrderIds: new Set(['old-client-id']), clientOrderIdPrefix: 'T1-' },
      { ...none, orders: [journaled, prefixed, foreign] },
      AS_OF,
    );
    expect(r.adoptOrders).toEqual([journaled, prefixed]);
    expect(r.externalOrders).toEqual([foreign]);
    expect(r.findings.filter((f) => f.kind === 'order_adopted').map((f) => f.orderId)).toEqual(['o-j', 'o-p']);
    expect(r.agreed).toBe(true);
  });

  it('venue orders unknown locally become external orders (tracked, not managed)', () => {
    const foreign = venueOrder({ orderId: 'o-x', clientOrderId: 'someone-else', price: 3000 });
    const gone = venueOrder({ orderId: 'o-y', clientOrderId: null, status: 'canceled' });
    const r = reconcile(none, { ...none, orders: [foreign, gone] }, AS_OF);
    expect(r.externalOrders).toEqual([foreign]);
    expect(r.findings).toMatchObject([{ kind: 'external_order', orderId: 'o-x' }]);
    expect(r.agreed).toBe(true);
  });

  it('an order closed locally but resting at the venue is adopted again, with a warning', () => {
    const r = reconcile({ ...none, orders: [localOrder({ state: 'canceled' })] }, { ...none, orders: [venueOrder()] }, AS_OF);
    expect(r.adoptOrders.map((o) => o.orderId)).toEqual(['o-1']);
    expect(r.externalOrders).toEqual([]);
    expect(r.findings).toMatchObject([{ kind: 'closed_locally_resting_at_venue', severity: 'warning' }]);
  });

  it('local open orders the venue does not know block agreement until queried', () => {
    const sent = localOrder({ clientOrderId: 'T1-r-2', orderId: null, state: 'unknown' });
    const r = reconcile({ ...none, orders: [sent] }, none, AS_OF);
    expect(r.agreed).toBe(false);
    expect(r.unknownLocalOrders).toEqual([sent]);
    expect(r.findings).toMatchObject([{ kind: 'local_order_missing', severity: 'blocking', clientOrderId: 'T1-r-2' }]);
  });

  it('an order whose create is still awaiting its answer does not block agreement, and is still looked up', () => {
    const inFlight = localOrder({ clientOrderId: 'T1-r-3', orderId: null, state: 'submitted' });
    const r = reconcile({ ...none, orders: [inFlight] }, none, AS_OF);
    expect(r.agreed).toBe(true);
    expect(r.unknownLocalOrders).toEqual([inFlight]);
    expect(r.findings).toMatchObject([{ kind: 'local_order_in_flight', severity: 'info', clientOrderId: 'T1-r-3' }]);
  });

  it('orders placed after the snapshot are not expected in it', () => {
    const fresh = localOrder({ createdAtMs: AS_OF + 1, state: 'submitted', orderId: null });
    const r = reconcile({ ...none, orders: [fresh] }, none, AS_OF);
    expect(r.agreed).toBe(true);
    expect(r.unknownLocalOrders).toEqual([]);
    expect(kinds(r)).toEqual(['local_order_after_snapshot']);
  });

  it('matches venue orders by order id when the client id is missing', () => {
    const r = reconcile({ ...none, orders: [localOrder()] }, { ...none, orders: [venueOrder({ clientOrderId: null })] }, AS_OF);
    expect(r.externalOrders).toEqual([]);
    expect(r.orderUpdates).toHaveLength(1);
  });

  it('reports venue fills missing locally; without a venue position report they move the kept position', () => {
    const f = fill('f-miss', AS_OF - 100, { ticker: 'KX-C', count: 200 });
    const r = reconcile({ ...none, positions: [pos('KX-C', 100, 500_000)] }, { ...none, fills: [f] }, AS_OF);
    expect(r.missingFills).toEqual([f]);
    expect(r.positions[0].position).toBe(300);
    expect(kinds(r)).toEqual(expect.arrayContaining(['missing_fill', 'position_unreported']));
  });

  it('with a venue position report, missing fills are already in the position (not applied twice)', () => {
    const f = fill('f-miss', AS_OF - 100, { count: 200 });
    const r = reconcile({ ...none, positions: [pos(T, 100)] }, { ...none, fills: [f], positions: [pos(T, 300)] }, AS_OF);
    expect(r.positions).toEqual([pos(T, 300)]);
  });

  it('notes venue-closed orders and fills the venue knows but we have not applied', () => {
    const r = reconcile(
      { ...none, orders: [localOrder()] },
      { ...none, orders: [venueOrder({ status: 'executed', fillCount: 1000, remainingCount: 0 })] },
      AS_OF,
    );
    expect(kinds(r)).toEqual(['order_fills_missing_locally', 'order_closed_at_venue']);
    expect(r.orderUpdates[0]).toMatchObject({ status: 'executed', fillCount: 1000, remainingCount: 0 });
  });

  it('flags local fills the venue does not list', () => {
    const listed = fill('f-v', AS_OF - 10);
    const r = reconcile({ ...none, fills: [listed, fill('f-l', AS_OF - 1)] }, { ...none, fills: [listed] }, AS_OF);
    expect(r.findings).toMatchObject([{ kind: 'local_fill_unconfirmed', severity: 'warning', fillId: 'f-l' }]);
  });

  it('does not flag local fills older than the window the venue lists (its history aged out)', () => {
    const recent = fill('f-recent', AS_OF - 100);
    const local = [fill('f-old-1', AS_OF - 10_000), fill('f-old-2', AS_OF - 5_000), recent, fill('f-unlisted', AS_OF - 50)];
    const r = reconcile({ ...none, fills: local }, { ...none, fills: [recent] }, AS_OF);
    expect(r.findings).toMatchObject([{ kind: 'local_fill_unconfirmed', fillId: 'f-unlisted' }]);
    expect(r.agreed).toBe(true);
    // a venue that lists nothing (all aged out) confirms and contradicts nothing
    expect(reconcile({ ...none, fills: local }, none, AS_OF).findings).toEqual([]);
  });
});
