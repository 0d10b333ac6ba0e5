/**
 * Fault injection, through the `/_sim/` control API and in-process: seq skips (seen as a gap by
 * the project's WS client), dropped and refused WebSocket connections, injected REST statuses,
 * latency on the exchange clock, order rejections, malformed frames, settlement, key registration,
 * the state summary and the loopback-only guard.
 */
import { createPrivateKey } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCredentials, generateKeyPair, signRequest, WS_SIGN_PATH } from '../../src/adapters/kalshi/auth.ts';
import { KalshiWsClient, type WsClientEvent } from '../../src/adapters/kalshi/ws.ts';
import { createControlApi } from '../../src/sim/server/control.ts';
import { ApiKeyRegistry } from '../../src/sim/server/keys.ts';
import { SimFaults } from '../../src/sim/faults.ts';
import { DECI, LINEAR, ORDER, startHarness, WsProbe, type Harness } from './server.helpers.ts';

const ofType = (type: string) => (f: any) => f.type === type;

/** Polls (bounded) until `predicate` holds; for waiting on another component's progress. */
async function eventually(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('simulator faults', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
    for (const [side, price] of [['bid', 4000], ['ask', 6000]] as const) {
      h.sim.exchange.createOrder({ userId: 'maker', ticker: LINEAR, side, price, count: 1000, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    }
  });
  afterEach(async () => {
    await h.close();
  });

  const restingBid = (price: number) =>
    h.sim.exchange.createOrder({ userId: 'maker', ticker: LINEAR, side: 'bid', price, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });

  it('seq-skip: the next delta on the market jumps seq by 2, then the stream continues', async () => {
    const ws = await h.ws();
    ws.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_tickers: [LINEAR, DECI] } });
    await ws.next(ofType('orderbook_snapshot'));
    await ws.next(ofType('orderbook_snapshot'));
    expect((await h.control('/faults/seq-skip', { ticker: LINEAR })).status).toBe(200);
    // a delta on another market of the same sid is not the one that skips
    h.sim.exchange.createOrder({ userId: 'maker', ticker: DECI, side: 'bid', price: 3000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    expect((await ws.next(ofType('orderbook_delta'))).seq).toBe(3);
    restingBid(4100);
    expect((await ws.next(ofType('orderbook_delta'))).seq).toBe(5);
    restingBid(4200);
    expect((await ws.next(ofType('orderbook_delta'))).seq).toBe(6);
    expect((await h.control('/faults/seq-skip', { ticker: 'NOPE-1' })).status).toBe(404);
  });

  it("seq-skip is detected as a gap by the project's WS client, which re-snapshots", async () => {
    const events: WsClientEvent[] = [];
    const client = new KalshiWsClient({ url: h.sim.wsUrl, credentials: h.creds, clock: h.clock, random: () => 0.5 });
    client.onEvent((e) => events.push(e));
    client.start();
    try {
      await client.subscribe(['orderbook_delta'], [LINEAR]);
      await eventually(() => events.some((e) => e.type === 'snapshot'));
      h.sim.faults.skipSeq(LINEAR);
      restingBid(4100);
      await eventually(() => events.filter((e) => e.type === 'snapshot').length >= 2);
      const gap = events.find((e) => e.type === 'gap');
      expect(gap).toMatchObject({ type: 'gap', expected: 2, received: 3, tickers: [LINEAR] });
      const resnap = events.filter((e) => e.type === 'snapshot')[1];
      expect(resnap).toMatchObject({ ticker: LINEAR });
      expect((resnap as { yes: unknown[] }).yes).toContainEqual([4100, 100]);
    } finally {
      await client.stop();
    }
  });

  it('drops every WebSocket connection', async () => {
    const a = await h.ws();
    const b = await h.ws();
    const r = await h.control('/faults/ws/drop', {});
    expect(r.json).toEqual({ dropped: 2 });
    await a.until(() => a.closed);
    await b.until(() => b.closed);
    // new connections are still accepted
    const c = await h.ws();
    c.send({ id: 1, cmd: 'list_subscriptions' });
    expect((await c.next()).type).toBe('ok');
  });

  it('refuses upgrades with 503 for a duration of exchange-clock time', async () => {
    expect((await h.control('/faults/ws/refuse', { durationMs: 5_000 })).status).toBe(200);
    const attempt = () => WsProbe.connect(h.sim.wsUrl, signRequest(h.creds, 'GET', WS_SIGN_PATH, h.clock.now()));
    await expect(attempt()).rejects.toMatchObject({ status: 503 });
    h.clock.advance(4_999);
    await expect(attempt()).rejects.toMatchObject({ status: 503, body: expect.stringContaining('service_unavailable') });
    h.clock.advance(1);
    const ok = await attempt();
    ok.terminate();
  });

  it('answers REST with an injected status on a path prefix, for a duration', async () => {
    await h.control('/faults/rest', { status: 503, pathPrefix: '/portfolio', durationMs: 1_000 });
    const down = await h.rest('GET', '/portfolio/balance');
    expect(down.status).toBe(503);
    expect(down.json).toEqual({ error: { code: 'service_unavailable', message: 'service_unavailable', service: 'exchange' } });
    expect((await h.rest('GET', '/markets', undefined, { sign: false })).status).toBe(200);
    h.clock.advance(1_000);
    expect((await h.rest('GET', '/portfolio/balance')).status).toBe(200);

    await h.control('/faults/rest', { status: 429, pathPrefix: '/trade-api/v2/markets', durationMs: 1_000 });
    const limited = await h.rest('GET', `/markets/${LINEAR}`, undefined, { sign: false });
    expect(limited.status).toBe(429);
    expect(limited.json).toEqual({ error: 'too many requests' });

    h.sim.faults.failRest(500, '/exchange', 1_000);
    const broken = await h.rest('GET', '/exchange/status', undefined, { sign: false });
    expect(broken.status).toBe(500);
    expect(broken.json.error.code).toBe('internal_server_error');
    expect((await h.control('/faults/rest', { status: 418, pathPrefix: '/x', durationMs: 1 })).status).toBe(400);
  });

  it('adds latency to REST responses until the exchange clock moves', async () => {
    await h.control('/faults/latency', { ms: 2_000, durationMs: 60_000 });
    const timersBefore = h.clock.pending;
    let settled = false;
    const pending = h.rest('GET', '/markets', undefined, { sign: false }).then((r) => {
      settled = true;
      return r;
    });
    // the request is parked on a clock timer
    await eventually(() => h.clock.pending > timersBefore);
    expect(settled).toBe(false);
    h.clock.advance(2_000);
    expect((await pending).status).toBe(200);
    // after the fault's duration requests are immediate again
    h.clock.advance(60_000);
    expect((await h.rest('GET', '/markets', undefined, { sign: false })).status).toBe(200);
  });

  it('delays WebSocket frames by the latency without reordering them', async () => {
    const ws = await h.ws();
    ws.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_ticker: LINEAR } });
    await ws.next(ofType('orderbook_snapshot'));
    h.sim.faults.addLatency(1_000, 10_000);
    const timersBefore = h.clock.pending;
    restingBid(4100);
    expect(h.clock.pending).toBe(timersBefore + 1);
    // the fault ends, but a frame produced now must still queue behind the delayed one
    h.sim.faults.clear();
    restingBid(4200);
    expect(ws.pending().filter((f) => f.type === 'orderbook_delta')).toHaveLength(0);
    h.clock.advance(1_000);
    await ws.next((f) => f.type === 'orderbook_delta' && f.seq === 3);
    expect(ws.frames.filter((f) => f.type === 'orderbook_delta').map((d) => d.seq)).toEqual([2, 3]);

    // a command's reply is delayed the same way
    h.sim.faults.addLatency(500, 10_000);
    const before = h.clock.pending;
    ws.send({ id: 2, cmd: 'list_subscriptions' });
    await eventually(() => h.clock.pending > before);
    expect(ws.pending().some((f) => f.id === 2)).toBe(false);
    h.clock.advance(500);
    expect((await ws.next((f) => f.id === 2)).type).toBe('ok');
  });

  it('rejects the next N orders with 503 or 400, then accepts again', async () => {
    await h.control('/faults/reject-orders', { count: 2, status: 503 });
    for (let i = 0; i < 2; i++) {
      const r = await h.rest('POST', '/portfolio/events/orders', ORDER());
      expect(r.status).toBe(503);
      expect(r.json.error.code).toBe('service_unavailable');
    }
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER())).status).toBe(201);

    h.sim.faults.rejectNextOrders(1, 400);
    const batch = await h.rest('POST', '/portfolio/events/orders/batched', { orders: [ORDER(), ORDER()] });
    expect(batch.status).toBe(201);
    expect(batch.json.orders[0].error).toMatchObject({ code: 'invalid_order' });
    expect(batch.json.orders[1].error).toBeUndefined();
    // a rejected order never reached the book
    const resting = await h.rest('GET', '/portfolio/orders?status=resting');
    expect(resting.json.orders).toHaveLength(2);
  });

  it('delay-creates: a create is taken by the exchange only after the delay, even when its client gave up; nothing else is slowed', async () => {
    const set = await h.control('/faults/delay-creates', { ms: 3_000, durationMs: 60_000 });
    expect(set.status).toBe(200);
    expect(set.json.faults.createDelay).toMatchObject({ ms: 3_000 });
    const restingIds = async () => (await h.rest('GET', '/portfolio/orders?status=resting')).json.orders.map((o: any) => o.client_order_id);
    // a client that gives up (or dies) before the answer: the order still lands, late
    const url = new URL(`${h.sim.restUrl}/portfolio/events/orders`);
    const abort = new AbortController();
    const timersBefore = h.clock.pending;
    const gaveUp = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signRequest(h.creds, 'POST', url.pathname, h.clock.now()) },
      body: JSON.stringify(ORDER({ client_order_id: 'late-1' })),
      signal: abort.signal,
    }).catch((error: unknown) => error);
    await eventually(() => h.clock.pending > timersBefore);
    abort.abort();
    expect(await gaveUp).toBeInstanceOf(Error);
    // a create that waits for its answer gets it after the delay; reads are not slowed meanwhile
    const waiting = h.rest('POST', '/portfolio/events/orders', ORDER({ client_order_id: 'late-2' }));
    await eventually(() => h.clock.pending > timersBefore + 1);
    expect(await restingIds()).toEqual([]);
    // clearing the fault does not release what it holds
    h.sim.faults.clear();
    expect(await restingIds()).toEqual([]);
    h.clock.advance(3_000);
    expect((await waiting).status).toBe(201);
    await eventually(() => h.sim.exchange.listOrders('alice', { status: 'resting' }).length === 2);
    expect((await restingIds()).sort()).toEqual(['late-1', 'late-2']);
    // after clear, creates are immediate again
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ client_order_id: 'now-1' }))).status).toBe(201);
    expect((await h.control('/faults/delay-creates', { ms: -1, durationMs: 1_000 })).status).toBe(400);
  });

  it('sends a malformed frame to every connection; the connection stays usable', async () => {
    const ws = await h.ws();
    const r = await h.control('/faults/ws/malformed', {});
    expect(r.json).toEqual({ sent: 1 });
    const bad = await ws.next(ofType('__malformed__'));
    expect(() => JSON.parse(bad.text)).toThrow();
    ws.send({ id: 1, cmd: 'list_subscriptions' });
    expect(await ws.next((f) => f.id === 1)).toEqual({ id: 1, type: 'ok', msg: [] });
  });

  it('settles a market from the control API', async () => {
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ price: '0.6000', count: '1', time_in_force: 'immediate_or_cancel' }))).json.fill_count).toBe('1.00');
    const r = await h.control('/markets/settle', { ticker: LINEAR, result: 'yes' });
    expect(r.json).toEqual({ ticker: LINEAR, status: 'finalized', result: 'yes' });
    const settlements = await h.rest('GET', '/portfolio/settlements');
    expect(settlements.json.settlements[0]).toMatchObject({ ticker: LINEAR, market_result: 'yes', revenue: 100 });
    expect((await h.control('/markets/settle', { ticker: LINEAR, result: 'no' })).status).toBe(409);
    expect((await h.control('/markets/settle', { ticker: LINEAR, result: 'maybe' })).status).toBe(400);
  });

  it('registers keys over the control API; the new key trades as its own user', async () => {
    const pair = generateKeyPair();
    const r = await h.control('/keys', { keyId: 'bob-key', publicKeyPem: pair.publicKeyPem, userId: 'bob' });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ keyId: 'bob-key', userId: 'bob' });
    const bob = createCredentials('bob-key', createPrivateKey(pair.privateKeyPem));
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ client_order_id: 'bob-1' }), { creds: bob })).status).toBe(201);
    const bobs = await h.rest('GET', '/portfolio/orders', undefined, { creds: bob });
    expect(bobs.json.orders.map((o: any) => o.user_id)).toEqual(['bob']);
    const alices = await h.rest('GET', '/portfolio/orders');
    expect(alices.json.orders).toEqual([]);
    const bad = await h.control('/keys', { keyId: 'x', publicKeyPem: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' });
    expect(bad.status).toBe(400);
    expect(bad.text).not.toContain('nope');
  });

  it('summarises markets, accounts, keys and active faults', async () => {
    await h.control('/faults/latency', { ms: 5, durationMs: 1_000 });
    const state = await h.control('/state');
    expect(state.status).toBe(200);
    expect(state.json.markets.map((m: any) => m.ticker)).toEqual([LINEAR, DECI]);
    expect(state.json.markets[0]).toMatchObject({ status: 'active', yes_bid_dollars: '0.4000', yes_ask_dollars: '0.6000' });
    expect(state.json.accounts.map((a: any) => a.user_id)).toEqual(expect.arrayContaining(['alice', 'maker']));
    expect(state.json.keys).toEqual([{ keyId: 'test-key-1', userId: 'alice' }]);
    expect(state.json.faults.latency).toMatchObject({ ms: 5 });
    expect(state.text).not.toMatch(/BEGIN/);
    await h.control('/faults/clear', {});
    expect((await h.control('/state')).json.faults.latency).toBeNull();
  });

  it('the control API refuses non-loopback clients unless allowed', async () => {
    const faults = new SimFaults(h.clock, h.sim.exchange);
    const deps = {
      exchange: h.sim.exchange,
      clock: h.clock,
      keys: new ApiKeyRegistry(h.clock),
      faults,
      knownUsers: () => [],
      registerKey: () => 'x',
      connectionCount: () => 0,
    };
    const remote = { incoming: { socket: { remoteAddress: '10.1.2.3' } } } as never;
    const local = { incoming: { socket: { remoteAddress: '127.0.0.1' } } } as never;
    const guarded = createControlApi(deps);
    expect((await guarded.request('/state', {}, remote)).status).toBe(403);
    expect((await guarded.request('/state', {}, local)).status).toBe(200);
    const open = createControlApi({ ...deps, allowRemote: true });
    expect((await open.request('/state', {}, remote)).status).toBe(200);
  });

  it('in-process faults expire on the injected clock', () => {
    const f = h.sim.faults;
    f.refuseWebSocketUpgrades(100);
    f.addLatency(50, 100);
    f.failRest(503, '/portfolio', 100);
    expect(f.isRefusingWebSocketUpgrades()).toBe(true);
    expect(f.latencyMs()).toBe(50);
    expect(f.restStatusFor('/trade-api/v2/portfolio/balance')).toBe(503);
    f.delayOrderCreates(2_000, 100);
    expect(f.orderCreateDelayMs()).toBe(2_000);
    h.clock.advance(100);
    expect(f.orderCreateDelayMs()).toBe(0);
    expect(f.isRefusingWebSocketUpgrades()).toBe(false);
    expect(f.latencyMs()).toBe(0);
    expect(f.restStatusFor('/trade-api/v2/portfolio/balance')).toBeUndefined();
    expect(() => f.addLatency(10, 0)).toThrow(RangeError);
  });
});
