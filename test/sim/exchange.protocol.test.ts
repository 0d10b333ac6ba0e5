/**
 * The matching engine's amend, queue position and order groups (issue 14): an amend that keeps
 * the price and does not grow the order (or only moves its expiry) keeps its FIFO place; a price
 * change or a larger total goes to the back of its level and may trade at once; queue position
 * counts the contracts that trade before the order by price-time priority; an order group's
 * orders are cancelled when its matched contracts over a rolling 15 s reach its limit.
 */
import { describe, expect, it } from 'vitest';
import { harness, T0 } from './exchange.helpers.ts';

describe('amend', () => {
  it('an expiry-only amend keeps the queue place; a price change goes to the back', () => {
    const { ex, place } = harness();
    const a = place('a', 'bid', 4000, 100).order;
    const b = place('b', 'bid', 4000, 200).order;
    expect(ex.queuePosition('a', a.orderId)).toBe(0);
    expect(ex.queuePosition('b', b.orderId)).toBe(100);

    const expiry = Math.floor(T0 / 1000) + 3600;
    const kept = ex.amendOrder('a', a.orderId, { price: 4000, count: 100, expirationTime: expiry });
    expect(kept).toMatchObject({ ok: true, value: { order: { expirationTime: expiry, remainingCount: 100 } } });
    expect(ex.queuePosition('a', a.orderId)).toBe(0);

    // the same price again but a larger total: back of the level
    expect(ex.amendOrder('a', a.orderId, { price: 4000, count: 150 }).ok).toBe(true);
    expect(ex.queuePosition('a', a.orderId)).toBe(200);
    expect(ex.queuePosition('b', b.orderId)).toBe(0);

    // a smaller total keeps the place
    expect(ex.amendOrder('b', b.orderId, { price: 4000, count: 50 }).ok).toBe(true);
    expect(ex.queuePosition('b', b.orderId)).toBe(0);
    expect(ex.queuePosition('a', a.orderId)).toBe(50);

    // a price change: b moves to 41¢ and is now ahead of everything at 40¢
    expect(ex.amendOrder('b', b.orderId, { price: 4100, count: 50 }).ok).toBe(true);
    expect(ex.queuePosition('b', b.orderId)).toBe(0);
    expect(ex.queuePosition('a', a.orderId)).toBe(50);
    expect(ex.bookLevels('KXTEST-26JAN01-T50')!.yes).toEqual([
      [4000, 150],
      [4100, 50],
    ]);

    // a seller takes b first (best price), then a
    place('s', 'ask', 4000, 60, { timeInForce: 'immediate_or_cancel' });
    expect(ex.getOrder('b', b.orderId)).toMatchObject({ status: 'executed', fillCount: 50 });
    expect(ex.getOrder('a', a.orderId)).toMatchObject({ status: 'resting', fillCount: 10, remainingCount: 140 });
  });

  it('count is the new total: filled + resting; an amend to a crossing price trades as taker', () => {
    const { ex, place } = harness();
    const order = place('a', 'bid', 4000, 500).order;
    place('s', 'ask', 4000, 200, { timeInForce: 'immediate_or_cancel' });
    expect(ex.getOrder('a', order.orderId)).toMatchObject({ fillCount: 200, remainingCount: 300 });
    // a total at or below the filled count is refused
    expect(ex.amendOrder('a', order.orderId, { price: 4000, count: 200 })).toMatchObject({ ok: false, error: { status: 400 } });
    expect(ex.amendOrder('a', order.orderId, { price: 4000, count: 400 })).toMatchObject({
      ok: true,
      value: { order: { initialCount: 400, fillCount: 200, remainingCount: 200 } },
    });

    place('m', 'ask', 4500, 100);
    const crossed = ex.amendOrder('a', order.orderId, { price: 4600, count: 400 });
    if (!crossed.ok) throw new Error(crossed.error.message);
    expect(crossed.value.fills).toMatchObject([{ price: 4500, count: 100, isTaker: true }]);
    expect(crossed.value.order).toMatchObject({ price: 4600, fillCount: 300, remainingCount: 100, status: 'resting' });
  });

  it('refuses unknown, finished and post-only-crossing amends, and a client order id in use', () => {
    const { ex, place } = harness();
    expect(ex.amendOrder('a', 'nope', { price: 4000, count: 100 })).toMatchObject({ ok: false, error: { status: 404 } });
    const order = place('a', 'bid', 4000, 100, { postOnly: true, clientOrderId: 'one' }).order;
    place('a', 'bid', 3000, 100, { clientOrderId: 'two' });
    place('m', 'ask', 4500, 100);
    expect(ex.amendOrder('a', order.orderId, { price: 4500, count: 100 })).toMatchObject({ ok: false, error: { code: 'post_only_cross' } });
    expect(ex.getOrder('a', order.orderId)).toMatchObject({ price: 4000, status: 'resting' });
    expect(ex.amendOrder('a', order.orderId, { price: 4000, count: 100, updatedClientOrderId: 'two' })).toMatchObject({
      ok: false,
      error: { status: 409 },
    });
    expect(ex.amendOrder('a', order.orderId, { price: 4000, count: 100, updatedClientOrderId: 'three' })).toMatchObject({
      ok: true,
      value: { order: { clientOrderId: 'three' } },
    });
    ex.cancelOrder('a', order.orderId);
    expect(ex.amendOrder('a', order.orderId, { price: 4000, count: 100 })).toMatchObject({ ok: false, error: { status: 409 } });
  });

  it('moves an expiry: the old deadline no longer cancels, the new one does; 0 removes it', () => {
    const { ex, place, clock } = harness();
    const s = Math.floor(T0 / 1000);
    const order = place('a', 'bid', 4000, 100, { expirationTime: s + 10 }).order;
    ex.amendOrder('a', order.orderId, { price: 4000, count: 100, expirationTime: s + 20 });
    clock.advance(15_000);
    expect(ex.getOrder('a', order.orderId)?.status).toBe('resting');
    clock.advance(10_000);
    expect(ex.getOrder('a', order.orderId)).toMatchObject({ status: 'canceled', lastUpdateReason: 'Expired' });

    const other = place('a', 'bid', 4000, 100, { expirationTime: s + 40 }).order;
    ex.amendOrder('a', other.orderId, { price: 4000, count: 100, expirationTime: 0 });
    clock.advance(60_000);
    expect(ex.getOrder('a', other.orderId)).toMatchObject({ status: 'resting', expirationTime: null });
  });

  it('keeps the collateral right: a larger amend beyond the balance is refused and changes nothing', () => {
    const { ex, place } = harness({ defaultCash: 10_000_000 }); // $10
    const order = place('a', 'bid', 5000, 1000).order; // $5 reserved
    const before = ex.cashSummary('a');
    expect(ex.amendOrder('a', order.orderId, { price: 5000, count: 3000 })).toMatchObject({ ok: false, error: { code: 'insufficient_balance' } });
    expect(ex.cashSummary('a')).toEqual(before);
    expect(ex.amendOrder('a', order.orderId, { price: 2500, count: 1000 }).ok).toBe(true);
    expect(ex.cashSummary('a').reserved).toBeLessThan(before.reserved);
  });
});

