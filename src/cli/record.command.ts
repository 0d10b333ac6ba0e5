/**
 * `kalshiflow record`: records the order books of the chosen markets into a new recorded session
 * (src/actors/recorder.ts) until `--duration` has passed or SIGINT/SIGTERM arrives, printing the
 * session id, a progress line every few seconds, and the final counts. Market data only, so
 * production is allowed (read-only endpoints, credentials from the environment); `--env sim`
 * records from an embedded simulator, or from one in another process when KALSHI_API_BASE_URL /
 * KALSHI_WS_URL point at it. Bad flags are one line on stderr and exit code 2 (via main.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFlags } from './flags.ts';
import { systemClock } from '../core/clock.ts';
import type { TimerHandle } from '../core/clock.ts';
import { formatDuration } from '../core/duration.ts';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../adapters/kalshi/auth.ts';
import type { KalshiCredentials } from '../adapters/kalshi/auth.ts';
import { endpointsFor, UnsafeEndpointError, type KalshiEndpoints } from '../adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import { KalshiWsClient } from '../adapters/kalshi/ws.ts';
import { closeAbandonedRecordingSessions, migrate, openDatabase } from '../adapters/store/index.ts';
import type { Database, RecordingEndStatus } from '../adapters/store/index.ts';
import { MarketRecorder, RECORDER_OWNER } from '../actors/recorder.ts';
import type { RecorderProgress } from '../actors/recorder.ts';
import type { MarketSelection } from '../actors/markets.ts';
import { startSimulator } from '../sim/simulator.ts';
import type { RunningSimulator } from '../sim/simulator.ts';
import { ConfigError, loadEnvConfig, marketSelectionOf, setVariable } from '../app/config.ts';
import type { EnvConfig } from '../app/config.ts';
import { durationFlag } from './rl-support.ts';
import { UsageError } from '../app/errors.ts';

export const RECORD_USAGE = `usage: kalshiflow record [--env sim|paper|production] [--mode discovery|config] [--markets N]
                         [--tickers A,B] [--series S,T] [--events E,F] [--duration 10m] [--db URL] [--progress 5s]

  --env        sim (embedded simulator, or KALSHI_API_BASE_URL/KALSHI_WS_URL) | paper (Kalshi demo)
               | production (market data only; KALSHI_API_KEY_ID + KALSHI_PRIVATE_KEY_PATH)
  --mode       discovery (top-N open markets by liquidity score, default) | config (--tickers)
  --markets    N for discovery (default 10)
  --tickers    comma-separated tickers (implies --mode config)
  --series     discovery only among these series' open markets (comma-separated)
  --events     discovery only among these events' open markets (comma-separated)
  --duration   stop after this long: 90s, 10m, 2h, 1h30m, 30d (default: until Ctrl-C)
  --db         postgres:// URL (default DATABASE_URL, else the embedded database in KALSHIFLOW_DATA_DIR)
  --progress   interval of the progress line (default 5s, at least 1s)`;

export interface RecordCommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Resolves when the operator asks to stop (default: SIGINT or SIGTERM). */
  untilStopped: () => Promise<void>;
  env: NodeJS.ProcessEnv;
}

/** The progress line at most once a second: a shorter interval floods the terminal. */
const MIN_PROGRESS_MS = 1_000;

interface RecordPlan {
  config: EnvConfig;
  selection: MarketSelection;
  durationMs: number | null;
  progressMs: number;
  databaseUrl: string | undefined;
}

