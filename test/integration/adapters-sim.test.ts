/**
 * The Kalshi adapters against the simulator over loopback (issue 2 §5): the project's own
 * KalshiRestClient and KalshiWsClient — not raw requests, not the official SDK (those are covered
 * in test/sim) — through an order's life with two users, fills, positions, balance and
 * settlement, and the stream's snapshot, deltas, private channels and re-snapshot after a dropped
 * connection. (The forced-gap re-snapshot of KalshiWsClient is in test/sim/faults.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import { KalshiApiError } from '../../src/adapters/kalshi/errors.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { KalshiWsClient } from '../../src/adapters/kalshi/ws.ts';
import type { WsClientEvent } from '../../src/adapters/kalshi/ws.ts';
import { startSimulator } from '../../src/sim/simulator.ts';
import type { RunningSimulator } from '../../src/sim/simulator.ts';
import type { MarketSpec } from '../../src/sim/activity/markets.ts';
import { eventually } from './harness.ts';

const T1 = 'KXADP-26JAN01-A';
const T2 = 'KXADP-26JAN01-B';
const MARKETS: MarketSpec[] = [
  { ticker: T1, fair: 0.5, volatility: 0 },
  { ticker: T2, fair: 0.5, volatility: 0 },
];
const START_CASH = 10_000_000_000; // $10,000

let sim: RunningSimulator;
let alice: KalshiRestClient;
let bob: KalshiRestClient;
let aliceCreds: ReturnType<typeof createCredentials>;

beforeAll(async () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  sim = await startSimulator({
    markets: MARKETS,
    activity: false,
    seed: 5,
    pingIntervalMs: 1_000,
    keys: [
      { keyId: 'key-alice', publicKeyPem: a.publicKeyPem, userId: 'alice' },
      { keyId: 'key-bob', publicKeyPem: b.publicKeyPem, userId: 'bob' },
    ],
  });
  const endpoints = endpointsFor('sim', { restBaseUrl: sim.restUrl, wsUrl: sim.wsUrl });
  aliceCreds = createCredentials('key-alice', loadPrivateKey({ pem: a.privateKeyPem }));
  alice = new KalshiRestClient({ endpoints, credentials: aliceCreds });
  bob = new KalshiRestClient({ endpoints, credentials: createCredentials('key-bob', loadPrivateKey({ pem: b.privateKeyPem })) });
}, 30_000);

afterAll(async () => {
  await sim?.close();
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('KalshiRestClient against the simulator', () => {
  it('reads the exchange, markets and an empty order book', async () => {
    expect((await alice.getExchangeStatus()).tradingActive).toBe(true);
    const markets = await alice.getAllMarkets({ status: 'open' });
    expect(markets.map((m) => m.ticker).sort()).toEqual([T1, T2]);
    const market = await alice.getMarket(T1);
    expect(market).toMatchObject({ ticker: T1 });
    const book = await alice.getOrderbook(T1);
    expect(book.yes).toEqual([]);
    expect(book.no).toEqual([]);
    expect((await alice.getBalance()).balance).toBe(START_CASH);
  });

  it('places, rests, partially fills, fills by a crossing order, cancels; fills, positions, balance and settlement agree', async () => {
    // alice rests a bid: 10 YES at 40¢
    const resting = await alice.createOrder({ ticker: T1, clientOrderId: 'a-1', side: 'bid', price: 4000, count: 1_000, timeInForce: 'good_till_canceled' });
    expect(resting).toMatchObject({ clientOrderId: 'a-1', fillCount: 0, remainingCount: 1_000, source: 'created', posts: 1 });
    expect(await alice.getOrder(resting.orderId)).toMatchObject({ status: 'resting', yesPrice: 4000, remainingCount: 1_000, side: 'bid' });
    expect((await alice.findOrderByClientOrderId('a-1', T1))?.orderId).toBe(resting.orderId);
    expect((await all(alice.iterateOrders({ status: 'resting' }))).map((o) => o.orderId)).toEqual([resting.orderId]);
    expect((await alice.getOrderbook(T1)).yes).toEqual([[4000, 1_000]]);

    // bob sells 4 into it: a partial fill of alice's order
    const partial = await bob.createOrder({ ticker: T1, clientOrderId: 'b-1', side: 'ask', price: 4000, count: 400, timeInForce: 'immediate_or_cancel' });
    expect(partial).toMatchObject({ fillCount: 400, remainingCount: 0 });
    expect(await alice.getOrder(resting.orderId)).toMatchObject({ status: 'resting', fillCount: 400, remainingCount: 600 });

    // the same client_order_id again: the client resolves the 409 to the existing order, no second order
    const again = await alice.createOrder({ ticker: T1, clientOrderId: 'a-1', side: 'bid', price: 4000, count: 1_000, timeInForce: 'good_till_canceled' });
    expect(again).toMatchObject({ orderId: resting.orderId, source: 'recovered' });
    expect(sim.exchange.listOrders('alice').filter((o) => o.clientOrderId === 'a-1')).toHaveLength(1);

    // bob rests an ask at 55¢; alice's crossing bid takes it at the maker's price
    const bobAsk = await bob.createOrder({ ticker: T1, clientOrderId: 'b-2', side: 'ask', price: 5500, count: 200, timeInForce: 'good_till_canceled' });
    const crossing = await alice.createOrder({ ticker: T1, clientOrderId: 'a-2', side: 'bid', price: 6000, count: 200, timeInForce: 'immediate_or_cancel' });
    expect(crossing).toMatchObject({ fillCount: 200, remainingCount: 0, averageFillPrice: 550_000 });
    expect(await bob.getOrder(bobAsk.orderId)).toMatchObject({ status: 'executed', fillCount: 200 });

    // bob fills the rest of alice's bid
    await bob.createOrder({ ticker: T1, clientOrderId: 'b-3', side: 'ask', price: 3900, count: 600, timeInForce: 'immediate_or_cancel' });
    expect(await alice.getOrder(resting.orderId)).toMatchObject({ status: 'executed', fillCount: 1_000, remainingCount: 0 });

    // a resting order canceled: reduced by its remainder; a second cancel finds it gone
    const toCancel = await alice.createOrder({ ticker: T2, clientOrderId: 'a-3', side: 'ask', price: 7000, count: 500, timeInForce: 'good_till_canceled' });
    const canceled = await alice.cancelOrder(toCancel.orderId, { ticker: T2 });
    expect(canceled).toMatchObject({ orderId: toCancel.orderId, reducedBy: 500, alreadyGone: false });
    expect(await alice.getOrder(toCancel.orderId)).toMatchObject({ status: 'canceled', remainingCount: 0 });
    // the order is known but no longer resting: a Kalshi error, not a second cancel
    const second = await alice.cancelOrder(toCancel.orderId).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(KalshiApiError);
    expect((second as KalshiApiError).status).toBe(409);

    // a rejected order: Kalshi's error code, nothing created
    const bad = await alice
      .createOrder({ ticker: T1, clientOrderId: 'a-bad', side: 'bid', price: 4050, count: 100, timeInForce: 'good_till_canceled' })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(KalshiApiError);
    expect((bad as KalshiApiError).status).toBe(400);
    expect(await alice.findOrderByClientOrderId('a-bad', T1)).toBeNull();

    // fills: three for alice (two as maker on a-1, one as taker on a-2), as the exchange has them
    const fills = await all(alice.iterateFills({ ticker: T1 }));
    const venue = sim.exchange.listFills('alice', { ticker: T1 });
    expect(fills.map((f) => f.tradeId).sort()).toEqual(venue.map((f) => f.tradeId).sort());
    expect(fills.map((f) => [f.orderId === resting.orderId ? 'a-1' : 'a-2', f.count, f.yesPrice, f.isTaker]).sort()).toEqual(
      [
        ['a-1', 400, 4000, false],
        ['a-1', 600, 4000, false],
        ['a-2', 200, 5500, true],
      ].sort(),
    );
    for (const f of fills) expect(f.feeCost).toBe(venue.find((v) => v.tradeId === f.tradeId)!.fee);

    // positions: long 12 YES in T1, flat in T2
    const positions = await alice.getAllPositions();
    const t1 = positions.marketPositions.find((p) => p.ticker === T1)!;
    const exch = sim.exchange.listPositions('alice').find((p) => p.ticker === T1)!;
    expect(t1).toMatchObject({ position: 1_200, marketExposure: exch.exposure, realizedPnl: exch.realizedPnl, feesPaid: exch.feesPaid });
    expect(positions.marketPositions.find((p) => p.ticker === T2)?.position ?? 0).toBe(0);

    // balance: cash spent on 10 @ 40¢ and 2 @ 55¢ plus fees
    const balance = await alice.getBalance();
    expect(balance.balance).toBe(sim.exchange.balance('alice'));
    const fees = venue.reduce((s, f) => s + f.fee, 0);
    expect(balance.balance).toBe(START_CASH - 4_000_000 - 1_100_000 - fees);

    // settlement: YES pays $1 a contract
    expect(sim.faults.settleMarket(T1, 'yes').ok).toBe(true);
    const settlements = await all(alice.iterateSettlements({}));
    expect(settlements).toHaveLength(1);
    expect(settlements[0]).toMatchObject({ ticker: T1, marketResult: 'yes', yesCount: 1_200, noCount: 0, revenue: 12_000_000 });
    expect((await alice.getBalance()).balance).toBe(balance.balance + 12_000_000);
    expect((await alice.getAllPositions()).marketPositions.find((p) => p.ticker === T1)?.position ?? 0).toBe(0);
    const settledMarket = await alice.getMarket(T1);
    expect(settledMarket.result).toBe('yes');
  });
});

describe('KalshiWsClient against the simulator', () => {
  it('snapshot, deltas, fills and order updates; after a dropped connection it resubscribes and re-snapshots', async () => {
    const events: WsClientEvent[] = [];
    const ws = new KalshiWsClient({
      url: sim.wsUrl,
      credentials: aliceCreds,
      useYesPrice: false,
      backoff: { initialMs: 50, maxMs: 200, factor: 2, jitter: 0 },
      heartbeatTimeoutMs: 5_000,
    });
    ws.onEvent((e) => events.push(e));
    ws.start();
    try {
      const of = <K extends WsClientEvent['type']>(type: K) => events.filter((e): e is Extract<WsClientEvent, { type: K }> => e.type === type);
      // a book to snapshot: bob's 30¢ bid and 70¢ ask on T2
      await bob.createOrder({ ticker: T2, clientOrderId: 'b-ws-1', side: 'bid', price: 3000, count: 500, timeInForce: 'good_till_canceled' });
      await bob.createOrder({ ticker: T2, clientOrderId: 'b-ws-2', side: 'ask', price: 7000, count: 500, timeInForce: 'good_till_canceled' });

      const [bookSid] = await ws.subscribe(['orderbook_delta'], [T2]);
      await ws.subscribe(['fill']);
      await ws.subscribe(['user_orders']);
      await eventually(() => of('snapshot').length === 1, 'first snapshot');
      const snapshot = of('snapshot')[0];
      expect(snapshot).toMatchObject({ sid: bookSid, ticker: T2, seq: 1 });
      const book = sim.exchange.bookLevels(T2)!;
      expect({ yes: snapshot.yes, no: snapshot.no }).toEqual(book);
      expect(snapshot.no).toEqual([[3000, 500]]); // bob's 70¢ YES ask is a 30¢ NO bid

      // a resting order is a delta; the next seq on the sid
      await bob.createOrder({ ticker: T2, clientOrderId: 'b-ws-3', side: 'bid', price: 3500, count: 200, timeInForce: 'good_till_canceled' });
      await eventually(() => of('delta').length >= 1, 'delta for the new bid');
      expect(of('delta')[0]).toMatchObject({ sid: bookSid, seq: 2, ticker: T2, side: 'yes', price: 3500, delta: 200 });

      // alice takes 2 of bob's ask: her fill and her order update arrive; the book's NO side shrinks
      const take = await alice.createOrder({ ticker: T2, clientOrderId: 'a-ws-1', side: 'bid', price: 7000, count: 200, timeInForce: 'immediate_or_cancel' });
      await eventually(() => of('fill').length >= 1 && of('user_order').some((u) => u.msg.orderId === take.orderId), 'private fill and order frames');
      expect(of('fill')[0].msg).toMatchObject({ orderId: take.orderId, ticker: T2, count: 200, yesPrice: 7000, isTaker: true });
      expect(of('fill')[0].msg.tradeId).toBe(sim.exchange.listFills('alice', { orderId: take.orderId })[0].tradeId);
      expect(of('user_order').find((u) => u.msg.orderId === take.orderId)!.msg).toMatchObject({ status: 'executed', clientOrderId: 'a-ws-1' });
      await eventually(() => of('delta').some((d) => d.side === 'no' && d.price === 3000 && d.delta === -200), 'NO-side delta of the take');
      const seqs = of('delta').map((d) => d.seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i)); // consecutive, no gap
      expect(of('gap')).toEqual([]);

      // the connection is cut: reconnect, resubscribe under new sids, a fresh snapshot of the current book
      expect(sim.faults.dropWebSockets()).toBe(1);
      await eventually(() => of('disconnected').length === 1, 'disconnected');
      await eventually(() => of('snapshot').length === 2, 'snapshot after the reconnect', 10_000);
      const resubscribed = of('subscribed').find((s) => s.channel === 'orderbook_delta' && s.previousSid === bookSid);
      expect(resubscribed).toBeDefined();
      const again = of('snapshot')[1];
      expect(again.sid).toBe(resubscribed!.sid);
      expect({ yes: again.yes, no: again.no }).toEqual(sim.exchange.bookLevels(T2));
      expect(ws.stats.reconnects).toBeGreaterThanOrEqual(1);
      expect(ws.stats.malformedFrames).toBe(0);

      // the stream carries on under the new sid
      const before = of('delta').length;
      await bob.createOrder({ ticker: T2, clientOrderId: 'b-ws-4', side: 'bid', price: 3600, count: 100, timeInForce: 'good_till_canceled' });
      await eventually(() => of('delta').length > before, 'delta after the reconnect');
      expect(of('delta').at(-1)).toMatchObject({ sid: resubscribed!.sid, price: 3600, delta: 100 });
    } finally {
      await ws.stop();
    }
  });
});
