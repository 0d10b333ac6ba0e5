/**
 * The simulator façade: one call starts a Kalshi-compatible exchange on loopback — the matching
 * engine (exchange.ts), its markets (generated or given as specs), synthetic participants, fault
 * injection, and the REST + WebSocket + control server on one port — and returns its URLs and
 * handles. Used by `kalshiflow sim`, by `kalshiflow start` in sim mode, by sessions and by tests.
 * Everything time-based runs on the injected clock.
 */
import type { AddressInfo } from 'node:net';
import { hostAllowList } from '../adapters/http/host-guard.ts';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts';
import type { Micros } from '../core/money.ts';
import { SyntheticActivity } from './activity/activity.ts';
import { generateMarkets, marketDefinitionFor, marketSpecSchema, type MarketSpec } from './activity/markets.ts';
import { Exchange } from './exchange.ts';
import type { HistoryRetention } from './matching/history.ts';
import { SimFaults } from './faults.ts';
import { RecordedReplay } from './replay/recorded-replay.ts';
import type { ReplayMarket } from './replay/recorded-replay.ts';
import { createSimHttpServer } from './server/http.ts';
import { ApiKeyRegistry } from './server/keys.ts';
import { API_BASE_PATH } from './server/rest.ts';
import { TradingFigures } from './server/stats.ts';
import { MarketCandles } from './server/candles.ts';
import { SimRateLimits, type SimRateTier } from './server/rate-limits.ts';
import { WS_PATH } from './server/ws.ts';

export interface SimulatorKey {
  keyId: string;
  publicKeyPem: string;
  /** Account the key trades for; defaults to the key id. */
  userId?: string;
}

export interface StartSimulatorOptions {
  /** Interface to bind; loopback by default. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  clock?: Clock;
  seed?: number;
  /** A number of generated markets (default 10) or explicit specs. */
  markets?: number | MarketSpec[];
  keys?: SimulatorKey[];
  /** Synthetic makers and takers trading the markets (default true). */
  activity?: boolean;
  /**
   * Replay mode: these markets' books follow a recording exactly (src/sim/replay) instead of
   * synthetic participants (no activity on them); each needs a market spec of the same ticker.
   */
  replay?: ReplayMarket[];
  /** Interval range between two activity steps of a market, in clock ms (default 100–500). */
  activityStepMs?: { min: number; max: number };
  /** Starting cash of accounts opened for API keys (default $10,000). */
  defaultCash?: Micros;
  /** Let non-loopback clients use `/_sim/` (default false). */
  allowRemoteControl?: boolean;
  /** WebSocket ping interval in clock ms (default 10,000, as Kalshi). */
  pingIntervalMs?: number;
  /**
   * Finished history kept for queries (default SIMULATOR_HISTORY: per account the newest 10,000
   * finished orders, fills and settlements, per market the newest 10,000 trades, none older than
   * 1 hour of simulator time). Resting orders are always kept. Synthetic participants keep less.
   */
  history?: Partial<HistoryRetention>;
  /**
   * Kalshi's per-account token buckets at this usage tier (kalshi-api.md §4.2): an empty bucket
   * answers 429. Default 'off' (no limit, `/account/limits` reports an unlimited tier): scripted
   * sessions on a virtual clock send bursts in no simulated time.
   */
  rateLimitTier?: SimRateTier;
}

/** The simulator's default history window (see StartSimulatorOptions.history). */
export const SIMULATOR_HISTORY: HistoryRetention = { maxCount: 10_000, maxAgeMs: 3_600_000 };

export interface RunningSimulator {
  /** e.g. http://127.0.0.1:8100/trade-api/v2 */
  restUrl: string;
  /** e.g. ws://127.0.0.1:8100/trade-api/ws/v2 */
  wsUrl: string;
  /** e.g. http://127.0.0.1:8100/_sim */
  controlUrl: string;
  host: string;
  port: number;
  clock: Clock;
  exchange: Exchange;
  faults: SimFaults;
  markets: MarketSpec[];
  activity: SyntheticActivity | null;
  /** The recorded books being replayed (replay mode), else null. */
  replay: RecordedReplay | null;
  /** Registers an API key and opens its account; returns the user id. */
  registerKey(keyId: string, publicKeyPem: string, userId?: string): string;
  /** Stops timers, closes every socket and the server. Idempotent. */
  close(): Promise<void>;
}

/** The longest delay node's setTimeout honours (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

export class SimulatorConfigError extends Error {
  override readonly name = 'SimulatorConfigError';
}

function resolveMarkets(markets: number | MarketSpec[] | undefined, seed: number): MarketSpec[] {
  if (markets === undefined || typeof markets === 'number') return generateMarkets(markets ?? 10, seed);
  const seen = new Set<string>();
  return markets.map((spec, i) => {
    const parsed = marketSpecSchema.safeParse(spec);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SimulatorConfigError(`markets[${i}]${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`);
    }
    if (seen.has(spec.ticker)) throw new SimulatorConfigError(`markets[${i}]: duplicate ticker ${spec.ticker}`);
    seen.add(spec.ticker);
    return parsed.data as MarketSpec;
  });
}

/** Everything a simulator is made of, before it is reachable (over a port or in-process). */
export interface AssembledSimulator {
  clock: Clock;
  exchange: Exchange;
  faults: SimFaults;
  specs: MarketSpec[];
  activity: SyntheticActivity | null;
  replay: RecordedReplay | null;
  registerKey(keyId: string, publicKeyPem: string, userId?: string): string;
  server: ReturnType<typeof createSimHttpServer>['server'];
  webSockets: ReturnType<typeof createSimHttpServer>['webSockets'];
  app: ReturnType<typeof createSimHttpServer>['app'];
  /** Starts the market-close timer and the synthetic activity. */
  begin(): void;
  /**
   * Stops activity and timers, closes the WebSockets, runs `beforeDispose` (the transport's own
   * teardown), then releases the exchange. Does not close the http server.
   */
  shutdown(beforeDispose?: () => Promise<void>): Promise<void>;
}

