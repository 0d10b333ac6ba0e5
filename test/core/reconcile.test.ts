/**
 * Reconciliation rules: venue positions authoritative, a missing report is not flat, a snapshot
 * never undoes a later fill, unknown venue orders become external, unknown local orders block.
 */
import { describe, expect, it } from 'vitest';
import { applyFill, emptyPosition, type Position } from '../../src/core/positions.ts';
import { reconcile, type FillRecord, type LocalOrderRecord, type VenueOrderRecord } from '../../src/core/reconcile.ts';

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

  it('a snapshot does not undo a fill that arrived after it', () => {
    // we bought 1 contract after the snapshot; the venue's position (taken before) does not show it
    const later = fill('f-late', AS_OF + 50);
    const localPos = applyFill(pos(T, 200, 1_000_000), later).position;
    const r = reconcile(
      { orders: [localOrder({ filledCount: 100, remainingCount: 900, state: 'partially_filled' })], fills: [later], positions: [localPos] },
      { orders: [venueOrder({ fillCount: 0, remainingCount: 1000 })], fills: [], positions: [pos(T, 200, 1_000_000)] },
      AS_OF,
    );
    expect(r.positions).toEqual([localPos]);
    expect(r.positions[0].position).toBe(300);
    expect(kinds(r)).toContain('fills_after_snapshot');
    expect(kinds(r)).toContain('venue_order_behind');
    expect(kinds(r)).not.toContain('position_adopted');
    // the status update forwarded to the order actor keeps our fill count
    expect(r.orderUpdates[0]).toMatchObject({ fillCount: 100, remainingCount: 900 });
    // and a later fill the venue already lists is applied once, not twice
    const r2 = reconcile(
      { ...none, fills: [later], positions: [localPos] },
      { ...none, fills: [later], positions: [pos(T, 200, 1_000_000)] },
      AS_OF,
    );
    expect(r2.positions[0].position).toBe(300);
  });

  it('venue orders unknown locally become external orders (tracked, not managed)', () => {
    const foreign = venueOrder({ orderId: 'o-x', clientOrderId: 'someone-else', price: 3000 });
    const gone = venueOrder({ orderId: 'o-y', clientOrderId: null, status: 'canceled' });
    const r = reconcile(none, { ...none, orders: [foreign, gone] }, AS_OF);
    expect(r.externalOrders).toEqual([foreign]);
    expect(r.findings).toMatchObject([{ kind: 'external_order', orderId: 'o-x' }]);
    expect(r.agreed).toBe(true);
  });

  it('an order closed locally but resting at the venue is tracked as external, with a warning', () => {
    const r = reconcile({ ...none, orders: [localOrder({ state: 'canceled' })] }, { ...none, orders: [venueOrder()] }, AS_OF);
    expect(r.externalOrders.map((o) => o.orderId)).toEqual(['o-1']);
    expect(r.findings).toMatchObject([{ kind: 'closed_locally_resting_at_venue', severity: 'warning' }]);
  });

  it('local open orders the venue does not know block agreement until queried', () => {
    const sent = localOrder({ clientOrderId: 'T1-r-2', orderId: null, state: 'unknown' });
    const r = reconcile({ ...none, orders: [sent] }, none, AS_OF);
    expect(r.agreed).toBe(false);
    expect(r.unknownLocalOrders).toEqual([sent]);
    expect(r.findings).toMatchObject([{ kind: 'local_order_missing', severity: 'blocking', clientOrderId: 'T1-r-2' }]);
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
