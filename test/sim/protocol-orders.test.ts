/**
 * Issue 14, orders: amend, decrease and queue positions on the simulator — raw signed requests
 * written from Kalshi's spec (route order, bodies, error shapes), and the project's own
 * KalshiRestClient through the same calls. The official client's calls are in
 * kalshi-typescript.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiApiError } from '../../src/adapters/kalshi/errors.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { AmendOrderV2ResponseSchema } from '../../src/adapters/kalshi/rest.schemas.ts';
import { LINEAR, ORDER, startHarness, type Harness } from './server.helpers.ts';

let h: Harness;
let client: KalshiRestClient;

beforeAll(async () => {
  h = await startHarness();
  client = new KalshiRestClient({
    endpoints: endpointsFor('sim', { restBaseUrl: h.sim.restUrl, wsUrl: h.sim.wsUrl }),
    credentials: h.creds,
    clock: h.clock,
    retry: { attempts: 1, backoff: { initialMs: 0, maxMs: 0, factor: 1, jitter: 0 } },
  });
});
afterAll(async () => {
  await h.close();
});
// one account, one book: each test starts from no resting orders
beforeEach(async () => {
  expect((await h.rest('DELETE', '/portfolio/events/orders')).status).toBe(204);
});

async function place(over: Record<string, unknown>): Promise<string> {
  const r = await h.rest('POST', '/portfolio/events/orders', ORDER(over));
  expect(r.status).toBe(201);
  return r.json.order_id as string;
}

describe('raw protocol', () => {
  it('answers GET /portfolio/orders/queue_positions as the list, not as an order id', async () => {
    const first = await place({ client_order_id: 'qp-1', count: '3', price: '0.3000' });
    const second = await place({ client_order_id: 'qp-2', count: '2', price: '0.3000' });
    const list = await h.rest('GET', `/portfolio/orders/queue_positions?market_tickers=${LINEAR}`);
    expect(list.status).toBe(200);
    expect(list.json.queue_positions).toEqual([
      { order_id: first, market_ticker: LINEAR, queue_position_fp: '0.00' },
      { order_id: second, market_ticker: LINEAR, queue_position_fp: '3.00' },
    ]);
    const one = await h.rest('GET', `/portfolio/orders/${second}/queue_position`);
    expect(one).toMatchObject({ status: 200, json: { queue_position_fp: '3.00' } });
    expect((await h.rest('GET', '/portfolio/orders/nope/queue_position')).status).toBe(404);
    expect((await h.rest('GET', '/portfolio/orders/queue_positions', undefined, { sign: false })).status).toBe(401);
  });

  it('amends with the V2 body: a price change goes to the back; an expiry-only amend keeps the place', async () => {
    const a = await place({ client_order_id: 'am-a', count: '4', price: '0.2000' });
    const b = await place({ client_order_id: 'am-b', count: '6', price: '0.2000' });
    const expiry = Math.floor(h.clock.now() / 1000) + 600;
    const kept = await h.rest('POST', `/portfolio/events/orders/${a}/amend`, { ticker: LINEAR, side: 'bid', price: '0.20', count: '4', expiration_time: expiry });
    expect(kept.status).toBe(200);
    expect(AmendOrderV2ResponseSchema.safeParse(kept.json).success).toBe(true);
    expect(kept.json).toMatchObject({ order_id: a, client_order_id: 'am-a', remaining_count: '4.00', fill_count: '0.00' });
    expect((await h.rest('GET', `/portfolio/orders/${a}/queue_position`)).json.queue_position_fp).toBe('0.00');
    expect((await h.rest('GET', `/portfolio/orders/${a}`)).json.order.expiration_time).toBe(new Date(expiry * 1000).toISOString().replace('.000', ''));

    const moved = await h.rest('POST', `/portfolio/events/orders/${a}/amend`, { ticker: LINEAR, side: 'bid', price: '0.1900', count: '4' });
    expect(moved.status).toBe(200);
    const back = await h.rest('POST', `/portfolio/events/orders/${a}/amend`, { ticker: LINEAR, side: 'bid', price: '0.2000', count: '4' });
    expect(back.status).toBe(200);
    expect((await h.rest('GET', `/portfolio/orders/${a}/queue_position`)).json.queue_position_fp).toBe('6.00');
    expect((await h.rest('GET', `/portfolio/orders/${b}/queue_position`)).json.queue_position_fp).toBe('0.00');
  });

  it('refuses an amend naming another ticker or side, a bad body, and an unknown order', async () => {
    const id = await place({ client_order_id: 'am-bad', count: '1', price: '0.1000' });
    const wrongSide = await h.rest('POST', `/portfolio/events/orders/${id}/amend`, { ticker: LINEAR, side: 'ask', price: '0.1000', count: '1' });
    expect(wrongSide).toMatchObject({ status: 400, json: { error: { code: 'invalid_parameters', service: 'exchange' } } });
    const noPrice = await h.rest('POST', `/portfolio/events/orders/${id}/amend`, { ticker: LINEAR, side: 'bid', count: '1' });
    expect(noPrice.status).toBe(400);
    const offGrid = await h.rest('POST', `/portfolio/events/orders/${id}/amend`, { ticker: LINEAR, side: 'bid', price: '0.1050', count: '1' });
    expect(offGrid).toMatchObject({ status: 400, json: { error: { code: 'invalid_price' } } });
    const unknown = await h.rest('POST', '/portfolio/events/orders/nope/amend', { ticker: LINEAR, side: 'bid', price: '0.1000', count: '1' });
    expect(unknown.status).toBe(404);
  });
});

describe('KalshiRestClient', () => {
  it('amends, decreases and reads queue positions', async () => {
    const placed = await client.createOrder({ ticker: LINEAR, clientOrderId: 'ad-1', side: 'bid', price: 1500, count: 1000, timeInForce: 'good_till_canceled' });
    const other = await client.createOrder({ ticker: LINEAR, clientOrderId: 'ad-2', side: 'bid', price: 1500, count: 200, timeInForce: 'good_till_canceled' });
    expect(await client.getQueuePosition(other.orderId)).toBe(1000);

    const amended = await client.amendOrder({ orderId: placed.orderId, ticker: LINEAR, side: 'bid', price: 1500, count: 800, clientOrderId: 'ad-1', updatedClientOrderId: 'ad-1b' });
    expect(amended).toMatchObject({ orderId: placed.orderId, clientOrderId: 'ad-1b', remainingCount: 800, fillCount: 0 });
    expect(await client.getQueuePosition(other.orderId)).toBe(800);

    const decreased = await client.decreaseOrder({ orderId: placed.orderId, reduceBy: 300 });
    expect(decreased).toMatchObject({ orderId: placed.orderId, remainingCount: 500 });
    expect(await client.decreaseOrder({ orderId: placed.orderId, reduceTo: 100 })).toMatchObject({ remainingCount: 100 });
    const positions = await client.getQueuePositions({ tickers: [LINEAR] });
    expect(positions.find((p) => p.orderId === other.orderId)).toEqual({ orderId: other.orderId, ticker: LINEAR, queuePosition: 100 });

    await client.cancelOrder(placed.orderId);
    const gone = await client.amendOrder({ orderId: placed.orderId, ticker: LINEAR, side: 'bid', price: 1500, count: 100 }).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(KalshiApiError);
    expect((gone as KalshiApiError).status).toBe(409);
  });
});

describe('order groups', () => {
  it('raw: create, get, list, limit, trigger by fills (with the WS update), reset, delete', async () => {
    const probe = await h.ws();
    probe.send({ id: 1, cmd: 'subscribe', params: { channels: ['order_group_updates'] } });
    const subscribed = await probe.next((f) => f.type === 'subscribed');
    expect(subscribed.msg.channel).toBe('order_group_updates');

    const created = await h.rest('POST', '/portfolio/order_groups/create', { contracts_limit: 3 });
    expect(created).toMatchObject({ status: 201, json: { subaccount: 0 } });
    const id = created.json.order_group_id as string;
    expect(await probe.next((f) => f.type === 'order_group_updates')).toMatchObject({
      sid: subscribed.msg.sid,
      seq: 1,
      msg: { event_type: 'created', order_group_id: id, contracts_limit_fp: '3.00' },
    });
    const mismatch = await h.rest('POST', '/portfolio/order_groups/create', { contracts_limit: 3, contracts_limit_fp: '4.00' });
    expect(mismatch.status).toBe(400);

    const orderId = await place({ client_order_id: 'og-1', count: '5', price: '0.2500', order_group_id: id });
    expect((await h.rest('GET', `/portfolio/order_groups/${id}`)).json).toEqual({ contracts_limit_fp: '3.00', is_auto_cancel_enabled: true, orders: [orderId], exchange_index: 0 });
    expect((await h.rest('GET', '/portfolio/order_groups')).json.order_groups).toContainEqual({ id, contracts_limit_fp: '3.00', is_auto_cancel_enabled: true, exchange_index: 0 });
    expect((await h.rest('GET', `/portfolio/orders/${orderId}`)).json.order.order_group_id).toBe(id);

    expect((await h.rest('PUT', `/portfolio/order_groups/${id}/limit`, { contracts_limit_fp: '2' })).status).toBe(200);
    // another account sells 2 into the group's bid: 2 matched reaches the limit of 2
    h.sim.exchange.createOrder({ userId: 'seller', ticker: LINEAR, side: 'ask', price: 2500, count: 200, timeInForce: 'immediate_or_cancel', selfTradePrevention: 'taker_at_cross' });
    expect(await probe.next((f) => f.type === 'order_group_updates' && f.msg.event_type === 'triggered')).toMatchObject({ seq: 3, msg: { order_group_id: id } });
    expect((await h.rest('GET', `/portfolio/orders/${orderId}`)).json.order).toMatchObject({ status: 'canceled', fill_count_fp: '2.00' });
    expect((await h.rest('GET', `/portfolio/order_groups/${id}`)).json).toMatchObject({ is_auto_cancel_enabled: false, orders: [] });
    const refused = await h.rest('POST', '/portfolio/events/orders', ORDER({ order_group_id: id }));
    expect(refused).toMatchObject({ status: 400, json: { error: { code: 'order_group_limit_reached' } } });

    expect((await h.rest('PUT', `/portfolio/order_groups/${id}/reset`, {})).status).toBe(200);
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ order_group_id: id, price: '0.1000' }))).status).toBe(201);
    expect((await h.rest('PUT', `/portfolio/order_groups/${id}/trigger`, {})).status).toBe(200);
    expect((await h.rest('DELETE', `/portfolio/order_groups/${id}`)).status).toBe(200);
    expect((await h.rest('GET', `/portfolio/order_groups/${id}`)).status).toBe(404);
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) kinds.push((await probe.next((f) => f.type === 'order_group_updates')).msg.event_type);
    expect(kinds).toEqual(['reset', 'triggered', 'deleted']);
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ order_group_id: 'nope' }))).status).toBe(404);
  });

  it('KalshiRestClient: create, place in it, read, update the limit, delete', async () => {
    const id = await client.createOrderGroup({ contractsLimit: 1000 });
    const placed = await client.createOrder({ ticker: LINEAR, clientOrderId: 'og-c1', side: 'bid', price: 1200, count: 100, timeInForce: 'good_till_canceled', orderGroupId: id });
    expect(await client.getOrderGroup(id)).toEqual({ orderGroupId: id, contractsLimit: 1000, autoCancelEnabled: true, orderIds: [placed.orderId] });
    expect((await client.getOrderGroups()).find((g) => g.orderGroupId === id)).toMatchObject({ contractsLimit: 1000, orderIds: null });
    await client.updateOrderGroupLimit(id, 500);
    expect((await client.getOrderGroup(id)).contractsLimit).toBe(500);
    await client.triggerOrderGroup(id);
    expect(await client.getOrderGroup(id)).toMatchObject({ autoCancelEnabled: false, orderIds: [] });
    await client.resetOrderGroup(id);
    expect((await client.getOrderGroup(id)).autoCancelEnabled).toBe(true);
    await client.deleteOrderGroup(id);
    await expect(client.getOrderGroup(id)).rejects.toMatchObject({ status: 404 });
    await expect(client.createOrderGroup({ contractsLimit: 150 })).rejects.toThrow(/whole number/);
  });
});
