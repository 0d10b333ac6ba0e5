/**
 * `kalshiflow start` against an external simulator, as operators run them: `kalshiflow sim` and
 * `kalshiflow start --strategy spread-quoter` are child processes, the trader uses the key the
 * simulator printed (ENVIRONMENT=sim + KALSHI_API_BASE_URL/KALSHI_WS_URL + KALSHI_API_KEY_ID/
 * KALSHI_PRIVATE_KEY_PATH), and the exchange is asked through its REST API, as the trader's user,
 * what rests there after the trader is gone:
 *
 * - with the simulator's key the trader reaches ready (no 401 loop);
 * - SIGTERM cancels every resting order, then the process exits 0;
 * - with `--keep-orders` the orders stay;
 * - a second signal while the cancels cannot get through skips them, says so, and exits at once.
 *
 * Each case has its own simulator (its own account) and its own embedded database.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCredentials, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import type { KalshiOrder } from '../../src/adapters/kalshi/rest.schemas.ts';
import { freePort, killAllCli, pollUntil, startCli } from '../helpers/processes.ts';
import type { CliProcess } from '../helpers/processes.ts';

const root = mkdtempSync(join(tmpdir(), 'kf-shutdown-'));
let caseNo = 0;

afterEach(async () => {
  await killAllCli();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface ExternalSim {
  proc: CliProcess;
  restUrl: string;
  wsUrl: string;
  controlUrl: string;
  keyId: string;
  privateKeyPath: string;
  /** The exchange as the trader's user. */
  exchange: KalshiRestClient;
}

/** `kalshiflow sim` in a fresh folder: no --key, so it creates a demo key and prints it. */
async function startSim(seed: number, markets = 3): Promise<ExternalSim> {
  const cwd = join(root, `case-${++caseNo}`);
  mkdirSync(cwd, { recursive: true });
  const proc = startCli(['sim', '--port', '0', '--markets', String(markets), '--seed', String(seed)], {}, { cwd });
  const restUrl = (await proc.waitForLine(/^\s+REST\s+(\S+)/))[1];
  const wsUrl = (await proc.waitForLine(/^\s+WS\s+(\S+)/))[1];
  const controlUrl = (await proc.waitForLine(/^\s+control\s+(\S+)/))[1];
  const keyId = (await proc.waitForLine(/^\s+demo key id\s+(\S+)/))[1];
  const privateKeyPath = resolve(cwd, (await proc.waitForLine(/^\s+demo private key\s+(\S+)/))[1]);
  const credentials = createCredentials(keyId, loadPrivateKey({ path: privateKeyPath }));
  const exchange = new KalshiRestClient({ endpoints: endpointsFor('sim', { restBaseUrl: restUrl, wsUrl }), credentials });
  return { proc, restUrl, wsUrl, controlUrl, keyId, privateKeyPath, exchange };
}

async function control(sim: ExternalSim, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${sim.controlUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status, `POST /_sim${path}`).toBe(200);
}

