/**
 * KalshiRestClient against msw (in-process HTTP interception, no network): signing, pagination,
 * error shapes, read retries, the create-order safety rules (lookup by client_order_id, never a
 * blind resend), cancels, timeouts, malformed bodies and the read-only production guard.
 */
import { createPublicKey } from 'node:crypto';
import { inspect } from 'node:util';
import { http, HttpResponse, delay } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../src/core/clock.ts';
import { createCredentials, generateKeyPair, loadPrivateKey, verifyRequestSignature } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor, type KalshiEnvironment } from '../../src/adapters/kalshi/environments.ts';
import {
  InvalidOrderRequestError,
  KalshiApiError,
  KalshiNetworkError,
  KalshiOrderOutcomeUnknownError,
  KalshiTimeoutError,
  KalshiValidationError,
  MissingCredentialsError,
  ReadOnlyEnvironmentError,
  createMayHaveLanded,
} from '../../src/adapters/kalshi/errors.ts';
import { KalshiRestClient, type KalshiCreateOrderRequest, type KalshiRestOptions } from '../../src/adapters/kalshi/rest.ts';
import type { KalshiMarketWire, KalshiOrderWire } from '../../src/adapters/kalshi/rest.schemas.ts';

const BASE = 'http://127.0.0.1:9/trade-api/v2';
const WS = 'ws://127.0.0.1:9/trade-api/ws/v2';
const keys = generateKeyPair();
const publicKey = createPublicKey(keys.publicKeyPem);
const credentials = createCredentials('test-key-id', loadPrivateKey({ pem: keys.privateKeyPem }));
const keyLines = keys.privateKeyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  headers: Headers;
  signatureValid: boolean;
}
let seen: Seen[] = [];

const server = setupServer();

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
beforeEach(() => {
  seen = [];
  server.events.on('request:start', async ({ request }) => {
    const url = new URL(request.url);
    const text = request.method === 'GET' ? '' : await request.clone().text();
    const ts = request.headers.get('KALSHI-ACCESS-TIMESTAMP') ?? '';
    const sig = request.headers.get('KALSHI-ACCESS-SIGNATURE') ?? '';
    seen.push({
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      body: text ? JSON.parse(text) : undefined,
      headers: request.headers,
      signatureValid: verifyRequestSignature(publicKey, request.method, url.pathname, ts, sig),
    });
  });
});
afterEach(() => {
  server.resetHandlers();
  server.events.removeAllListeners();
});
afterAll(() => server.close());

function client(options: Partial<KalshiRestOptions> & { env?: KalshiEnvironment } = {}): KalshiRestClient {
  const { env = 'sim', ...rest } = options;
  return new KalshiRestClient({
    endpoints: endpointsFor(env, { restBaseUrl: BASE, wsUrl: WS }),
    credentials,
    timeoutMs: 2_000,
    retry: { attempts: 3, backoff: { initialMs: 1, maxMs: 4, factor: 2, jitter: 0 } },
    ...rest,
  });
}

const posts = () => seen.filter((s) => s.method === 'POST');
const gets = (path: string) => seen.filter((s) => s.method === 'GET' && s.path === `/trade-api/v2${path}`);

function marketWire(ticker: string): KalshiMarketWire {
  return {
    ticker,
    event_ticker: 'EVT',
    status: 'active',
    close_time: '2026-12-01T15:00:00Z',
    yes_bid_dollars: '0.4200',
    yes_ask_dollars: '0.4400',
    last_price_dollars: '0.4300',
    volume_fp: '10.00',
    volume_24h_fp: '1.00',
    open_interest_fp: '5.00',
    price_level_structure: 'linear_cent',
    price_ranges: [{ start: '0.0000', end: '1.0000', step: '0.0100' }],
  };
}

function orderWire(clientOrderId: string, overrides: Partial<KalshiOrderWire> = {}): KalshiOrderWire {
  return {
    order_id: `ord-${clientOrderId}`,
    user_id: 'u',
    client_order_id: clientOrderId,
    ticker: 'MKT',
    outcome_side: 'yes',
    book_side: 'bid',
    status: 'resting',
    yes_price_dollars: '0.5600',
    no_price_dollars: '0.4400',
    fill_count_fp: '0.00',
    remaining_count_fp: '10.00',
    initial_count_fp: '10.00',
    taker_fill_cost_dollars: '0.0000',
    maker_fill_cost_dollars: '0.0000',
    taker_fees_dollars: '0.0000',
    maker_fees_dollars: '0.0000',
    created_time: '2026-11-20T10:00:00Z',
    ...overrides,
  };
}