function plan(argv: string[], env: NodeJS.ProcessEnv): RecordPlan | 'help' {
  const { values } = parseFlags(argv, {
    env: { type: 'string' },
    mode: { type: 'string' },
    markets: { type: 'string' },
    tickers: { type: 'string' },
    series: { type: 'string' },
    events: { type: 'string' },
    duration: { type: 'string' },
    db: { type: 'string' },
    progress: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, { allowPositionals: false });
  if (values.help) return 'help';
  const merged = { ...env };
  if (values.env !== undefined) {
    if (!['sim', 'paper', 'production'].includes(values.env)) throw new UsageError(`--env: must be sim, paper or production, got ${JSON.stringify(values.env)}`);
    setVariable(merged, 'ENVIRONMENT', values.env);
  }
  if (values.mode !== undefined) {
    if (values.mode !== 'discovery' && values.mode !== 'config') throw new UsageError(`--mode: must be discovery or config, got ${JSON.stringify(values.mode)}`);
    setVariable(merged, 'RL_MODE', values.mode);
  }
  if (values.tickers !== undefined) {
    setVariable(merged, 'RL_MARKET_TICKERS', values.tickers);
    setVariable(merged, 'RL_MODE', values.mode ?? 'config');
  }
  if (values.markets !== undefined) {
    if (!/^\d+$/.test(values.markets) || Number(values.markets) < 1) throw new UsageError(`--markets: must be a positive integer, got ${JSON.stringify(values.markets)}`);
    setVariable(merged, 'RL_ORDERBOOK_MARKET_LIMIT', values.markets);
  }
  if (values.series !== undefined) setVariable(merged, 'RL_SERIES_TICKERS', values.series);
  if (values.events !== undefined) setVariable(merged, 'RL_EVENT_TICKERS', values.events);
  if (values.db !== undefined) setVariable(merged, 'DATABASE_URL', values.db);
  let config: EnvConfig;
  try {
    config = loadEnvConfig(merged);
  } catch (error) {
    // flags become variables above; name the flag the user actually typed
    if (error instanceof ConfigError && values.db !== undefined && error.message.startsWith('DATABASE_URL')) {
      throw new UsageError(`--db: ${error.message.slice('DATABASE_URL: '.length)}`);
    }
    throw error;
  }
  const durationMs = values.duration !== undefined ? durationFlag('duration', values.duration) : null;
  const progressMs = values.progress !== undefined ? durationFlag('progress', values.progress, MIN_PROGRESS_MS) : 5_000;
  const selection: MarketSelection = marketSelectionOf(config);
  return { config, selection, durationMs, progressMs, databaseUrl: config.DATABASE_URL };
}

function recordingEndpoints(config: EnvConfig, restBaseUrl: string | undefined, wsUrl: string | undefined): KalshiEndpoints {
  try {
    return endpointsFor(
      config.ENVIRONMENT,
      { ...(restBaseUrl ? { restBaseUrl } : {}), ...(wsUrl ? { wsUrl } : {}) },
      { testExchangeHosts: config.KALSHIFLOW_TEST_EXCHANGE_HOSTS },
    );
  } catch (error) {
    if (error instanceof UnsafeEndpointError) throw new ConfigError(error.message);
    throw error;
  }
}

/** Credentials from the environment; for a simulator in another process, the trader's sim key. */
function credentialsFor(config: EnvConfig): KalshiCredentials {
  const keyId = config.KALSHI_API_KEY_ID;
  if (keyId && (config.KALSHI_PRIVATE_KEY || config.KALSHI_PRIVATE_KEY_PATH)) {
    try {
      return createCredentials(
        keyId,
        loadPrivateKey(config.KALSHI_PRIVATE_KEY ? { pem: config.KALSHI_PRIVATE_KEY } : { path: config.KALSHI_PRIVATE_KEY_PATH! }),
      );
    } catch (error) {
      throw new ConfigError(`KALSHI_PRIVATE_KEY_PATH: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (config.ENVIRONMENT === 'sim') {
    // The key `kalshiflow start` keeps for the simulator (src/app/runtime.ts).
    const path = join(config.KALSHIFLOW_DATA_DIR, 'sim-keys', 'trader.key.pem');
    if (existsSync(path)) return createCredentials('kalshiflow-trader', loadPrivateKey({ pem: readFileSync(path, 'utf8') }));
    throw new ConfigError(`KALSHI_API_KEY_ID: required to record from the simulator at ${config.KALSHI_API_BASE_URL} (with KALSHI_PRIVATE_KEY_PATH), or keep the trader's key in ${path}`);
  }
  if (!keyId) throw new ConfigError(`KALSHI_API_KEY_ID: required for ENVIRONMENT=${config.ENVIRONMENT}`);
  throw new ConfigError(`KALSHI_PRIVATE_KEY_PATH: required for ENVIRONMENT=${config.ENVIRONMENT} (or KALSHI_PRIVATE_KEY)`);
}

function formatProgress(p: RecorderProgress, deltasPerSecond: number): string {
  const c = p.counts;
  const stream = p.connected ? '' : ' [stream down]';
  const db = p.queue.degraded ? ` [database unavailable: ${p.queue.lastError ?? 'retrying'}]` : '';
  return (
    `session ${p.sessionId} ${Math.round(p.elapsedMs / 1000)}s: ${p.markets.live}/${p.markets.total} markets live, ` +
    `${c.deltas} deltas (${Math.round(deltasPerSecond)}/s), ${c.snapshots} snapshots, ${c.trades} trades, ${c.gaps} gaps; ` +
    `rows flushed ${p.queue.flushed}, queued ${p.queue.depth}, drops ${p.queue.dropped + p.queue.rejected}${stream}${db}`
  );
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

const defaultIo = (): RecordCommandIo => ({
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  untilStopped: untilSignal,
  env: process.env,
});

export async function runRecordCommand(argv: string[], io: RecordCommandIo = defaultIo()): Promise<number> {
  const planned = plan(argv, io.env);
  if (planned === 'help') {
    io.out(RECORD_USAGE);
    return 0;
  }
  const { config, selection, durationMs, progressMs } = planned;
  const clock = systemClock;
  const environment = config.ENVIRONMENT;
  // Watch for the operator from the start: a Ctrl-C while connecting still closes cleanly.
  let stopRequested = false;
  const stopSignal = io.untilStopped().then(() => {
    stopRequested = true;
  });

  let simulator: RunningSimulator | null = null;
  let credentials: KalshiCredentials;
  let restBaseUrl = config.KALSHI_API_BASE_URL;
  let wsUrl = config.KALSHI_WS_URL;
  // The venue rule (environments.ts) settles the configured URLs before anything is opened.
  const configured = environment === 'sim' && !restBaseUrl ? null : recordingEndpoints(config, restBaseUrl, wsUrl);
  if (environment === 'sim' && !restBaseUrl) {
    // An in-process simulator: a throwaway key is enough, nothing outlives this run.
    const pair = generateKeyPair('ed25519');
    simulator = await startSimulator({ clock, keys: [{ keyId: 'kalshiflow-recorder', publicKeyPem: pair.publicKeyPem }] });
    restBaseUrl = simulator.restUrl;
    wsUrl = simulator.wsUrl;
    credentials = createCredentials('kalshiflow-recorder', loadPrivateKey({ pem: pair.privateKeyPem }));
  } else {
    credentials = credentialsFor(config);
  }

  let database: Database | null = null;
  let recorder: MarketRecorder | null = null;
  try {
    const endpoints = configured ?? recordingEndpoints(config, restBaseUrl, wsUrl);
    database = await openDatabase(
      planned.databaseUrl
        ? { databaseUrl: planned.databaseUrl }
        : // PGlite is one backend session: one pooled connection, or extended-protocol messages
          // of concurrent connections interleave through pglite-socket.
          { dataDir: join(config.KALSHIFLOW_DATA_DIR, 'db'), poolSize: 1 },
    );
    await migrate(database.pool);
    if (database.embedded) {
      // The embedded database is locked to this process: any active recorder session is a crash's.
      const abandoned = await closeAbandonedRecordingSessions(database.pool, RECORDER_OWNER, clock.now());
      if (abandoned > 0) io.out(`marked ${abandoned} recording session(s) left active by an earlier run as interrupted`);
    }
    const rest = new KalshiRestClient({ endpoints, credentials, clock });
    const ws = new KalshiWsClient({ url: endpoints.wsUrl, credentials, clock, useYesPrice: false });
    recorder = await MarketRecorder.start({
      ws,
      rest,
      pool: database.pool,
      env: environment,
      selection,
      clock,
      sourceUrl: endpoints.wsUrl,
      metadata: { command: 'record', ...(durationMs !== null ? { duration_ms: durationMs } : {}) },
      onActivity: (line) => io.out(`  ${line}`),
    });
    io.out(`recording session ${recorder.sessionId}: ${recorder.markets.length} markets from ${environment} (${endpoints.wsUrl}) into ${database.url}${database.embedded ? ' (embedded)' : ''}`);
    io.out(`  markets: ${recorder.markets.map((m) => m.ticker).join(', ')}`);
    io.out(durationMs !== null ? `  until ${formatDuration(durationMs)} have passed or Ctrl-C` : '  until Ctrl-C');

    // Timers go through the clock: they hold any duration (node's own fire at once beyond ~24.8
    // days, so `--duration 30d` used to stop at once and `--progress 30d` would flood).
    let lastDeltas = 0;
    let lastAt = clock.now();
    let progressTimer: TimerHandle;
    const printProgress = () => {
      const p = recorder!.progress();
      const now = clock.now();
      const rate = ((p.counts.deltas - lastDeltas) * 1000) / Math.max(1, now - lastAt);
      lastDeltas = p.counts.deltas;
      lastAt = now;
      io.out(formatProgress(p, rate));
      progressTimer = clock.setTimeout(printProgress, progressMs);
    };
    progressTimer = clock.setTimeout(printProgress, progressMs);
    let durationTimer: TimerHandle | undefined;
    const elapsed = durationMs !== null ? new Promise<void>((resolve) => (durationTimer = clock.setTimeout(resolve, durationMs))) : new Promise<void>(() => {});
    await Promise.race([elapsed, stopSignal]);
    clock.clearTimeout(progressTimer);
    if (durationTimer !== undefined) clock.clearTimeout(durationTimer);

    // Stopped before the planned end: the session is complete but cut short.
    const status: RecordingEndStatus = stopRequested && durationMs !== null ? 'interrupted' : 'closed';
    io.out('stopping: flushing the write queue…');
    const summary = await recorder.stop(status);
    const c = summary.counts;
    io.out(
      `session ${summary.sessionId} ${summary.status} after ${(summary.elapsedMs / 1000).toFixed(1)}s: ` +
        `${c.snapshots} snapshots, ${c.deltas} deltas, ${c.trades} trades, ${c.gaps} gaps, ${c.dropped} dropped`,
    );
    return c.dropped > 0 ? 1 : 0;
  } catch (error) {
    if (recorder) await recorder.stop('error', error instanceof Error ? error.message : String(error)).catch(() => undefined);
    throw error;
  } finally {
    await database?.close();
    await simulator?.close();
  }
}
