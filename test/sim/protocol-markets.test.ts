/**
 * Issue 14, discovery: events, series and candlesticks on the simulator — raw requests, the
 * official client, the project's KalshiRestClient — and discovery restricted to series or events.
 * The generated markets belong to events (KXRAIN-26JAN01) of series (KXRAIN).
 */
import axios from 'axios';
import { Configuration, EventsApi, MarketApi } from 'kalshi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { selectMarkets } from '../../src/actors/markets.ts';
import { generateMarkets } from '../../src/sim/activity/markets.ts';
import { startHarness, type Harness } from './server.helpers.ts';

const MARKETS = generateMarkets(12, 3);
const EVENTS = [...new Set(MARKETS.map((m) => m.eventTicker!))];
const SERIES = [...new Set(EVENTS.map((e) => e.split('-')[0]!))];

let h: Harness;
let client: KalshiRestClient;

beforeAll(async () => {
  h = await startHarness({ markets: MARKETS });
  client = new KalshiRestClient({ endpoints: endpointsFor('sim', { restBaseUrl: h.sim.restUrl, wsUrl: h.sim.wsUrl }), credentials: h.creds, clock: h.clock });
});
afterAll(async () => {
  await h.close();
});

describe('events and series', () => {
  it('raw: lists events (nested markets on request), one event with its markets, series, 404s', async () => {
    const all = await h.rest('GET', '/events?limit=200');
    expect(all.status).toBe(200);
    expect(all.json.events.map((e: { event_ticker: string }) => e.event_ticker)).toEqual(EVENTS);
    expect(all.json.events[0]).toMatchObject({ series_ticker: SERIES[0], mutually_exclusive: false, collateral_return_type: '' });
    expect(all.json.events[0].markets).toBeUndefined();
    const nested = await h.rest('GET', `/events?series_ticker=${SERIES[0]}&with_nested_markets=true`);
    expect(nested.json.events.every((e: { series_ticker: string }) => e.series_ticker === SERIES[0])).toBe(true);
    expect(nested.json.events[0].markets.length).toBeGreaterThan(0);
    const paged = await h.rest('GET', '/events?limit=2');
    expect(paged.json.events).toHaveLength(2);
    expect(paged.json.cursor).not.toBe('');

    const one = await h.rest('GET', `/events/${EVENTS[0]}`);
    expect(one.json.event.event_ticker).toBe(EVENTS[0]);
    expect(one.json.markets.map((m: { ticker: string }) => m.ticker)).toEqual(MARKETS.filter((m) => m.eventTicker === EVENTS[0]).map((m) => m.ticker));
    expect((await h.rest('GET', '/events/KXNOPE-26JAN01')).status).toBe(404);

    const series = await h.rest('GET', `/series/${SERIES[0]}`);
    expect(series.json.series).toMatchObject({ ticker: SERIES[0], fee_multiplier: 1 });
    expect((await h.rest('GET', '/series')).json.series.map((s: { ticker: string }) => s.ticker)).toEqual(SERIES);
    expect((await h.rest('GET', '/series/KXNOPE')).status).toBe(404);
  });

  it('kalshi-typescript: getEvents, getEvent, getSeries, getSeriesList', async () => {
    type KalshiAxios = NonNullable<ConstructorParameters<typeof MarketApi>[2]>;
    const config = new Configuration({ basePath: h.sim.restUrl });
    const events = new EventsApi(config, h.sim.restUrl, axios.create() as unknown as KalshiAxios);
    const market = new MarketApi(config, h.sim.restUrl, axios.create() as unknown as KalshiAxios);
    const listed = await events.getEvents(200, undefined, true, undefined, 'open');
    expect(listed.data.events.map((e) => e.event_ticker)).toEqual(EVENTS);
    expect(listed.data.events[0]?.markets?.[0]?.event_ticker).toBe(EVENTS[0]);
    expect((await events.getEvent(EVENTS[1]!)).data.markets.length).toBeGreaterThan(0);
    expect((await market.getSeries(SERIES[1]!)).data.series.ticker).toBe(SERIES[1]);
    expect((await market.getSeriesList()).data.series).toHaveLength(SERIES.length);
  });

  it('KalshiRestClient: getEvents, getEvent, getSeries, getSeriesList', async () => {
    const { events } = await client.getEvents({ seriesTicker: SERIES[0], withNestedMarkets: true });
    expect(events.map((e) => e.seriesTicker)).toEqual(events.map(() => SERIES[0]));
    expect(events[0]!.markets[0]!.eventTicker).toBe(events[0]!.eventTicker);
    const one = await client.getEvent(EVENTS[0]!);
    expect(one).toMatchObject({ eventTicker: EVENTS[0], seriesTicker: SERIES[0] });
    expect(one.markets.length).toBeGreaterThan(0);
    expect(await client.getSeries(SERIES[0]!)).toMatchObject({ ticker: SERIES[0], feeMultiplier: 1 });
    expect((await client.getSeriesList()).map((s) => s.ticker)).toEqual(SERIES);
  });
});