const order = (clientOrderId = 'cid-1'): KalshiCreateOrderRequest => ({
  ticker: 'MKT',
  clientOrderId,
  side: 'bid',
  price: 5600,
  count: 1000,
  timeInForce: 'good_till_canceled',
});

const created = (clientOrderId: string) =>
  HttpResponse.json(
    { order_id: `ord-${clientOrderId}`, client_order_id: clientOrderId, fill_count: '0.00', remaining_count: '10.00', ts_ms: 1 },
    { status: 201 },
  );
const kalshiError = (status: number, code: string, message: string) =>
  HttpResponse.json({ error: { code, message, service: 'exchange' } }, { status });
const ordersPage = (orders: KalshiOrderWire[], cursor = '') => HttpResponse.json({ orders, cursor });

describe('requests', () => {
  it('signs every request over the full path without the query, with the clock’s timestamp', async () => {
    const fixed: Clock = { ...systemClock, now: () => 1_700_000_000_000 };
    server.use(http.get(`${BASE}/markets`, () => HttpResponse.json({ markets: [marketWire('A')], cursor: '' })));
    const page = await client({ clock: fixed }).getMarkets({ status: 'open', tickers: ['A', 'B'], limit: 5 });
    expect(page.markets.map((m) => m.ticker)).toEqual(['A']);
    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req.signatureValid).toBe(true);
    expect(req.headers.get('KALSHI-ACCESS-KEY')).toBe('test-key-id');
    expect(req.headers.get('KALSHI-ACCESS-TIMESTAMP')).toBe('1700000000000');
    expect(Object.fromEntries(req.query)).toEqual({ status: 'open', tickers: 'A,B', limit: '5' });
  });

  it('sends no auth headers without credentials, and refuses portfolio calls before any request', async () => {
    server.use(http.get(`${BASE}/markets/:ticker`, () => HttpResponse.json({ market: marketWire('A') })));
    const anonymous = client({ credentials: undefined });
    expect((await anonymous.getMarket('A')).ticker).toBe('A');
    expect(seen[0].headers.has('KALSHI-ACCESS-SIGNATURE')).toBe(false);
    await expect(anonymous.getBalance()).rejects.toBeInstanceOf(MissingCredentialsError);
    await expect(anonymous.createOrder(order())).rejects.toBeInstanceOf(MissingCredentialsError);
    expect(seen).toHaveLength(1);
  });

  it('refuses millisecond timestamps in Unix-seconds query fields', async () => {
    await expect(client().getMarkets({ minCloseTs: Date.now() })).rejects.toThrow(/looks like milliseconds/);
    expect(seen).toHaveLength(0);
  });
});

