/**
 * The whole trader against the embedded simulator over loopback (issue 3 §4, items 1–5): start-up
 * to `ready`, a dropped stream, refused WebSocket upgrades at start, a REST 503 burst during sync,
 * and a forced sequence gap — each recovering to `ready` with books, fills and positions that
 * agree with the exchange.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listFills } from '../../src/adapters/store/journal.ts';
import { startSimulator } from '../../src/sim/simulator.ts';
import type { RunningSimulator } from '../../src/sim/simulator.ts';
import {
  booksMatchExchange,
  eventually,
  exchangePositions,
  positionsMatchExchange,
  SharedDatabase,
  sleep,
  startTestRuntime,
  syncNow,
  testMarkets,
  TRADER_USER,
  traderPositions,
} from './harness.ts';
import type { TestRuntime } from './harness.ts';

const TICKERS = testMarkets().map((m) => m.ticker);
const shared = new SharedDatabase();
let current: TestRuntime | null = null;
let ownSimulator: RunningSimulator | null = null;

beforeAll(async () => {
  await shared.open();
}, 60_000);

afterEach(async () => {
  await current?.close();
  current = null;
  await ownSimulator?.close();
  ownSimulator = null;
  await shared.reset();
});

afterAll(async () => {
  await shared.close();
});

/** Stops the synthetic takers and waits until the trader's books equal the exchange's. */
async function quiesceAndCompareBooks(t: TestRuntime): Promise<void> {
  t.runtime.simulator?.activity?.stop();
  await eventually(() => booksMatchExchange(t.runtime, TICKERS), 'local books equal the exchange books', 10_000);
}

