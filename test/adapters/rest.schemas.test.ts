/**
 * The Kalshi REST schemas: wire JSON (spec 3.30 shapes) in, integer Price/Count/Micros out; liberal
 * about extra and optional fields, strict about money.
 */
import { describe, expect, it } from 'vitest';
import {
  BalanceSchema,
  BatchCancelOrdersV2ResponseSchema,
  BatchCreateOrdersV2ResponseSchema,
  CancelOrderV2ResponseSchema,
  CreateOrderV2RequestSchema,
  CreateOrderV2ResponseSchema,
  ExchangeStatusSchema,
  FillSchema,
  GetMarketsResponseSchema,
  GetOrderbookResponseSchema,
  GetPositionsResponseSchema,
  MarketSchema,
  OrderSchema,
  SettlementSchema,
  type KalshiMarketWire,
  type KalshiOrderWire,
} from '../../src/adapters/kalshi/rest.schemas.ts';

function marketWire(overrides: Partial<KalshiMarketWire> = {}): KalshiMarketWire {
  return {
    ticker: 'HIGHNY-24JAN01-T60',
    event_ticker: 'HIGHNY-24JAN01',
    market_type: 'binary',
    status: 'active',
    result: '',
    close_time: '2026-12-01T15:00:00Z',
    open_time: '2026-11-01T15:00:00Z',
    yes_bid_dollars: '0.4200',
    yes_bid_size_fp: '13.00',
    yes_ask_dollars: '0.4400',
    yes_ask_size_fp: '7.50',
    no_bid_dollars: '0.5600',
    no_ask_dollars: '0.5800',
    last_price_dollars: '0.4300',
    volume_fp: '1234.56',
    volume_24h_fp: '100.00',
    open_interest_fp: '999.00',
    notional_value_dollars: '1.0000',
    price_level_structure: 'tapered_deci_cent',
    price_ranges: [
      { start: '0.0000', end: '0.1000', step: '0.0010' },
      { start: '0.1000', end: '0.9000', step: '0.0100' },
      { start: '0.9000', end: '1.0000', step: '0.0010' },
    ],
    ...overrides,
  };
}

function orderWire(overrides: Partial<KalshiOrderWire> = {}): KalshiOrderWire {
  return {
    order_id: 'ord-1',
    user_id: 'user-1',
    client_order_id: 'cid-1',
    ticker: 'HIGHNY-24JAN01-T60',
    outcome_side: 'yes',
    book_side: 'bid',
    status: 'resting',
    yes_price_dollars: '0.5600',
    no_price_dollars: '0.4400',
    fill_count_fp: '2.50',
    remaining_count_fp: '7.50',
    initial_count_fp: '10.00',
    taker_fill_cost_dollars: '1.4000',
    maker_fill_cost_dollars: '0.0000',
    taker_fees_dollars: '0.0300',
    maker_fees_dollars: '0.000000',
    created_time: '2026-11-20T10:00:00Z',
    ...overrides,
  };
}