describe('pagination', () => {
  it('follows cursors across 3 pages until an empty one', async () => {
    const pages: Record<string, { markets: KalshiMarketWire[]; cursor: string }> = {
      '': { markets: [marketWire('A'), marketWire('B')], cursor: 'p2' },
      p2: { markets: [marketWire('C')], cursor: 'p3' },
      p3: { markets: [marketWire('D'), marketWire('E')], cursor: '' },
    };
    server.use(http.get(`${BASE}/markets`, ({ request }) => HttpResponse.json(pages[new URL(request.url).searchParams.get('cursor') ?? ''])));
    const all = await client().getAllMarkets({ status: 'open', limit: 2 });
    expect(all.map((m) => m.ticker)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(seen.map((s) => s.query.get('cursor'))).toEqual([null, 'p2', 'p3']);
    expect(seen.every((s) => s.query.get('limit') === '2' && s.query.get('status') === 'open' && s.signatureValid)).toBe(true);
  });

  it('stops with a validation error when the server repeats a cursor', async () => {
    server.use(http.get(`${BASE}/markets`, () => HttpResponse.json({ markets: [marketWire('A')], cursor: 'same' })));
    await expect(client().getAllMarkets()).rejects.toThrow(/cursor repeated/);
    expect(seen).toHaveLength(2);
  });

  it('pages positions, fills, orders and settlements the same way', async () => {
    const position = (ticker: string) => ({
      ticker, exchange_index: 0, total_traded_dollars: '1.00', position_fp: '-3.00', market_exposure_dollars: '1.32',
      realized_pnl_dollars: '0', fees_paid_dollars: '0.02', last_updated_ts: '2026-11-20T10:00:00Z',
    });
    const fill = (id: string) => ({
      fill_id: id, trade_id: id, order_id: 'o', ticker: 'MKT', market_ticker: 'MKT', exchange_index: 0, outcome_side: 'yes',
      book_side: 'bid', count_fp: '1.00', yes_price_dollars: '0.5000', no_price_dollars: '0.5000', is_taker: true, fee_cost: '0.0175',
    });
    const settlement = (ticker: string) => ({
      ticker, exchange_index: 0, event_ticker: 'E', market_result: 'no', yes_count_fp: '0.00', yes_total_cost_dollars: '0',
      no_count_fp: '2.00', no_total_cost_dollars: '0.88', revenue: 200, settled_time: '2026-11-21T00:00:00Z', fee_cost: '0.01',
    });
    const two = (request: Request, first: unknown[], second: unknown[], key: string) =>
      new URL(request.url).searchParams.get('cursor') === 'next'
        ? HttpResponse.json({ [key]: second, cursor: '' })
        : HttpResponse.json({ [key]: first, cursor: 'next' });
    server.use(
      http.get(`${BASE}/portfolio/positions`, ({ request }) =>
        new URL(request.url).searchParams.get('cursor') === 'next'
          ? HttpResponse.json({ market_positions: [position('B')], event_positions: [], cursor: '' })
          : HttpResponse.json({ market_positions: [position('A')], event_positions: [], cursor: 'next' }),
      ),
      http.get(`${BASE}/portfolio/fills`, ({ request }) => two(request, [fill('f1')], [fill('f2')], 'fills')),
      http.get(`${BASE}/portfolio/orders`, ({ request }) => two(request, [orderWire('c1')], [orderWire('c2')], 'orders')),
      http.get(`${BASE}/portfolio/settlements`, ({ request }) => two(request, [settlement('S1')], [settlement('S2')], 'settlements')),
    );
    const c = client();
    const positions = await c.getAllPositions({ countFilter: ['position'] });
    expect(positions.marketPositions.map((p) => [p.ticker, p.position, p.marketExposure])).toEqual([
      ['A', -300, 1_320_000],
      ['B', -300, 1_320_000],
    ]);
    expect(gets('/portfolio/positions')[0].query.get('count_filter')).toBe('position');
    const fills = [];
    for await (const f of c.iterateFills({ ticker: 'MKT' })) fills.push(f);
    expect(fills.map((f) => [f.fillId, f.feeCost])).toEqual([
      ['f1', 17_500],
      ['f2', 17_500],
    ]);
    const orders = [];
    for await (const o of c.iterateOrders({ status: 'resting' })) orders.push(o.clientOrderId);
    expect(orders).toEqual(['c1', 'c2']);
    const settlements = [];
    for await (const s of c.iterateSettlements()) settlements.push([s.ticker, s.revenue]);
    expect(settlements).toEqual([
      ['S1', 2_000_000],
      ['S2', 2_000_000],
    ]);
    expect(seen.every((s) => s.signatureValid)).toBe(true);
  });
});

describe('single reads', () => {
  it('reads exchange status, one market, the order book, one order and the balance', async () => {
    server.use(
      http.get(`${BASE}/exchange/status`, () => HttpResponse.json({ exchange_active: true, trading_active: true })),
      http.get(`${BASE}/markets/:ticker/orderbook`, () =>
        HttpResponse.json({ orderbook_fp: { yes_dollars: [['0.0100', '200.00'], ['0.4200', '13.00']], no_dollars: [['0.5600', '17.00']] } }),
      ),
      http.get(`${BASE}/portfolio/orders/:id`, ({ params }) => HttpResponse.json({ order: orderWire(String(params.id)) })),
      http.get(`${BASE}/portfolio/balance`, () => HttpResponse.json({ balance: 10000, balance_dollars: '100.0050', portfolio_value: 0, updated_ts: 1 })),
    );
    const c = client();
    expect(await c.getExchangeStatus()).toEqual({ exchangeActive: true, tradingActive: true, estimatedResumeTime: null });
    expect(await c.getOrderbook('MKT', 10)).toEqual({ yes: [[100, 20000], [4200, 1300]], no: [[5600, 1700]] });
    expect(seen[1].query.get('depth')).toBe('10');
    expect((await c.getOrder('x1')).clientOrderId).toBe('x1');
    expect((await c.getBalance()).balance).toBe(100_005_000);
  });
});

describe('errors', () => {
  it('401 → KalshiApiError with code and message, not retried, without the signature or key', async () => {
    server.use(
      http.get(`${BASE}/portfolio/balance`, () => kalshiError(401, 'authentication_error', 'invalid signature')),
    );
    const error = await client().getBalance().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KalshiApiError);
    expect(error).toMatchObject({
      status: 401,
      code: 'authentication_error',
      kalshiMessage: 'invalid signature',
      method: 'GET',
      path: '/trade-api/v2/portfolio/balance',
      retryable: false,
    });
    expect(seen).toHaveLength(1);
    const signature = seen[0].headers.get('KALSHI-ACCESS-SIGNATURE')!;
    const printed = [String(error), inspect(error, { depth: 5 }), JSON.stringify(error)].join('\n');
    expect(printed).not.toContain(signature);
    expect(keyLines.some((l) => printed.includes(l))).toBe(false);
  });

  it('429 then 200 on a GET → retried and answered', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/markets`, () =>
        ++calls === 1 ? HttpResponse.json({ error: 'too many requests' }, { status: 429 }) : HttpResponse.json({ markets: [], cursor: '' }),
      ),
    );
    expect(await client().getMarkets()).toEqual({ markets: [], cursor: '' });
    expect(calls).toBe(2);
  });

  it('gives up after the configured attempts with the 429 as Kalshi sent it', async () => {
    server.use(http.get(`${BASE}/markets`, () => HttpResponse.json({ error: 'too many requests' }, { status: 429 })));
    const error = await client().getMarkets().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, code: null, kalshiMessage: 'too many requests', retryable: true });
    expect(seen).toHaveLength(3);
  });

  it('retries network errors on reads, then reports KalshiNetworkError', async () => {
    server.use(http.get(`${BASE}/exchange/status`, () => HttpResponse.error()));
    await expect(client().getExchangeStatus()).rejects.toBeInstanceOf(KalshiNetworkError);
    expect(seen).toHaveLength(3);
  });

  it('timeout → KalshiTimeoutError (and a read that timed out once is retried)', async () => {
    server.use(
      http.get(`${BASE}/exchange/status`, async () => {
        await delay(1_000);
        return HttpResponse.json({ exchange_active: true, trading_active: true });
      }),
    );
    const error = await client({ timeoutMs: 30, retry: { attempts: 1, backoff: { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 } } })
      .getExchangeStatus()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KalshiTimeoutError);
    expect(error).toMatchObject({ method: 'GET', path: '/trade-api/v2/exchange/status', timeoutMs: 30 });

    let calls = 0;
    server.use(
      http.get(`${BASE}/exchange/status`, async () => {
        if (++calls === 1) await delay(1_000);
        return HttpResponse.json({ exchange_active: true, trading_active: false });
      }),
    );
    expect((await client({ timeoutMs: 30 }).getExchangeStatus()).tradingActive).toBe(false);
    expect(calls).toBe(2);
  });

  it('malformed bodies → KalshiValidationError naming the fields, not quoting the body', async () => {
    server.use(http.get(`${BASE}/markets`, () => new HttpResponse('<html>gateway</html>', { status: 200 })));
    await expect(client().getMarkets()).rejects.toThrow(/body is not JSON/);

    const bad = { ...marketWire('A'), yes_bid_dollars: '0.42001', rules_primary: 'SECRET-LOOKING TEXT' };
    server.use(http.get(`${BASE}/markets`, () => HttpResponse.json({ markets: [marketWire('OK'), bad], cursor: '' })));
    const error = await client().getMarkets().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KalshiValidationError);
    const v = error as KalshiValidationError;
    expect(v.issues.map((i) => i.path)).toEqual(['markets.1.yes_bid_dollars']);
    expect(v.message).toContain('markets.1.yes_bid_dollars');
    expect(v.message).not.toContain('SECRET-LOOKING TEXT');
    // a malformed answer is not retried
    expect(gets('/markets')).toHaveLength(2);
  });
});

describe('request outcomes (what the trading-API region of the coordinator hears)', () => {
  it('reports every attempt: 429/5xx and network errors as faults, 2xx and 4xx as answers; unsubscribing stops it', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/portfolio/balance`, () =>
        ++calls <= 2 ? kalshiError(503, 'service_unavailable', 'service_unavailable') : HttpResponse.json({ balance: 100, portfolio_value: 100 }),
      ),
      http.get(`${BASE}/markets/KX-MISSING`, () => kalshiError(404, 'not_found', 'market not found')),
      http.get(`${BASE}/markets`, () => HttpResponse.error()),
    );
    const rest = client();
    const outcomes: Array<{ status: number | null; fault: boolean; path: string; detail?: string }> = [];
    const off = rest.onRequestOutcome((o) => outcomes.push(o));
    await rest.getBalance();
    await rest.getMarket('KX-MISSING').catch(() => undefined);
    await rest.getMarkets().catch(() => undefined);
    expect(outcomes.map((o) => [o.status, o.fault])).toEqual([
      [503, true],
      [503, true],
      [200, false],
      [404, false],
      [null, true],
      [null, true],
      [null, true],
    ]);
    expect(outcomes[0]).toMatchObject({ path: '/trade-api/v2/portfolio/balance', detail: 'HTTP 503 on GET /trade-api/v2/portfolio/balance' });
    off();
    await rest.getBalance();
    expect(outcomes).toHaveLength(7);
  });

  it('an observer that throws changes nothing about the request', async () => {
    server.use(http.get(`${BASE}/portfolio/balance`, () => HttpResponse.json({ balance: 100, portfolio_value: 100 })));
    const rest = client();
    rest.onRequestOutcome(() => {
      throw new Error('observer bug');
    });
    expect((await rest.getBalance()).balance).toBe(1_000_000); // $1.00 (100 cents) in micro-dollars
  });
});

