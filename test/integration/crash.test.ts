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
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { openDatabase, query } from '../../src/adapters/store/database.ts';
import type { Database } from '../../src/adapters/store/database.ts';
import { getJournalOrder, latestAccountSnapshot, listFills, listUnansweredOrders } from '../../src/adapters/store/journal.ts';
import { createServerDatabase } from '../helpers/databases.ts';
import { freePort, killAllCli, pollUntil, startCli } from '../helpers/processes.ts';
import type { CliProcess } from '../helpers/processes.ts';

const KEY_ID = 'kalshiflow-trader';

/** The parts of GET /v3/status this test reads. */
const statusSchema = z.object({
  state: z.string(),
  trader: z.object({ ordersPlaced: z.number(), state: z.string() }),
  counters: z.record(z.string(), z.number()),
  sync: z.object({ syncCount: z.number(), lastSyncMs: z.number().nullable() }),
  trading: z.object({
    positions: z.array(z.object({ ticker: z.string(), raw: z.object({ position: z.number() }) })),
    openOrders: z.array(z.object({ clientOrderId: z.string(), state: z.string() })),
  }),
});
type Status = z.infer<typeof statusSchema>;

async function readStatus(baseUrl: string): Promise<Status> {
  const response = await fetch(`${baseUrl}/v3/status`);
  if (!response.ok) throw new Error(`GET /v3/status: HTTP ${response.status}`);
  return statusSchema.parse(await response.json());
}

const operational = (s: Status) => s.state === 'ready' || s.state === 'acting';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** ticker → position, non-zero positions only. */
function positionMap(entries: Array<{ ticker: string; position: number }>): Record<string, number> {
  const map: Record<string, number> = {};
  for (const e of entries) if (e.position !== 0) map[e.ticker] = e.position;
  return map;
}

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
    // The trader's simulator key, where `kalshiflow start --env sim` looks for it.
    const keys = generateKeyPair();
    mkdirSync(join(dataDir, 'sim-keys'), { recursive: true });
    const publicKeyPath = join(dataDir, 'sim-keys', 'trader.pub.pem');
    writeFileSync(publicKeyPath, keys.publicKeyPem);
    writeFileSync(join(dataDir, 'sim-keys', 'trader.key.pem'), keys.privateKeyPem, { mode: 0o600 });

    const sim = startCli(['sim', '--port', '0', '--markets', '4', '--seed', '11', '--key', `${KEY_ID}=${publicKeyPath}`]);
    const restUrl = (await sim.waitForLine(/^\s+REST\s+(\S+)/))[1];
    const wsUrl = (await sim.waitForLine(/^\s+WS\s+(\S+)/))[1];
    const controlUrl = (await sim.waitForLine(/^\s+control\s+(\S+)/))[1];

    const control = async (path: string, body: unknown) => {
      const response = await fetch(`${controlUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status, `POST /_sim${path}`).toBe(200);
    };

    const serverUrl = process.env.TEST_DATABASE_URL;
    const databaseUrl = serverUrl ? await useServerDatabase(serverUrl) : '';
    const port = await freePort();
    const traderEnv = {
      ENVIRONMENT: 'sim',
      KALSHI_API_BASE_URL: restUrl,
      KALSHI_WS_URL: wsUrl,
      KALSHIFLOW_DATA_DIR: dataDir,
      // empty = embedded PGlite in <dataDir>/db
      DATABASE_URL: databaseUrl,
      V3_PORT: String(port),
      V3_HOST: '127.0.0.1',
      RL_MODE: 'discovery',
      RL_ORDERBOOK_MARKET_LIMIT: '4',
    };
    const startTrader = async (strategy: string): Promise<{ proc: CliProcess; url: string }> => {
      const proc = startCli(['start', '--env', 'sim', '--strategy', strategy], traderEnv);
      const url = (await proc.waitForLine(/dashboard (http:\/\/[^/\s]+)\//, 45_000))[1];
      return { proc, url };
    };

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
    const credentials = createCredentials(KEY_ID, loadPrivateKey({ pem: keys.privateKeyPem }));
    const exchange = new KalshiRestClient({ endpoints: endpointsFor('sim', { restBaseUrl: restUrl, wsUrl }), credentials });
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
      expect(positionMap(finalStatus.trading.positions.map((p) => ({ ticker: p.ticker, position: p.raw.position })))).toEqual(exchangePositions);
    } finally {
      await db.close();
    }
    expect(await sim.exited).toBe(0);
  }, 90_000);
});
