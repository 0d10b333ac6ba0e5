/**
 * Builds a complete trader runtime from configuration: the embedded simulator (in `sim`), the
 * database (PGlite by default, migrated), signed Kalshi REST and WebSocket clients, and the
 * actor system. Shared by `kalshiflow start`, scripted sessions and integration tests so they all
 * run the same code path.
 */
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { systemClock } from '../core/clock.ts';
import type { RiskLimits } from '../core/risk.ts';
import { createStrategy } from '../core/strategy/index.ts';
import type { Strategy, StrategyFactory } from '../core/strategy/index.ts';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../adapters/kalshi/auth.ts';
import type { KalshiCredentials } from '../adapters/kalshi/auth.ts';
import { endpointsFor, UnsafeEndpointError, type KalshiEndpoints } from '../adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiRestOptions } from '../adapters/kalshi/rest.ts';
import { KalshiWsClient } from '../adapters/kalshi/ws.ts';
import type { KalshiWsOptions } from '../adapters/kalshi/ws.ts';
import { migrate, openDatabase } from '../adapters/store/index.ts';
import type { Database } from '../adapters/store/index.ts';
import { TradingSystem } from '../actors/trading-system.ts';
import type { MarketSelection, TradingSystemOptions } from '../actors/trading-system.ts';
import type { CoordinatorInput } from '../machines/coordinator.types.ts';
import { startSimulator } from '../sim/simulator.ts';
import type { RunningSimulator, StartSimulatorOptions } from '../sim/simulator.ts';
import { ConfigError } from './config.ts';
import { closeStrategy, readyStrategy, strategyFactoriesFor, strategyName } from './strategies.ts';

export interface RuntimeOptions {
  environment: 'sim' | 'paper' | 'production';
  selection: MarketSelection;
  strategy: string;
  /** Extra strategy factories (e.g. `onnx:`), keyed by prefix. */
  strategyFactories?: Readonly<Record<string, StrategyFactory>>;
  databaseUrl?: string;
  /** Local data folder (embedded database, simulator keys). */
  dataDir: string;
  clock?: Clock;
  /** Simulator options when environment is `sim`. */
  sim?: Omit<StartSimulatorOptions, 'clock' | 'keys'>;
  /** Paper/production credentials. */
  credentials?: { keyId?: string; privateKeyPath?: string; privateKeyPem?: string };
  urls?: { restBaseUrl?: string; wsUrl?: string };
  /** Non-loopback hosts named as test exchanges (KALSHIFLOW_TEST_EXCHANGE_HOSTS); `sim` may trade there. */
  testExchangeHosts?: readonly string[];
  riskLimits?: Partial<RiskLimits>;
  coordinator?: Partial<Omit<CoordinatorInput, 'tradingEnabled'>>;
  throttleMs?: number;
  traderId?: string;
  runNonce?: string;
  inspect?: TradingSystemOptions['inspect'];
  /** Reuse an already-open database (sessions restart the trader on the same one). */
  database?: Database;
  /**
   * A simulator the caller started and keeps (sessions: in-process, shared across trader
   * restarts). Used instead of starting one when environment is `sim`; the trader's key is
   * registered with it; close() leaves it running.
   */
  simulator?: RunningSimulator;
  /** Transport overrides (sessions route REST and the stream in-process). */
  fetch?: typeof fetch;
  WebSocketImpl?: KalshiWsOptions['WebSocketImpl'];
  /** Jitter source of the REST and WebSocket backoffs (sessions pass a seeded one). */
  random?: () => number;
  /** REST client tuning (request timeout, retry policy); the defaults suit Kalshi. */
  rest?: Pick<KalshiRestOptions, 'timeoutMs' | 'retry'>;
  /** Stream tuning (reconnect backoff, liveness and connect windows); the defaults suit Kalshi. */
  ws?: Pick<KalshiWsOptions, 'backoff' | 'heartbeatTimeoutMs' | 'connectTimeoutMs'>;
}

export interface Runtime {
  system: TradingSystem;
  simulator: RunningSimulator | null;
  database: Database;
  rest: KalshiRestClient;
  ws: KalshiWsClient;
  credentials: KalshiCredentials | null;
  strategy: Strategy;
  close(): Promise<void>;
}