describe('createOrder', () => {
  it('sends the V2 body with fixed-point strings and the default self-trade prevention', async () => {
    server.use(http.post(`${BASE}/portfolio/events/orders`, () => created('cid-1')));
    const placement = await client().createOrder({ ...order(), postOnly: true, expirationTime: 1_800_000_000 });
    expect(placement).toMatchObject({ orderId: 'ord-cid-1', clientOrderId: 'cid-1', source: 'created', posts: 1, remainingCount: 1000 });
    expect(posts()).toHaveLength(1);
    expect(posts()[0].path).toBe('/trade-api/v2/portfolio/events/orders');
    expect(posts()[0].signatureValid).toBe(true);
    expect(posts()[0].headers.get('content-type')).toBe('application/json');
    expect(posts()[0].body).toEqual({
      ticker: 'MKT',
      client_order_id: 'cid-1',
      side: 'bid',
      count: '10.00',
      price: '0.5600',
      time_in_force: 'good_till_canceled',
      self_trade_prevention_type: 'taker_at_cross',
      post_only: true,
      expiration_time: 1_800_000_000,
    });
  });

  it('409 duplicate → the existing order, found by client_order_id', async () => {
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () => kalshiError(409, 'order_already_exists', 'order already exists')),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([orderWire('other'), orderWire('cid-1', { fill_count_fp: '4.00', remaining_count_fp: '6.00' })])),
    );
    const placement = await client().createOrder(order('cid-1'));
    expect(placement).toMatchObject({ orderId: 'ord-cid-1', source: 'recovered', fillCount: 400, remainingCount: 600, posts: 1 });
    expect(placement.order?.status).toBe('resting');
    expect(posts()).toHaveLength(1);
    expect(gets('/portfolio/orders')[0].query.get('ticker')).toBe('MKT');
  });

  it('409 with no such order → the 409 error (nothing resent)', async () => {
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () => kalshiError(409, 'order_already_exists', 'order already exists')),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([])),
    );
    await expect(client().createOrder(order())).rejects.toMatchObject({ status: 409, code: 'order_already_exists' });
    expect(posts()).toHaveLength(1);
  });

  it('503 on create, then the lookup finds it → no second POST', async () => {
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () => kalshiError(503, 'service_unavailable', 'service_unavailable')),
      http.get(`${BASE}/portfolio/orders`, ({ request }) =>
        new URL(request.url).searchParams.get('cursor') === 'p2' ? ordersPage([orderWire('cid-1')]) : ordersPage([orderWire('x')], 'p2'),
      ),
    );
    const placement = await client().createOrder(order('cid-1'));
    expect(placement).toMatchObject({ orderId: 'ord-cid-1', source: 'recovered', posts: 1 });
    expect(posts()).toHaveLength(1);
    expect(gets('/portfolio/orders')).toHaveLength(2);
  });

  it('503 on create and certainly not there → resent exactly once', async () => {
    let postCount = 0;
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () =>
        ++postCount === 1 ? kalshiError(503, 'service_unavailable', 'service_unavailable') : created('cid-1'),
      ),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([])),
    );
    const placement = await client().createOrder(order('cid-1'));
    expect(placement).toMatchObject({ orderId: 'ord-cid-1', source: 'created', posts: 2 });
    expect(posts()).toHaveLength(2);
    expect(posts()[1].body).toEqual(posts()[0].body);
    expect(gets('/portfolio/orders')).toHaveLength(1);
  });

  it('a timed-out create that did land is recovered, not duplicated', async () => {
    let landed = false;
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, async () => {
        landed = true;
        await delay(1_000);
        return created('cid-1');
      }),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage(landed ? [orderWire('cid-1')] : [])),
    );
    const placement = await client({ timeoutMs: 50 }).createOrder(order('cid-1'));
    expect(placement).toMatchObject({ source: 'recovered', posts: 1 });
    expect(posts()).toHaveLength(1);
  });

  it('a network error on create is resolved by lookup as well', async () => {
    let postCount = 0;
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () => (++postCount === 1 ? HttpResponse.error() : created('cid-1'))),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([])),
    );
    expect(await client().createOrder(order('cid-1'))).toMatchObject({ source: 'created', posts: 2 });
  });

  it('lookup failing too → KalshiOrderOutcomeUnknownError, and no resend', async () => {
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () => kalshiError(503, 'service_unavailable', 'service_unavailable')),
      http.get(`${BASE}/portfolio/orders`, () => kalshiError(500, 'internal', 'internal')),
    );
    const error = await client().createOrder(order('cid-9')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KalshiOrderOutcomeUnknownError);
    expect(error).toMatchObject({ clientOrderId: 'cid-9', ticker: 'MKT' });
    expect(posts()).toHaveLength(1);
    expect(gets('/portfolio/orders')).toHaveLength(3); // the lookup itself retried
  });

  it('when every attempt fails and the order is never there, the last error is thrown after attempts POSTs', async () => {
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () => kalshiError(503, 'service_unavailable', 'service_unavailable')),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([])),
    );
    await expect(client().createOrder(order())).rejects.toMatchObject({ status: 503 });
    expect(posts()).toHaveLength(3);
    expect(gets('/portfolio/orders')).toHaveLength(3);
  });

  it('an aborted create is not sent again: a timeout after the caller gave up ends without a resend (issue 10)', async () => {
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, async () => {
        await delay(1_000);
        return created('cid-1');
      }),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([])),
    );
    const caller = new AbortController();
    const resends: number[] = [];
    const pending = client({ timeoutMs: 50 }).createOrder(order('cid-1'), { signal: caller.signal, beforeResend: async () => void resends.push(posts().length) });
    caller.abort(); // the order actor stopped waiting (its submit timed out) while the first POST is out
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KalshiOrderOutcomeUnknownError);
    expect(error).toMatchObject({ mayHaveLanded: true }); // the first POST timed out: it may still land
    expect(posts()).toHaveLength(1);
    expect(resends).toEqual([]);
  });

  it('every resend is preceded by beforeResend (journal first); a throw there stops it', async () => {
    const resends: number[] = [];
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () => HttpResponse.error()),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([])),
    );
    await client().createOrder(order('cid-1'), { beforeResend: async () => void resends.push(posts().length) }).catch(() => undefined);
    expect(resends).toEqual([1, 2]); // before the 2nd and the 3rd POST, each after the previous one
    expect(posts()).toHaveLength(3);
    seen = [];
    const refused = await client()
      .createOrder(order('cid-2'), {
        beforeResend: async () => {
          throw new Error('journal down');
        },
      })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ message: 'journal down' });
    expect(posts()).toHaveLength(1);
  });

  it('mayHaveLanded: false when every send was refused before it was accepted (503), true once one timed out', async () => {
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () => kalshiError(503, 'service_unavailable', 'service_unavailable')),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([])),
    );
    const refused = await client().createOrder(order('cid-1')).catch((e: unknown) => e);
    expect(createMayHaveLanded(refused)).toBe(false);
    let calls = 0;
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, async () => {
        if (++calls === 1) await delay(1_000);
        return kalshiError(503, 'service_unavailable', 'service_unavailable');
      }),
    );
    const mixed = await client({ timeoutMs: 50 }).createOrder(order('cid-2')).catch((e: unknown) => e);
    expect(mixed).toBeInstanceOf(KalshiOrderOutcomeUnknownError);
    expect(createMayHaveLanded(mixed)).toBe(true);
  });

  it('a 429 on a create means not placed: resent after the backoff without a lookup (issue 14)', async () => {
    let calls = 0;
    server.use(
      http.post(`${BASE}/portfolio/events/orders`, () =>
        ++calls < 3 ? HttpResponse.json({ error: 'too many requests' }, { status: 429 }) : HttpResponse.json({ order_id: 'o-1', client_order_id: 'cid-1', fill_count: '0.00', remaining_count: '1.00', ts_ms: 1 }, { status: 201 }),
      ),
    );
    const placed = await client().createOrder(order('cid-1'));
    expect(placed).toMatchObject({ orderId: 'o-1', source: 'created', posts: 3 });
    expect(gets('/portfolio/orders')).toHaveLength(0);
  });

  it('a 400 is final: no lookup, no resend', async () => {
    server.use(http.post(`${BASE}/portfolio/events/orders`, () => kalshiError(400, 'invalid_price', 'invalid price')));
    await expect(client().createOrder(order())).rejects.toMatchObject({ status: 400, code: 'invalid_price' });
    expect(seen).toHaveLength(1);
  });

  it('refuses requests it cannot send correctly, before any I/O', async () => {
    const c = client();
    await expect(c.createOrder({ ...order(), clientOrderId: '' })).rejects.toBeInstanceOf(InvalidOrderRequestError);
    await expect(c.createOrder({ ...order(), price: 56.5 })).rejects.toThrow(/integer Price/);
    await expect(c.createOrder({ ...order(), price: 10_000 })).rejects.toThrow(/strictly between/);
    await expect(c.createOrder({ ...order(), count: 0 })).rejects.toThrow(/count must be positive/);
    await expect(c.batchCreateOrders([order('a'), order('a')])).rejects.toThrow(/distinct/);
    expect(seen).toHaveLength(0);
  });
});

