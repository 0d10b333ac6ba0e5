/**
 * Recorded sessions without Kalshi: the simulator's markets in four distinct regimes (calm,
 * trending, jumpy, wide-spread; informed takers in the trending and jumpy ones), each recorded
 * through the real recording pipeline — the in-process simulator, signed REST and WebSocket
 * clients, `MarketRecorder`, the write queue, the store — on a virtual clock that the sessions' `VirtualDriver` advances as fast as the CPU
 * allows. The result is an ordinary recorded session (mode `record`, env `sim`, the regime and
 * seed in its metadata), so `features`, `train` and `eval` treat it exactly like a recording of
 * Kalshi.
 *
 * Wiring, so it lives with the sessions: it imports the simulator, the actors and the sessions'
 * driver. The RL pipeline itself (env, train, evaluate) never imports this module.
 */
import type { Pool } from 'pg';
import { VirtualClock } from '../core/clock.ts';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../adapters/kalshi/auth.ts';
import { endpointsFor } from '../adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import { KalshiWsClient } from '../adapters/kalshi/ws.ts';
import type { RecordingCounts } from '../adapters/store/recorder.ts';
import { MarketRecorder } from '../actors/recorder.ts';
import type { MarketSpec } from '../sim/activity/markets.ts';
import { startInProcessSimulator } from '../sim/in-process.ts';
import { Rng } from '../core/random.ts';
import { VirtualDriver } from './driver.ts';
import { ActivityTracker, trackFetch, trackPool, trackWebSockets } from './quiescence.ts';

export const REGIME_NAMES = ['calm', 'trending', 'jumpy', 'wide-spread'] as const;
export type RegimeName = (typeof REGIME_NAMES)[number];

