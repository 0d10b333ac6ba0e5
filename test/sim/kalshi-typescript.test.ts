/**
 * Kalshi's official OpenAPI client (`kalshi-typescript` 3.30, axios, its own request signing)
 * works unchanged against the simulator: market data, orderbook, balance, V2 order create, list,
 * cancel, fills, positions. The client signs with the wall clock, so the simulator runs on it too.
 * Each API object gets a private axios instance: the package installs its signing interceptor on
 * whatever instance it is given (kalshi-api.md §8.1, defect 1).
 */
import axios from 'axios';
import { Configuration, ExchangeApi, MarketApi, OrderGroupsApi, OrdersApi, PortfolioApi } from 'kalshi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { startSimulator, type RunningSimulator } from '../../src/sim/simulator.ts';
import { DECI, LINEAR, TEST_MARKETS, testKeyPair } from './server.helpers.ts';

describe('kalshi-typescript against the simulator', () => {
  let sim: RunningSimulator;
  let config: Configuration;
  // the package's CJS typings and our ESM axios typings describe the same instance
  type KalshiAxios = NonNullable<ConstructorParameters<typeof MarketApi>[2]>;
  const api = <T>(Cls: new (c: Configuration, basePath: string, instance: KalshiAxios) => T): T =>
    new Cls(config, sim.restUrl, axios.create() as unknown as KalshiAxios);

  beforeAll(async () => {
    const pair = testKeyPair();
    sim = await startSimulator({
      clock: systemClock,
      markets: TEST_MARKETS,
      activity: false,
      keys: [{ keyId: 'kt-key', publicKeyPem: pair.publicKeyPem, userId: 'kt-user' }],
    });
    config = new Configuration({ apiKey: 'kt-key', privateKeyPem: pair.privateKeyPem, basePath: sim.restUrl });
    for (const [side, price] of [['bid', 4400], ['ask', 5600]] as const) {
      sim.exchange.createOrder({ userId: 'maker', ticker: LINEAR, side, price, count: 2000, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    }
  });
  afterAll(async () => {
    await sim.close();
  });

  it('reads exchange status, markets and one market', async () => {
    const status = await api(ExchangeApi).getExchangeStatus();
    expect(status.data.trading_active).toBe(true);
    const markets = await api(MarketApi).getMarkets(100);
    expect(markets.data.markets.map((m) => m.ticker)).toEqual([LINEAR, DECI]);
    expect(markets.data.cursor).toBe('');
    const one = await api(MarketApi).getMarket(LINEAR);
    expect(one.data.market).toMatchObject({ ticker: LINEAR, yes_bid_dollars: '0.4400', yes_ask_dollars: '0.5600', status: 'active' });
  });

  it('reads the orderbook (signed)', async () => {
    const book = await api(MarketApi).getMarketOrderbook(LINEAR, 10);
    expect(book.data.orderbook_fp.yes_dollars).toEqual([['0.4400', '20.00']]);
    expect(book.data.orderbook_fp.no_dollars).toEqual([['0.4400', '20.00']]);
  });

  it('reads the balance', async () => {
    const balance = await api(PortfolioApi).getBalance();
    expect(balance.data).toMatchObject({ balance: 1_000_000, balance_dollars: '10000.0000', portfolio_value: 0 });
  });

  it('creates a V2 order, lists it, cancels it', async () => {
    const orders = api(OrdersApi);
    const created = await orders.createOrderV2({
      ticker: LINEAR,
      client_order_id: 'kt-rest-1',
      side: 'bid',
      count: '3.00',
      price: '0.4200',
      time_in_force: 'good_till_canceled',
      self_trade_prevention_type: 'taker_at_cross',
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ client_order_id: 'kt-rest-1', fill_count: '0.00', remaining_count: '3.00' });

    const listed = await orders.getOrders(LINEAR, undefined, undefined, undefined, 'resting');
    expect(listed.data.orders.map((o) => o.order_id)).toEqual([created.data.order_id]);
    expect(listed.data.orders[0]).toMatchObject({ book_side: 'bid', outcome_side: 'yes', yes_price_dollars: '0.4200', status: 'resting' });
    const got = await orders.getOrder(created.data.order_id);
    expect(got.data.order.client_order_id).toBe('kt-rest-1');

    const canceled = await orders.cancelOrderV2(created.data.order_id);
    expect(canceled.data).toMatchObject({ order_id: created.data.order_id, reduced_by: '3.00' });
    const after = await orders.getOrders(LINEAR, undefined, undefined, undefined, 'resting');
    expect(after.data.orders).toEqual([]);
  });

  it('fills a crossing order and reports fills and positions', async () => {
    const created = await api(OrdersApi).createOrderV2({
      ticker: LINEAR,
      side: 'ask',
      count: '5',
      price: '0.4400',
      time_in_force: 'immediate_or_cancel',
      self_trade_prevention_type: 'taker_at_cross',
    });
    expect(created.data).toMatchObject({ fill_count: '5.00', remaining_count: '0.00', average_fill_price: '0.4400' });

    const fills = await api(PortfolioApi).getFills(LINEAR);
    expect(fills.data.fills[0]).toMatchObject({ order_id: created.data.order_id, book_side: 'ask', outcome_side: 'no', count_fp: '5.00', yes_price_dollars: '0.4400', is_taker: true });
    const positions = await api(PortfolioApi).getPositions();
    expect(positions.data.market_positions[0]).toMatchObject({ ticker: LINEAR, position_fp: '-5.00', market_exposure_dollars: '2.8000' });
    expect(positions.data.event_positions[0].event_ticker).toBe('KXTEST-26JAN01');
    const trades = await api(MarketApi).getTrades(10, undefined, LINEAR);
    expect(trades.data.trades[0]).toMatchObject({ taker_book_side: 'ask', taker_outcome_side: 'no', count_fp: '5.00' });
  });

  it('amends, decreases and reads queue positions (the plural path is not an order id)', async () => {
    const orders = api(OrdersApi);
    const first = await orders.createOrderV2({ ticker: LINEAR, client_order_id: 'kt-am-1', side: 'bid', count: '4', price: '0.3000', time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross' });
    const second = await orders.createOrderV2({ ticker: LINEAR, client_order_id: 'kt-am-2', side: 'bid', count: '2', price: '0.3000', time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross' });
    // the maker's 15 contracts left bid at 44¢ trade before anything at 30¢
    const all = await orders.getOrderQueuePositions(LINEAR);
    expect(all.data.queue_positions).toEqual([
      { order_id: first.data.order_id, market_ticker: LINEAR, queue_position_fp: '15.00' },
      { order_id: second.data.order_id, market_ticker: LINEAR, queue_position_fp: '19.00' },
    ]);

    // a price change (away and back) sends the first order behind the second
    await orders.amendOrderV2(first.data.order_id, { ticker: LINEAR, side: 'bid', price: '0.2900', count: '4' });
    const amended = await orders.amendOrderV2(first.data.order_id, { ticker: LINEAR, side: 'bid', price: '0.3000', count: '5', updated_client_order_id: 'kt-am-1b' });
    expect(amended.data).toMatchObject({ order_id: first.data.order_id, client_order_id: 'kt-am-1b', remaining_count: '5.00' });
    expect((await orders.getOrderQueuePosition(first.data.order_id)).data.queue_position_fp).toBe('17.00');
    expect((await orders.getOrderQueuePosition(second.data.order_id)).data.queue_position_fp).toBe('15.00');

    const decreased = await orders.decreaseOrderV2(second.data.order_id, { reduce_by: '1' });
    expect(decreased.data).toMatchObject({ order_id: second.data.order_id, remaining_count: '1.00' });
    expect((await orders.getOrderQueuePosition(first.data.order_id)).data.queue_position_fp).toBe('16.00');
    await orders.cancelOrderV2(first.data.order_id);
    await orders.cancelOrderV2(second.data.order_id);
  });

  it('manages order groups: create, orders in it, get, list, limit, trigger, reset, delete', async () => {
    const groups = api(OrderGroupsApi);
    const created = await groups.createOrderGroup({ contracts_limit: 10 });
    expect(created.status).toBe(201);
    const id = created.data.order_group_id;
    const order = await api(OrdersApi).createOrderV2({ ticker: LINEAR, side: 'bid', count: '2', price: '0.2000', time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross', order_group_id: id });
    expect((await groups.getOrderGroup(id)).data).toMatchObject({ contracts_limit_fp: '10.00', is_auto_cancel_enabled: true, orders: [order.data.order_id] });
    expect((await groups.getOrderGroups()).data.order_groups).toContainEqual(expect.objectContaining({ id, contracts_limit_fp: '10.00' }));
    await groups.updateOrderGroupLimit(id, { contracts_limit_fp: '5.00' });
    expect((await groups.getOrderGroup(id)).data.contracts_limit_fp).toBe('5.00');
    await groups.triggerOrderGroup(id, undefined, undefined, {});
    expect((await api(OrdersApi).getOrder(order.data.order_id)).data.order.status).toBe('canceled');
    expect((await groups.getOrderGroup(id)).data.is_auto_cancel_enabled).toBe(false);
    await groups.resetOrderGroup(id, undefined, undefined, {});
    expect((await groups.getOrderGroup(id)).data.is_auto_cancel_enabled).toBe(true);
    await groups.deleteOrderGroup(id);
    const missing = await groups.getOrderGroup(id).catch((e: unknown) => e);
    expect(axios.isAxiosError(missing) && missing.response?.status).toBe(404);
  });

  it('surfaces Kalshi error bodies through axios errors', async () => {
    const error = await api(OrdersApi)
      .createOrderV2({ ticker: LINEAR, side: 'bid', count: '1', price: '0.4250', time_in_force: 'good_till_canceled', self_trade_prevention_type: 'taker_at_cross' })
      .catch((e: unknown) => e);
    expect(axios.isAxiosError(error)).toBe(true);
    if (!axios.isAxiosError(error)) return;
    expect(error.response?.status).toBe(400);
    expect(error.response?.data).toEqual({ error: { code: 'invalid_price', message: expect.any(String), service: 'exchange' } });
  });
});