describe('batchCreateOrders', () => {
  it('returns per-item results; a duplicate item resolves to the existing order', async () => {
    server.use(
      http.post(`${BASE}/portfolio/events/orders/batched`, () =>
        HttpResponse.json(
          {
            orders: [
              { order_id: 'ord-a', client_order_id: 'a', fill_count: '1.00', remaining_count: '9.00', ts_ms: 1 },
              { client_order_id: 'b', error: { code: 'invalid_price', message: 'invalid price' } },
              { client_order_id: 'c', error: { code: 'order_already_exists', message: 'order already exists' } },
            ],
          },
          { status: 201 },
        ),
      ),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([orderWire('c')])),
    );
    const results = await client().batchCreateOrders([order('a'), order('b'), order('c')]);
    expect(results.map((r) => [r.clientOrderId, r.status])).toEqual([
      ['a', 'placed'],
      ['b', 'rejected'],
      ['c', 'placed'],
    ]);
    expect(results[0]).toMatchObject({ placement: { orderId: 'ord-a', fillCount: 100, source: 'created' } });
    expect(results[1]).toMatchObject({ code: 'invalid_price' });
    expect(results[2]).toMatchObject({ placement: { orderId: 'ord-c', source: 'recovered' } });
    expect(posts()).toHaveLength(1);
  });

  it('after a lost answer, resends only the orders that are certainly absent', async () => {
    let postCount = 0;
    server.use(
      http.post(`${BASE}/portfolio/events/orders/batched`, () =>
        ++postCount === 1
          ? kalshiError(503, 'service_unavailable', 'service_unavailable')
          : HttpResponse.json({ orders: [{ order_id: 'ord-b', client_order_id: 'b', fill_count: '0.00', remaining_count: '10.00' }] }, { status: 201 }),
      ),
      http.get(`${BASE}/portfolio/orders`, () => ordersPage([orderWire('a')])),
    );
    const results = await client().batchCreateOrders([order('a'), order('b')]);
    expect(results).toMatchObject([
      { clientOrderId: 'a', status: 'placed', placement: { source: 'recovered', posts: 1 } },
      { clientOrderId: 'b', status: 'placed', placement: { source: 'created', posts: 2 } },
    ]);
    expect(posts()).toHaveLength(2);
    expect((posts()[1].body as { orders: { client_order_id: string }[] }).orders.map((o) => o.client_order_id)).toEqual(['b']);
  });
});

