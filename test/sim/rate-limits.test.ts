/**
 * Kalshi's rate limits on the simulator (issue 14): per-account read and write token buckets at a
 * usage tier, `GET /account/limits`, 429 with Kalshi's body `{"error":"too many requests"}` when a
 * bucket is empty — raw requests on a virtual clock; then the adapter's client-side limiter, sized
 * from /account/limits, through a burst on the wall clock without one 429; and the official client.
 */
import axios from 'axios';
import { AccountApi, Configuration } from 'kalshi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentials, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient, type KalshiRequestOutcome } from '../../src/adapters/kalshi/rest.ts';
import { systemClock } from '../../src/core/clock.ts';
import { startSimulator, type RunningSimulator } from '../../src/sim/simulator.ts';
import { LINEAR, ORDER, TEST_MARKETS, startHarness, testKeyPair, type Harness } from './server.helpers.ts';

describe('raw protocol at the Basic tier', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ rateLimitTier: 'basic' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('reports the limits, charges creates (10) and cancels (2) to the write bucket, 429 when empty, refills with time', async () => {
    const limits = await h.rest('GET', '/account/limits');
    expect(limits).toMatchObject({
      status: 200,
      json: { usage_tier: 'basic', read: { refill_rate: 200, bucket_capacity: 200 }, write: { refill_rate: 100, bucket_capacity: 100 }, grants: [] },
    });
    expect((await h.rest('GET', '/account/limits', undefined, { sign: false })).status).toBe(401);
    const costs = await h.rest('GET', '/account/endpoint_costs');
    expect(costs.json.default_cost).toBe(10);
    expect(costs.json.endpoint_costs).toContainEqual({ method: 'DELETE', path: '/portfolio/events/orders/{order_id}', cost: 2 });

    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await h.rest('POST', '/portfolio/events/orders', ORDER({ client_order_id: `rl-${i}`, price: '0.1000', count: '1' }));
      expect(r.status).toBe(201);
      ids.push(r.json.order_id);
    }
    const refused = await h.rest('POST', '/portfolio/events/orders', ORDER({ client_order_id: 'rl-over', price: '0.1000', count: '1' }));
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ error: 'too many requests' });
    // refused before anything happened: no order with that client id
    expect(h.sim.exchange.listOrders('alice').some((o) => o.clientOrderId === 'rl-over')).toBe(false);
    // reads draw from their own bucket
    expect((await h.rest('GET', '/portfolio/balance')).status).toBe(200);

    h.clock.advance(100); // 10 tokens: five cancels at 2
    for (const id of ids.slice(0, 5)) expect((await h.rest('DELETE', `/portfolio/events/orders/${id}`)).status).toBe(200);
    expect((await h.rest('DELETE', `/portfolio/events/orders/${ids[5]}`)).status).toBe(429);
    h.clock.advance(1000);
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ client_order_id: 'rl-over', price: '0.1000', count: '1' }))).status).toBe(201);
  });

  it('bills each item of a batch', async () => {
    h.clock.advance(1000);
    const orders = Array.from({ length: 11 }, (_, i) => ORDER({ client_order_id: `rl-b${i}`, price: '0.1000', count: '1' }));
    const r = await h.rest('POST', '/portfolio/events/orders/batched', { orders });
    expect(r).toMatchObject({ status: 429, json: { error: 'too many requests' } });
    expect((await h.rest('POST', '/portfolio/events/orders/batched', { orders: orders.slice(0, 10) })).status).toBe(201);
  });
});

describe('the adapter and the official client on the wall clock', () => {
  let sim: RunningSimulator;
  let client: KalshiRestClient;
  const outcomes: KalshiRequestOutcome[] = [];

  beforeAll(async () => {
    const pair = testKeyPair();
    sim = await startSimulator({
      clock: systemClock,
      markets: TEST_MARKETS,
      activity: false,
      rateLimitTier: 'basic',
      keys: [{ keyId: 'rl-key', publicKeyPem: pair.publicKeyPem, userId: 'rl-user' }],
    });
    client = new KalshiRestClient({
      endpoints: endpointsFor('sim', { restBaseUrl: sim.restUrl, wsUrl: sim.wsUrl }),
      credentials: createCredentials('rl-key', loadPrivateKey({ pem: pair.privateKeyPem })),
      rateLimits: 'account',
    });
    client.onRequestOutcome((o) => outcomes.push(o));
  });
  afterAll(async () => {
    await sim.close();
  });

  // The pacing itself is asserted deterministically on a virtual clock in test/adapters/rate-limiter.test.ts;
  // here, over real sockets on a shared machine, a latency spike may still let a request arrive early.
  it('sizes its buckets from /account/limits and places a burst of 20 creates exactly once (a 429 is resent, never looked up)', async () => {
    const creates = Array.from({ length: 20 }, (_, i) =>
      client.createOrder({ ticker: LINEAR, clientOrderId: `pace-${i}`, side: 'bid', price: 1000, count: 100, timeInForce: 'good_till_canceled' }),
    );
    const reads = Array.from({ length: 30 }, () => client.getBalance());
    const placed = await Promise.all(creates);
    await Promise.all(reads);
    expect(client.rateLimits).toMatchObject({ usageTier: 'basic', write: { refillRate: 100, bucketCapacity: 100 } });
    expect(new Set(placed.map((p) => p.orderId)).size).toBe(20);
    expect(outcomes.filter((o) => o.method === 'GET' && o.path.endsWith('/portfolio/orders'))).toEqual([]);
    expect(outcomes.filter((o) => o.status === 429).length).toBeLessThan(10); // unpaced, 10 of the 20 would meet one
    expect(sim.exchange.listOrders('rl-user', { status: 'resting' })).toHaveLength(20);
  }, 20_000);

  it('kalshi-typescript reads the limits', async () => {
    const pair = testKeyPair();
    type KalshiAxios = NonNullable<ConstructorParameters<typeof AccountApi>[2]>;
    const config = new Configuration({ apiKey: 'rl-key', privateKeyPem: pair.privateKeyPem, basePath: sim.restUrl });
    const account = new AccountApi(config, sim.restUrl, axios.create() as unknown as KalshiAxios);
    const limits = await account.getAccountApiLimits();
    expect(limits.data).toMatchObject({ usage_tier: 'basic', read: { refill_rate: 200, bucket_capacity: 200 }, write: { refill_rate: 100, bucket_capacity: 100 } });
    const costs = await account.getAccountEndpointCosts();
    expect(costs.data.default_cost).toBe(10);
  });
});