/** The simulator's demo key pair (Ed25519), kept in the data folder so restarts keep the same account (an RSA pair written earlier stays in use). */
function simulatorKeys(dataDir: string): { keyId: string; publicKeyPem: string; privateKeyPem: string } {
  const dir = join(dataDir, 'sim-keys');
  const pub = join(dir, 'trader.pub.pem');
  const priv = join(dir, 'trader.key.pem');
  if (existsSync(pub) && existsSync(priv)) {
    return { keyId: 'kalshiflow-trader', publicKeyPem: readFileSync(pub, 'utf8'), privateKeyPem: readFileSync(priv, 'utf8') };
  }
  const pair = generateKeyPair('ed25519');
  mkdirSync(dir, { recursive: true });
  writeFileSync(pub, pair.publicKeyPem);
  writeFileSync(priv, pair.privateKeyPem, { mode: 0o600 });
  return { keyId: 'kalshiflow-trader', ...pair };
}

type CredentialOptions = RuntimeOptions['credentials'];

function hasConfiguredKey(c: CredentialOptions): boolean {
  return Boolean(c?.keyId || c?.privateKeyPath || c?.privateKeyPem);
}

/** KALSHI_API_KEY_ID with KALSHI_PRIVATE_KEY_PATH (or KALSHI_PRIVATE_KEY): both required. */
function configuredCredentials(c: CredentialOptions = {}, environment: RuntimeOptions['environment']): KalshiCredentials {
  if (!c.keyId) throw new ConfigError(`KALSHI_API_KEY_ID: required for ENVIRONMENT=${environment}${environment === 'sim' ? ' with a private key' : ''}`);
  if (!c.privateKeyPath && !c.privateKeyPem) {
    throw new ConfigError(`KALSHI_PRIVATE_KEY_PATH: required for ENVIRONMENT=${environment}${environment === 'sim' ? ' with KALSHI_API_KEY_ID' : ''} (or KALSHI_PRIVATE_KEY)`);
  }
  try {
    return createCredentials(c.keyId, loadPrivateKey(c.privateKeyPem ? { pem: c.privateKeyPem } : { path: c.privateKeyPath as string }));
  } catch (error) {
    throw new ConfigError(`KALSHI_PRIVATE_KEY_PATH: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const onnx = strategyName(options.strategy) === 'onnx';
  // The trader's own cash and cost basis, for the policy's portfolio features; bound once the system exists.
  const link: { system: TradingSystem | null } = { system: null };
  let strategy: Strategy;
  try {
    const factories = await strategyFactoriesFor(options.strategy, options.strategyFactories);
    strategy = createStrategy(
      options.strategy,
      onnx ? { clock, account: (ticker: string) => link.system?.account(ticker) ?? { cash: 0, costBasis: 0 } } : undefined,
      factories,
    );
  } catch (error) {
    throw new ConfigError(`strategy: ${error instanceof Error ? error.message : String(error)}`);
  }
  // A strategy that loads something (a model file) must have it before anything starts.
  try {
    await readyStrategy(strategy);
  } catch (error) {
    throw new ConfigError(`strategy: ${error instanceof Error ? error.message : String(error)}`);
  }
  // What assembly has opened so far, closed again if a later step fails (a simulator left
  // listening kept `start` alive after "database in use").
  const opened: { simulator: RunningSimulator | null } = { simulator: null };
  try {
    const runtime = await assembleRuntime(options, clock, strategy, opened);
    link.system = runtime.system;
    return runtime;
  } catch (error) {
    await opened.simulator?.close().catch(() => undefined);
    await closeStrategy(strategy);
    throw error;
  }
}

/** The venue rule (environments.ts) for this configuration; a refusal is the user's configuration error. */
function resolveEndpoints(options: RuntimeOptions, restBaseUrl: string | undefined, wsUrl: string | undefined): KalshiEndpoints {
  try {
    return endpointsFor(
      options.environment,
      { ...(restBaseUrl ? { restBaseUrl } : {}), ...(wsUrl ? { wsUrl } : {}) },
      { testExchangeHosts: options.testExchangeHosts ?? [] },
    );
  } catch (error) {
    if (error instanceof UnsafeEndpointError) throw new ConfigError(error.message);
    throw error;
  }
}

async function assembleRuntime(
  options: RuntimeOptions,
  clock: Clock,
  strategy: Strategy,
  opened: { simulator: RunningSimulator | null },
): Promise<Runtime> {
  let simulator: RunningSimulator | null = null;
  let credentials: KalshiCredentials | null = null;
  let restBaseUrl = options.urls?.restBaseUrl;
  let wsUrl = options.urls?.wsUrl;
  // Where orders may go is settled before anything is opened; only an embedded simulator's
  // (loopback) address is known later.
  const configured =
    options.environment === 'sim' && (options.simulator || !restBaseUrl) ? null : resolveEndpoints(options, restBaseUrl, wsUrl);

  if (options.environment === 'sim' && options.simulator) {
    const keys = simulatorKeys(options.dataDir);
    options.simulator.registerKey(keys.keyId, keys.publicKeyPem);
    restBaseUrl = options.simulator.restUrl;
    wsUrl = options.simulator.wsUrl;
    credentials = createCredentials(keys.keyId, loadPrivateKey({ pem: keys.privateKeyPem }));
  } else if (options.environment === 'sim' && !restBaseUrl) {
    const keys = simulatorKeys(options.dataDir);
    simulator = await startSimulator({ ...options.sim, clock, keys: [{ keyId: keys.keyId, publicKeyPem: keys.publicKeyPem }] });
    opened.simulator = simulator;
    restBaseUrl = simulator.restUrl;
    wsUrl = simulator.wsUrl;
    credentials = createCredentials(keys.keyId, loadPrivateKey({ pem: keys.privateKeyPem }));
  } else if (options.environment === 'sim' && restBaseUrl) {
    // An external simulator (`kalshiflow sim` prints the key to use): the configured key when
    // one is given, else the data folder's (a simulator started with `--key` for it).
    if (hasConfiguredKey(options.credentials)) credentials = configuredCredentials(options.credentials, 'sim');
    else {
      const keys = simulatorKeys(options.dataDir);
      credentials = createCredentials(keys.keyId, loadPrivateKey({ pem: keys.privateKeyPem }));
    }
  } else {
    credentials = configuredCredentials(options.credentials, options.environment);
  }

  const endpoints = configured ?? resolveEndpoints(options, restBaseUrl, wsUrl);
  const database =
    options.database ??
    (await openDatabase({
      // PGlite is one backend session: concurrent pool connections through pglite-socket
      // interleave their extended-protocol messages (seen: "unnamed prepared statement does not
      // exist"), so the embedded database gets exactly one connection.
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : { dataDir: join(options.dataDir, 'db'), poolSize: 1 }),
    }));
  try {
    await migrate(database.pool);
  } catch (error) {
    if (!options.database) await database.close();
    throw error;
  }

  const rest = new KalshiRestClient({
    endpoints,
    ...(credentials ? { credentials } : {}),
    clock,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.random ? { random: options.random } : {}),
    // paced to the account's rate limits (GET /account/limits), so the trader does not meet 429s
    rateLimits: 'account',
    ...options.rest,
  });
  const ws = new KalshiWsClient({
    url: endpoints.wsUrl,
    ...(credentials ? { credentials } : {}),
    clock,
    useYesPrice: false,
    ...(options.WebSocketImpl ? { WebSocketImpl: options.WebSocketImpl } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...options.ws,
  });
  const system = new TradingSystem({
    environment: options.environment,
    clock,
    rest,
    ws,
    pool: database.pool,
    selection: options.selection,
    strategy,
    tradingEnabled: !endpoints.readOnly,
    ...(options.traderId ? { traderId: options.traderId } : {}),
    ...(options.runNonce ? { runNonce: options.runNonce } : {}),
    ...(options.riskLimits ? { riskLimits: options.riskLimits } : {}),
    ...(options.coordinator ? { coordinator: options.coordinator } : {}),
    ...(options.throttleMs !== undefined ? { throttleMs: options.throttleMs } : {}),
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  system.start();

  let closed = false;
  return {
    system,
    simulator: simulator ?? options.simulator ?? null,
    database,
    rest,
    ws,
    credentials,
    strategy,
    async close() {
      if (closed) return;
      closed = true;
      await system.stop();
      await closeStrategy(strategy);
      if (!options.database) await database.close();
      await simulator?.close();
    },
  };
}
