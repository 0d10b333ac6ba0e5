/**
 * Where orders may go (issue 10 §1): decided from the resolved host, in one place
 * (adapters/kalshi/environments.ts), and re-checked by the REST client before every write.
 *
 * Every environment × host × override combination is tried against a stubbed fetch that records
 * what leaves: a refused configuration never yields a client, a read-only one lets reads out and
 * no write, a writable one sends its order to the configured host. The expectations below are a
 * table written by hand from the rule, not computed by the code under test.
 */
import { describe, expect, it } from 'vitest';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import {
  classifyHost,
  endpointsFor,
  UnsafeEndpointError,
  type KalshiEndpoints,
  type KalshiEnvironment,
  type VenueKind,
} from '../../src/adapters/kalshi/environments.ts';
import { ReadOnlyEnvironmentError } from '../../src/adapters/kalshi/errors.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { DEFAULT_BACKOFF } from '../../src/adapters/kalshi/retry.ts';

const pair = generateKeyPair();
const credentials = createCredentials('guard-test', loadPrivateKey({ pem: pair.privateKeyPem }));
const TEST_EXCHANGE = 'exchange.test.example';

interface Host {
  name: string;
  rest: string;
  ws: string;
  /** What the rule must call it. */
  kind: VenueKind;
  /** http:/ws: on a host that is not loopback: refused whatever the environment. */
  plainOffLoopback?: boolean;
}

const HOSTS: Host[] = [
  { name: 'loopback http', rest: 'http://127.0.0.1:8100/trade-api/v2', ws: 'ws://127.0.0.1:8100/trade-api/ws/v2', kind: 'loopback' },
  { name: 'localhost https', rest: 'https://localhost:8100/trade-api/v2', ws: 'wss://localhost:8100/trade-api/ws/v2', kind: 'loopback' },
  { name: 'IPv6 loopback', rest: 'http://[::1]:8100/trade-api/v2', ws: 'ws://[::1]:8100/trade-api/ws/v2', kind: 'loopback' },
  { name: 'demo', rest: 'https://external-api.demo.kalshi.co/trade-api/v2', ws: 'wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2', kind: 'kalshi-demo' },
  { name: 'demo (also supported)', rest: 'https://demo-api.kalshi.co/trade-api/v2', ws: 'wss://demo-api.kalshi.co/trade-api/ws/v2', kind: 'kalshi-demo' },
  { name: 'production', rest: 'https://external-api.kalshi.com/trade-api/v2', ws: 'wss://external-api-ws.kalshi.com/trade-api/ws/v2', kind: 'kalshi-production' },
  { name: 'production (elections)', rest: 'https://api.elections.kalshi.com/trade-api/v2', ws: 'wss://api.elections.kalshi.com/trade-api/ws/v2', kind: 'kalshi-production' },
  { name: 'production, upper case, trailing dot', rest: 'https://API.ELECTIONS.KALSHI.COM./trade-api/v2', ws: 'wss://API.ELECTIONS.KALSHI.COM./trade-api/ws/v2', kind: 'kalshi-production' },
  { name: 'another kalshi.co host', rest: 'https://trading.kalshi.co/trade-api/v2', ws: 'wss://trading.kalshi.co/trade-api/ws/v2', kind: 'kalshi-production' },
  { name: 'named test exchange', rest: `https://${TEST_EXCHANGE}/trade-api/v2`, ws: `wss://${TEST_EXCHANGE}/trade-api/ws/v2`, kind: 'test-exchange' },
  { name: 'named test exchange over http', rest: `http://${TEST_EXCHANGE}/trade-api/v2`, ws: `ws://${TEST_EXCHANGE}/trade-api/ws/v2`, kind: 'test-exchange', plainOffLoopback: true },
  { name: 'unknown host', rest: 'https://exchange.example.org/trade-api/v2', ws: 'wss://exchange.example.org/trade-api/ws/v2', kind: 'unknown' },
  { name: 'look-alike of production', rest: 'https://external-api.kalshi.com.example.org/trade-api/v2', ws: 'wss://external-api.kalshi.com.example.org/trade-api/ws/v2', kind: 'unknown' },
];

type Outcome = 'writable' | 'read-only' | 'refused';

/** The rule, by hand: which host kinds each environment may use, and whether orders may go there. */
function expectedFor(env: KalshiEnvironment, host: Host): Outcome {
  if (host.plainOffLoopback) return 'refused';
  if (env === 'production') return 'read-only';
  if (env === 'paper') return host.kind === 'kalshi-demo' ? 'writable' : 'refused';
  return host.kind === 'loopback' || host.kind === 'test-exchange' ? 'writable' : 'refused';
}

const DEFAULT_HOST: Record<KalshiEnvironment, Host | null> = {
  sim: null, // the simulator has no fixed address
  paper: HOSTS.find((h) => h.name === 'demo')!,
  production: HOSTS.find((h) => h.name === 'production')!,
};

