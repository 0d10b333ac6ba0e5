/**
 * The REST client's client-side rate limiter (issue 14) on a virtual clock with a fake fetch:
 * requests leave no faster than the account's buckets (at the client's 90% margin) allow, the
 * buckets are sized from /account/limits when asked, and a 429 empties the bucket it came from.
 */
import { describe, expect, it } from 'vitest';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { USAGE_TIERS } from '../../src/core/rate-limits.ts';

const BASE = 'http://127.0.0.1:9/trade-api/v2';
const keys = generateKeyPair();
const credentials = createCredentials('k', loadPrivateKey({ pem: keys.privateKeyPem }));

function harness(rateLimits: ConstructorParameters<typeof KalshiRestClient>[0]['rateLimits'], answer429 = () => false) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const sent: Array<{ method: string; path: string; at: number }> = [];
  const fetchImpl = (async (input: URL | string, init?: RequestInit) => {
    const url = new URL(String(input));
    sent.push({ method: init?.method ?? 'GET', path: url.pathname.replace('/trade-api/v2', ''), at: clock.now() });
    if (url.pathname.endsWith('/account/limits')) {
      return Response.json({ usage_tier: 'basic', read: { refill_rate: 200, bucket_capacity: 200 }, write: { refill_rate: 100, bucket_capacity: 100 }, grants: [] });
    }
    if (answer429()) return Response.json({ error: 'too many requests' }, { status: 429 });
    if (init?.method === 'POST') return Response.json({ order_id: `o-${sent.length}`, fill_count: '0.00', remaining_count: '1.00', ts_ms: 1 }, { status: 201 });
    return Response.json({ balance: 100, balance_dollars: '1.0000', portfolio_value: 0, updated_ts: 1 });
  }) as typeof fetch;
  const client = new KalshiRestClient({
    endpoints: endpointsFor('sim', { restBaseUrl: BASE, wsUrl: 'ws://127.0.0.1:9/trade-api/ws/v2' }),
    credentials,
    clock,
    fetch: fetchImpl,
    random: () => 0,
    retry: { attempts: 4, backoff: { initialMs: 50, maxMs: 50, factor: 1, jitter: 0 } },
    rateLimits,
  });
  /** Lets pending promises run without moving the clock. */
  const settle = async () => {
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  };
  return { clock, sent, client, settle };
}

const create = (client: KalshiRestClient, i: number) =>
  client.createOrder({ ticker: 'KXT-26JAN01-A', clientOrderId: `c-${i}`, side: 'bid', price: 1000, count: 100, timeInForce: 'good_till_canceled' });

describe('client-side rate limiter', () => {
  it('sends a burst of creates at the write bucket pace: 9 at once (90 of 100 tokens), then one per 111 ms', async () => {
    const { clock, sent, client, settle } = harness(USAGE_TIERS.basic);
    const all = Promise.all(Array.from({ length: 12 }, (_, i) => create(client, i)));
    await settle();
    expect(sent.filter((s) => s.method === 'POST')).toHaveLength(9);
    clock.advance(110);
    await settle();
    expect(sent.filter((s) => s.method === 'POST')).toHaveLength(9);
    clock.advance(2);
    await settle();
    expect(sent.filter((s) => s.method === 'POST')).toHaveLength(10);
    clock.advance(1000);
    await settle();
    await all;
    expect(sent.filter((s) => s.method === 'POST')).toHaveLength(12);
    // reads have their own bucket: not held up by the writes
    await client.getBalance();
  });

  it("sizes the buckets from /account/limits at the first signed request (charging that read too)", async () => {
    const { sent, client, settle } = harness('account');
    const all = Promise.all(Array.from({ length: 20 }, () => client.getBalance()));
    await settle();
    expect(sent[0]?.path).toBe('/account/limits');
    // read bucket 180 tokens at the margin, 10 of them paid for the limits read: 17 reads at once
    expect(sent.filter((s) => s.path === '/portfolio/balance')).toHaveLength(17);
    expect(client.rateLimits).toMatchObject({ usageTier: 'basic' });
    void all;
  });

  it('a 429 empties the bucket: the next requests wait for fresh tokens', async () => {
    let refuse = 1;
    const { clock, sent, client, settle } = harness(USAGE_TIERS.basic, () => refuse-- > 0);
    const first = create(client, 1);
    await settle();
    expect(sent.filter((s) => s.method === 'POST')).toHaveLength(1); // refused
    clock.advance(50); // the backoff; the bucket is empty, a create needs 10 tokens = 111 ms
    await settle();
    expect(sent.filter((s) => s.method === 'POST')).toHaveLength(1);
    clock.advance(70);
    await settle();
    await first;
    expect(sent.filter((s) => s.method === 'POST')).toHaveLength(2);
  });
});