describe('MarketSchema', () => {
  it('turns dollar and fp strings into Price and Count integers and times into epoch ms', () => {
    const m = MarketSchema.parse(marketWire());
    expect(m).toMatchObject({
      ticker: 'HIGHNY-24JAN01-T60',
      eventTicker: 'HIGHNY-24JAN01',
      status: 'active',
      result: '',
      yesBid: 4200,
      yesBidSize: 1300,
      yesAsk: 4400,
      yesAskSize: 750,
      noBid: 5600,
      noAsk: 5800,
      lastPrice: 4300,
      volume: 123456,
      volume24h: 10000,
      openInterest: 99900,
      notionalValue: 1_000_000,
      closeTimeMs: Date.UTC(2026, 11, 1, 15),
      openTimeMs: Date.UTC(2026, 10, 1, 15),
      priceLevelStructure: 'tapered_deci_cent',
    });
    expect(m.priceRanges).toEqual([
      { start: 0, end: 1000, step: 10 },
      { start: 1000, end: 9000, step: 100 },
      { start: 9000, end: 10000, step: 10 },
    ]);
  });

  it('ignores unknown fields, defaults optional ones and derives NO prices from YES', () => {
    const wire: Record<string, unknown> = { ...marketWire(), brand_new_field: { x: 1 }, liquidity_dollars: '0.0000' };
    delete wire.no_bid_dollars;
    delete wire.no_ask_dollars;
    delete wire.price_level_structure;
    delete wire.price_ranges;
    delete wire.volume_24h_fp;
    delete wire.result;
    const m = MarketSchema.parse(wire);
    expect(m.noBid).toBe(10_000 - 4400);
    expect(m.noAsk).toBe(10_000 - 4200);
    expect(m.priceLevelStructure).toBe('linear_cent');
    expect(m.priceRanges).toEqual([]);
    expect(m.volume24h).toBeNull();
    expect(m.result).toBe('');
    expect(m).not.toHaveProperty('brand_new_field');
  });

  it('accepts up to 6 decimals when the extra digits are zero, and sub-tick prices', () => {
    const m = MarketSchema.parse(marketWire({ yes_bid_dollars: '0.420000', last_price_dollars: '0.0015' }));
    expect(m.yesBid).toBe(4200);
    expect(m.lastPrice).toBe(15);
  });

  it('is strict about money: unrepresentable, out-of-range or missing amounts fail with their path', () => {
    const bad = [
      marketWire({ yes_bid_dollars: '0.12345' }),
      marketWire({ yes_ask_dollars: '1.0100' }),
      marketWire({ volume_fp: '1.005' }),
      marketWire({ last_price_dollars: 'abc' }),
      marketWire({ open_interest_fp: 12 as unknown as string }),
    ];
    const paths = bad.map((w) => {
      const r = MarketSchema.safeParse(w);
      expect(r.success).toBe(false);
      return r.error?.issues[0].path.join('.');
    });
    expect(paths).toEqual(['yes_bid_dollars', 'yes_ask_dollars', 'volume_fp', 'last_price_dollars', 'open_interest_fp']);
    const missing: Record<string, unknown> = marketWire();
    delete missing.yes_ask_dollars;
    expect(MarketSchema.safeParse(missing).success).toBe(false);
  });

  it('rejects an unparseable close time', () => {
    expect(MarketSchema.safeParse(marketWire({ close_time: 'tomorrow' })).success).toBe(false);
  });

  it('reads a markets page with a null cursor as the last page', () => {
    const page = GetMarketsResponseSchema.parse({ markets: [marketWire()], cursor: null });
    expect(page.cursor).toBe('');
    expect(page.markets).toHaveLength(1);
  });
});

describe('OrderbookSchema', () => {
  it('reads orderbook_fp levels as [Price, Count] and empty/null sides as []', () => {
    const book = GetOrderbookResponseSchema.parse({
      orderbook_fp: { yes_dollars: [['0.0100', '200.00'], ['0.4200', '13.00']], no_dollars: null },
    });
    expect(book.orderbook_fp).toEqual({ yes: [[100, 20000], [4200, 1300]], no: [] });
    expect(GetOrderbookResponseSchema.safeParse({ orderbook_fp: { yes_dollars: [['0.42']], no_dollars: [] } }).success).toBe(false);
  });
});

describe('OrderSchema', () => {
  it('parses a V2-era order with costs and fees in Micros', () => {
    const o = OrderSchema.parse(orderWire());
    expect(o).toMatchObject({
      orderId: 'ord-1',
      clientOrderId: 'cid-1',
      side: 'bid',
      outcomeSide: 'yes',
      status: 'resting',
      yesPrice: 5600,
      noPrice: 4400,
      initialCount: 1000,
      fillCount: 250,
      remainingCount: 750,
      takerFillCost: 1_400_000,
      makerFillCost: 0,
      takerFees: 30_000,
      makerFees: 0,
      createdTimeMs: Date.UTC(2026, 10, 20, 10),
      lastUpdateTimeMs: null,
    });
  });

  it('derives the YES-book side from legacy (side, action) when book_side is absent', () => {
    const legacy = (side: 'yes' | 'no', action: 'buy' | 'sell') => {
      const w: Record<string, unknown> = { ...orderWire(), side, action };
      delete w.book_side;
      delete w.outcome_side;
      return OrderSchema.parse(w).side;
    };
    expect([legacy('yes', 'buy'), legacy('yes', 'sell'), legacy('no', 'buy'), legacy('no', 'sell')]).toEqual(['bid', 'ask', 'ask', 'bid']);
    const neither: Record<string, unknown> = orderWire();
    delete neither.book_side;
    expect(OrderSchema.safeParse(neither).success).toBe(false);
  });

  it('rejects an unknown order status and missing fee fields', () => {
    expect(OrderSchema.safeParse(orderWire({ status: 'pending' as 'resting' })).success).toBe(false);
    const noFees: Record<string, unknown> = orderWire();
    delete noFees.taker_fees_dollars;
    expect(OrderSchema.safeParse(noFees).success).toBe(false);
  });
});

