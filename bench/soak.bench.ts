/**
 * Soak: does a long run keep its memory flat? One scripted session on the virtual clock — the
 * in-process simulator with its synthetic activity, the whole trader (REST + WS clients,
 * coordinator, market actors, the spread-quoter, order actors, journal) and its store — run for
 * hours of virtual time, with the process's RSS and JS heap (after a full GC) sampled every few
 * virtual minutes. After the warm-up the samples are fitted with a least-squares line; the
 * slopes in MB per virtual hour are the figures (goal: flat, i.e. close to 0).
 *
 * The warm-up must cover the simulator's history window (1 h by default): until then its lists
 * are still filling up to their bound, by design. Flags (all optional): --markets 50, --strategy
 * spread-quoter, --duration 2h (≥ 2 h is the soak; shorter runs are for trying it out), --warmup
 * 65m, --sample 5m, --history-age / --history-count (the simulator's window, default its own),
 * --db postgres://… (default: an embedded PGlite in a temporary folder on disk, so the journal's
 * rows do not sit in this process's memory), --heap-snapshots 20m,50m (write a .heapsnapshot at
 * those virtual times into --snapshot-dir, default the current folder; diff two with
 * scripts/heap-diff.ts; writing one raises RSS for good, so read RSS slopes from runs without).
 * Short runs for finding a leak: --markets 10 --history-age 3m --warmup 6m --sample 2m.
 * SIGINT/SIGTERM stops early and still prints the
 * figures of the samples so far. Run: npm run bench -- soak [--duration 3h ...]. Prints one JSON
 * line per sample and per figure. On a quiet 2-core machine 50 markets run at ~5–7× real time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { parseArgs } from 'node:util';
import { runSession } from '../src/sessions/runner.ts';
import type { SessionProgress } from '../src/sessions/runner.ts';
import { formatDuration, parseDuration } from '../src/core/duration.ts';
import { parseScenario } from '../src/sessions/scenario.ts';
import { SessionStore } from '../src/sessions/store.ts';
import { report } from './harness.ts';

const BENCH = 'soak';
const MB = 1024 * 1024;

const { values: flags } = parseArgs({
  options: {
    markets: { type: 'string', default: '50' },
    strategy: { type: 'string', default: 'spread-quoter' },
    duration: { type: 'string', default: '2h' },
    warmup: { type: 'string', default: '65m' },
    sample: { type: 'string', default: '5m' },
    'history-age': { type: 'string' },
    'history-count': { type: 'string' },
    db: { type: 'string' },
    'heap-snapshots': { type: 'string' },
    'snapshot-dir': { type: 'string', default: '.' },
  },
});
const markets = Number(flags.markets);
if (!Number.isInteger(markets) || markets <= 0) throw new Error(`--markets must be a positive integer, got ${flags.markets}`);
const durationMs = parseDuration(flags.duration);
const warmupMs = parseDuration(flags.warmup);
const sampleMs = parseDuration(flags.sample);
if (warmupMs >= durationMs) throw new Error('--warmup must be shorter than --duration');
const simulatorHistory = {
  ...(flags['history-age'] !== undefined ? { maxAgeMs: parseDuration(flags['history-age']) } : {}),
  ...(flags['history-count'] !== undefined ? { maxCount: Number(flags['history-count']) } : {}),
};

/** Virtual times at which to write a .heapsnapshot (for diffing with scripts/heap-diff.ts). */
const snapshotAtMs = (flags['heap-snapshots'] ?? '')
  .split(',')
  .filter((t) => t.trim() !== '')
  .map((t) => parseDuration(t.trim()))
  .sort((a, b) => a - b);

const gc = () => (globalThis as { gc?: () => void }).gc?.();
if (!(globalThis as { gc?: () => void }).gc) throw new Error('run with node --expose-gc (npm run bench does)');
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

