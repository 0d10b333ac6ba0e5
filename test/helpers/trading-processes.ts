/**
 * The exchange and the trader as real processes, for crash tests: `kalshiflow sim` with the
 * trader's key registered (the key pair written where `kalshiflow start --env sim` finds it), a
 * REST client on that exchange as the trader's user, `kalshiflow start` children on one database,
 * and the parts of GET /v3/status these tests read. Loopback only; processes are registered with
 * processes.ts so `killAllCli` cleans up.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import type { KalshiOrder } from '../../src/adapters/kalshi/rest.schemas.ts';
import type { JournalOrder } from '../../src/adapters/store/journal.ts';
import { freePort, startCli } from './processes.ts';
import type { CliProcess } from './processes.ts';

/** The key id `kalshiflow start --env sim` signs with. */
export const SIM_KEY_ID = 'kalshiflow-trader';

export const traderStatusSchema = z.object({
  state: z.string(),
  trader: z.object({ ordersPlaced: z.number(), state: z.string() }),
  counters: z.record(z.string(), z.number()),
  sync: z.object({ syncCount: z.number(), lastSyncMs: z.number().nullable() }),
  trading: z.object({
    positions: z.array(z.object({ ticker: z.string(), raw: z.object({ position: z.number() }) })),
    openOrders: z.array(z.object({ clientOrderId: z.string(), state: z.string(), external: z.boolean() })),
  }),
});
export type TraderStatus = z.infer<typeof traderStatusSchema>;

export async function readTraderStatus(baseUrl: string): Promise<TraderStatus> {
  const response = await fetch(`${baseUrl}/v3/status`);
  if (!response.ok) throw new Error(`GET /v3/status: HTTP ${response.status}`);
  return traderStatusSchema.parse(await response.json());
}

export const operational = (s: TraderStatus) => s.state === 'ready' || s.state === 'acting';

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** ticker → position, non-zero positions only, in ticker order (so two maps also compare as text). */
export function positionMap(entries: Array<{ ticker: string; position: number }>): Record<string, number> {
  const map: Record<string, number> = {};
  for (const e of [...entries].sort((a, b) => a.ticker.localeCompare(b.ticker))) if (e.position !== 0) map[e.ticker] = e.position;
  return map;
}

export function traderPositions(status: TraderStatus): Record<string, number> {
  return positionMap(status.trading.positions.map((p) => ({ ticker: p.ticker, position: p.raw.position })));
}

export interface ExchangeProcess {
  sim: CliProcess;
  restUrl: string;
  wsUrl: string;
  controlUrl: string;
  /** The exchange's REST API as the trader's user. */
  exchange: KalshiRestClient;
  /** POST to the simulator's control API (`/_sim…`); resolves with the HTTP status. */
  control(path: string, body: unknown): Promise<number>;
}

/** Starts `kalshiflow sim` (4 markets, `seed`) with a fresh trader key pair written into `dataDir/sim-keys`. */
export async function startExchange(dataDir: string, seed: number): Promise<ExchangeProcess> {
  const keys = generateKeyPair();
  mkdirSync(join(dataDir, 'sim-keys'), { recursive: true });
  const publicKeyPath = join(dataDir, 'sim-keys', 'trader.pub.pem');
  writeFileSync(publicKeyPath, keys.publicKeyPem);
  writeFileSync(join(dataDir, 'sim-keys', 'trader.key.pem'), keys.privateKeyPem, { mode: 0o600 });
  const sim = startCli(['sim', '--port', '0', '--markets', '4', '--seed', String(seed), '--key', `${SIM_KEY_ID}=${publicKeyPath}`]);
  const restUrl = (await sim.waitForLine(/^\s+REST\s+(\S+)/))[1];
  const wsUrl = (await sim.waitForLine(/^\s+WS\s+(\S+)/))[1];
  const controlUrl = (await sim.waitForLine(/^\s+control\s+(\S+)/))[1];
  const exchange = new KalshiRestClient({
    endpoints: endpointsFor('sim', { restBaseUrl: restUrl, wsUrl }),
    credentials: createCredentials(SIM_KEY_ID, loadPrivateKey({ pem: keys.privateKeyPem })),
  });
  const control = async (path: string, body: unknown) =>
    (await fetch(`${controlUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
  return { sim, restUrl, wsUrl, controlUrl, exchange, control };
}

/** How `kalshiflow start` children reach the exchange and their database (empty URL = PGlite in `dataDir/db`). */
export async function traderEnvironment(exchange: ExchangeProcess, dataDir: string, databaseUrl: string): Promise<Record<string, string>> {
  return {
    ENVIRONMENT: 'sim',
    KALSHI_API_BASE_URL: exchange.restUrl,
    KALSHI_WS_URL: exchange.wsUrl,
    KALSHIFLOW_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    V3_PORT: String(await freePort()),
    V3_HOST: '127.0.0.1',
    RL_MODE: 'discovery',
    RL_ORDERBOOK_MARKET_LIMIT: '4',
  };
}

/** Starts `kalshiflow start --env sim --strategy <strategy> [...args]`; resolves once its HTTP API listens. */
export async function startTrader(env: Record<string, string>, strategy: string, args: string[] = []): Promise<{ proc: CliProcess; url: string }> {
  const proc = startCli(['start', '--env', 'sim', '--strategy', strategy, ...args], env);
  const url = (await proc.waitForLine(/dashboard (http:\/\/[^/\s]+)\//, 45_000))[1];
  return { proc, url };
}

/**
 * The journal against the exchange's orders (all of them, as the trader's user): client_order_ids
 * the exchange holds twice, exchange orders the journal lacks, and journal orders in a state the
 * exchange contradicts (open while executed or cancelled there, or anything but rejected/denied
 * for an order the exchange never had).
 */
export function journalAgainstExchange(journalOrders: readonly JournalOrder[], venueOrders: readonly KalshiOrder[]): { duplicates: number; unjournaled: string[]; stale: string[] } {
  const journalById = new Map(journalOrders.map((o) => [o.clientOrderId, o]));
  const ids = venueOrders.map((o) => o.clientOrderId);
  const unjournaled = ids.filter((id) => id === null || !journalById.has(id)).map((id) => String(id));
  const venueByClientId = new Map(venueOrders.map((o) => [o.clientOrderId, o]));
  const stale: string[] = [];
  for (const o of journalOrders) {
    const venue = venueByClientId.get(o.clientOrderId);
    const expected = !venue ? ['rejected', 'denied'] : venue.status === 'executed' ? ['filled'] : venue.status === 'canceled' ? ['canceled', 'expired'] : ['accepted', 'partially_filled'];
    if (!expected.includes(o.state)) stale.push(`${o.clientOrderId}: journal ${o.state}, exchange ${venue?.status ?? 'absent'}`);
  }
  return { duplicates: ids.length - new Set(ids).size, unjournaled, stale };
}