describe('write responses', () => {
  it('parses the create V2 response, average prices kept exact in Micros', () => {
    expect(
      CreateOrderV2ResponseSchema.parse({
        order_id: 'o',
        client_order_id: 'c',
        fill_count: '3.00',
        remaining_count: '7.00',
        average_fill_price: '0.563333',
        average_fee_paid: '0.0175',
        ts_ms: 1715793600123,
      }),
    ).toEqual({
      orderId: 'o',
      clientOrderId: 'c',
      fillCount: 300,
      remainingCount: 700,
      averageFillPrice: 563_333,
      averageFeePaid: 17_500,
      tsMs: 1715793600123,
    });
  });

  it('parses cancel and batch responses with per-item errors', () => {
    expect(CancelOrderV2ResponseSchema.parse({ order_id: 'o', reduced_by: '7.00', ts_ms: 1 })).toEqual({
      orderId: 'o',
      clientOrderId: null,
      reducedBy: 700,
      tsMs: 1,
    });
    const created = BatchCreateOrdersV2ResponseSchema.parse({
      orders: [
        { order_id: 'o1', client_order_id: 'c1', fill_count: '0.00', remaining_count: '1.00', ts_ms: 5 },
        { client_order_id: 'c2', error: { code: 'invalid_price', message: 'invalid price', service: 'exchange' } },
      ],
    });
    expect(created.orders[0]).toMatchObject({ orderId: 'o1', fillCount: 0, remainingCount: 100, error: null });
    expect(created.orders[1]).toMatchObject({ orderId: null, error: { code: 'invalid_price', message: 'invalid price', details: null } });
    const canceled = BatchCancelOrdersV2ResponseSchema.parse({
      orders: [{ order_id: 'o1', reduced_by: '1.00' }, { order_id: 'o2', error: { code: 'not_found' } }],
    });
    expect(canceled.orders.map((o) => [o.reducedBy, o.error?.code ?? null])).toEqual([
      [100, null],
      [null, 'not_found'],
    ]);
  });
});