/** Builds the exchange, markets, keys, faults, activity and Trade API shared by both transports. */
export function assembleSimulator(opts: StartSimulatorOptions = {}): AssembledSimulator {
  const clock = opts.clock ?? systemClock;
  const seed = opts.seed ?? 1;
  const specs = resolveMarkets(opts.markets, seed);

  const exchange = new Exchange({
    clock,
    seed,
    history: { ...SIMULATOR_HISTORY, ...opts.history },
    ...(opts.defaultCash !== undefined ? { defaultCash: opts.defaultCash } : {}),
  });
  const figures = new TradingFigures();
  // registered first so the figures are current when the WebSocket server renders a frame
  const stopFigures = exchange.subscribe((event) => figures.record(event));
  const candles = new MarketCandles(exchange);
  const stopCandles = exchange.subscribe((event) => candles.record(event));
  const start = clock.now();
  for (const spec of specs) exchange.addMarket(marketDefinitionFor(spec, start));

  const keys = new ApiKeyRegistry(clock);
  const faults = new SimFaults(clock, exchange);
  const registerKey = (keyId: string, publicKeyPem: string, userId?: string): string => {
    const entry = keys.register(keyId, publicKeyPem, userId);
    exchange.ensureAccount(entry.userId);
    return entry.userId;
  };
  for (const k of opts.keys ?? []) registerKey(k.keyId, k.publicKeyPem, k.userId);

  const replayed = new Set((opts.replay ?? []).map((m) => m.ticker));
  for (const t of replayed) if (!specs.some((s) => s.ticker === t)) throw new SimulatorConfigError(`replay market ${t} has no market spec`);
  const replay = replayed.size > 0 ? new RecordedReplay(exchange, clock, opts.replay!) : null;
  const synthetic = specs.filter((s) => !replayed.has(s.ticker));
  const activity =
    opts.activity === false || synthetic.length === 0
      ? null
      : new SyntheticActivity({ exchange, clock, seed, markets: synthetic, ...(opts.activityStepMs ? { stepMs: opts.activityStepMs } : {}) });

  const { server, webSockets, app } = createSimHttpServer({
    exchange,
    rateLimits: new SimRateLimits(clock, opts.rateLimitTier ?? 'off'),
    candles,
    clock,
    keys,
    faults,
    figures,
    registerKey,
    knownUsers: () => exchange.listUsers(),
    ...(opts.allowRemoteControl !== undefined ? { allowRemoteControl: opts.allowRemoteControl } : {}),
    allowedHosts: hostAllowList(opts.host ?? '127.0.0.1'),
    ...(opts.pingIntervalMs !== undefined ? { pingIntervalMs: opts.pingIntervalMs } : {}),
  });

  // markets close at their close time (settlement, when scheduled, is the activity's job)
  let closeTimer: TimerHandle | null = null;
  const armClosing = () => {
    const now = clock.now();
    let next = Infinity;
    for (const m of exchange.listMarkets()) {
      if (m.status !== 'active' && m.status !== 'initialized') continue;
      if (m.closeTimeMs <= now) exchange.closeMarket(m.ticker);
      else next = Math.min(next, m.closeTimeMs);
    }
    if (next === Infinity) return;
    // node caps timers at 2^31−1 ms (a longer one fires after 1 ms); wake up early and re-check
    closeTimer = clock.setTimeout(() => {
      closeTimer = null;
      armClosing();
    }, Math.min(next - now, MAX_TIMER_MS));
    (closeTimer as { unref?: () => void } | null)?.unref?.();
  };

  return {
    clock,
    exchange,
    faults,
    specs,
    activity,
    replay,
    registerKey,
    server,
    webSockets,
    app,
    begin() {
      armClosing();
      activity?.start();
      replay?.start();
    },
    async shutdown(beforeDispose) {
      activity?.stop();
      replay?.stop();
      if (closeTimer !== null) clock.clearTimeout(closeTimer);
      await webSockets.close();
      await beforeDispose?.();
      stopFigures();
      stopCandles();
      exchange.dispose();
    },
  };
}

export async function startSimulator(opts: StartSimulatorOptions = {}): Promise<RunningSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const sim = assembleSimulator(opts);
  const { clock, exchange, faults, specs, activity, replay, registerKey, server } = sim;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await sim.shutdown();
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    throw new SimulatorConfigError(
      code === 'EADDRINUSE' ? `port ${opts.port} on ${host} is already in use` : `cannot listen on ${host}:${opts.port ?? 0}${code ? ` (${code})` : ''}`,
    );
  }
  const port = (server.address() as AddressInfo).port;
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  sim.begin();

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= sim.shutdown(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    return closing;
  };

  return {
    restUrl: `http://${authority}${API_BASE_PATH}`,
    wsUrl: `ws://${authority}${WS_PATH}`,
    controlUrl: `http://${authority}/_sim`,
    host,
    port,
    clock,
    exchange,
    faults,
    markets: specs,
    activity,
    replay,
    registerKey,
    close,
  };
}
