/**
 * The simulator's REST API over loopback: every endpoint's body validated against the Kalshi
 * client's zod schemas (src/adapters/kalshi/rest.schemas.ts), auth failures, Kalshi error
 * shapes, malformed input, pagination.
 */
import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentials, generateKeyPair } from '../../src/adapters/kalshi/auth.ts';
import {
  BatchCancelOrdersV2ResponseSchema,
  BatchCreateOrdersV2ResponseSchema,
  CancelOrderV2ResponseSchema,
  CreateOrderV2ResponseSchema,
  ExchangeStatusSchema,
  GetFillsResponseSchema,
  GetMarketResponseSchema,
  GetMarketsResponseSchema,
  GetOrderbookResponseSchema,
  GetOrderResponseSchema,
  GetOrdersResponseSchema,
  GetPositionsResponseSchema,
  GetSettlementsResponseSchema,
  BalanceSchema,
} from '../../src/adapters/kalshi/rest.schemas.ts';
import { z } from 'zod';
import fc from 'fast-check';
import { DECI, LINEAR, ORDER, startHarness, type Harness } from './server.helpers.ts';

const TradesSchema = z.object({
  trades: z.array(
    z.object({
      trade_id: z.string(),
      ticker: z.string(),
      count_fp: z.string().regex(/^\d+\.\d{2}$/),
      yes_price_dollars: z.string().regex(/^\d\.\d{4}$/),
      no_price_dollars: z.string().regex(/^\d\.\d{4}$/),
      taker_outcome_side: z.enum(['yes', 'no']),
      taker_book_side: z.enum(['bid', 'ask']),
      created_time: z.string(),
      is_block_trade: z.boolean(),
    }),
  ),
  cursor: z.string(),
});

function expectKalshiError(reply: { status: number; json: any }, status: number, code?: string) {
  expect(reply.status).toBe(status);
  expect(reply.json).toMatchObject({ error: { service: 'exchange' } });
  expect(typeof reply.json.error.message).toBe('string');
  if (code) expect(reply.json.error.code).toBe(code);
}