describe('portfolio schemas', () => {
  it('parses fills (fee in dollars) and falls back to legacy ids', () => {
    const f = FillSchema.parse({
      fill_id: 'f1',
      trade_id: 'f1',
      order_id: 'o1',
      ticker: 'T',
      market_ticker: 'T',
      exchange_index: 0,
      outcome_side: 'no',
      book_side: 'ask',
      count_fp: '5.00',
      yes_price_dollars: '0.3300',
      no_price_dollars: '0.6700',
      is_taker: true,
      fee_cost: '0.0700',
      created_time: '2026-11-20T10:00:00.5Z',
    });
    expect(f).toMatchObject({ fillId: 'f1', side: 'ask', outcomeSide: 'no', count: 500, yesPrice: 3300, noPrice: 6700, feeCost: 70_000 });
    expect(f.createdTimeMs).toBe(Date.UTC(2026, 10, 20, 10, 0, 0, 500));
    const legacy = FillSchema.parse({
      trade_id: 't9', order_id: 'o1', market_ticker: 'T', side: 'yes', action: 'buy',
      count_fp: '1.00', yes_price_dollars: '0.5000', is_taker: false, fee_cost: '0', ts: 1700000000,
    });
    expect(legacy).toMatchObject({ fillId: 't9', ticker: 'T', side: 'bid', noPrice: 5000, createdTimeMs: 1_700_000_000_000 });
  });

  it('parses positions (negative = NO contracts) and event positions', () => {
    const p = GetPositionsResponseSchema.parse({
      cursor: '',
      market_positions: [
        {
          ticker: 'T', exchange_index: 0, total_traded_dollars: '12.5000', position_fp: '-54.00',
          market_exposure_dollars: '23.760000', realized_pnl_dollars: '-0.18', fees_paid_dollars: '0.4200',
          last_updated_ts: '2026-11-20T10:00:00Z',
        },
      ],
      event_positions: [
        { event_ticker: 'E', total_cost_dollars: '1.00', total_cost_shares_fp: '2.00', event_exposure_dollars: '1.00', realized_pnl_dollars: '0', fees_paid_dollars: '0.01' },
      ],
    });
    expect(p.market_positions[0]).toMatchObject({ position: -5400, marketExposure: 23_760_000, realizedPnl: -180_000, feesPaid: 420_000, totalTraded: 12_500_000 });
    expect(p.event_positions[0]).toMatchObject({ eventTicker: 'E', totalCostShares: 200, feesPaid: 10_000 });
    expect(GetPositionsResponseSchema.parse({ market_positions: null }).event_positions).toEqual([]);
  });

  it('prefers balance_dollars (exact) over the truncated cents field', () => {
    expect(BalanceSchema.parse({ balance: 1234, balance_dollars: '12.3456', portfolio_value: 500, updated_ts: 1 })).toMatchObject({
      balance: 12_345_600,
      portfolioValue: 5_000_000,
    });
    expect(BalanceSchema.parse({ balance: 1234 }).balance).toBe(12_340_000);
    expect(BalanceSchema.safeParse({ balance: 12.5 }).success).toBe(false);
  });

  it('parses settlements: revenue and value in cents on the wire', () => {
    const s = SettlementSchema.parse({
      ticker: 'T', exchange_index: 0, event_ticker: 'E', market_result: 'yes', yes_count_fp: '10.00',
      yes_total_cost_dollars: '4.2000', no_count_fp: '0.00', no_total_cost_dollars: '0.0000', revenue: 1000,
      settled_time: '2026-11-21T00:00:00Z', fee_cost: '0.0700', value: 100,
    });
    expect(s).toMatchObject({ revenue: 10_000_000, yesPayout: 10_000, yesCount: 1000, yesTotalCost: 4_200_000, feeCost: 70_000 });
  });

  it('parses exchange status', () => {
    expect(ExchangeStatusSchema.parse({ exchange_active: true, trading_active: false, exchange_estimated_resume_time: null })).toEqual({
      exchangeActive: true,
      tradingActive: false,
      estimatedResumeTime: null,
    });
  });
});

describe('CreateOrderV2RequestSchema (what the simulator accepts)', () => {
  it('parses the documented example request', () => {
    const r = CreateOrderV2RequestSchema.parse({
      ticker: 'HIGHNY-24JAN01-T60', client_order_id: '8c35ecb3', side: 'bid', count: '10.00', price: '0.5600',
      time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross', post_only: false,
      cancel_order_on_pause: false, reduce_only: false, subaccount: 0, exchange_index: 0,
    });
    expect(r).toMatchObject({ side: 'bid', price: 5600, count: 1000, clientOrderId: '8c35ecb3', postOnly: false, subaccount: 0 });
  });

  it('refuses zero counts, prices at $0 or $1, unknown time-in-force and a missing STP type', () => {
    const base = { ticker: 'T', side: 'ask', count: '1', price: '0.5', time_in_force: 'immediate_or_cancel', self_trade_prevention_type: 'maker' };
    expect(CreateOrderV2RequestSchema.safeParse(base).success).toBe(true);
    expect(CreateOrderV2RequestSchema.safeParse({ ...base, count: '0.00' }).success).toBe(false);
    expect(CreateOrderV2RequestSchema.safeParse({ ...base, price: '1.0000' }).success).toBe(false);
    expect(CreateOrderV2RequestSchema.safeParse({ ...base, price: '0' }).success).toBe(false);
    expect(CreateOrderV2RequestSchema.safeParse({ ...base, time_in_force: 'gtt' }).success).toBe(false);
    const { self_trade_prevention_type: _omitted, ...noStp } = base;
    expect(CreateOrderV2RequestSchema.safeParse(noStp).success).toBe(false);
  });
});