interface Sample {
  virtualHours: number;
  heapMb: number;
  rssMb: number;
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const scenario = `
name: soak-${markets}-${flags.strategy}
seed: 2026
duration: ${formatDuration(durationMs)}
drain: 0s
exchange:
  markets: [{ count: ${markets} }]
trader:
  strategy: ${flags.strategy}
expect:
  no_duplicate_orders: true
`;

const dir = mkdtempSync(join(tmpdir(), 'kf-bench-soak-'));
const store = await SessionStore.open(flags.db ? { databaseUrl: flags.db } : { dataDir: join(dir, 'db') });
const samples: Sample[] = [];
const wallStart = performance.now();
let nextSampleMs = 0;
let last: SessionProgress | null = null as SessionProgress | null;
const onProgress = (p: SessionProgress) => {
  last = p;
  if (p.phase === 'running' && snapshotAtMs.length > 0 && p.elapsedMs >= snapshotAtMs[0]!) {
    snapshotAtMs.shift();
    gc();
    const file = writeHeapSnapshot(join(flags['snapshot-dir']!, `soak-${Math.round(p.elapsedMs / 60_000)}min.heapsnapshot`));
    report({ bench: BENCH, metric: 'heap_snapshot', value: round(p.elapsedMs / 60_000), unit: 'virtual min', file });
  }
  if (p.phase !== 'running' || p.elapsedMs < nextSampleMs) return;
  nextSampleMs = p.elapsedMs + sampleMs;
  gc();
  const m = process.memoryUsage();
  const sample: Sample = { virtualHours: p.elapsedMs / 3_600_000, heapMb: m.heapUsed / MB, rssMb: m.rss / MB };
  samples.push(sample);
  report({
    bench: BENCH,
    metric: 'sample',
    value: round(sample.heapMb),
    unit: 'MB heap used',
    virtual_min: round(p.elapsedMs / 60_000),
    rss_mb: round(sample.rssMb),
    external_mb: round(m.external / MB),
    wall_s: round((performance.now() - wallStart) / 1000),
    exchange_orders: p.orders,
    exchange_fills: p.fills,
  });
};

function printFigures(extra: Record<string, unknown>): void {
  const wallS = (performance.now() - wallStart) / 1000;
  const after = samples.filter((s) => s.virtualHours * 3_600_000 >= warmupMs);
  const virtualH = samples.length ? samples.at(-1)!.virtualHours : 0;
  const common = {
    markets,
    strategy: flags.strategy,
    virtual_h: round(virtualH, 2),
    planned_virtual_h: round(durationMs / 3_600_000, 2),
    warmup_min: warmupMs / 60_000,
    history: Object.keys(simulatorHistory).length ? simulatorHistory : 'simulator default',
    samples_after_warmup: after.length,
    wall_s: round(wallS),
    exchange_orders_kept: last?.orders ?? null,
    exchange_fills_kept: last?.fills ?? null,
    ...extra,
  };
  report({
    bench: BENCH,
    metric: 'heap_slope_after_warmup',
    value: round(slope(after.map((s) => [s.virtualHours, s.heapMb]))),
    unit: 'MB / virtual h',
    goal: 'flat (≈ 0)',
    heap_first_mb: round(after[0]?.heapMb ?? Number.NaN),
    heap_last_mb: round(after.at(-1)?.heapMb ?? Number.NaN),
    ...common,
  });
  report({
    bench: BENCH,
    metric: 'rss_slope_after_warmup',
    value: round(slope(after.map((s) => [s.virtualHours, s.rssMb]))),
    unit: 'MB / virtual h',
    goal: 'flat (≈ 0)',
    rss_first_mb: round(after[0]?.rssMb ?? Number.NaN),
    rss_last_mb: round(after.at(-1)?.rssMb ?? Number.NaN),
    ...common,
  });
  report({ bench: BENCH, metric: 'virtual_seconds_per_wall_second', value: round((virtualH * 3600) / wallS), unit: 'sim s / wall s', ...common });
}

const stopEarly = (signal: string) => {
  printFigures({ status: `stopped early (${signal})` });
  rmSync(dir, { recursive: true, force: true });
  process.exit(130);
};
process.once('SIGINT', () => stopEarly('SIGINT'));
process.once('SIGTERM', () => stopEarly('SIGTERM'));

try {
  const outcome = await runSession(parseScenario(scenario, 'soak.yaml'), {
    store,
    dataDir: dir,
    onProgress,
    ...(Object.keys(simulatorHistory).length ? { simulatorHistory } : {}),
  });
  printFigures({ status: outcome.status, orders: outcome.report.orders.length, fills: outcome.report.fills.length });
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