describe('simulator REST', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    // a resting book from another user: YES bids 0.40/0.45, YES asks 0.55/0.60
    const ex = h.sim.exchange;
    for (const [side, price] of [['bid', 4000], ['bid', 4500], ['ask', 5500], ['ask', 6000]] as const) {
      const r = ex.createOrder({ userId: 'maker', ticker: LINEAR, side, price, count: 1000, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
      expect(r.ok).toBe(true);
    }
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers exchange status without auth', async () => {
    const r = await h.rest('GET', '/exchange/status', undefined, { sign: false });
    expect(r.status).toBe(200);
    expect(ExchangeStatusSchema.parse(r.json)).toMatchObject({ exchangeActive: true, tradingActive: true });
  });

  it('lists markets with Kalshi fields, filters and cursor pagination', async () => {
    const all = await h.rest('GET', '/markets', undefined, { sign: false });
    expect(all.status).toBe(200);
    const parsed = GetMarketsResponseSchema.parse(all.json);
    expect(parsed.markets.map((m) => m.ticker)).toEqual([LINEAR, DECI]);
    expect(all.json.cursor).toBe('');
    const linear = all.json.markets[0];
    expect(linear).toMatchObject({
      status: 'active',
      yes_bid_dollars: '0.4500',
      yes_ask_dollars: '0.5500',
      no_bid_dollars: '0.4500',
      no_ask_dollars: '0.5500',
      yes_bid_size_fp: '10.00',
      price_level_structure: 'linear_cent',
      price_ranges: [{ start: '0.0100', end: '0.9900', step: '0.0100' }],
    });
    expect(all.json.markets[1].price_level_structure).toBe('deci_cent');

    const page1 = await h.rest('GET', '/markets?limit=1', undefined, { sign: false });
    expect(page1.json.markets).toHaveLength(1);
    expect(page1.json.cursor).not.toBe('');
    const page2 = await h.rest('GET', `/markets?limit=1&cursor=${page1.json.cursor}`, undefined, { sign: false });
    expect(page2.json.markets.map((m: any) => m.ticker)).toEqual([DECI]);
    expect(page2.json.cursor).toBe('');

    const filtered = await h.rest('GET', `/markets?tickers=${DECI}&status=open`, undefined, { sign: false });
    expect(filtered.json.markets.map((m: any) => m.ticker)).toEqual([DECI]);
    const settled = await h.rest('GET', '/markets?status=settled', undefined, { sign: false });
    expect(settled.json.markets).toEqual([]);
    const byEvent = await h.rest('GET', '/markets?event_ticker=KXTEST-26JAN01', undefined, { sign: false });
    expect(byEvent.json.markets.map((m: any) => m.ticker)).toEqual([LINEAR]);
  });

  it('gets one market, 404 for an unknown ticker', async () => {
    const one = await h.rest('GET', `/markets/${LINEAR}`, undefined, { sign: false });
    expect(GetMarketResponseSchema.parse(one.json).market.ticker).toBe(LINEAR);
    expectKalshiError(await h.rest('GET', '/markets/NOPE-1', undefined, { sign: false }), 404, 'market_not_found');
  });

  it('serves the orderbook ascending (best bid last), with depth, behind auth', async () => {
    const r = await h.rest('GET', `/markets/${LINEAR}/orderbook`);
    expect(r.status).toBe(200);
    expect(r.json.orderbook_fp).toEqual({
      yes_dollars: [['0.4000', '10.00'], ['0.4500', '10.00']],
      no_dollars: [['0.4000', '10.00'], ['0.4500', '10.00']],
    });
    GetOrderbookResponseSchema.parse(r.json);
    const top = await h.rest('GET', `/markets/${LINEAR}/orderbook?depth=1`);
    expect(top.json.orderbook_fp.yes_dollars).toEqual([['0.4500', '10.00']]);
    expectKalshiError(await h.rest('GET', `/markets/${LINEAR}/orderbook`, undefined, { sign: false }), 401, 'unauthorized');
    expectKalshiError(await h.rest('GET', '/markets/NOPE-1/orderbook'), 404);
    expectKalshiError(await h.rest('GET', `/markets/${LINEAR}/orderbook?depth=abc`), 400);
  });

  describe('auth', () => {
    it('401 when headers are missing', async () => {
      expectKalshiError(await h.rest('GET', '/portfolio/balance', undefined, { sign: false }), 401, 'unauthorized');
    });

    it('401 for a signature by another key', async () => {
      const other = createCredentials('test-key-1', createPrivateKey(generateKeyPair().privateKeyPem));
      expectKalshiError(await h.rest('GET', '/portfolio/balance', undefined, { creds: other }), 401, 'unauthorized');
    });

    it('401 for an unknown key id', async () => {
      const other = createCredentials('nobody', createPrivateKey(generateKeyPair().privateKeyPem));
      expectKalshiError(await h.rest('GET', '/portfolio/balance', undefined, { creds: other }), 401);
    });

    it('401 when the timestamp is more than 60 s from the exchange clock; accepted within', async () => {
      expectKalshiError(await h.rest('GET', '/portfolio/balance', undefined, { timestampMs: h.clock.now() - 61_000 }), 401);
      expectKalshiError(await h.rest('GET', '/portfolio/balance', undefined, { timestampMs: h.clock.now() + 61_000 }), 401);
      expect((await h.rest('GET', '/portfolio/balance', undefined, { timestampMs: h.clock.now() - 59_000 })).status).toBe(200);
    });

    it('signs the path without the query string', async () => {
      const r = await h.rest('GET', '/portfolio/orders?limit=5&status=resting');
      expect(r.status).toBe(200);
    });

    it('never echoes key material in the 401', async () => {
      const r = await h.rest('GET', '/portfolio/balance', undefined, { timestampMs: 1 });
      expect(r.text).not.toMatch(/BEGIN|PRIVATE|PUBLIC/);
    });
  });

  it('reports the balance in cents and dollars', async () => {
    const r = await h.rest('GET', '/portfolio/balance');
    expect(r.status).toBe(200);
    const b = BalanceSchema.parse(r.json);
    expect(r.json.balance).toBe(1_000_000);
    expect(r.json.balance_dollars).toBe('10000.0000');
    expect(b.portfolioValue).toBe(0);
    expect(Number.isInteger(r.json.updated_ts)).toBe(true);
  });

  it('creates (201), lists, gets, decreases and cancels a resting order', async () => {
    const created = await h.rest('POST', '/portfolio/events/orders', ORDER({ client_order_id: 'rest-1', price: '0.3000', count: '10' }));
    expect(created.status).toBe(201);
    const c = CreateOrderV2ResponseSchema.parse(created.json);
    expect(c).toMatchObject({ clientOrderId: 'rest-1', fillCount: 0, remainingCount: 1000 });
    expect(created.json.average_fill_price).toBeUndefined();

    const list = await h.rest('GET', '/portfolio/orders?status=resting');
    const orders = GetOrdersResponseSchema.parse(list.json).orders;
    expect(orders.map((o) => o.orderId)).toContain(c.orderId);
    const one = await h.rest('GET', `/portfolio/orders/${c.orderId}`);
    expect(GetOrderResponseSchema.parse(one.json).order).toMatchObject({ status: 'resting', side: 'bid', outcomeSide: 'yes' });
    expect(one.json.order).toMatchObject({ yes_price_dollars: '0.3000', no_price_dollars: '0.7000', remaining_count_fp: '10.00', user_id: 'alice' });

    const dec = await h.rest('POST', `/portfolio/events/orders/${c.orderId}/decrease`, { reduce_by: '3' });
    expect(dec.status).toBe(200);
    expect(dec.json).toMatchObject({ order_id: c.orderId, remaining_count: '7.00' });
    const decTo = await h.rest('POST', `/portfolio/events/orders/${c.orderId}/decrease`, { reduce_to: '2.50' });
    expect(decTo.json.remaining_count).toBe('2.50');
    expectKalshiError(await h.rest('POST', `/portfolio/events/orders/${c.orderId}/decrease`, { reduce_by: '1', reduce_to: '1' }), 400);

    const cancel = await h.rest('DELETE', `/portfolio/events/orders/${c.orderId}`);
    expect(cancel.status).toBe(200);
    expect(CancelOrderV2ResponseSchema.parse(cancel.json)).toMatchObject({ orderId: c.orderId, reducedBy: 250 });
    const after = await h.rest('GET', `/portfolio/orders/${c.orderId}`);
    expect(after.json.order.status).toBe('canceled');
    expectKalshiError(await h.rest('DELETE', '/portfolio/events/orders/no-such-order'), 404);
    expectKalshiError(await h.rest('GET', '/portfolio/orders/no-such-order'), 404);
  });

  it('a crossing order fills at the maker price and shows in fills, positions, balance, trades', async () => {
    const created = await h.rest('POST', '/portfolio/events/orders', ORDER({ price: '0.5500', count: '2', time_in_force: 'immediate_or_cancel' }));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ fill_count: '2.00', remaining_count: '0.00', average_fill_price: '0.5500' });
    expect(CreateOrderV2ResponseSchema.parse(created.json).averageFeePaid).toBeGreaterThan(0);

    const fills = await h.rest('GET', `/portfolio/fills?ticker=${LINEAR}`);
    const f = GetFillsResponseSchema.parse(fills.json).fills;
    expect(f[0]).toMatchObject({ orderId: created.json.order_id, isTaker: true, count: 200, yesPrice: 5500 });
    expect(fills.json.fills[0]).toMatchObject({ book_side: 'bid', outcome_side: 'yes', side: 'yes', action: 'buy', market_ticker: LINEAR });

    const pos = await h.rest('GET', '/portfolio/positions');
    const p = GetPositionsResponseSchema.parse(pos.json);
    expect(pos.json.market_positions[0]).toMatchObject({ ticker: LINEAR, position_fp: '2.00', market_exposure_dollars: '1.1000' });
    expect(pos.json.event_positions[0]).toMatchObject({ event_ticker: 'KXTEST-26JAN01', total_cost_shares_fp: '2.00' });
    expect(p.market_positions).toHaveLength(1);
    const onlyOpen = await h.rest('GET', '/portfolio/positions?count_filter=position');
    expect(onlyOpen.json.market_positions).toHaveLength(1);

    const bal = await h.rest('GET', '/portfolio/balance');
    expect(bal.json.balance).toBeLessThan(1_000_000);
    // 2 YES marked at the 0.45 YES bid
    expect(bal.json.portfolio_value).toBe(90);

    const trades = await h.rest('GET', `/markets/trades?ticker=${LINEAR}`, undefined, { sign: false });
    const t = TradesSchema.parse(trades.json).trades;
    expect(t[0]).toMatchObject({ ticker: LINEAR, count_fp: '2.00', yes_price_dollars: '0.5500', taker_book_side: 'bid', taker_outcome_side: 'yes' });
  });

  it('409 order_already_exists for a duplicate client_order_id', async () => {
    const first = await h.rest('POST', '/portfolio/events/orders', ORDER({ client_order_id: 'dup-1', price: '0.1000' }));
    expect(first.status).toBe(201);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ client_order_id: 'dup-1', price: '0.1000' })), 409, 'order_already_exists');
  });

  it('400 with Kalshi codes for a bad tick, a missing field, wrong types, huge numbers', async () => {
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ price: '0.4050' })), 400, 'invalid_price');
    // the same half-cent price is fine on a deci-cent market
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ ticker: DECI, price: '0.4050' }))).status).toBe(201);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ time_in_force: undefined })), 400);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ count: 5 })), 400);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ side: 'buy' })), 400);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ count: '99999999999999999999999' })), 400);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ price: '1e309' })), 400);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ count: '1.001' })), 400);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ expiration_time: 1e308 })), 400);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER({ ticker: 'NOPE-1' })), 404, 'market_not_found');
    expectKalshiError(await h.rest('GET', '/portfolio/orders?limit=1001'), 400);
    expectKalshiError(await h.rest('GET', '/portfolio/orders?limit=99999999999999999999'), 400);
    expectKalshiError(await h.rest('GET', '/portfolio/fills?cursor=%%%'), 400);
    expectKalshiError(await h.rest('GET', '/markets?status=bogus', undefined, { sign: false }), 400);
  });

  it('malformed JSON bodies are a 400, never a crash', async () => {
    for (const raw of ['{bad', '', 'null', '[]', '"x"', '{"ticker":', '\u0000\u0001']) {
      expectKalshiError(await h.rest('POST', '/portfolio/events/orders', undefined, { rawBody: raw }), 400);
    }
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders/batched', undefined, { rawBody: '{"orders":' }), 400);
    expectKalshiError(await h.rest('DELETE', '/portfolio/events/orders/batched', undefined, { rawBody: 'nope' }), 400);
    // still serving
    expect((await h.rest('GET', '/exchange/status', undefined, { sign: false })).status).toBe(200);
  });

  it('rejects oversized bodies with 413', async () => {
    const big = JSON.stringify({ ...ORDER(), pad: 'x'.repeat(1_100_000) });
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', undefined, { rawBody: big }), 413);
  });

  it('batch create returns 201 with per-item errors; batch cancel per item', async () => {
    const r = await h.rest('POST', '/portfolio/events/orders/batched', {
      orders: [ORDER({ price: '0.2000', client_order_id: 'b-1' }), ORDER({ price: '0.2050' }), { nonsense: true }],
    });
    expect(r.status).toBe(201);
    const items = BatchCreateOrdersV2ResponseSchema.parse(r.json).orders;
    expect(items).toHaveLength(3);
    expect(items[0]).toMatchObject({ clientOrderId: 'b-1', remainingCount: 500, error: null });
    expect(items[1].error).toMatchObject({ code: 'invalid_price' });
    expect(items[2].error).toMatchObject({ code: 'invalid_parameters' });

    const cancel = await h.rest('DELETE', '/portfolio/events/orders/batched', { orders: [{ order_id: items[0].orderId }, { order_id: 'missing' }] });
    expect(cancel.status).toBe(200);
    const c = BatchCancelOrdersV2ResponseSchema.parse(cancel.json).orders;
    expect(c[0]).toMatchObject({ orderId: items[0].orderId, reducedBy: 500, error: null });
    expect(c[1].error).not.toBeNull();
  });

  it('paginates orders newest first with a cursor, empty on the last page', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ price: '0.0500', client_order_id: `page-${i}` }))).status).toBe(201);
    }
    const seen: string[] = [];
    let cursor = '';
    let pages = 0;
    do {
      const r = await h.rest('GET', `/portfolio/orders?ticker=${LINEAR}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const parsed = GetOrdersResponseSchema.parse(r.json);
      seen.push(...parsed.orders.map((o) => o.clientOrderId ?? ''));
      cursor = r.json.cursor;
      pages++;
      // an order placed between pages must not shift or repeat later pages
      if (pages === 1) await h.rest('POST', '/portfolio/events/orders', ORDER({ price: '0.0500', client_order_id: 'late' }));
    } while (cursor !== '' && pages < 50);
    expect(seen.slice(0, 5)).toEqual(['page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
    expect(seen).not.toContain('late');
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('cancel-all answers 204 and leaves nothing resting', async () => {
    const r = await h.rest('DELETE', '/portfolio/events/orders');
    expect(r.status).toBe(204);
    const list = await h.rest('GET', '/portfolio/orders?status=resting');
    expect(list.json.orders).toEqual([]);
  });

  it('lists settlements after a market settles', async () => {
    const s = h.sim.exchange.settleMarket(LINEAR, 'yes');
    expect(s.ok).toBe(true);
    const r = await h.rest('GET', '/portfolio/settlements');
    const parsed = GetSettlementsResponseSchema.parse(r.json);
    expect(parsed.settlements).toHaveLength(1);
    expect(r.json.settlements[0]).toMatchObject({ ticker: LINEAR, market_result: 'yes', yes_count_fp: '2.00', revenue: 200, value: 100 });
    const market = await h.rest('GET', `/markets/${LINEAR}`, undefined, { sign: false });
    expect(market.json.market).toMatchObject({ status: 'finalized', result: 'yes', settlement_value_dollars: '1.0000' });
    const settled = await h.rest('GET', '/markets?status=settled', undefined, { sign: false });
    expect(settled.json.markets.map((m: any) => m.ticker)).toEqual([LINEAR]);
    expectKalshiError(await h.rest('POST', '/portfolio/events/orders', ORDER()), 400, 'market_closed');
  });

  it('unknown paths are a Kalshi-shaped 404', async () => {
    expectKalshiError(await h.rest('GET', '/no/such/thing', undefined, { sign: false }), 404);
  });
});

describe('simulator REST under arbitrary input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('never answers 5xx to random order bodies, field values or query strings', async () => {
    const fieldValue = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom('0.5000', '0.50', '1', '0', '-1', '1e3', '99999999999999999999', '0.00001', 'NaN', 'bid', 'ask', LINEAR, DECI),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
    );
    const body = fc.oneof(
      fc.anything(),
      fc.record(
        {
          ticker: fieldValue,
          side: fieldValue,
          count: fieldValue,
          price: fieldValue,
          time_in_force: fc.oneof(fieldValue, fc.constantFrom('good_till_canceled', 'immediate_or_cancel', 'fill_or_kill')),
          self_trade_prevention_type: fc.oneof(fieldValue, fc.constantFrom('taker_at_cross', 'maker')),
          client_order_id: fieldValue,
          expiration_time: fieldValue,
          post_only: fieldValue,
          reduce_only: fieldValue,
          subaccount: fieldValue,
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const r = await h.rest('POST', '/portfolio/events/orders', undefined, { rawBody: JSON.stringify(b) ?? 'undefined' });
        expect([201, 400, 404, 409]).toContain(r.status);
        expect(r.json).toBeDefined();
      }),
      { numRuns: 150, seed: 20261123 },
    );
    const query = fc.dictionary(
      fc.constantFrom('limit', 'cursor', 'ticker', 'status', 'min_ts', 'max_ts', 'event_ticker', 'order_id', 'count_filter', 'depth', 'tickers'),
      fc.string({ maxLength: 30 }),
      { maxKeys: 4 },
    );
    const path = fc.constantFrom('/portfolio/orders', '/portfolio/fills', '/portfolio/positions', '/portfolio/settlements', '/markets', '/markets/trades', `/markets/${LINEAR}/orderbook`);
    await fc.assert(
      fc.asyncProperty(path, query, async (p, q) => {
        const r = await h.rest('GET', `${p}?${new URLSearchParams(q).toString()}`);
        expect([200, 400]).toContain(r.status);
      }),
      { numRuns: 150, seed: 20261124 },
    );
    expect((await h.rest('GET', '/exchange/status', undefined, { sign: false })).status).toBe(200);
  });
});