describe('queue position', () => {
  it('counts better-priced contracts on the same side and those ahead at the level, not the other side', () => {
    const { ex, place } = harness();
    place('x', 'bid', 4200, 300);
    const first = place('a', 'bid', 4000, 100).order;
    const second = place('b', 'bid', 4000, 250).order;
    place('y', 'ask', 6000, 999);
    const ask = place('c', 'ask', 6100, 10).order;
    expect(ex.queuePosition('a', first.orderId)).toBe(300);
    expect(ex.queuePosition('b', second.orderId)).toBe(400);
    expect(ex.queuePosition('c', ask.orderId)).toBe(999);
    // a cancel ahead moves the order up; a finished order has no position
    ex.cancelOrder('a', first.orderId);
    expect(ex.queuePosition('b', second.orderId)).toBe(300);
    expect(ex.queuePosition('a', first.orderId)).toBeNull();
  });
});

describe('order groups', () => {
  it('cancels the group when its matched contracts reach the limit, refuses new orders until reset', () => {
    const { ex, place, events } = harness();
    const group = ex.createOrderGroup('a', 1000);
    if (!group.ok) throw new Error(group.error.message);
    const id = group.value.orderGroupId;
    const bid = place('a', 'bid', 4000, 800, { orderGroupId: id }).order;
    const ask = place('a', 'ask', 6000, 500, { orderGroupId: id }).order;
    const outside = place('a', 'bid', 3900, 100).order;
    expect(ex.getOrderGroup('a', id)).toMatchObject({ matched: 0, triggered: false, orderIds: [bid.orderId, ask.orderId] });

    place('s', 'ask', 4000, 600, { timeInForce: 'immediate_or_cancel' });
    expect(ex.getOrderGroup('a', id)).toMatchObject({ matched: 600, triggered: false });
    place('s', 'ask', 4000, 400, { timeInForce: 'immediate_or_cancel' }); // 200 fill the bid, reaching 800 < 1000
    expect(ex.getOrder('a', bid.orderId)?.status).toBe('executed');
    place('b', 'bid', 6000, 200, { timeInForce: 'immediate_or_cancel' }); // 800 + 200 = 1000: the limit
    expect(ex.getOrderGroup('a', id)).toMatchObject({ triggered: true, orderIds: [] });
    expect(ex.getOrder('a', ask.orderId)).toMatchObject({ status: 'canceled', fillCount: 200, lastUpdateReason: 'OrderGroupTriggered' });
    expect(ex.getOrder('a', outside.orderId)?.status).toBe('resting');
    expect(ex.createOrder({ userId: 'a', ticker: bid.ticker, side: 'bid', price: 4000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross', orderGroupId: id })).toMatchObject({
      ok: false,
      error: { status: 400, code: 'order_group_limit_reached' },
    });
    expect(events.filter((e) => e.type === 'order_group').map((e) => (e as { event: string }).event)).toEqual(['created', 'triggered']);

    expect(ex.resetOrderGroup('a', id)).toMatchObject({ ok: true, value: { matched: 0, triggered: false } });
    expect(place('a', 'bid', 4000, 100, { orderGroupId: id }).order.status).toBe('resting');
  });

  it('stops a taker of the group mid-sweep when its own fills reach the limit', () => {
    const { ex, place } = harness();
    const group = ex.createOrderGroup('a', 500);
    if (!group.ok) throw new Error(group.error.message);
    place('m', 'ask', 5000, 300);
    place('m', 'ask', 5100, 300);
    const taker = place('a', 'bid', 5200, 1000, { orderGroupId: group.value.orderGroupId }).order;
    expect(taker).toMatchObject({ status: 'canceled', fillCount: 600, lastUpdateReason: 'OrderGroupTriggered' });
    expect(ex.bookLevels(taker.ticker)!.yes).toEqual([]);
  });

  it('counts a rolling 15 s window; a lower limit triggers at once; trigger, delete', () => {
    const { ex, place, clock } = harness();
    const g = ex.createOrderGroup('a', 1000);
    if (!g.ok) throw new Error(g.error.message);
    const id = g.value.orderGroupId;
    place('a', 'bid', 4000, 5000, { orderGroupId: id });
    place('s', 'ask', 4000, 900, { timeInForce: 'immediate_or_cancel' });
    clock.advance(15_001);
    place('s', 'ask', 4000, 900, { timeInForce: 'immediate_or_cancel' });
    expect(ex.getOrderGroup('a', id)).toMatchObject({ matched: 900, triggered: false });
    expect(ex.updateOrderGroupLimit('a', id, 900)).toMatchObject({ ok: true, value: { triggered: true } });

    const other = ex.createOrderGroup('a', null);
    if (!other.ok) throw new Error(other.error.message);
    const resting = place('a', 'bid', 3000, 100, { orderGroupId: other.value.orderGroupId }).order;
    expect(ex.triggerOrderGroup('a', other.value.orderGroupId)).toMatchObject({ ok: true, value: { triggered: true } });
    expect(ex.getOrder('a', resting.orderId)?.status).toBe('canceled');
    expect(ex.deleteOrderGroup('a', other.value.orderGroupId).ok).toBe(true);
    expect(ex.getOrderGroup('a', other.value.orderGroupId)).toBeUndefined();
    expect(ex.listOrderGroups('a').map((x) => x.orderGroupId)).toEqual([id]);
    expect(ex.createOrder({ userId: 'a', ticker: resting.ticker, side: 'bid', price: 3000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross', orderGroupId: 'nope' })).toMatchObject({
      ok: false,
      error: { status: 404 },
    });
  });
});