/** `kalshiflow start --strategy spread-quoter` on the simulator, with the key it printed. */
async function startTrader(sim: ExternalSim, args: string[] = [], markets = 3): Promise<{ proc: CliProcess; url: string }> {
  const port = await freePort();
  const proc = startCli(['start', '--strategy', 'spread-quoter', '--port', String(port), ...args], {
    ENVIRONMENT: 'sim',
    KALSHI_API_BASE_URL: sim.restUrl,
    KALSHI_WS_URL: sim.wsUrl,
    KALSHI_API_KEY_ID: sim.keyId,
    KALSHI_PRIVATE_KEY_PATH: sim.privateKeyPath,
    KALSHI_PRIVATE_KEY: '',
    KALSHIFLOW_DATA_DIR: join(root, `trader-${caseNo}`),
    DATABASE_URL: '',
    RL_MODE: 'discovery',
    RL_ORDERBOOK_MARKET_LIMIT: String(markets),
  });
  const url = (await proc.waitForLine(/dashboard (http:\/\/[^/\s]+)\//, 60_000))[1];
  return { proc, url };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const restingAt = (sim: ExternalSim): Promise<KalshiOrder[]> => collect(sim.exchange.iterateOrders({ status: 'resting' }));

/** Waits until the trader has at least `n` orders resting at the exchange. */
function untilResting(sim: ExternalSim, n = 2): Promise<KalshiOrder[]> {
  return pollUntil('orders resting at the exchange', () => restingAt(sim), (orders) => orders.length >= n, { timeoutMs: 45_000, intervalMs: 300 });
}

const healthSchema = z.object({ healthy: z.boolean(), state: z.string() });
const statusSchema = z.object({
  counters: z.record(z.string(), z.number()),
  trader: z.object({ state: z.string() }),
});

describe('kalshiflow start on an external simulator (child processes)', () => {
  it('uses the key `kalshiflow sim` printed: reaches ready, no 401 loop', async () => {
    const sim = await startSim(21);
    const trader = await startTrader(sim);
    const health = await pollUntil(
      'GET /v3/health to report ready',
      async () => healthSchema.parse(await (await fetch(`${trader.url}/v3/health`)).json()),
      (h) => h.healthy,
      { timeoutMs: 45_000 },
    );
    expect(['ready', 'acting']).toContain(health.state);
    const status = statusSchema.parse(await (await fetch(`${trader.url}/v3/status`)).json());
    expect(status.counters.syncs_ok).toBeGreaterThanOrEqual(1);
    expect(status.counters.syncs_failed).toBe(0);
    expect(trader.proc.output()).not.toMatch(/\b401\b|unauthori[sz]ed/i);
    trader.proc.kill('SIGTERM');
    expect(await trader.proc.exited, trader.proc.output()).toBe(0);
  }, 120_000);

  it('SIGTERM cancels every resting order, then exits 0', async () => {
    const sim = await startSim(22);
    const trader = await startTrader(sim);
    const before = await untilResting(sim);
    trader.proc.kill('SIGTERM');
    expect(await trader.proc.exited, trader.proc.output()).toBe(0);
    expect(trader.proc.output()).toMatch(/shutting down \(SIGTERM\): cancelling \d+ resting orders/);
    expect(trader.proc.output()).toMatch(/stopped: no order left resting/);
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(await restingAt(sim)).toEqual([]);
  }, 120_000);

  it('--keep-orders leaves them resting', async () => {
    // six markets: the quoter withdraws a quote now and then, rarely all at once
    const sim = await startSim(23, 6);
    const trader = await startTrader(sim, ['--keep-orders'], 6);
    await untilResting(sim, 3);
    trader.proc.kill('SIGTERM');
    expect(await trader.proc.exited, trader.proc.output()).toBe(0);
    expect(trader.proc.output()).toMatch(/leaving \d+ resting orders at the exchange \(--keep-orders\)/);
    expect((await restingAt(sim)).length).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('a second signal skips the cancelling, says so and exits at once', async () => {
    const sim = await startSim(24);
    const trader = await startTrader(sim);
    await untilResting(sim);
    // cancels cannot get through: without the second signal the shutdown would retry them until
    // its 30 s timeout
    await control(sim, '/faults/rest', { status: 503, pathPrefix: '/portfolio/events/orders', durationMs: 120_000 });
    const resting = await untilResting(sim, 1);
    trader.proc.kill('SIGTERM');
    await trader.proc.waitForLine(/shutting down \(SIGTERM\): cancelling/, 10_000);
    trader.proc.kill('SIGINT');
    const exited = await Promise.race([trader.proc.exited, new Promise((r) => setTimeout(() => r('still running after 15 s'), 15_000))]);
    expect(exited, trader.proc.output()).toBe(0);
    expect(trader.proc.output()).toMatch(/SIGINT again: not cancelling; \d+ orders may stay resting at the exchange/);
    await control(sim, '/faults/clear', {});
    // nothing was cancelled: each order resting at the signal rests still, or was filled since
    const after = await collect(sim.exchange.iterateOrders({}));
    for (const order of resting) {
      expect(after.find((o) => o.orderId === order.orderId)?.status, order.clientOrderId).toMatch(/^(resting|executed)$/);
    }
  }, 120_000);
});

describe('kalshiflow start stopped during start-up (child process)', () => {
  it('SIGTERM before the system is ready exits 0 at once (a pending wait for ready kept it alive for a day)', async () => {
    const dataDir = join(root, `startup-${++caseNo}`);
    const proc = startCli(['start', '--strategy', 'hold', '--markets', '2', '--port', String(await freePort())], {
      ENVIRONMENT: 'sim',
      KALSHIFLOW_DATA_DIR: dataDir,
      DATABASE_URL: '',
      KALSHI_API_BASE_URL: '',
      KALSHI_WS_URL: '',
      RL_MODE: 'discovery',
    });
    // the dashboard line comes before the coordinator is ready
    await proc.waitForLine(/dashboard http:\/\/[^/\s]+\//, 60_000);
    proc.kill('SIGTERM');
    const code = await Promise.race([proc.exited, new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000))]);
    expect(code, proc.output()).toBe(0);
  }, 90_000);
});
