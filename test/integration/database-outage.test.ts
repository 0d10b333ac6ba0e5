/**
 * A database outage, as operators would meet it (issue 10 §3): the trader (`kalshiflow start`, a
 * child process) trades against a simulator in another process on a private PostgreSQL cluster
 * this test starts itself; the cluster is stopped (`pg_ctl stop -m fast`) mid-trading and started
 * again. The outage must be an explicit state — /v3/health `degraded` naming `journal`, /v3/status
 * `problems` and the trader paused with `database_outage` — within a bounded wait; nothing may be
 * sent while the journal is down; once the server is back the trader must recover to ready and
 * trade by itself, `problems` empty again and `errors` keeping the history. Afterwards the
 * exchange's orders are compared with the journal: every one was journaled, none is left open in
 * the journal that the exchange has closed. Cluster, simulator and trader are torn down in afterAll.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createPool, query } from '../../src/adapters/store/database.ts';
import { canRunPostgresCluster, createPostgresCluster } from '../helpers/postgres-cluster.ts';
import type { PostgresCluster } from '../helpers/postgres-cluster.ts';
import { killAllCli, pollUntil } from '../helpers/processes.ts';
import { collect, startExchange, startTrader, traderEnvironment } from '../helpers/trading-processes.ts';

const CLOSED_STATES = new Set(['filled', 'canceled', 'rejected', 'expired', 'denied']);

const healthSchema = z.object({
  healthy: z.boolean(),
  status: z.string(),
  state: z.string(),
  degraded: z.boolean(),
  degradedComponents: z.array(z.string()),
});
const statusSchema = z.object({
  state: z.string(),
  problems: z.array(z.object({ component: z.string(), message: z.string() })),
  errors: z.array(z.object({ message: z.string() })),
  components: z.array(z.object({ name: z.string(), healthy: z.boolean(), detail: z.string() })),
  trader: z.object({ state: z.string(), reason: z.string().nullable(), ordersPlaced: z.number() }),
  counters: z.record(z.string(), z.number()),
});

async function readHealth(baseUrl: string): Promise<{ code: number; body: z.infer<typeof healthSchema> }> {
  const response = await fetch(`${baseUrl}/v3/health`);
  return { code: response.status, body: healthSchema.parse(await response.json()) };
}

async function readStatus(baseUrl: string): Promise<z.infer<typeof statusSchema>> {
  const response = await fetch(`${baseUrl}/v3/status`);
  if (!response.ok) throw new Error(`GET /v3/status: HTTP ${response.status}`);
  return statusSchema.parse(await response.json());
}

describe.runIf(canRunPostgresCluster())('database outage (the trader’s PostgreSQL server stopped and started again)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kalshiflow-outage-'));
  let cluster: PostgresCluster | null = null;

  afterAll(async () => {
    await killAllCli();
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('reports the outage, sends nothing while the journal is down, and recovers to trading by itself', async () => {
    cluster = await createPostgresCluster();
    await cluster.start();

    const venue = await startExchange(dir, 17);
    const { sim, exchange } = venue;
    const { proc: trader, url } = await startTrader(await traderEnvironment(venue, dir, cluster.url), 'spread-quoter');
    const exchangeOrderIds = async () => (await collect(exchange.iterateOrders({}))).map((o) => o.clientOrderId);

    // ---- trading on a healthy database ------------------------------------------------------
    const trading = await pollUntil('the trader to quote', () => readStatus(url), (s) => s.trader.ordersPlaced >= 4, { timeoutMs: 40_000 });
    expect(trading.problems).toEqual([]);
    expect(trading.components.find((c) => c.name === 'journal')).toMatchObject({ healthy: true });
    expect((await readHealth(url)).body).toMatchObject({ healthy: true, degraded: false, degradedComponents: [] });

    // ---- the database server goes away ------------------------------------------------------
    await cluster.stop();
    const stoppedAt = Date.now();
    const outage = await pollUntil('health to report the journal outage', () => readHealth(url), (h) => h.body.degradedComponents.includes('journal'), {
      timeoutMs: 20_000,
      intervalMs: 100,
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}\ntrader output:\n${trader.output().slice(-4_000)}`);
    });
    const detectedMs = Date.now() - stoppedAt;
    // operational but degraded: 200, named component (a restart would not help; it recovers by itself)
    expect(outage.code).toBe(200);
    expect(outage.body).toMatchObject({ healthy: true, status: 'degraded', degraded: true });
    const paused = await pollUntil('the trader paused for the outage', () => readStatus(url), (s) => s.trader.state === 'paused', { timeoutMs: 10_000 });
    expect(paused.trader.reason).toBe('database_outage');
    expect(paused.problems.map((p) => p.component)).toContain('journal');
    expect(paused.components.find((c) => c.name === 'journal')).toMatchObject({ healthy: false });

    // nothing is sent while the journal is down: no new order at the exchange, none placed
    const ordersAtOutage = await exchangeOrderIds();
    const placedAtOutage = paused.trader.ordersPlaced;
    await new Promise((r) => setTimeout(r, 3_000));
    const during = await readStatus(url);
    expect(during.trader.ordersPlaced).toBe(placedAtOutage);
    expect(during.trader.state).toBe('paused');
    expect((await exchangeOrderIds()).length).toBe(ordersAtOutage.length);
    expect(during.problems.map((p) => p.component)).toContain('journal');

    // ---- the database server comes back -----------------------------------------------------
    await cluster.start();
    const restartedAt = Date.now();
    await pollUntil(
      'the trader to recover to ready',
      async () => ({ h: await readHealth(url), s: await readStatus(url) }),
      ({ h, s }) => h.code === 200 && !h.body.degraded && ['ready', 'acting'].includes(h.body.state) && s.trader.state !== 'paused',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const recoveredMs = Date.now() - restartedAt;
    const resumed = await pollUntil('the trader to trade again', () => readStatus(url), (s) => s.trader.ordersPlaced > placedAtOutage, { timeoutMs: 30_000 });
    expect(resumed.problems).toEqual([]);
    expect(resumed.errors.some((e) => /DATABASE OUTAGE/.test(e.message))).toBe(true); // the history stays
    expect(resumed.components.find((c) => c.name === 'journal')).toMatchObject({ healthy: true });
    await pollUntil('new orders at the exchange', exchangeOrderIds, (ids) => ids.length > ordersAtOutage.length, { timeoutMs: 20_000 });

    trader.kill('SIGTERM');
    expect(await trader.exited, trader.output()).toBe(0);

    // ---- the exchange against the journal ----------------------------------------------------
    const venueOrders = await collect(exchange.iterateOrders({}));
    sim.kill('SIGTERM');
    const pool = createPool(cluster.url, 1, 5_000);
    try {
      const rows = await query<{ client_order_id: string; state: string }>(pool, 'SELECT client_order_id, state FROM orders');
      const journal = new Map(rows.map((r) => [r.client_order_id, r.state]));
      // journal first held throughout: every order the exchange has was journaled, none twice
      const ids = venueOrders.map((o) => o.clientOrderId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.filter((id) => !journal.has(id))).toEqual([]);
      // what the exchange closed during the outage (the pause cancels) is not left open in the journal
      const leftOpen = venueOrders.filter((o) => o.status !== 'resting' && !CLOSED_STATES.has(journal.get(o.clientOrderId) ?? ''));
      expect(leftOpen.map((o) => `${o.clientOrderId} venue ${o.status}, journal ${journal.get(o.clientOrderId)}`)).toEqual([]);
    } finally {
      await pool.end();
    }
    expect(await sim.exited).toBe(0);
    console.log(JSON.stringify({ figure: 'database_outage', detectedMs, recoveredMs }));
  }, 150_000);
});