describe('candlesticks', () => {
  it('per-minute candles of bid/ask and trades, aggregated to hours; raw, official client, adapter', async () => {
    const ticker = MARKETS[0]!.ticker;
    const series = SERIES[0]!;
    const ex = h.sim.exchange;
    const t0 = Math.floor(h.clock.now() / 60_000) * 60_000 + 60_000;
    h.clock.advanceTo(t0 + 1_000);
    ex.createOrder({ userId: 'mm', ticker, side: 'bid', price: 4000, count: 1000, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    ex.createOrder({ userId: 'mm', ticker, side: 'ask', price: 6000, count: 1000, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    h.clock.advance(10_000);
    ex.createOrder({ userId: 't', ticker, side: 'bid', price: 6000, count: 200, timeInForce: 'immediate_or_cancel', selfTradePrevention: 'taker_at_cross' });
    h.clock.advanceTo(t0 + 61_000);
    ex.createOrder({ userId: 't', ticker, side: 'ask', price: 4000, count: 300, timeInForce: 'immediate_or_cancel', selfTradePrevention: 'taker_at_cross' });
    ex.createOrder({ userId: 'mm', ticker, side: 'bid', price: 4200, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });

    const start = t0 / 1000;
    const raw = await h.rest('GET', `/series/${series}/markets/${ticker}/candlesticks?start_ts=${start}&end_ts=${start + 180}&period_interval=1`);
    expect(raw.status).toBe(200);
    const [first, second, third] = raw.json.candlesticks;
    expect(first).toMatchObject({
      end_period_ts: start + 60,
      yes_bid: { open_dollars: '0.4000', close_dollars: '0.4000' },
      yes_ask: { close_dollars: '0.6000' },
      price: { open_dollars: '0.6000', close_dollars: '0.6000', mean_dollars: '0.6000' },
      volume_fp: '2.00',
    });
    expect(second).toMatchObject({
      end_period_ts: start + 120,
      yes_bid: { open_dollars: '0.4000', high_dollars: '0.4200', close_dollars: '0.4200' },
      price: { close_dollars: '0.4000', previous_dollars: '0.6000' },
      volume_fp: '3.00',
    });
    // a quiet minute repeats the last close
    expect(third).toMatchObject({ end_period_ts: start + 180, yes_bid: { open_dollars: '0.4200', close_dollars: '0.4200' }, volume_fp: '0.00' });
    expect(third.price.open_dollars).toBeUndefined();

    type KalshiAxios = NonNullable<ConstructorParameters<typeof MarketApi>[2]>;
    const market = new MarketApi(new Configuration({ basePath: h.sim.restUrl }), h.sim.restUrl, axios.create() as unknown as KalshiAxios);
    const hourly = await market.getMarketCandlesticks(series, ticker, start, start + 3600, 60);
    const hour = hourly.data.candlesticks.at(-1)!;
    expect(hour).toMatchObject({ volume_fp: '5.00', price: { high_dollars: '0.6000', low_dollars: '0.4000' } });
    const batch = await market.batchGetMarketCandlesticks(ticker, start, start + 120, 1);
    expect(batch.data.markets[0]).toMatchObject({ market_ticker: ticker });
    expect(batch.data.markets[0]!.candlesticks).toHaveLength(2);

    const candles = await client.getMarketCandlesticks(series, ticker, { startTs: start, endTs: start + 120, periodMinutes: 1 });
    expect(candles.map((k) => k.volume)).toEqual([200, 300]);
    expect(candles[1]).toMatchObject({ yesBid: { high: 4200 }, price: { close: 4000 } });
    expect((await h.rest('GET', `/series/${series}/markets/${ticker}/candlesticks?start_ts=1&end_ts=2&period_interval=5`)).status).toBe(400);
  });
});

describe('discovery by series and events', () => {
  it('selects the top markets only among the given series or events', async () => {
    const bySeries = await selectMarkets(client, { mode: 'discovery', limit: 100, seriesTickers: [SERIES[1]!] }, h.clock);
    expect(bySeries.length).toBeGreaterThan(0);
    expect(bySeries.every((m) => m.eventTicker.startsWith(`${SERIES[1]}-`))).toBe(true);
    const byEvent = await selectMarkets(client, { mode: 'discovery', limit: 100, eventTickers: [EVENTS[0]!, EVENTS[2]!] }, h.clock);
    expect(new Set(byEvent.map((m) => m.eventTicker))).toEqual(new Set([EVENTS[0], EVENTS[2]]));
    const all = await selectMarkets(client, { mode: 'discovery', limit: 100 }, h.clock);
    expect(all).toHaveLength(MARKETS.length);
  });
});
