/**
 * Orders and markets through the whole trader against the simulator (issue 3 §4, items 6–8): an
 * order's lifecycle placed by the trader (partial fill, cancel, full fill, venue rejection,
 * expiry, risk denial) with the journal and the exchange agreeing at each end; an order placed by
 * another client with the same account shows up as external; a settled market closes and its
 * position settles into cash. Synthetic activity is off: every fill here is made by the test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { getJournalOrder, listFills, listRecentOrders } from '../../src/adapters/store/journal.ts';
import type { JournalOrder } from '../../src/adapters/store/journal.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import {
  decideNow,
  eventually,
  exchangePositions,
  managedOrders,
  orderReleased,
  placeThroughTrader,
  ScriptedStrategy,
  SharedDatabase,
  startTestRuntime,
  syncNow,
  testMarkets,
  TRADER_USER,
  traderPositions,
} from './harness.ts';
import type { TestRuntime } from './harness.ts';

const [A, B, C] = testMarkets().map((m) => m.ticker);
const shared = new SharedDatabase();
let current: TestRuntime | null = null;

beforeAll(async () => {
  await shared.open();
}, 60_000);

afterEach(async () => {
  await current?.close();
  current = null;
  await shared.reset();
});

afterAll(async () => {
  await shared.close();
});

/** A runtime with the scripted strategy, no synthetic traders, and a 40¢ / 60¢ book on every market. */
async function startScripted(runNonce: string): Promise<{ runtime: Runtime; strategy: ScriptedStrategy }> {
  const strategy = new ScriptedStrategy();
  current = await startTestRuntime({
    strategy: 'scripted',
    strategyFactories: { scripted: () => strategy },
    database: await shared.open(),
    runNonce,
    // the script places orders back to back; the per-market order throttle is the strategy's concern
    riskLimits: { throttleMs: 0 },
    sim: { markets: testMarkets(), seed: 21, activity: false, pingIntervalMs: 1_000 },
  });
  const { runtime } = current;
  const exchange = runtime.simulator!.exchange;
  for (const user of ['maker', 'taker']) exchange.ensureAccount(user);
  for (const ticker of [A, B, C]) {
    for (const [side, price] of [['bid', 4000], ['ask', 6000]] as const) {
      const r = exchange.createOrder({ userId: 'maker', ticker, side, price, count: 5_000, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
      expect(r.ok).toBe(true);
    }
  }
  await runtime.system.waitForState('ready', 30_000);
  await eventually(() => runtime.system.status().markets.every((m) => m.subscription === 'live' && m.bestYesBid === 4000), 'books live');
  return { runtime, strategy };
}

/** The other side takes `count` at `price` from the book (an in-process participant). */
function take(runtime: Runtime, ticker: string, side: 'bid' | 'ask', price: number, count: number): void {
  const r = runtime.simulator!.exchange.createOrder({ userId: 'taker', ticker, side, price, count, timeInForce: 'immediate_or_cancel', selfTradePrevention: 'taker_at_cross' });
  expect(r.ok).toBe(true);
}

async function journalOrder(runtime: Runtime, clientOrderId: string): Promise<JournalOrder> {
  const row = await getJournalOrder(runtime.database.pool, clientOrderId);
  if (!row) throw new Error(`order ${clientOrderId} is not in the journal`);
  return row;
}

async function journalState(runtime: Runtime, clientOrderId: string, state: string): Promise<JournalOrder> {
  let row: JournalOrder | null = null;
  await eventually(async () => {
    row = await getJournalOrder(runtime.database.pool, clientOrderId);
    return row?.state === state;
  }, `journal order ${clientOrderId} in state ${state} (is ${(row as JournalOrder | null)?.state})`);
  return row!;
}

function exchangeOrder(runtime: Runtime, clientOrderId: string) {
  return runtime.simulator!.exchange.listOrders(TRADER_USER).find((o) => o.clientOrderId === clientOrderId);
}

describe('trader against the simulator: orders and markets', () => {
  it('an order lives through partial fill, cancel, fill, rejection, expiry and denial; journal and exchange agree', async () => {
    const { runtime, strategy } = await startScripted('life');
    const { system } = runtime;
    const faults = runtime.simulator!.faults;

    // partial fill, then cancel
    const partial = placeThroughTrader(runtime, strategy, { ticker: A, side: 'bid', price: 4500, count: 1_000, timeInForce: 'good_till_canceled' });
    await eventually(() => managedOrders(runtime)[partial]?.state === 'accepted', 'resting at the venue');
    take(runtime, A, 'ask', 4500, 400);
    // the fill record follows the status update once it is journaled (a fill is durable before it counts)
    await eventually(() => managedOrders(runtime)[partial]?.filledCount === 400, 'partially filled');
    expect(managedOrders(runtime)[partial]).toMatchObject({ filledCount: 400, remainingCount: 600 });
    expect(await journalState(runtime, partial, 'partially_filled')).toMatchObject({ fillCount: 400 });
    strategy.cancel(A, partial);
    decideNow(runtime, A);
    await orderReleased(runtime, partial);
    expect(await journalState(runtime, partial, 'canceled')).toMatchObject({ fillCount: 400, remainingCount: 0, venueStatus: 'canceled' });
    expect(exchangeOrder(runtime, partial)).toMatchObject({ status: 'canceled', fillCount: 400, remainingCount: 0 });

    // filled in full by a crossing order
    const full = placeThroughTrader(runtime, strategy, { ticker: A, side: 'ask', price: 5500, count: 200, timeInForce: 'good_till_canceled' });
    await eventually(() => managedOrders(runtime)[full]?.state === 'accepted', 'ask resting');
    take(runtime, A, 'bid', 5500, 200);
    await orderReleased(runtime, full);
    expect(await journalState(runtime, full, 'filled')).toMatchObject({ fillCount: 200, venueStatus: 'executed' });
    expect(exchangeOrder(runtime, full)).toMatchObject({ status: 'executed', fillCount: 200 });

    // refused by the venue
    faults.rejectNextOrders(1, 400);
    const rejected = placeThroughTrader(runtime, strategy, { ticker: B, side: 'bid', price: 4100, count: 100, timeInForce: 'good_till_canceled' });
    await orderReleased(runtime, rejected);
    const rejectedRow = await journalState(runtime, rejected, 'rejected');
    expect(rejectedRow.error).toMatch(/400/);
    expect(rejectedRow.venueOrderId).toBeNull();
    expect(exchangeOrder(runtime, rejected)).toBeUndefined();

    // expires at the venue (good-till-time)
    const expiresAtS = Math.floor(Date.now() / 1000) + 2;
    const expiring = placeThroughTrader(runtime, strategy, {
      ticker: B,
      side: 'bid',
      price: 4200,
      count: 100,
      timeInForce: 'good_till_canceled',
      expirationTime: expiresAtS,
    });
    await eventually(() => managedOrders(runtime)[expiring]?.state === 'accepted', 'expiring order resting');
    await orderReleased(runtime, expiring, 10_000);
    expect(await journalState(runtime, expiring, 'expired')).toMatchObject({ expirationS: expiresAtS, fillCount: 0, remainingCount: 0 });
    expect(exchangeOrder(runtime, expiring)).toMatchObject({ status: 'canceled', remainingCount: 0, expirationTime: expiresAtS });

    // denied by local risk: never journaled as sent, never at the venue
    const deniedBefore = system.status().counters.orders_denied;
    strategy.place({ ticker: C, side: 'bid', price: 4100, count: 1_000_000, timeInForce: 'good_till_canceled' });
    decideNow(runtime, C);
    await eventually(() => system.status().counters.orders_denied > deniedBefore, 'denied by risk');
    expect(runtime.simulator!.exchange.listOrders(TRADER_USER, { ticker: C })).toEqual([]);

    // journal and exchange agree, order by order and fill by fill
    const journaled = await listRecentOrders(runtime.database.pool, { env: 'sim' });
    expect(journaled.map((o) => o.clientOrderId).sort()).toEqual([expiring, full, partial, rejected].sort());
    for (const row of journaled) {
      const venue = exchangeOrder(runtime, row.clientOrderId);
      if (!venue) continue;
      expect(row.venueOrderId).toBe(venue.orderId);
      expect(row.fillCount).toBe(venue.fillCount);
      expect(row.venueStatus).toBe(venue.status);
    }
    const fills = await listFills(runtime.database.pool, { env: 'sim' });
    const venueFills = runtime.simulator!.exchange.listFills(TRADER_USER);
    expect(fills.map((f) => f.fillId).sort()).toEqual(venueFills.map((f) => f.tradeId).sort());
    expect(fills.filter((f) => f.clientOrderId === partial).reduce((s, f) => s + f.count, 0)).toBe(400);
    expect(traderPositions(runtime)).toEqual(exchangePositions(runtime));
    expect(traderPositions(runtime)).toEqual({ [A]: 200 });
  }, 90_000);

  it('a fill reported with a negative net fee (a rounding rebate) stops neither the trader nor the sync', async () => {
    const { runtime, strategy } = await startScripted('rebate');
    const sim = runtime.simulator!;
    // two 1.5-contract maker fills at 49¢: the first pays ½¢ of rounding, the second is rebated 1¢
    const bid = placeThroughTrader(runtime, strategy, { ticker: C, side: 'bid', price: 4900, count: 1_000, timeInForce: 'good_till_canceled' });
    await eventually(() => managedOrders(runtime)[bid]?.state === 'accepted', 'bid resting');
    take(runtime, C, 'ask', 4900, 150);
    take(runtime, C, 'ask', 4900, 150);
    const fees = sim.exchange.listFills(TRADER_USER).map((f) => f.fee);
    expect(Math.min(...fees)).toBeLessThan(0); // the venue's report this test is about
    await eventually(() => managedOrders(runtime)[bid]?.filledCount === 300, 'both fills applied');
    expect(runtime.system.trader!.getSnapshot().status).toBe('active');
    expect(traderPositions(runtime)).toEqual({ [C]: 300 });
    // booked as reported, rebate included: the trader's fees are the exchange's before any sync
    const venueFees = () => sim.exchange.listPositions(TRADER_USER).find((p) => p.ticker === C)!.feesPaid;
    expect(runtime.system.trader!.getSnapshot().context.positions[C]?.feesPaid).toBe(venueFees());
    // the journal keeps both fills; the sync still agrees
    await syncNow(runtime);
    expect(runtime.system.coordinator.getSnapshot().context.lastSyncError).toBeNull();
    expect(runtime.system.trader!.getSnapshot().context.lastReconcile?.agreed).toBe(true);
    expect(runtime.system.trader!.getSnapshot().context.positions[C]?.feesPaid).toBe(venueFees());
    expect((await listFills(runtime.database.pool, { env: 'sim', ticker: C })).map((f) => f.count)).toEqual([150, 150]);
    strategy.cancel(C, bid);
    decideNow(runtime, C);
    await orderReleased(runtime, bid);
  }, 90_000);

  it('an order placed by another client with the same account shows up as external after the next sync', async () => {
    const { runtime } = await startScripted('ext');
    const other = new KalshiRestClient({ endpoints: runtime.rest.endpoints, credentials: runtime.credentials! });
    const placed = await other.createOrder({ ticker: C, clientOrderId: 'manual-1', side: 'bid', price: 1000, count: 300, timeInForce: 'good_till_canceled' });
    expect(placed.remainingCount).toBe(300);

    await syncNow(runtime);
    const external = runtime.system.status().trading.openOrders.filter((o) => o.external);
    expect(external).toEqual([
      expect.objectContaining({ orderId: placed.orderId, clientOrderId: 'manual-1', ticker: C, side: 'bid', price: 1000, count: 300, external: true }),
    ]);
    // tracked, never managed: no order actor, and the journal knows nothing of it
    expect(Object.keys(managedOrders(runtime))).toEqual([]);
    expect(await getJournalOrder(runtime.database.pool, 'manual-1')).toBeNull();
    expect(runtime.system.trader!.getSnapshot().value).toBe('ready');

    // canceled by its owner: gone from the external list (stream update or next sync)
    await other.cancelOrder(placed.orderId);
    await eventually(async () => {
      if (runtime.system.status().trading.openOrders.some((o) => o.external)) {
        await syncNow(runtime);
        return false;
      }
      return true;
    }, 'external order gone after its cancel');
  }, 90_000);

  it('a settled market closes its market actor and its position settles into cash', async () => {
    const { runtime, strategy } = await startScripted('settle');
    const { system } = runtime;
    const sim = runtime.simulator!;

    // buy 2 YES on B by crossing the maker's 60¢ ask
    const buy = placeThroughTrader(runtime, strategy, { ticker: B, side: 'bid', price: 6000, count: 200, timeInForce: 'immediate_or_cancel' });
    await orderReleased(runtime, buy);
    await eventually(() => traderPositions(runtime)[B] === 200, 'long 2 YES on B');
    await syncNow(runtime);
    const cashBefore = system.trader!.getSnapshot().context.cash;
    expect(cashBefore).toBe(sim.exchange.balance(TRADER_USER));

    const settled = sim.faults.settleMarket(B, 'yes');
    expect(settled.ok).toBe(true);
    await eventually(() => system.registry.state(B) === 'closed', 'market actor closed');
    expect(system.status().markets.find((m) => m.ticker === B)?.subscription).toBe('closed');
    // the settlement triggers a sync; positions and cash then match the exchange
    await eventually(() => traderPositions(runtime)[B] === undefined, 'position settled');
    await syncNow(runtime);
    expect(traderPositions(runtime)).toEqual(exchangePositions(runtime));
    const [settlement] = sim.exchange.listSettlements(TRADER_USER);
    expect(settlement).toMatchObject({ ticker: B, result: 'yes', yesCount: 200 });
    const cashAfter = system.trader!.getSnapshot().context.cash;
    expect(cashAfter).toBe(sim.exchange.balance(TRADER_USER));
    expect(cashAfter - cashBefore).toBe(settlement.revenue);
    expect(settlement.revenue).toBe(2_000_000);
    // the other markets are unaffected
    expect(system.registry.state(A)).toBe('live');
    expect(system.health().healthy).toBe(true);
  }, 90_000);
});