function worst(a: Outcome, b: Outcome): Outcome {
  const rank: Outcome[] = ['writable', 'read-only', 'refused'];
  return rank[Math.max(rank.indexOf(a), rank.indexOf(b))];
}

/** A fetch that records every request and answers like an exchange that rejects the order. */
function recordingFetch(): { fetch: typeof fetch; requests: { method: string; url: string }[] } {
  const requests: { method: string; url: string }[] = [];
  const stub = (async (input: string | URL | Request, init?: RequestInit) => {
    requests.push({ method: init?.method ?? 'GET', url: String(input) });
    if ((init?.method ?? 'GET') === 'GET') return Response.json({ markets: [], cursor: '' });
    return Response.json({ error: { code: 'invalid_order', message: 'test exchange refuses' } }, { status: 400 });
  }) as typeof fetch;
  return { fetch: stub, requests };
}

function order(clientOrderId = 'guard-1') {
  return { ticker: 'KXTEST-1', side: 'bid' as const, price: 5_000, count: 100, timeInForce: 'good_till_canceled' as const, clientOrderId };
}

/** Every order-writing method of the client, each expected to be refused before any I/O. */
function everyWrite(client: KalshiRestClient): Promise<unknown>[] {
  return [
    client.createOrder(order()),
    client.batchCreateOrders([order('guard-2')]),
    client.cancelOrder('o1'),
    client.batchCancelOrders(['o1']),
    client.cancelAllOrders(),
  ];
}

describe('classifyHost', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['localhost', 'loopback'],
    ['sim.in-process.localhost', 'loopback'],
    ['[::1]', 'loopback'],
    [new URL('http://[::ffff:127.0.0.1]/').hostname, 'loopback'],
    [new URL('http://2130706433/').hostname, 'loopback'], // 127.0.0.1 as one number
    ['128.0.0.1', 'unknown'],
    ['127.0.0.1.example.org', 'unknown'],
    ['external-api.kalshi.com', 'kalshi-production'],
    ['kalshi.com', 'kalshi-production'],
    ['trading-api.kalshi.com', 'kalshi-production'],
    ['demo.kalshi.com', 'kalshi-production'], // demo lives on kalshi.co; anything on kalshi.com is production
    ['external-api.demo.kalshi.co', 'kalshi-demo'],
    ['demo-api.kalshi.co', 'kalshi-demo'],
    ['kalshi.co', 'kalshi-production'],
    ['evilkalshi.com', 'unknown'],
    ['kalshi.com.example.org', 'unknown'],
  ] as const)('%s is %s', (host, kind) => {
    expect(classifyHost(host)).toBe(kind);
  });

  it('a named test exchange is one only by exact name, and a Kalshi host can never be named', () => {
    expect(classifyHost(TEST_EXCHANGE, [TEST_EXCHANGE])).toBe('test-exchange');
    expect(classifyHost(`x.${TEST_EXCHANGE}`, [TEST_EXCHANGE])).toBe('unknown');
    expect(classifyHost('external-api.kalshi.com', ['external-api.kalshi.com'])).toBe('kalshi-production');
    expect(() => endpointsFor('sim', { restBaseUrl: 'https://external-api.kalshi.com/trade-api/v2', wsUrl: 'wss://external-api-ws.kalshi.com/trade-api/ws/v2' }, { testExchangeHosts: ['external-api.kalshi.com'] })).toThrow(
      /Kalshi host and cannot be named a test exchange/,
    );
  });
});

describe('every environment × host × override', () => {
  const cases: { env: KalshiEnvironment; host: Host; override: 'rest' | 'ws' | 'both' }[] = [];
  for (const env of ['sim', 'paper', 'production'] as const) {
    for (const host of HOSTS) for (const override of ['rest', 'ws', 'both'] as const) cases.push({ env, host, override });
  }

  it.each(cases)('$env with $override → $host.name', async ({ env, host, override }) => {
    const defaults = DEFAULT_HOST[env];
    const restHost = override === 'ws' ? defaults : host;
    const wsHost = override === 'rest' ? defaults : host;
    const expected =
      restHost === null || wsHost === null ? 'refused' : worst(expectedFor(env, restHost), expectedFor(env, wsHost));
    const overrides = {
      ...(override !== 'ws' ? { restBaseUrl: host.rest } : {}),
      ...(override !== 'rest' ? { wsUrl: host.ws } : {}),
    };

    let endpoints: KalshiEndpoints;
    try {
      endpoints = endpointsFor(env, overrides, { testExchangeHosts: [TEST_EXCHANGE] });
    } catch (error) {
      expect(expected, `refused: ${String(error)}`).toBe('refused');
      return;
    }
    expect(expected).not.toBe('refused');
    expect(endpoints.readOnly).toBe(expected === 'read-only');

    const { fetch, requests } = recordingFetch();
    const client = new KalshiRestClient({ endpoints, credentials, fetch, retry: { attempts: 1, backoff: DEFAULT_BACKOFF } });
    if (expected === 'read-only') {
      for (const attempt of everyWrite(client)) await expect(attempt).rejects.toBeInstanceOf(ReadOnlyEnvironmentError);
      expect(requests).toEqual([]);
      await client.getMarkets();
      expect(requests.map((r) => r.method)).toEqual(['GET']);
    } else {
      await expect(client.cancelOrder('o1')).rejects.toThrow(/test exchange refuses/);
      expect(requests).toHaveLength(1);
      expect(requests[0].method).toBe('DELETE');
      expect(new URL(requests[0].url).host).toBe(new URL(restHost!.rest).host);
    }
  });
});

