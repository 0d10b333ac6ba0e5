/**
 * Order-book deltas through the assembled trader (goal ≥ 100,000 deltas/s on one core): raw
 * Kalshi WS frame text → KalshiWsClient (parse, validate, per-sid seq check) → TradingSystem
 * routing → MarketRegistry (state check) → OrderBook → book listeners → the trader actor told
 * once per market per macrotask (BOOK_UPDATED, then its throttle). The system is the real one,
 * built by createRuntime on the in-process simulator with an in-memory database, brought to
 * `ready` with every market live; the measured frames enter the client's frame path directly, in
 * batches as a socket read delivers them, with a macrotask between batches so the coalesced
 * trader notifications run inside the measurement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, openDatabase } from '../src/adapters/store/index.ts';
import { createRuntime } from '../src/app/runtime.ts';
import { startInProcessSimulator } from '../src/sim/in-process.ts';
import type { MarketSpec } from '../src/sim/activity/markets.ts';
import { report } from './harness.ts';

const BENCH = 'system-deltas';
const MARKETS = 100;
const BATCH = 250;
const DELTAS = 400_000;
const WARMUP = 50_000;

const specs: MarketSpec[] = Array.from({ length: MARKETS }, (_, i) => ({ ticker: `KXSYS-26JAN01-T${i}`, fair: 0.5, volatility: 0 }));
const tickers = specs.map((s) => s.ticker);

const sim = startInProcessSimulator({ markets: specs, activity: false, seed: 3, pingIntervalMs: 10_000 });
const db = await openDatabase({ dataDir: 'memory://', poolSize: 1 });
await migrate(db.pool);
const dataDir = mkdtempSync(join(tmpdir(), 'kf-bench-'));
const runtime = await createRuntime({
  environment: 'sim',
  selection: { mode: 'config', tickers },
  strategy: 'hold',
  dataDir,
  simulator: sim,
  fetch: sim.fetch,
  WebSocketImpl: sim.WebSocketImpl,
  database: db,
  coordinator: { syncIntervalMs: 3_600_000 },
});

/** The parts of the client's frame path the bench drives (private: a socket's data lands here). */
interface FramePath {
  onText(text: string): void;
  seqBySid: Map<number, { lastSeq: number | undefined }>;
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

try {
  const { system } = runtime;
  await system.waitForState('ready', 60_000);
  for (let i = 0; i < 500 && system.registry.stateCounts().live !== MARKETS; i++) await new Promise((r) => setTimeout(r, 20));
  if (system.registry.stateCounts().live !== MARKETS) throw new Error('not every market went live');

  const path = runtime.ws as unknown as FramePath;
  const sid = system.registry.actorSnapshot(tickers[0])!.context.sid!;
  if (tickers.some((t) => system.registry.actorSnapshot(t)!.context.sid !== sid)) throw new Error('markets on several sids');
  let seq = path.seqBySid.get(sid)!.lastSeq ?? 0;

  // Each market is visited in turn; two consecutive visits add then remove the same size at the
  // same level, so every book stays valid however long the run. Frame text is built per delta
  // with a template (cheap next to parsing), as it would arrive.
  let k = 0;
  const frame = (): string => {
    const ticker = tickers[k % MARKETS];
    const visit = Math.floor(k / MARKETS);
    const cents = 30 + ((visit >> 1) % 40);
    const delta = visit % 2 === 0 ? '5.00' : '-5.00';
    const side = (visit >> 1) % 3 === 0 ? 'no' : 'yes';
    k++;
    return `{"type":"orderbook_delta","sid":${sid},"seq":${++seq},"msg":{"market_ticker":"${ticker}","market_id":"bench","price_dollars":"0.${cents}00","delta_fp":"${delta}","side":"${side}","ts_ms":${1_767_225_600_000 + k}}}`;
  };

  const trader = () => system.trader!.getSnapshot().context.counters;
  const notifications = () => trader().decisionCycles + trader().throttledUpdates;
  const run = async (count: number): Promise<{ wallMs: number; cpuMs: number; applied: number; notified: number }> => {
    const applied0 = system.registry.stats().deltasApplied;
    const notified0 = notifications();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let done = 0; done < count; done += BATCH) {
      for (let i = 0; i < BATCH; i++) path.onText(frame());
      await macrotask();
    }
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, applied: system.registry.stats().deltasApplied - applied0, notified: notifications() - notified0 };
  };

  await run(WARMUP);
  (globalThis as { gc?: () => void }).gc?.();
  const gapsBefore = system.registry.stats().gaps;
  const r = await run(DELTAS);
  if (r.applied !== DELTAS) throw new Error(`applied ${r.applied} of ${DELTAS} deltas`);
  if (system.registry.stats().gaps !== gapsBefore || runtime.ws.stats.gaps !== 0) throw new Error('sequence gaps during the run');
  if (r.notified === 0) throw new Error('the trader was never notified');

  report({ bench: BENCH, metric: 'deltas_per_second_frame_to_trader', value: Math.round((DELTAS * 1000) / r.wallMs), unit: 'deltas/s', goal: '>= 100000', markets: MARKETS, batch: BATCH });
  report({ bench: BENCH, metric: 'deltas_per_cpu_second_frame_to_trader', value: Math.round((DELTAS * 1000) / r.cpuMs), unit: 'deltas/cpu-s', goal: '>= 100000', markets: MARKETS, batch: BATCH });
  report({ bench: BENCH, metric: 'trader_book_notifications', value: r.notified, unit: 'events', deltas: DELTAS, note: 'one BOOK_UPDATED per market per macrotask' });
  report({ bench: BENCH, metric: 'mean_batch_latency', value: Math.round((r.wallMs / (DELTAS / BATCH)) * 1000) / 1000, unit: 'ms', batch: BATCH });
} finally {
  await runtime.close();
  await sim.close();
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
}
