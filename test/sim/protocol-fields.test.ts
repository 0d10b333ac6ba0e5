/**
 * Issue 14, the spec 3.31 field and rule changes on the simulator, raw and through the adapter:
 * sending_ts_ms on every WS frame, exchange_index on fills, the ticker channel selected by
 * market ids, reduce_only only with IOC, settlement_bounds_type / settlement_floor_dollars,
 * balance_breakdown, market_lifecycle_v2 `created` with event_lifecycle, settlement_status on
 * positions, min/max_updated_ts on markets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { InvalidOrderRequestError } from '../../src/adapters/kalshi/errors.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { marketIdFor } from '../../src/sim/server/wire.ts';
import { DECI, LINEAR, ORDER, startHarness, type Harness } from './server.helpers.ts';

let h: Harness;
let client: KalshiRestClient;

beforeAll(async () => {
  h = await startHarness();
  client = new KalshiRestClient({ endpoints: endpointsFor('sim', { restBaseUrl: h.sim.restUrl, wsUrl: h.sim.wsUrl }), credentials: h.creds, clock: h.clock });
});
afterAll(async () => {
  await h.close();
});

describe('WebSocket', () => {
  it('stamps every frame with sending_ts_ms; fills carry exchange_index; ticker by market ids', async () => {
    const probe = await h.ws();
    probe.send({ id: 1, cmd: 'subscribe', params: { channels: ['fill'] } });
    probe.send({ id: 2, cmd: 'subscribe', params: { channels: ['ticker'], market_ids: [marketIdFor(DECI)] } });
    await probe.next((f) => f.id === 2 && f.type === 'subscribed');
    probe.send({ id: 3, cmd: 'subscribe', params: { channels: ['ticker'], market_ids: ['00000000-0000-4000-8000-000000000000'] } });
    expect(await probe.next((f) => f.id === 3)).toMatchObject({ type: 'error', msg: { code: 16 } });
    probe.send({ id: 4, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_ids: [marketIdFor(LINEAR)] } });
    expect(await probe.next((f) => f.id === 4)).toMatchObject({ type: 'error', msg: { code: 11 } });

    h.sim.exchange.createOrder({ userId: 'mm', ticker: LINEAR, side: 'ask', price: 5000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    h.sim.exchange.createOrder({ userId: 'mm', ticker: DECI, side: 'ask', price: 5000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ price: '0.5000', count: '1', time_in_force: 'immediate_or_cancel' }))).status).toBe(201);
    const fill = await probe.next((f) => f.type === 'fill');
    expect(fill.msg).toMatchObject({ exchange_index: 0, market_ticker: LINEAR });
    await probe.sync();
    // the sid follows DECI only: LINEAR's ticker moves are not sent to it
    const tickers = probe.frames.filter((f) => f.type === 'ticker').map((f) => f.msg.market_ticker);
    expect(tickers.length).toBeGreaterThan(0);
    expect(new Set(tickers)).toEqual(new Set([DECI]));
    expect(probe.raw.every((text) => typeof JSON.parse(text).sending_ts_ms === 'number')).toBe(true);
    expect(probe.unstamped).toBe(0);
  });

  it('announces a new market as created, after its event_lifecycle', async () => {
    const probe = await h.ws();
    probe.send({ id: 1, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } });
    await probe.next((f) => f.type === 'subscribed');
    const open = h.clock.now();
    h.sim.exchange.addMarket({ ticker: 'KXNEW-26FEB01-T1', eventTicker: 'KXNEW-26FEB01', title: 'New market 1', priceLevelStructure: 'linear_cent', openTimeMs: open, closeTimeMs: open + 3_600_000, feeType: 'quadratic' });
    expect(await probe.next((f) => f.type === 'event_lifecycle')).toMatchObject({ msg: { event_ticker: 'KXNEW-26FEB01', series_ticker: 'KXNEW' } });
    expect(await probe.next((f) => f.type === 'market_lifecycle_v2')).toMatchObject({
      msg: { event_type: 'created', market_ticker: 'KXNEW-26FEB01-T1', open_ts: Math.floor(open / 1000), close_ts: Math.floor(open / 1000) + 3600 },
    });
    expect(await probe.next((f) => f.type === 'market_lifecycle_v2')).toMatchObject({ msg: { event_type: 'activated' } });
  });
});

describe('REST', () => {
  it('refuses reduce_only unless immediate_or_cancel (sim and adapter)', async () => {
    const gtc = await h.rest('POST', '/portfolio/events/orders', ORDER({ reduce_only: true }));
    expect(gtc).toMatchObject({ status: 400, json: { error: { code: 'invalid_order' } } });
    await expect(
      client.createOrder({ ticker: LINEAR, clientOrderId: 'ro-1', side: 'ask', price: 5000, count: 100, timeInForce: 'good_till_canceled', reduceOnly: true }),
    ).rejects.toBeInstanceOf(InvalidOrderRequestError);
  });

  it('markets carry settlement bounds; balance a breakdown; min/max_updated_ts filter markets', async () => {
    const market = await h.rest('GET', `/markets/${LINEAR}`);
    expect(market.json.market).toMatchObject({ settlement_bounds_type: 'default', settlement_floor_dollars: '0.0000' });
    expect(await client.getMarket(LINEAR)).toMatchObject({ settlementBoundsType: 'default', settlementFloor: 0 });
    const balance = await h.rest('GET', '/portfolio/balance');
    expect(balance.json.balance_breakdown).toEqual([{ exchange_index: 0, balance: balance.json.balance_dollars }]);
    expect((await client.getBalance()).byExchangeIndex).toEqual([{ exchangeIndex: 0, balance: (await client.getBalance()).balance }]);

    // LINEAR traded in the WS test; DECI too; a fresh trade now moves only LINEAR's update time
    h.clock.advance(120_000);
    const now = Math.floor(h.clock.now() / 1000);
    h.sim.exchange.createOrder({ userId: 'mm', ticker: LINEAR, side: 'bid', price: 4000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    h.sim.exchange.createOrder({ userId: 'tk', ticker: LINEAR, side: 'ask', price: 4000, count: 100, timeInForce: 'immediate_or_cancel', selfTradePrevention: 'taker_at_cross' });
    const recent = (await client.getMarkets({ minUpdatedTs: now })).markets.map((m) => m.ticker);
    expect(recent).toContain(LINEAR);
    expect(recent).not.toContain(DECI);
    const older = (await client.getMarkets({ maxUpdatedTs: now - 1 })).markets.map((m) => m.ticker);
    expect(older).toContain(DECI);
    expect(older).not.toContain(LINEAR);
  });

  it('filters positions by settlement_status', async () => {
    h.sim.exchange.createOrder({ userId: 'mm', ticker: DECI, side: 'ask', price: 5000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ ticker: DECI, price: '0.5000', count: '1', time_in_force: 'immediate_or_cancel' }))).status).toBe(201);
    h.sim.faults.settleMarket(DECI, 'yes');
    const tickers = async (status?: 'settled' | 'unsettled' | 'all') =>
      (await client.getAllPositions(status ? { settlementStatus: status } : {})).marketPositions.map((p) => p.ticker).sort();
    expect(await tickers('settled')).toEqual([DECI]);
    expect(await tickers('unsettled')).toEqual([LINEAR]);
    expect(await tickers('all')).toEqual([DECI, LINEAR].sort());
    expect(await tickers()).toEqual([DECI, LINEAR].sort());
    expect((await h.rest('GET', '/portfolio/positions?settlement_status=maybe')).status).toBe(400);
  });
});
