/**
 * `kalshiflow start`: the main job. Runs the trader actor system — against the embedded simulator
 * by default, or Kalshi's demo exchange with `--env paper` — with the HTTP API and dashboard, until
 * SIGINT/SIGTERM. Flags override the environment variables of DESIGN §5.
 *
 * Shutdown: the first SIGINT/SIGTERM cancels the trader's resting orders (unless `--keep-orders`)
 * and exits 0 once none rests; a second signal skips what is left of the cancelling and says so.
 */
import { parseFlags } from './flags.ts';
import { parseDuration } from '../core/duration.ts';
import { startRetention } from '../adapters/store/retention.ts';
import { ConfigError, ENV_NAMES, loadEnvConfig, marketSelectionOf, riskLimitsFromConfig, setVariable } from '../app/config.ts';
import { UsageError } from '../app/errors.ts';
import { createRuntime } from '../app/runtime.ts';
import { startHttpServer } from '../server/http-server.ts';
import { createInspectorBridge } from '../server/inspector.ts';
import { formatUsd } from '../core/display.ts';
import { createLogger, LogLevelError } from './logger.ts';
import type { Logger } from 'pino';
import type { TradingSystem } from '../actors/trading-system.ts';

/** The terminal's one-line summary, every minute: state, orders, fills, P&L. */
const SUMMARY_EVERY_MS = 60_000;

function logSummary(log: Logger, system: TradingSystem): void {
  const s = system.status();
  const t = s.trading;
  const pnl = t.realizedPnl + t.unrealizedPnl;
  const label = `${s.state}${s.degraded ? ` (degraded: ${s.degradedComponents.join(', ')})` : ''}`;
  log.info(
    { state: s.state, trader: s.trader.state, openOrders: t.openOrders.length, fills: s.counters.fills_applied ?? 0, pnl: pnl / 1e6, fees: t.feesPaid / 1e6, staleMarks: t.staleMarks },
    `summary: ${label} · trader ${s.trader.state} · ${t.openOrders.length} open orders · ${s.counters.fills_applied ?? 0} fills · P&L ${formatUsd(pnl)} (fees ${formatUsd(t.feesPaid)})${t.staleMarks > 0 ? ` · ${t.staleMarks} positions at stale prices` : ''}`,
  );
}

const HELP = `usage: kalshiflow start [--env sim|paper] [--mode discovery|config] [--markets N] [--tickers A,B] [--series S,T] [--events E,F]
                        [--strategy NAME] [--port 8005] [--host 127.0.0.1] [--seed S] [--inspect] [--retain 7d]
                        [--keep-orders] [--max-open-orders N] [--max-position N] [--max-order-size N]
                        [--max-notional $] [--cash-reserve $] [--throttle-ms MS]

  --env        sim (embedded simulator, default) | paper (Kalshi demo). production is read-only: use \`kalshiflow record\`.
  --mode       discovery (top-N open markets by liquidity score) | config (--tickers)
  --markets    N for discovery (default 10)
  --tickers    comma-separated tickers (implies --mode config)
  --series     discovery only among these series' open markets (comma-separated, e.g. KXFED,KXCPI)
  --events     discovery only among these events' open markets (comma-separated)
  --strategy   hold | spread-quoter (default) | imbalance | onnx:<model.onnx> (hot-reloaded)
  --port       HTTP port of the API and dashboard (default 8005)
  --seed       simulator seed (sim only)
  --inspect    connect the actor system to the Stately inspector
  --retain     keep this much trading history in the database: every 10 min, finished orders (with
               their events), trader decisions and sync runs older than that are deleted (as
               \`kalshiflow db prune\`); fills and open orders are always kept. Default: keep all.
  --keep-orders  on SIGINT/SIGTERM leave resting orders at the exchange (default: cancel them;
               a second signal skips the cancelling)

  Risk limits (every order the exchange holds for this account counts, adopted ones included):
  --max-open-orders  resting orders across all markets (default 20)
  --max-position     contracts per market, resting orders counted as if filled (default 100)
  --max-order-size   contracts per order (default 10)
  --max-notional     dollars one order may commit (default 100)
  --cash-reserve     dollars that must remain after paying for an order (default 0)
  --throttle-ms      minimum milliseconds between two orders in one market (default 250)`;

/** Flags that stand for an environment variable: a bad value is reported under the flag's name. */
const FLAG_VARIABLES = {
  markets: 'RL_ORDERBOOK_MARKET_LIMIT',
  port: 'V3_PORT',
  host: 'V3_HOST',
  strategy: 'TRADER_STRATEGY',
  'max-open-orders': 'TRADER_MAX_OPEN_ORDERS',
  'max-position': 'TRADER_MAX_POSITION',
  'max-order-size': 'TRADER_MAX_ORDER_SIZE',
  'max-notional': 'TRADER_MAX_NOTIONAL',
  'cash-reserve': 'TRADER_CASH_RESERVE',
  'throttle-ms': 'TRADER_THROTTLE_MS',
} as const;

