/**
 * How fast a scripted session runs on the virtual clock, on the full trading path (simulator →
 * in-process REST/WebSocket with signed requests → client parsing and seq checks → market actors
 * → trader → risk → journal → venue → fills → positions). Issue 12's figures:
 *
 * - 1-hour, 10-market session, `hold` (goal ≤ 10 s wall) and `spread-quoter` (goal ≤ 60 s wall);
 * - orders per wall second through the full order path (goal ≥ 2,000), from the spread-quoter run;
 * - 100 markets, `hold`: simulated seconds per wall second (goal ≥ 100× real time);
 * - each on the embedded PGlite and, when BENCH_DATABASE_URL or TEST_DATABASE_URL names a
 *   PostgreSQL server, on a fresh database there (dropped after).
 *
 * By default the 10-market cases run 15 (hold) and 5 (spread-quoter) virtual minutes and the hour
 * is extrapolated from the run phase; `--hour` runs the whole hour. `--cases hold,spread,hold100`
 * and `--db pglite,postgres` pick a subset. Each figure is one runSession on one store (opened
 * once, timed separately as store_open_ms): `run_phase` times the clock-driven part only,
 * `end_to_end` includes the trader's start, the drain and the checks; `cpu_s` is the process's CPU
 * time over the run phase (wall figures swing with the host's load, CPU time much less).
 * Run: npm run bench -- session-speed [--hour] [--cases …] [--db …]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { report } from './harness.ts';
import { runSession } from '../src/sessions/runner.ts';
import type { SessionProgress } from '../src/sessions/runner.ts';
import { parseScenario } from '../src/sessions/scenario.ts';
import { SessionStore } from '../src/sessions/store.ts';

const BENCH = 'session-speed';
const { values } = parseArgs({
  options: {
    hour: { type: 'boolean', default: false },
    cases: { type: 'string', default: 'hold,spread,hold100' },
    db: { type: 'string' },
  },
});

interface Case {
  key: string;
  label: string;
  markets: number;
  strategy: string;
  duration: string;
  /** Goal of the 1-hour wall time (10-market cases). */
  hourGoalS?: number;
}

const CASES: Case[] = [
  { key: 'hold', label: '10 markets, hold (market data only)', markets: 10, strategy: 'hold', duration: values.hour ? '1h' : '15m', hourGoalS: 10 },
  { key: 'spread', label: '10 markets, spread-quoter', markets: 10, strategy: 'spread-quoter', duration: values.hour ? '1h' : '5m', hourGoalS: 60 },
  { key: 'hold100', label: '100 markets, hold (market data only)', markets: 100, strategy: 'hold', duration: '3m' },
].filter((c) => values.cases.split(',').includes(c.key));

const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const databases = (values.db ?? (serverUrl ? 'pglite,postgres' : 'pglite')).split(',');

function scenarioText(c: Case): string {
  return `
name: bench-${c.markets}-${c.strategy}
seed: 12345
duration: ${c.duration}
drain: 0s
exchange:
  markets: [{ count: ${c.markets} }]
trader:
  strategy: ${c.strategy}
expect:
  no_duplicate_orders: true
`;
}

/** A fresh database on the server (the session store leaves a schema per run behind). */
async function serverDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `kf_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  return {
    url: target.toString(),
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

const round = (x: number) => Math.round(x * 10) / 10;
const dir = mkdtempSync(join(tmpdir(), 'kf-bench-sessions-'));
try {
  for (const database of databases) {
    if (database === 'postgres' && !serverUrl) throw new Error('--db postgres needs BENCH_DATABASE_URL or TEST_DATABASE_URL');
    const server = database === 'postgres' ? await serverDatabase(serverUrl as string) : null;
    const openedAt = performance.now();
    const store = await SessionStore.open(server ? { databaseUrl: server.url } : {});
    report({ bench: BENCH, metric: 'store_open_ms', value: Math.round(performance.now() - openedAt), unit: 'ms', database });
    try {
      for (const c of CASES) {
        globalThis.gc?.();
        const loaded = parseScenario(scenarioText(c), 'bench.yaml');
        let runningAt = 0;
        let checkingAt = 0;
        let cpuAtRunning = process.cpuUsage();
        let cpuRun = { user: 0, system: 0 };
        const onProgress = (p: SessionProgress) => {
          if (p.phase === 'running' && runningAt === 0) {
            runningAt = performance.now();
            cpuAtRunning = process.cpuUsage();
          }
          if (p.phase === 'checking' && checkingAt === 0) {
            checkingAt = performance.now();
            cpuRun = process.cpuUsage(cpuAtRunning);
          }
        };
        const started = performance.now();
        const outcome = await runSession(loaded, { store, dataDir: dir, onProgress });
        const wallMs = performance.now() - started;
        const simSeconds = outcome.report.run.simulated_ms / 1000;
        const runPhaseMs = checkingAt > runningAt && runningAt > 0 ? checkingAt - runningAt : wallMs;
        const counters = outcome.report.trader.counters;
        const bookEvents = (counters.deltas_applied ?? 0) + (counters.snapshots_applied ?? 0);
        const common = {
          case: c.label,
          database,
          markets: c.markets,
          strategy: c.strategy,
          simulated_s: simSeconds,
          cpu_s: round((cpuRun.user + cpuRun.system) / 1e6),
          status: outcome.status,
        };
        const speed = simSeconds / (runPhaseMs / 1000);
        report({ bench: BENCH, metric: 'sim_seconds_per_wall_second', value: round(speed), unit: 'sim s / wall s', phase: 'run_phase', ...common, ...(c.markets === 100 ? { goal: '>= 100x real time' } : {}) });
        report({ bench: BENCH, metric: 'sim_seconds_per_wall_second', value: round(simSeconds / (wallMs / 1000)), unit: 'sim s / wall s', phase: 'end_to_end', ...common });
        if (c.hourGoalS !== undefined) {
          report({
            bench: BENCH,
            metric: 'one_hour_session_wall_seconds',
            value: round(3600 / speed),
            unit: 's',
            goal: `<= ${c.hourGoalS} s for a 1-hour, 10-market session`,
            measured: simSeconds >= 3600 ? 'whole hour' : `extrapolated from ${c.duration}`,
            ...common,
          });
        }
        report({ bench: BENCH, metric: 'book_events_per_wall_second', value: Math.round(bookEvents / (runPhaseMs / 1000)), unit: 'events/s', book_events: bookEvents, ...common });
        report({ bench: BENCH, metric: 'ws_frames_per_wall_second', value: Math.round((counters.ws_frames_received ?? 0) / (runPhaseMs / 1000)), unit: 'frames/s', ...common });
        if (c.strategy !== 'hold') {
          const orders = outcome.report.orders.length;
          report({
            bench: BENCH,
            metric: 'orders_per_wall_second',
            value: round(orders / (runPhaseMs / 1000)),
            unit: 'orders/s',
            goal: '>= 2000 orders/s through the full order path',
            orders,
            fills: outcome.report.fills.length,
            cpu_ms_per_order: orders > 0 ? round(((cpuRun.user + cpuRun.system) / 1000) / orders) : null,
            ...common,
          });
        }
      }
    } finally {
      await store.close();
      await server?.drop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