export interface RegimeDefinition {
  name: RegimeName;
  description: string;
  /** The simulator's markets for one seed; `durationMs` places jumps inside the recording. */
  markets(seed: number, count: number, durationMs: number): MarketSpec[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function tickerFor(regime: RegimeName, seed: number, index: number): string {
  const code = regime === 'wide-spread' ? 'WIDE' : regime.toUpperCase();
  return `KXRG${code}-S${seed}-M${String.fromCharCode(65 + (index % 26))}${index >= 26 ? Math.floor(index / 26) : ''}`;
}

function rngFor(regime: RegimeName, seed: number): Rng {
  return new Rng((seed * 2_654_435_761 + REGIME_NAMES.indexOf(regime) * 97_531) | 0);
}

/** The four regimes. Volatility and drift are in log-odds per √hour / per hour (MarketSpec). */
export const REGIMES: Readonly<Record<RegimeName, RegimeDefinition>> = Object.freeze({
  calm: {
    name: 'calm',
    description: 'low volatility, tight 1–3¢ spreads, three makers, few takers',
    markets: (seed, count) => {
      const rng = rngFor('calm', seed);
      return Array.from({ length: count }, (_, i) => ({
        ticker: tickerFor('calm', seed, i),
        title: `calm regime market ${i + 1} (seed ${seed})`,
        fair: round2(0.3 + rng.next() * 0.4),
        volatility: round2(0.15 + rng.next() * 0.2),
        spread: { min: 100, max: 300 },
        makers: 3,
        takerRate: round2(0.2 + rng.next() * 0.3),
      }));
    },
  },
  trending: {
    name: 'trending',
    description: 'a steady drift of the fair value (up or down, whatever the starting price), moderate noise, 1–4¢ spreads, informed takers trading with the drift',
    markets: (seed, count) => {
      const rng = rngFor('trending', seed);
      return Array.from({ length: count }, (_, i) => {
        const up = rng.chance(0.5);
        return {
          ticker: tickerFor('trending', seed, i),
          title: `trending regime market ${i + 1} (seed ${seed})`,
          // the starting level is drawn apart from the direction: it must not tell where the drift goes
          fair: round2(0.3 + rng.next() * 0.4),
          volatility: round2(0.3 + rng.next() * 0.2),
          drift: round2((up ? 1 : -1) * (3 + rng.next() * 2)),
          spread: { min: 100, max: 400 },
          makers: 2,
          takerRate: round2(0.4 + rng.next() * 0.4),
          informed: { rate: round2(0.3 + rng.next() * 0.3), leadMs: 60_000 },
        };
      });
    },
  },
  jumpy: {
    name: 'jumpy',
    description: 'news-like jumps of the fair value every few minutes, busy takers, 1–5¢ spreads, informed takers trading ahead of the jumps',
    markets: (seed, count, durationMs) => {
      const rng = rngFor('jumpy', seed);
      return Array.from({ length: count }, (_, i) => {
        const jumps: Array<{ atMs: number; to: number }> = [];
        const every = Math.max(10_000, Math.round(durationMs / 5));
        for (let at = Math.round(every * (0.5 + rng.next())); at < durationMs; at += Math.round(every * (0.6 + rng.next() * 0.8))) {
          jumps.push({ atMs: at, to: round2(0.12 + rng.next() * 0.76) });
        }
        return {
          ticker: tickerFor('jumpy', seed, i),
          title: `jumpy regime market ${i + 1} (seed ${seed})`,
          fair: round2(0.3 + rng.next() * 0.4),
          volatility: round2(0.5 + rng.next() * 0.4),
          jumps,
          spread: { min: 100, max: 500 },
          makers: 2,
          takerRate: round2(0.8 + rng.next() * 0.7),
          informed: { rate: round2(0.8 + rng.next() * 0.6), leadMs: Math.round(15_000 + rng.next() * 15_000) },
        };
      });
    },
  },
  'wide-spread': {
    name: 'wide-spread',
    description: 'one maker quoting 8–25¢ wide, thin taker flow',
    markets: (seed, count) => {
      const rng = rngFor('wide-spread', seed);
      return Array.from({ length: count }, (_, i) => ({
        ticker: tickerFor('wide-spread', seed, i),
        title: `wide-spread regime market ${i + 1} (seed ${seed})`,
        fair: round2(0.25 + rng.next() * 0.5),
        volatility: round2(0.4 + rng.next() * 0.3),
        spread: { min: 800, max: 2_500 },
        makers: 1,
        takerRate: round2(0.1 + rng.next() * 0.2),
      }));
    },
  },
});

export function isRegimeName(name: string): name is RegimeName {
  return (REGIME_NAMES as readonly string[]).includes(name);
}

export interface RecordRegimeOptions {
  /** The store the session goes into (migrated). */
  pool: Pool;
  regime: RegimeName;
  seed: number;
  /** Virtual time recorded. */
  durationMs: number;
  /** Markets per session (default 3). */
  markets?: number;
  /**
   * Virtual start of the recording (default 2026-01-05 14:30 UTC, a US trading morning, for every
   * seed and regime: a start that moved with the seed let `time_of_day_norm` identify the seed).
   */
  startMs?: number;
  /** Called now and then with the virtual time recorded so far. */
  onProgress?: (elapsedMs: number, durationMs: number) => void;
  /** Stream events worth a line (reconnects, gaps). */
  onActivity?: (line: string) => void;
}

export interface RegimeRecording {
  sessionId: number;
  regime: RegimeName;
  seed: number;
  tickers: string[];
  counts: RecordingCounts;
  /** Virtual ms recorded. */
  simulatedMs: number;
  wallMs: number;
}

/** Where every regime recording starts on the virtual clock (a Monday, 09:30 in New York). */
export const REGIME_START_MS = Date.UTC(2026, 0, 5, 14, 30);

/** Virtual time the final flush and close may take. */
const STOP_LIMIT_MS = 120_000;
const KEY_ID = 'kalshiflow-regimes';

/**
 * Records one regime for one seed as a recorded session and returns its id. Deterministic in
 * content for a given seed (the simulator, the backoff jitter and the clock are seeded); the
 * session id depends on the database.
 */
export async function recordRegimeSession(options: RecordRegimeOptions): Promise<RegimeRecording> {
  if (!Number.isFinite(options.durationMs) || options.durationMs <= 0) throw new RangeError(`durationMs must be positive, got ${options.durationMs}`);
  const wallStart = performance.now();
  const count = options.markets ?? 3;
  const specs = REGIMES[options.regime].markets(options.seed, count, options.durationMs);
  const clock = new VirtualClock(options.startMs ?? REGIME_START_MS);
  const tracker = new ActivityTracker();
  const pair = generateKeyPair('ed25519');
  const sim = startInProcessSimulator({ clock, seed: options.seed, markets: specs, keys: [{ keyId: KEY_ID, publicKeyPem: pair.publicKeyPem }] });
  const driver = new VirtualDriver(clock, tracker, { progressSources: [() => sim.transfers] });
  const jitter = new Rng(options.seed ^ 0x7e57);
  const credentials = createCredentials(KEY_ID, loadPrivateKey({ pem: pair.privateKeyPem }));
  const endpoints = endpointsFor('sim', { restBaseUrl: sim.restUrl, wsUrl: sim.wsUrl });
  const fetchT = trackFetch(sim.fetch, tracker, clock, 10_000);
  const sockets = trackWebSockets(sim.WebSocketImpl, tracker);
  const pool = trackPool(options.pool, tracker).pool;
  const rest = new KalshiRestClient({ endpoints, credentials, clock, fetch: fetchT.fetch, random: () => jitter.next() });
  const ws = new KalshiWsClient({
    url: endpoints.wsUrl,
    credentials,
    clock,
    useYesPrice: false,
    WebSocketImpl: sockets.WebSocketImpl,
    random: () => jitter.next(),
  });
  let recorder: MarketRecorder | null = null;
  try {
    recorder = await tracker.track(
      MarketRecorder.start({
        ws,
        rest,
        pool,
        env: 'sim',
        selection: { mode: 'config', tickers: specs.map((s) => s.ticker) },
        clock,
        sourceUrl: endpoints.wsUrl,
        metadata: {
          command: 'rl regimes',
          regime: options.regime,
          regime_description: REGIMES[options.regime].description,
          seed: options.seed,
          duration_ms: options.durationMs,
          clock: 'virtual',
          markets: specs,
        },
        ...(options.onActivity ? { onActivity: options.onActivity } : {}),
      }),
    );
    const startMs = clock.now();
    let lastReport = 0;
    await driver.runUntil(startMs + options.durationMs, (now) => {
      if (!options.onProgress) return;
      const wall = performance.now();
      if (wall - lastReport < 250) return;
      lastReport = wall;
      options.onProgress(now - startMs, options.durationMs);
    });
    options.onProgress?.(options.durationMs, options.durationMs);
    const stopping = recorder.stop('closed');
    await driver.runWhile(stopping, STOP_LIMIT_MS);
    const summary = await stopping;
    return {
      sessionId: summary.sessionId,
      regime: options.regime,
      seed: options.seed,
      tickers: specs.map((s) => s.ticker),
      counts: summary.counts,
      simulatedMs: clock.now() - startMs,
      wallMs: performance.now() - wallStart,
    };
  } catch (error) {
    if (recorder) {
      const stopping = recorder.stop('error', error instanceof Error ? error.message : String(error));
      await driver.runWhile(stopping, STOP_LIMIT_MS).catch(() => false);
      await stopping.catch(() => undefined);
    }
    throw error;
  } finally {
    await ws.stop().catch(() => undefined);
    await sim.close().catch(() => undefined);
  }
}