export async function runStartCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, {
    env: { type: 'string' },
    mode: { type: 'string' },
    markets: { type: 'string' },
    tickers: { type: 'string' },
    series: { type: 'string' },
    events: { type: 'string' },
    strategy: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    seed: { type: 'string' },
    inspect: { type: 'boolean' },
    retain: { type: 'string' },
    'keep-orders': { type: 'boolean' },
    'max-open-orders': { type: 'string' },
    'max-position': { type: 'string' },
    'max-order-size': { type: 'string' },
    'max-notional': { type: 'string' },
    'cash-reserve': { type: 'string' },
    'throttle-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, { allowPositionals: false });
  const flags = parsed.values;
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const env = { ...process.env };
  if (flags.env) setVariable(env, 'ENVIRONMENT', flags.env);
  if (flags.tickers) {
    setVariable(env, 'RL_MARKET_TICKERS', flags.tickers);
    setVariable(env, 'RL_MODE', 'config');
  }
  if (flags.mode) setVariable(env, 'RL_MODE', flags.mode);
  if (flags.series) setVariable(env, 'RL_SERIES_TICKERS', flags.series);
  if (flags.events) setVariable(env, 'RL_EVENT_TICKERS', flags.events);
  const fromFlags = new Map<string, string>();
  for (const [flag, variable] of Object.entries(FLAG_VARIABLES)) {
    const value = flags[flag as keyof typeof FLAG_VARIABLES];
    if (value === undefined) continue;
    setVariable(env, variable, value);
    fromFlags.set(variable, flag);
    fromFlags.set(ENV_NAMES[variable] ?? variable, flag);
  }
  let config;
  try {
    config = loadEnvConfig(env);
  } catch (error) {
    // "TRADER_MAX_OPEN_ORDERS: must be …" names the flag when the value came from one
    const variable = error instanceof ConfigError ? /^([A-Z0-9_]+): /.exec(error.message)?.[1] : undefined;
    const flag = variable ? fromFlags.get(variable) : undefined;
    if (flag && variable) throw new UsageError(`--${flag}${error instanceof Error ? error.message.slice(variable.length) : ''}`);
    throw error;
  }
  const riskLimits = riskLimitsFromConfig(config);
  let log: Logger;
  try {
    log = createLogger({ level: env.KALSHIFLOW_LOG_LEVEL ?? env.LOG_LEVEL ?? 'info' });
  } catch (error) {
    if (error instanceof LogLevelError) throw new UsageError(error.message);
    throw error;
  }
  if (config.ENVIRONMENT === 'production') {
    throw new UsageError('ENVIRONMENT: production is read-only market data; trading runs on sim or paper (use `kalshiflow record` for production)');
  }
  let seed: number | undefined;
  if (flags.seed !== undefined) {
    seed = Number(flags.seed);
    if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed: not an integer: ${flags.seed}`);
  }

  let retainMs: number | null = null;
  if (flags.retain !== undefined) {
    try {
      retainMs = parseDuration(flags.retain);
    } catch (error) {
      throw new UsageError(`--retain: ${(error as Error).message}`);
    }
    if (retainMs <= 0) throw new UsageError(`--retain: must be positive, got ${JSON.stringify(flags.retain)}`);
  }

  // Signals are ours from here on: one during start-up stops the trader once it is up, and one
  // right after the ready lines can never kill it unheard. The first stops (cancelling resting
  // orders unless --keep-orders), a second skips the cancelling; after a failed start-up they are
  // the default again.
  const keepOrders = flags['keep-orders'] === true;
  let resolveStop: (signal: NodeJS.Signals) => void = () => {};
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (resolveStop = resolve));
  let signals = 0;
  let onAnotherSignal = (signal: NodeJS.Signals): void => {
    // a second signal while still starting up: there is nothing to cancel yet, leave at once
    log.error(`kalshiflow start: ${signal} again during start-up: exiting`);
    process.exit(130);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals === 1) resolveStop(signal);
    else onAnotherSignal(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const inspector = flags.inspect ? await createInspectorBridge({}) : null;
    let runtime;
    try {
      runtime = await createRuntime({
        environment: config.ENVIRONMENT,
        selection: marketSelectionOf(config),
        strategy: config.TRADER_STRATEGY,
        ...(Object.keys(riskLimits).length > 0 ? { riskLimits } : {}),
        dataDir: config.KALSHIFLOW_DATA_DIR,
        ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
        ...(seed !== undefined ? { sim: { seed } } : {}),
        credentials: {
          ...(config.KALSHI_API_KEY_ID ? { keyId: config.KALSHI_API_KEY_ID } : {}),
          ...(config.KALSHI_PRIVATE_KEY_PATH ? { privateKeyPath: config.KALSHI_PRIVATE_KEY_PATH } : {}),
          ...(config.KALSHI_PRIVATE_KEY ? { privateKeyPem: config.KALSHI_PRIVATE_KEY } : {}),
        },
        urls: {
          ...(config.KALSHI_API_BASE_URL ? { restBaseUrl: config.KALSHI_API_BASE_URL } : {}),
          ...(config.KALSHI_WS_URL ? { wsUrl: config.KALSHI_WS_URL } : {}),
        },
        testExchangeHosts: config.KALSHIFLOW_TEST_EXCHANGE_HOSTS,
        ...(config.KALSHI_REST_TIMEOUT_MS !== undefined ? { rest: { timeoutMs: config.KALSHI_REST_TIMEOUT_MS } } : {}),
        ...(inspector ? { inspect: inspector.inspect } : {}),
        ...(flags['keep-orders'] ? { coordinator: { cancelOrdersOnShutdown: false } } : {}),
      });
    } catch (error) {
      // nothing may stay open, or the process would not exit
      await inspector?.close();
      throw error;
    }

    let server;
    try {
      server = await startHttpServer(runtime.system, {
        host: config.V3_HOST,
        port: config.V3_PORT,
        ...(config.V3_AUTH_TOKEN ? { authToken: config.V3_AUTH_TOKEN } : {}),
        ...(config.V3_ALLOWED_HOSTS ? { allowedHosts: config.V3_ALLOWED_HOSTS } : {}),
        ...(inspector ? { inspect: { url: inspector.url } } : {}),
        log: (line) => log.info(line),
      });
    } catch (error) {
      await runtime.close();
      await inspector?.close();
      throw error;
    }

    log.info({ url: `${server.url}/` }, `kalshiflow ${config.ENVIRONMENT}: dashboard ${server.url}/  (API ${server.url}/v3/status)`);
    if (runtime.simulator) log.info(`embedded simulator: ${runtime.simulator.restUrl}`);
    log.info(`database: ${runtime.database.url}${runtime.database.embedded ? ' (embedded)' : ''}`);
    if (inspector) log.info(`Stately inspector: ${inspector.url}`);
    const system = runtime.system;
    // the ready line, once the coordinator is operational (start-up may take a while on Kalshi)
    system.waitForState('ready', 24 * 3600_000).then(
      () => log.info({ url: `${server.url}/`, markets: system.status().markets.length }, `ready: trading ${system.status().markets.length} markets; dashboard ${server.url}/`),
      () => undefined,
    );
    const summary = setInterval(() => logSummary(log, system), SUMMARY_EVERY_MS);
    summary.unref();
    const stopRetention =
      retainMs === null
        ? null
        : startRetention(runtime.database.pool, {
            retainMs,
            onPass: (r) => {
              if (r instanceof Error) log.error(`retention: pass failed: ${r.message}`);
              else if (r.orders + r.decisions + r.syncRuns > 0) {
                log.info(`retention: deleted ${r.orders} finished orders (${r.orderEvents} events), ${r.decisions} decisions, ${r.syncRuns} sync runs`);
              }
            },
          });

    const signal = await stopRequested;
    clearInterval(summary);
    await stopRetention?.();
    const resting = runtime.system.restingOrderCount();
    // started before the line below: by then the trader re-quotes nothing more
    const closing = runtime.close();
    log.info(
      `shutting down (${signal})${
        keepOrders
          ? `: leaving ${resting} resting orders at the exchange (--keep-orders)`
          : `: cancelling ${resting} resting orders… (signal again to skip)`
      }`,
    );
    // A second signal skips what is left of the cancelling (keep-orders has nothing to skip).
    let skipped = false;
    onAnotherSignal = (again) => {
      if (skipped) return;
      skipped = true;
      if (!keepOrders) log.warn(`${again} again: not cancelling; ${runtime.system.restingOrderCount()} orders may stay resting at the exchange`);
      runtime.system.stopNow(`${again} again`);
    };
    const closed = await Promise.allSettled([closing, server.close()]);
    await inspector?.close();
    for (const outcome of closed) if (outcome.status === 'rejected') throw outcome.reason;
    const left = runtime.system.restingOrderCount();
    if (!keepOrders && !skipped && left > 0) {
      log.error(`kalshiflow start: ${left} orders could not be cancelled and may still rest at the exchange`);
      return 1;
    }
    log.info(keepOrders || skipped ? 'stopped' : 'stopped: no order left resting');
    log.flush();
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
