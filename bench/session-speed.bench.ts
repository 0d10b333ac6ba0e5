/**
 * How fast a scripted session runs on the virtual clock: simulated seconds per wall second for
 * 10 markets at the default synthetic activity (market data only, and with the spread quoter
 * trading) and for 100 markets, the extrapolated wall time of a 1-hour 10-market session (goal
 * ≤ 10 s), and order-book events per wall second through the whole system (simulator → in-process
 * WebSocket → client parsing and seq checks → market actors → trader).
 *
 * Each figure is one full runSession on one embedded database (opened once, not timed):
 * `run_phase` times the clock-driven part only, `end_to_end` includes the trader's start, the
 * drain and the checks. Run: node --expose-gc --import tsx bench/session-speed.bench.ts
 */
import { report } from './harness.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSession } from '../src/sessions/runner.ts';
import type { SessionProgress } from '../src/sessions/runner.ts';
import { parseScenario } from '../src/sessions/scenario.ts';
import { SessionStore } from '../src/sessions/store.ts';

const BENCH = 'session-speed';

interface Case {
  label: string;
  markets: number;
  strategy: string;
  duration: string;
}

const CASES: Case[] = [
  { label: '10 markets, hold (market data only)', markets: 10, strategy: 'hold', duration: '15m' },
  { label: '10 markets, spread-quoter', markets: 10, strategy: 'spread-quoter', duration: '5m' },
  { label: '100 markets, hold (market data only)', markets: 100, strategy: 'hold', duration: '3m' },
];

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

const dir = mkdtempSync(join(tmpdir(), 'kf-bench-sessions-'));
const store = await SessionStore.open();
try {
  for (const c of CASES) {
    globalThis.gc?.();
    const loaded = parseScenario(scenarioText(c), 'bench.yaml');
    let runningAt = 0;
    let checkingAt = 0;
    const onProgress = (p: SessionProgress) => {
      if (p.phase === 'running' && runningAt === 0) runningAt = performance.now();
      if (p.phase === 'checking' && checkingAt === 0) checkingAt = performance.now();
    };
    const started = performance.now();
    const outcome = await runSession(loaded, { store, dataDir: dir, onProgress });
    const wallMs = performance.now() - started;
    const simSeconds = outcome.report.run.simulated_ms / 1000;
    const runPhaseMs = checkingAt > runningAt && runningAt > 0 ? checkingAt - runningAt : wallMs;
    const counters = outcome.report.trader.counters;
    const bookEvents = (counters.deltas_applied ?? 0) + (counters.snapshots_applied ?? 0);
    const common = { case: c.label, markets: c.markets, strategy: c.strategy, simulated_s: simSeconds, status: outcome.status };
    report({ bench: BENCH, metric: 'sim_seconds_per_wall_second', value: round(simSeconds / (runPhaseMs / 1000)), unit: 'sim s / wall s', phase: 'run_phase', ...common });
    report({ bench: BENCH, metric: 'sim_seconds_per_wall_second', value: round(simSeconds / (wallMs / 1000)), unit: 'sim s / wall s', phase: 'end_to_end', ...common });
    if (c.markets === 10) {
      report({
        bench: BENCH,
        metric: 'one_hour_session_wall_seconds',
        value: round(3600 / (simSeconds / (runPhaseMs / 1000))),
        unit: 's',
        goal: '<= 10 s for a 1-hour, 10-market session',
        ...common,
      });
    }
    report({ bench: BENCH, metric: 'book_events_per_wall_second', value: Math.round(bookEvents / (runPhaseMs / 1000)), unit: 'events/s', book_events: bookEvents, ...common });
    report({
      bench: BENCH,
      metric: 'ws_frames_per_wall_second',
      value: Math.round((counters.ws_frames_received ?? 0) / (runPhaseMs / 1000)),
      unit: 'frames/s',
      ...common,
    });
    if (c.strategy !== 'hold') {
      report({ bench: BENCH, metric: 'orders_per_wall_second', value: round(outcome.report.orders.length / (runPhaseMs / 1000)), unit: 'orders/s', orders: outcome.report.orders.length, fills: outcome.report.fills.length, ...common });
    }
  }
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
