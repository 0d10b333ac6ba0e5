/**
 * The simulator's bounded history (src/sim/matching/history.ts): finished orders, fills,
 * settlements and trades are kept for a window — a count and an age on the exchange's clock —
 * so a long run has bounded memory, while resting orders are always kept and the recent history
 * still answers Kalshi's queries (through the project's own REST client, over loopback).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import type { MarketSpec } from '../../src/sim/activity/markets.ts';
import { SyntheticActivity } from '../../src/sim/activity/activity.ts';
import { checkExpectations } from '../../src/sessions/expectations.ts';
import type { Observations } from '../../src/sessions/expectations.ts';
import { startSimulator } from '../../src/sim/simulator.ts';
import type { RunningSimulator } from '../../src/sim/simulator.ts';
import { T0, TICKER, harness, marketDef } from './exchange.helpers.ts';

const MINUTE = 60_000;

describe('exchange history retention', () => {
  it('drops finished orders, fills and trades older than maxAgeMs, keeping old resting orders and the recent window', () => {
    const { ex, place, clock } = harness({ history: { maxAgeMs: 10 * MINUTE } });
    const oldResting = place('u', 'bid', 1000, 100, { clientOrderId: 'old-resting' }).order;
    const firstFills: string[] = [];
    // one crossing trade per simulated minute for an hour
    for (let minute = 0; minute < 60; minute++) {
      place('m', 'ask', 5000, 100);
      const taker = place('u', 'bid', 5000, 100, { timeInForce: 'immediate_or_cancel', clientOrderId: `c${minute}` });
      if (minute < 5) firstFills.push(taker.fills[0]!.fillId);
      clock.advance(MINUTE);
    }
    const now = clock.now();
    const cutoff = now - 10 * MINUTE;
    const orders = ex.listOrders('u');
    // the window (10 min) plus at most the trimming slack (1/8 of it) of older ones, and the resting order
    expect(orders.length).toBeGreaterThanOrEqual(10);
    expect(orders.length).toBeLessThanOrEqual(10 + 2 + 1);
    for (const o of orders) if (o.status !== 'resting') expect(o.lastUpdateTimeMs).toBeGreaterThanOrEqual(cutoff - 2 * MINUTE);
    expect(ex.getOrder('u', oldResting.orderId)?.status).toBe('resting');
    expect(ex.listOrders('u', { status: 'resting' }).map((o) => o.orderId)).toEqual([oldResting.orderId]);

    const fills = ex.listFills('u');
    expect(fills.length).toBeLessThanOrEqual(12);
    expect(fills[0]!.tsMs).toBe(now - MINUTE); // the newest is still there
    for (const id of firstFills) expect(fills.some((f) => f.fillId === id)).toBe(false);
    // the per-ticker list is the same window as the account's
    expect(ex.listFills('u', { ticker: TICKER })).toEqual(fills);
    expect(ex.listTrades().length).toBeLessThanOrEqual(12);
    expect(ex.listTrades({ ticker: TICKER })[0]!.tsMs).toBe(now - MINUTE);
    // a dropped order's client_order_id may be used again; a kept one may not
    expect(ex.createOrder({ userId: 'u', ticker: TICKER, side: 'bid', price: 1000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross', clientOrderId: 'c0' }).ok).toBe(true);
    expect(ex.createOrder({ userId: 'u', ticker: TICKER, side: 'bid', price: 1000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross', clientOrderId: 'c59' }).ok).toBe(false);
    // accounting is untouched by the trimming: 60 contracts bought (100 = 1 contract each)
    expect(ex.listPositions('u')[0]!.position).toBe(6_000);
    // the account says up to when its history is incomplete
    const through = ex.historyDroppedThroughMs('u');
    expect(through).toBeGreaterThanOrEqual(T0 + 4 * MINUTE);
    expect(through).toBeLessThan(Math.min(...ex.listFills('u').map((f) => f.tsMs)));
    expect(ex.historyDroppedThroughMs('nobody')).toBe(-Infinity);
  });

  it("lets a session's fill check ignore journal fills older than the exchange's window, and only those", () => {
    const base: Observations = {
      finalState: null,
      visited: new Map(),
      exchangeOrders: [],
      journalOrders: [],
      exchangeFills: [{ fillId: 'f3' }],
      journalFills: [
        { fillId: 'f1', tsMs: 1_000 },
        { fillId: 'f2', tsMs: 2_000 },
        { fillId: 'f3', tsMs: 3_000 },
      ],
      traderPositions: new Map(),
      exchangePositions: new Map(),
      finalPnl: 0,
      maxDrawdown: 0,
    };
    const check = (o: Observations) => checkExpectations({ fills_recorded_once: true } as Parameters<typeof checkExpectations>[0], o)[0]!;
    expect(check(base).passed).toBe(false);
    expect(check({ ...base, exchangeHistoryDroppedThroughMs: 1_000 }).observed).toMatchObject({ extra: 1 });
    expect(check({ ...base, exchangeHistoryDroppedThroughMs: 2_000 }).passed).toBe(true);
  });

  it('keeps an account to its own bound when it was opened with one', () => {
    const { ex, place } = harness({ history: { maxCount: 1_000 } });
    ex.ensureAccount('bot', undefined, { maxCount: 0 });
    for (let i = 0; i < 300; i++) {
      place('bot', 'ask', 5000, 100);
      place('u', 'bid', 5000, 100, { timeInForce: 'immediate_or_cancel' });
    }
    expect(ex.listOrders('u')).toHaveLength(300);
    expect(ex.listFills('u')).toHaveLength(300);
    // maxCount 0 plus the minimum slack of 64
    expect(ex.listOrders('bot').length).toBeLessThanOrEqual(64);
    expect(ex.listFills('bot').length).toBeLessThanOrEqual(64);
    expect(ex.listFills('bot', { ticker: TICKER })).toEqual(ex.listFills('bot'));
  });

  it('keeps the order that finishes now, however old, when the count is exceeded', () => {
    const { ex, place } = harness({ history: { maxCount: 0 } });
    const old = place('u', 'bid', 1000, 100).order;
    // 64 orders that end at once (IOC, nothing to trade with): the slack is full
    for (let i = 0; i < 64; i++) place('u', 'bid', 2000, 100, { timeInForce: 'immediate_or_cancel' });
    expect(ex.cancelOrder('u', old.orderId).ok).toBe(true);
    // the trim ran (count 65 > 0 + 64) and took the others, not the order just canceled
    expect(ex.listOrders('u').map((o) => o.orderId)).toEqual([old.orderId]);
    expect(ex.getOrder('u', old.orderId)?.status).toBe('canceled');
  });

  it('drops old settlements', () => {
    const { ex, clock } = harness({ history: { maxAgeMs: 2 * MINUTE } });
    // one settled market per simulated minute, each with a position of u
    for (let i = 0; i < 40; i++) {
      const ticker = `KXTEST-26JAN01-S${i}`;
      ex.addMarket(marketDef({ ticker }));
      ex.createOrder({ userId: 'm', ticker, side: 'ask', price: 5000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
      ex.createOrder({ userId: 'u', ticker, side: 'bid', price: 5000, count: 100, timeInForce: 'immediate_or_cancel', selfTradePrevention: 'taker_at_cross' });
      expect(ex.settleMarket(ticker, 'yes').ok).toBe(true);
      clock.advance(MINUTE);
    }
    const settlements = ex.listSettlements('u');
    // 2 minutes of them, plus the slack of 1 s… at most one more
    expect(settlements.length).toBeLessThanOrEqual(4);
    expect(settlements[0]!.ticker).toBe('KXTEST-26JAN01-S39');
  });

  it('keeps the synthetic participants to a small history while they trade on', () => {
    const { ex, clock } = harness({ history: { maxCount: 100_000 } });
    const spec: MarketSpec = { ticker: 'KXACT-26JAN01-A', fair: 0.5, volatility: 0.02 };
    ex.addMarket(marketDef({ ticker: spec.ticker }));
    const activity = new SyntheticActivity({ exchange: ex, clock, seed: 3, markets: [spec] });
    activity.start();
    clock.advance(30 * MINUTE);
    activity.stop();
    const trades = ex.listTrades({ ticker: spec.ticker }).length;
    expect(trades).toBeGreaterThan(500); // they traded a lot…
    for (const user of activity.participants()) {
      // …and each kept at most its bound (100) plus the slack (64), plus its resting quotes
      const kept = ex.listOrders(user).filter((o) => o.status !== 'resting');
      expect(kept.length).toBeLessThanOrEqual(164);
      expect(ex.listFills(user).length).toBeLessThanOrEqual(164);
    }
  });
});

describe('simulator history over REST', () => {
  const T1 = 'KXHIST-26JAN01-A';
  let sim: RunningSimulator;
  let alice: KalshiRestClient;

  beforeAll(async () => {
    const a = generateKeyPair();
    const markets: MarketSpec[] = [{ ticker: T1, fair: 0.5, volatility: 0 }];
    sim = await startSimulator({
      markets,
      activity: false,
      seed: 9,
      history: { maxCount: 20 },
      keys: [{ keyId: 'key-alice', publicKeyPem: a.publicKeyPem, userId: 'alice' }],
    });
    alice = new KalshiRestClient({
      endpoints: endpointsFor('sim', { restBaseUrl: sim.restUrl, wsUrl: sim.wsUrl }),
      credentials: createCredentials('key-alice', loadPrivateKey({ pem: a.privateKeyPem })),
    });
  }, 30_000);

  afterAll(async () => {
    await sim?.close();
  });

  async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const item of items) out.push(item);
    return out;
  }

  it('keeps its counts bounded after many trades while GET /portfolio/fills and /portfolio/orders answer the recent ones', async () => {
    const resting = await alice.createOrder({ ticker: T1, clientOrderId: 'keep-me', side: 'bid', price: 1000, count: 100, timeInForce: 'good_till_canceled' });
    let lastClientId = '';
    for (let i = 0; i < 300; i++) {
      // bob (in-process) rests an ask, alice takes it over REST
      const made = sim.exchange.createOrder({ userId: 'bob', ticker: T1, side: 'ask', price: 5000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
      expect(made.ok).toBe(true);
      lastClientId = `take-${i}`;
      sim.exchange.createOrder({ userId: 'alice', clientOrderId: lastClientId, ticker: T1, side: 'bid', price: 5000, count: 100, timeInForce: 'immediate_or_cancel', selfTradePrevention: 'taker_at_cross' });
    }
    // bounded: 20 plus the slack (64) at most
    expect(sim.exchange.listOrders('alice').length).toBeLessThanOrEqual(20 + 64 + 1);
    expect(sim.exchange.listFills('bob').length).toBeLessThanOrEqual(20 + 64);
    expect(sim.exchange.listTrades().length).toBeLessThanOrEqual(20 + 64);

    const fills = await all(alice.iterateFills({}));
    expect(fills.length).toBeGreaterThanOrEqual(20);
    expect(fills.length).toBeLessThanOrEqual(20 + 64);
    expect((await alice.getOrder(fills[0]!.orderId)).clientOrderId).toBe(lastClientId);
    const byTicker = await all(alice.iterateFills({ ticker: T1 }));
    expect(byTicker.map((f) => f.fillId)).toEqual(fills.map((f) => f.fillId));

    const restingNow = await all(alice.iterateOrders({ status: 'resting' }));
    expect(restingNow.map((o) => o.orderId)).toEqual([resting.orderId]);
    expect((await alice.findOrderByClientOrderId(lastClientId, T1))?.status).toBe('executed');
    expect(await alice.findOrderByClientOrderId('take-0', T1)).toBeNull();
    expect((await alice.getPositions({ ticker: T1 })).marketPositions[0]?.position).toBe(30_000);
  });
});
