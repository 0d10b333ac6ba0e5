/**
 * Crash safety, as operators would meet it: the trader (`kalshiflow start`, a child process) is
 * killed with SIGKILL in the middle of trading against a simulator running in another process —
 * orders resting, fills arriving, requests in flight — then restarted on the same database. After
 * its initial sync (and, once the account is frozen, a sync that saw the frozen state) it is
 * stopped with SIGTERM, and the exchange (the simulator's REST API, as the trader's user) is
 * compared with the journal:
 *
 * - no two exchange orders share a client_order_id, and each was journaled before it was sent;
 * - every journaled order that never heard back was resolved at restart;
 * - the exchange's fills are exactly the journal's fills, each recorded once;
 * - the exchange's positions equal the journal's latest positions snapshot and the trader's own.
 *
 * The database is an embedded PGlite in a temp folder, or a fresh database on TEST_DATABASE_URL's
 * server when that is set. Everything is torn down in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, query } from '../../src/adapters/store/database.ts';
import type { Database } from '../../src/adapters/store/database.ts';
import { getJournalOrder, latestAccountSnapshot, listFills, listUnansweredOrders } from '../../src/adapters/store/journal.ts';
import { createServerDatabase } from '../helpers/databases.ts';
import { killAllCli, pollUntil } from '../helpers/processes.ts';
import {
  collect,
  operational,
  positionMap,
  readTraderStatus as readStatus,
  startExchange,
  startTrader as startTraderProcess,
  traderEnvironment,
  traderPositions,
} from '../helpers/trading-processes.ts';

describe('trader crash safety (SIGKILL mid-trading, restart on the same database)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kalshiflow-crash-'));
  const dataDir = join(dir, 'data');
  let serverDb: { url: string; drop: () => Promise<void> } | null = null;

  afterAll(async () => {
    await killAllCli();
    await serverDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function useServerDatabase(serverUrl: string): Promise<string> {
    serverDb = await createServerDatabase(serverUrl, 'kf_crash');
    return serverDb.url;
  }

  it('places no order twice, records every fill exactly once and agrees with the exchange on positions', async () => {
    const venue = await startExchange(dataDir, 11);
    const { sim, exchange } = venue;
    const control = async (path: string, body: unknown) => {
      expect(await venue.control(path, body), `POST /_sim${path}`).toBe(200);
    };
    const serverUrl = process.env.TEST_DATABASE_URL;
    const databaseUrl = serverUrl ? await useServerDatabase(serverUrl) : '';
    const traderEnv = await traderEnvironment(venue, dataDir, databaseUrl);
    const startTrader = (strategy: string) => startTraderProcess(traderEnv, strategy);

    // ---- run 1: trade, then die mid-flight ---------------------------------------------------
    const run1 = await startTrader('spread-quoter');
    const busy = await pollUntil(
      'the first trader to have resting orders and fills',
      () => readStatus(run1.url),
      (s) => s.trader.ordersPlaced >= 6 && (s.counters.fills_journaled ?? 0) >= 2 && s.trading.openOrders.length > 0,
      { timeoutMs: 40_000 },
    );
    expect(operational(busy) || busy.state === 'kalshi_data_sync').toBe(true);
    // Slow the exchange down so requests are in flight, and die while an order is being placed:
    // the journal has it, the exchange gets it (or not) only after the trader is gone.
    // An order seen `submitted` for 400 ms of a 1.5 s delay has been journaled and (almost
    // certainly) sent, and is still waiting for its answer.
    await control('/faults/latency', { ms: 1_500, durationMs: 30_000 });
    const submittedSince = new Map<string, number>();
    await pollUntil(
      'an order in flight',
      () => readStatus(run1.url),
      (s) => {
        const now = Date.now();
        const submitted = s.trading.openOrders.filter((o) => o.state === 'submitted').map((o) => o.clientOrderId);
        for (const id of [...submittedSince.keys()]) if (!submitted.includes(id)) submittedSince.delete(id);
        for (const id of submitted) if (!submittedSince.has(id)) submittedSince.set(id, now);
        return [...submittedSince.values()].some((since) => now - since >= 400);
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    run1.proc.kill('SIGKILL');
    expect(await run1.proc.exited).toBe('SIGKILL');
    await control('/faults/clear', {});
    await new Promise((r) => setTimeout(r, 2_000)); // the delayed requests reach the exchange

    const openJournal = () =>
      databaseUrl ? openDatabase({ databaseUrl, poolSize: 1 }) : openDatabase({ dataDir: join(dataDir, 'db'), poolSize: 1 });
    const crashed = await openJournal();
    let inFlight: string[];
    try {
      inFlight = (await listUnansweredOrders(crashed.pool)).map((o) => o.clientOrderId);
    } finally {
      await crashed.close();
    }
    expect(inFlight.length, 'orders the crash left without an answer').toBeGreaterThan(0);

    // ---- run 2: restart on the same database --------------------------------------------------
    // `hold` places nothing new, so once the account is frozen below the exchange stands still.
    const run2 = await startTrader('hold');
    await pollUntil('the restarted trader to finish its initial sync', () => readStatus(run2.url), (s) => operational(s) && s.sync.syncCount >= 1, {
      timeoutMs: 30_000,
    });

    // Freeze the account: cancel what the first run left resting (fills may still land until
    // then, and the restarted trader must hear of them). A create the first run had in flight
    // would have reached the exchange long ago; cancel twice to be sure nothing rests.
    for (let round = 0; round < 2; round++) {
      for (const order of await collect(exchange.iterateOrders({ status: 'resting' }))) {
        await exchange.cancelOrder(order.orderId, { ticker: order.ticker });
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await collect(exchange.iterateOrders({ status: 'resting' }))).toEqual([]);

    // Two reconnect-triggered syncs: the second one certainly started after the freeze.
    for (let round = 0; round < 2; round++) {
      const before = (await readStatus(run2.url)).sync.syncCount;
      await control('/faults/ws/drop', {});
      await pollUntil(`sync #${before + 1} after a reconnect`, () => readStatus(run2.url), (s) => operational(s) && s.sync.syncCount > before, {
        timeoutMs: 20_000,
      });
    }
    const finalStatus = await readStatus(run2.url);
    run2.proc.kill('SIGTERM');
    expect(await run2.proc.exited, run2.proc.output()).toBe(0);

    // ---- the exchange against the journal ------------------------------------------------------
    const venueOrders = await collect(exchange.iterateOrders({}));
    const venueFills = await collect(exchange.iterateFills({}));
    const venuePositions = (await exchange.getAllPositions()).marketPositions;
    sim.kill('SIGTERM');

    const db: Database = await openJournal();
    try {
      // no order placed twice; every one journaled before it was sent
      expect(venueOrders.length).toBeGreaterThanOrEqual(6);
      const ids = venueOrders.map((o) => o.clientOrderId);
      expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      const journaled = new Set((await query<{ client_order_id: string }>(db.pool, 'SELECT client_order_id FROM orders')).map((r) => r.client_order_id));
      expect(ids.filter((id) => !journaled.has(id))).toEqual([]);
      // everything the crash left unanswered was looked up at restart: found at the exchange
      // (and linked to its venue order), or known never to have reached it
      expect(await listUnansweredOrders(db.pool)).toEqual([]);
      for (const clientOrderId of inFlight) {
        const order = await getJournalOrder(db.pool, clientOrderId);
        const atVenue = venueOrders.find((o) => o.clientOrderId === clientOrderId);
        if (atVenue) expect(order, clientOrderId).toMatchObject({ venueOrderId: atVenue.orderId });
        else expect(order, clientOrderId).toMatchObject({ state: 'rejected', venueOrderId: null });
      }

      // every exchange fill journaled exactly once (fills.fill_id is the key), and nothing else
      expect(venueFills.length).toBeGreaterThanOrEqual(2);
      const journalFills = await listFills(db.pool, {});
      const venueKeys = venueFills.map((f) => `${f.tradeId} ${f.ticker} ${f.side} ${f.yesPrice} ${f.count}`).sort();
      const journalKeys = journalFills.map((f) => `${f.fillId} ${f.ticker} ${f.side} ${f.yesPrice} ${f.count}`).sort();
      expect(journalKeys).toEqual(venueKeys);
      const perFill = await query<{ n: number }>(db.pool, 'SELECT count(*)::bigint AS n FROM fills GROUP BY fill_id HAVING count(*) > 1');
      expect(perFill).toEqual([]);

      // positions: exchange = latest journal snapshot = what the trader reported
      const snapshot = await latestAccountSnapshot(db.pool);
      expect(snapshot).not.toBeNull();
      const exchangePositions = positionMap(venuePositions);
      expect(positionMap(snapshot!.positions)).toEqual(exchangePositions);
      expect(traderPositions(finalStatus)).toEqual(exchangePositions);
    } finally {
      await db.close();
    }
    expect(await sim.exited).toBe(0);
  }, 90_000);
});