describe('the REST client re-checks every write', () => {
  const lies: { name: string; endpoints: KalshiEndpoints }[] = [
    {
      name: 'paper, writable, on production',
      endpoints: {
        environment: 'paper',
        readOnly: false,
        restBaseUrl: 'https://external-api.kalshi.com/trade-api/v2',
        wsUrl: 'wss://external-api-ws.kalshi.com/trade-api/ws/v2',
        testExchangeHosts: [],
      },
    },
    {
      name: 'sim, writable, production named a test exchange',
      endpoints: {
        environment: 'sim',
        readOnly: false,
        restBaseUrl: 'https://api.elections.kalshi.com/trade-api/v2',
        wsUrl: 'wss://api.elections.kalshi.com/trade-api/ws/v2',
        testExchangeHosts: ['api.elections.kalshi.com'],
      },
    },
    {
      name: 'sim, writable, an unknown host',
      endpoints: {
        environment: 'sim',
        readOnly: false,
        restBaseUrl: 'https://exchange.example.org/trade-api/v2',
        wsUrl: 'wss://exchange.example.org/trade-api/ws/v2',
        testExchangeHosts: [],
      },
    },
    {
      name: 'paper, writable, plain http to the demo host',
      endpoints: {
        environment: 'paper',
        readOnly: false,
        restBaseUrl: 'http://external-api.demo.kalshi.co/trade-api/v2',
        wsUrl: 'ws://external-api-ws.demo.kalshi.co/trade-api/ws/v2',
        testExchangeHosts: [],
      },
    },
    {
      name: 'paper, writable, on loopback',
      endpoints: {
        environment: 'paper',
        readOnly: false,
        restBaseUrl: 'http://127.0.0.1:9/trade-api/v2',
        wsUrl: 'ws://127.0.0.1:9/trade-api/ws/v2',
        testExchangeHosts: [],
      },
    },
  ];

  it.each(lies)('$name: no order request leaves', async ({ endpoints }) => {
    const { fetch, requests } = recordingFetch();
    const client = new KalshiRestClient({ endpoints, credentials, fetch, retry: { attempts: 1, backoff: DEFAULT_BACKOFF } });
    for (const attempt of everyWrite(client)) {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReadOnlyEnvironmentError);
      expect((error as Error).message).toMatch(/refused: /);
    }
    expect(requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });
});

describe('refusals say what to change', () => {
  it('paper pointed at production names the variable and the host', () => {
    const error = (() => {
      try {
        endpointsFor('paper', { restBaseUrl: 'https://external-api.kalshi.com/trade-api/v2' });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(UnsafeEndpointError);
    expect(String(error)).toMatch(/KALSHI_API_BASE_URL/);
    expect(String(error)).toMatch(/external-api\.kalshi\.com, Kalshi production \(read-only\)/);
    expect(String(error)).toMatch(/paper trades on Kalshi's demo exchange only/);
  });

  it('plain http off loopback is refused even for a read-only client', () => {
    expect(() => endpointsFor('production', { restBaseUrl: 'http://external-api.kalshi.com/trade-api/v2' })).toThrow(/allowed on loopback only/);
  });
});

describe('one loopback rule', () => {
  it('the operator API, the simulator control API and the venue guard agree on loopback', async () => {
    const { isLoopbackHost } = await import('../../src/core/hosts.ts');
    const { isLoopbackHost: fromHostGuard } = await import('../../src/adapters/http/host-guard.ts');
    expect(fromHostGuard).toBe(isLoopbackHost);
    for (const host of ['127.0.0.1', '127.9.9.9', '::1', '[::1]', '::ffff:127.0.0.1', '::ffff:7f00:1', 'localhost', 'LOCALHOST.', 'a.localhost']) {
      expect(isLoopbackHost(host), host).toBe(true);
      expect(classifyHost(host), host).toBe('loopback');
    }
    for (const host of ['128.0.0.1', '::2', '::ffff:8000:1', 'localhost.example.org', '127.0.0.1.example.org', '10.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(false);
      expect(classifyHost(host), host).not.toBe('loopback');
    }
  });
});