describe('trader against the simulator: recovery', () => {
  it('reaches ready on its own embedded database; health is healthy; every market is live', async () => {
    current = await startTestRuntime({ strategy: 'spread-quoter' });
    const { system } = current.runtime;
    await system.waitForState('ready', 40_000).catch(async (error: unknown) => {
      // acting is ready with a decision in flight
      if (system.health().state !== 'acting') throw error;
    });
    await eventually(() => system.status().markets.every((m) => m.subscription === 'live'), 'all markets live');

    const health = system.health();
    expect(health).toMatchObject({ healthy: true, status: 'healthy', degraded: false });
    expect(['ready', 'acting']).toContain(health.state);

    const status = system.status();
    expect(status.environment).toBe('sim');
    expect(status.markets.map((m) => m.ticker).sort()).toEqual([...TICKERS].sort());
    for (const m of status.markets) {
      expect(m.bestYesBid).not.toBeNull();
      expect(m.bestYesAsk).not.toBeNull();
    }
    expect(status.sync.syncCount).toBeGreaterThanOrEqual(1);
    expect(status.components.find((c) => c.name === 'orderbook')?.healthy).toBe(true);
    expect(status.errors).toEqual([]);
    // the pipeline, in order, once each
    for (const state of ['initializing', 'orderbook_connect', 'trading_client_connect', 'kalshi_data_sync', 'ready']) {
      expect(system.visited.get(state)?.entries ?? 0, state).toBeGreaterThanOrEqual(1);
    }
    expect(system.visited.has('error')).toBe(false);
    expect(system.visited.has('degraded')).toBe(false);
    // the spread-quoter quotes once books are live
    await eventually(() => system.status().trader.ordersPlaced > 0, 'the spread-quoter placed orders');
    // the database it opened is the embedded one in the data folder
    expect(current.runtime.database.embedded).toBe(true);
  }, 90_000);

  it('a dropped stream degrades, reconnects, re-snapshots every book and backfills the fills it missed', async () => {
    current = await startTestRuntime({ strategy: 'spread-quoter', database: await shared.open() });
    const { system, simulator } = current.runtime;
    const sim = simulator!;
    await system.waitForState('ready', 30_000);
    await eventually(() => sim.exchange.listOrders(TRADER_USER, { status: 'resting' }).length > 0, 'the trader has a resting quote');
    const snapshotsBefore = system.status().counters.snapshots_applied;

    // Cut the stream and, before the client can notice, fill a resting quote: the fill frame is lost.
    sim.activity?.stop();
    const resting = sim.exchange.listOrders(TRADER_USER, { status: 'resting' })[0];
    expect(sim.faults.dropWebSockets()).toBeGreaterThan(0);
    // sweep every level at or better than the quote, so the quote fills whatever its queue place
    const book = sim.exchange.bookLevels(resting.ticker)!;
    const legPrice = resting.side === 'bid' ? resting.price : 10_000 - resting.price;
    const ahead = (resting.side === 'bid' ? book.yes : book.no).filter(([p]) => p >= legPrice).reduce((sum, [, size]) => sum + size, 0);
    sim.exchange.ensureAccount('other');
    const taken = sim.exchange.createOrder({
      userId: 'other',
      ticker: resting.ticker,
      side: resting.side === 'bid' ? 'ask' : 'bid',
      price: resting.price,
      count: ahead,
      timeInForce: 'immediate_or_cancel',
      selfTradePrevention: 'taker_at_cross',
    });
    expect(taken.ok).toBe(true);
    const missed = sim.exchange.listFills(TRADER_USER, { orderId: resting.orderId }).map((f) => f.tradeId);
    expect(missed.length).toBeGreaterThan(0);
    sim.activity?.start();

    await eventually(() => system.visited.has('degraded'), 'degraded mode entered');
    await eventually(() => {
      const h = system.health();
      return h.healthy && !h.degraded;
    }, 'back to ready, not degraded');
    await eventually(() => system.status().markets.every((m) => m.subscription === 'live'), 'every market live again');
    expect(system.status().counters.snapshots_applied).toBeGreaterThanOrEqual(snapshotsBefore + TICKERS.length);
    expect(system.status().counters.ws_reconnects).toBeGreaterThanOrEqual(1);

    // the fills made while the stream was down were backfilled by the sync after the resubscribe
    await eventually(async () => {
      const journaled = new Set((await listFills(current!.runtime.database.pool, { env: 'sim' })).map((f) => f.fillId));
      return missed.every((id) => journaled.has(id));
    }, 'missed fills journaled');

    await quiesceAndCompareBooks(current);
    await eventually(() => positionsMatchExchange(current!.runtime), 'positions equal the exchange');
    expect(traderPositions(current.runtime)).toEqual(exchangePositions(current.runtime));
  }, 90_000);

  it('refused WebSocket upgrades at start-up: trades degraded, then recovers to ready when upgrades return', async () => {
    const markets = testMarkets();
    ownSimulator = await startSimulator({ markets, seed: 12, activityStepMs: { min: 30, max: 120 }, pingIntervalMs: 1_000 });
    ownSimulator.faults.refuseWebSocketUpgrades(3_000);
    current = await startTestRuntime({ simulator: ownSimulator, database: await shared.open() });
    const { system } = current.runtime;

    await eventually(() => system.visited.has('degraded') || system.visited.has('error'), 'degraded or error during start-up');
    const sawDegradedReady = system.visited.has('degraded');
    expect(sawDegradedReady).toBe(true);
    // degraded is operational: health answers healthy-but-degraded, the trader is paused
    await eventually(() => system.health().degraded && system.health().healthy, 'ready (degraded)');
    expect(system.health().status).toBe('degraded');
    expect(system.status().components.find((c) => c.name === 'orderbook')?.healthy).toBe(false);

    await eventually(() => {
      const h = system.health();
      return h.healthy && !h.degraded;
    }, 'ready with the orderbook once upgrades are accepted', 20_000);
    await eventually(() => system.status().markets.every((m) => m.subscription === 'live'), 'every market live');
    expect(current.runtime.ws.stats.connects).toBeGreaterThanOrEqual(1);
    expect(system.status().trader.state).not.toBe('paused');
  }, 90_000);

  it('a REST 503 burst during sync is reported, retried, and leaves positions equal to the exchange', async () => {
    current = await startTestRuntime({ strategy: 'spread-quoter', database: await shared.open() });
    const { system, simulator } = current.runtime;
    const sim = simulator!;
    await system.waitForState('ready', 30_000);
    await eventually(() => sim.exchange.listFills(TRADER_USER).length > 0, 'the trader has traded', 20_000);

    sim.faults.failRest(503, '/portfolio', 2_500);
    system.coordinator.send({ type: 'SYNC_NOW' });
    await eventually(() => system.status().counters.syncs_failed > 0, 'a sync failure counted');
    const status = system.status();
    expect(status.errors.some((e) => /sync failed/.test(e.message) && /503/.test(e.message))).toBe(true);

    // once the burst is over, a sync succeeds and the system is ready again
    await eventually(() => sim.faults.state().restStatus.length === 0, 'the burst ended', 10_000);
    await eventually(() => ['ready', 'acting'].includes(system.health().state), 'ready again', 20_000);
    await syncNow(current.runtime);
    expect(system.coordinator.getSnapshot().context.lastSyncError).toBeNull();

    // no corruption: with the takers stopped, positions and resting orders agree with the exchange
    sim.activity?.stop();
    await sleep(300);
    await syncNow(current.runtime);
    expect(traderPositions(current.runtime)).toEqual(exchangePositions(current.runtime));
    const clientIds = sim.exchange.listOrders(TRADER_USER).map((o) => o.clientOrderId);
    expect(new Set(clientIds).size).toBe(clientIds.length);
    const journaled = await listFills(current.runtime.database.pool, { env: 'sim' });
    expect(journaled.map((f) => f.fillId).sort()).toEqual(sim.exchange.listFills(TRADER_USER).map((f) => f.tradeId).sort());
  }, 90_000);

  it('a forced sequence gap is counted, the market resyncs, and its book equals the exchange book', async () => {
    current = await startTestRuntime({ database: await shared.open() });
    const { system, simulator } = current.runtime;
    const sim = simulator!;
    await system.waitForState('ready', 30_000);
    await eventually(() => system.status().markets.every((m) => m.subscription === 'live'), 'all markets live');
    const ticker = TICKERS[0];
    const states: string[] = [];
    const off = system.registry.onMarketState((t, state) => {
      if (t === ticker) states.push(state);
    });
    try {
      const gapsBefore = system.status().counters.ws_gaps;
      sim.faults.skipSeq(ticker);
      await eventually(() => system.status().counters.ws_gaps > gapsBefore, 'the gap was counted');
      await eventually(() => states.includes('resyncing') && system.registry.state(ticker) === 'live', 'resynced back to live');
      expect(system.status().counters.book_gaps).toBeGreaterThanOrEqual(1);
      expect(system.registry.actorSnapshot(ticker)?.context).toBeDefined();
      await quiesceAndCompareBooks(current);
      // the system as a whole never left ready for a single market's gap
      expect(system.visited.has('error')).toBe(false);
    } finally {
      off();
    }
  }, 90_000);
});