describe('cancels', () => {
  it('cancels one order and reports what was reduced', async () => {
    server.use(
      http.delete(`${BASE}/portfolio/events/orders/:id`, ({ params }) =>
        HttpResponse.json({ order_id: params.id, client_order_id: 'cid', reduced_by: '6.00', ts_ms: 9 }),
      ),
    );
    expect(await client().cancelOrder('ord-1', { ticker: 'MKT' })).toEqual({
      orderId: 'ord-1',
      clientOrderId: 'cid',
      reducedBy: 600,
      tsMs: 9,
      alreadyGone: false,
    });
    expect(seen[0]).toMatchObject({ method: 'DELETE', path: '/trade-api/v2/portfolio/events/orders/ord-1', signatureValid: true });
    expect(seen[0].query.get('market_ticker')).toBe('MKT');
  });

  it('retries a cancel; a 404 after the retry means the order is already gone', async () => {
    let calls = 0;
    server.use(
      http.delete(`${BASE}/portfolio/events/orders/:id`, () =>
        ++calls === 1 ? kalshiError(503, 'service_unavailable', 'service_unavailable') : kalshiError(404, 'not_found', 'order not found'),
      ),
    );
    expect(await client().cancelOrder('ord-1')).toMatchObject({ orderId: 'ord-1', alreadyGone: true, reducedBy: null });
    expect(calls).toBe(2);
  });

  it('a 404 on the first try is an error (the order was never known)', async () => {
    server.use(http.delete(`${BASE}/portfolio/events/orders/:id`, () => kalshiError(404, 'not_found', 'order not found')));
    await expect(client().cancelOrder('nope')).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('batch cancel: per-item outcomes, not-found after a retry reported as already gone', async () => {
    let calls = 0;
    server.use(
      http.delete(`${BASE}/portfolio/events/orders/batched`, () =>
        ++calls === 1
          ? HttpResponse.error()
          : HttpResponse.json({
              orders: [
                { order_id: 'o1', client_order_id: 'c1', reduced_by: '2.00', ts_ms: 1 },
                { order_id: 'o2', error: { code: 'not_found', message: 'order not found' } },
                { order_id: 'o3', error: { code: 'forbidden', message: 'no' } },
              ],
            }),
      ),
    );
    const results = await client().batchCancelOrders(['o1', 'o2', 'o3']);
    expect(results).toEqual([
      { orderId: 'o1', status: 'canceled', clientOrderId: 'c1', reducedBy: 200 },
      { orderId: 'o2', status: 'already_gone' },
      { orderId: 'o3', status: 'rejected', code: 'forbidden', message: 'no' },
    ]);
    expect(seen.map((s) => s.body)).toEqual([
      { orders: [{ order_id: 'o1' }, { order_id: 'o2' }, { order_id: 'o3' }] },
      { orders: [{ order_id: 'o1' }, { order_id: 'o2' }, { order_id: 'o3' }] },
    ]);
  });

  it('cancelAllOrders accepts the 204', async () => {
    server.use(http.delete(`${BASE}/portfolio/events/orders`, () => new HttpResponse(null, { status: 204 })));
    await expect(client().cancelAllOrders()).resolves.toBeUndefined();
    expect(seen[0]).toMatchObject({ method: 'DELETE', path: '/trade-api/v2/portfolio/events/orders' });
  });
});

describe('production is read-only', () => {
  it('refuses every order-writing call before any request, while reads work', async () => {
    server.use(
      http.all(`${BASE}/portfolio/*`, () => created('never')),
      http.get(`${BASE}/markets`, () => HttpResponse.json({ markets: [], cursor: '' })),
    );
    const prod = client({ env: 'production' });
    expect(prod.endpoints.readOnly).toBe(true);
    const attempts = [
      prod.createOrder(order()),
      prod.batchCreateOrders([order()]),
      prod.cancelOrder('o1'),
      prod.batchCancelOrders(['o1']),
      prod.cancelAllOrders(),
    ];
    for (const attempt of attempts) {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReadOnlyEnvironmentError);
      expect((error as Error).message).toMatch(/production environment is read-only/);
    }
    expect(seen).toHaveLength(0);
    await prod.getMarkets();
    expect(seen).toHaveLength(1);
  });
});
