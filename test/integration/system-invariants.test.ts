/**
 * The trading invariants after a real run (issue 3 §4, item 9): the spread-quoter trades against
 * the simulator's synthetic makers and takers for 20 s, with no periodic sync, so the trader's
 * positions come from the fills it heard about alone. Then: positions equal the exchange's, every
 * exchange fill is in the journal exactly once, every order at the exchange was journaled before
 * it was sent and no two share a client_order_id, and a final reconcile agrees without adopting
 * anything.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { listFills, listRecentOrders } from '../../src/adapters/store/journal.ts';
import { eventually, exchangePositions, sleep, startTestRuntime, syncNow, TRADER_USER, traderPositions } from './harness.ts';
import type { TestRuntime } from './harness.ts';

const RUN_MS = 20_000;
let current: TestRuntime | null = null;

afterAll(async () => {
  await current?.close();
});

describe('trader against the simulator: invariants after a trading run', () => {
  it('positions match the exchange, every fill is journaled once, client_order_ids are unique', async () => {
    current = await startTestRuntime({
      strategy: 'spread-quoter',
      runNonce: 'inv',
      sim: {
        markets: [
          { ticker: 'KXINV-26JAN01-A', fair: 0.5, volatility: 2, spread: { min: 200, max: 500 }, makers: 2, takerRate: 6 },
          { ticker: 'KXINV-26JAN01-B', fair: 0.3, volatility: 2, spread: { min: 200, max: 500 }, makers: 2, takerRate: 6 },
          { ticker: 'KXINV-26JAN01-C', fair: 0.8, volatility: 2, spread: { min: 200, max: 500 }, makers: 2, takerRate: 6 },
        ],
        seed: 31,
        activityStepMs: { min: 20, max: 80 },
        pingIntervalMs: 1_000,
      },
      selection: { mode: 'config', tickers: ['KXINV-26JAN01-A', 'KXINV-26JAN01-B', 'KXINV-26JAN01-C'] },
    });
    const { runtime } = current;
    const { system } = runtime;
    const sim = runtime.simulator!;
    await system.waitForState('ready', 30_000);
    const syncsAtStart = system.coordinator.getSnapshot().context.syncCount;

    await sleep(RUN_MS);
    // the run: trades happened, the system stayed operational, and no sync adopted positions
    expect(sim.exchange.listFills(TRADER_USER).length).toBeGreaterThan(5);
    expect(system.visited.has('error')).toBe(false);
    expect(system.coordinator.getSnapshot().context.syncCount).toBe(syncsAtStart);

    // quiesce: no takers, then the trader paused, which pulls its quotes
    sim.activity?.stop();
    system.trader!.send({ type: 'PAUSE', reason: 'end of run' });
    await eventually(
      () => sim.exchange.listOrders(TRADER_USER, { status: 'resting' }).length === 0 && Object.keys(system.trader!.getSnapshot().context.orders).length === 0,
      'every quote canceled and released',
    );

    const venueFills = sim.exchange.listFills(TRADER_USER);
    // positions from the trader's own fill accounting equal the exchange's
    await eventually(() => system.trader!.getSnapshot().context.counters.fillsApplied === venueFills.length, 'every fill applied once');
    expect(traderPositions(runtime)).toEqual(exchangePositions(runtime));
    const local = system.trader!.getSnapshot().context.positions;
    for (const p of sim.exchange.listPositions(TRADER_USER)) {
      expect(local[p.ticker], p.ticker).toMatchObject({ position: p.position, costBasis: p.exposure, realizedPnl: p.realizedPnl, feesPaid: p.feesPaid });
    }
    expect(system.status().counters.duplicate_fills).toBe(0);

    // every exchange fill exactly once in the journal, and nothing else
    await eventually(async () => (await listFills(runtime.database.pool, { env: 'sim' })).length >= venueFills.length, 'fills journaled');
    const journaledFills = await listFills(runtime.database.pool, { env: 'sim' });
    expect(journaledFills.map((f) => f.fillId).sort()).toEqual(venueFills.map((f) => f.tradeId).sort());
    for (const f of journaledFills) {
      const venue = venueFills.find((v) => v.tradeId === f.fillId)!;
      expect({ count: f.count, price: f.yesPrice, side: f.side, fee: f.fee }).toEqual({ count: venue.count, price: venue.price, side: venue.side, fee: venue.fee });
    }

    // no two exchange orders share a client_order_id, and each was journaled (before it was sent)
    const venueOrders = sim.exchange.listOrders(TRADER_USER);
    const clientIds = venueOrders.map((o) => o.clientOrderId);
    expect(clientIds.length).toBeGreaterThan(0);
    expect(new Set(clientIds).size).toBe(clientIds.length);
    const journaled = new Map((await listRecentOrders(runtime.database.pool, { env: 'sim', limit: 100_000 })).map((o) => [o.clientOrderId, o]));
    for (const o of venueOrders) {
      const row = journaled.get(o.clientOrderId);
      expect(row, o.clientOrderId).toBeDefined();
      expect(row!.createdMs).toBeLessThanOrEqual(o.createdTimeMs);
      expect(row!.venueOrderId).toBe(o.orderId);
    }

    // a final reconcile agrees and has nothing to adopt or import
    await syncNow(runtime);
    const reconciled = system.trader!.getSnapshot().context.lastReconcile!;
    expect(reconciled.agreed).toBe(true);
    expect(reconciled.findings.filter((f) => f.kind === 'position_adopted' || f.kind === 'missing_fill')).toEqual([]);
    expect(system.coordinator.getSnapshot().context.lastSyncSummary?.newFills).toBe(0);
  }, 120_000);
});
