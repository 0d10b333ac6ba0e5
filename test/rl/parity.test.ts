/**
 * Parity of the two ways to replay a recording: the same ONNX policy on the same recorded session
 * through `kalshiflow eval` (the RL environment's decision ticks and replay venue) and through
 * `kalshiflow session run` with `exchange.replay` (the full trader — WebSocket book, ONNX strategy,
 * risk checks, journal, REST orders — against the simulator's replay mode) gives the same fills
 * (identical: time, side, price, count, taker) and the same P&L (identical; the issue asks ≤ 5 %).
 *
 * Parameters set to match: the eval runs with `--order-latency 0ms`, because a session on the
 * virtual clock delivers a REST order in zero virtual time (the default 1.2 ms models the wall-clock
 * round trip, which the virtual clock does not have); the session's trader has the environment's
 * budget ($100 cash, 100 contracts) and limits that do not bind, and ends with the recording
 * (no drain, which would keep trading on the last book; `duration` = the recording's span + 249 ms:
 * the environment's last decision may be the throttle's trailing one up to 249 ms after the last
 * event, and it decides nothing once every event is applied, while the live trader would go on
 * re-deciding on its own fills every 250 ms).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecordedSession, migrate, openDatabase } from '../../src/adapters/store/index.ts';
import { runEvalCommand } from '../../src/cli/eval.command.ts';
import { FEATURE_COUNT } from '../../src/core/features.ts';
import { actionCount } from '../../src/core/features/actions.ts';
import { formatCount, formatPrice } from '../../src/core/money.ts';
import type { CommandIo } from '../../src/cli/rl-support.ts';
import { exportPolicyOnnx } from '../../src/rl/export.ts';
import { ActorCritic } from '../../src/rl/ppo/policy.ts';
import { fromRecordedTimeline } from '../../src/rl/timeline.ts';
import { recordRegimeSession } from '../../src/sessions/regimes.ts';
import { runSession } from '../../src/sessions/runner.ts';
import { parseScenario } from '../../src/sessions/scenario.ts';

const SPACE = { sizes: [100, 500], styles: ['take' as const] };
let dir: string;
let dbDir: string;
let modelPath: string;
let sessionId: number;
let firstTs: number;
let lastTs: number;

/**
 * Fills of one order at one price, summed: the exchange reports one fill per resting maker order
 * it traded with (the recorded level is several replica orders), the venue one per level.
 */
function merged(fills: Array<{ key: string; count: number }>): string[] {
  const out: Array<{ key: string; count: number }> = [];
  for (const f of fills) {
    const last = out[out.length - 1];
    if (last && last.key === f.key) last.count += f.count;
    else out.push({ ...f });
  }
  return out.map((f) => `${f.key} ${formatCount(f.count)}`);
}

function io(): CommandIo & { lines: string[] } {
  const lines: string[] = [];
  return { out: (l) => lines.push(l), err: (l) => lines.push(l), env: { KALSHIFLOW_DATA_DIR: dir }, lines };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kf-parity-'));
  dbDir = join(dir, 'db');
  const db = await openDatabase({ dataDir: dbDir, poolSize: 1 });
  try {
    await migrate(db.pool);
    const recording = await recordRegimeSession({ pool: db.pool, regime: 'jumpy', seed: 5, durationMs: 60_000, markets: 1 });
    sessionId = recording.sessionId;
    const loaded = await loadRecordedSession(db.pool, sessionId);
    const events = fromRecordedTimeline(loaded.markets[0]).events;
    firstTs = events[0].tsMs;
    lastTs = events[events.length - 1].tsMs;
  } finally {
    await db.close();
  }
  // a small random network: its actions depend on the observation, so both paths must see the same one
  const policy = ActorCritic.create({ observationSize: FEATURE_COUNT, actionCount: actionCount(SPACE), hidden: [8] }, 11);
  modelPath = join(dir, 'parity.onnx');
  await exportPolicyOnnx(policy, modelPath, { actionSpace: SPACE, modelVersion: 'parity' });
}, 90_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('replay parity: kalshiflow eval vs kalshiflow session run', () => {
  it(
    'gives the same fills and the same P&L',
    async () => {
      const evalOut = join(dir, 'eval');
      const c = io();
      const code = await runEvalCommand(['--model', modelPath, '--sessions', String(sessionId), '--out', evalOut, '--db', dbDir, '--order-latency', '0ms'], c);
      expect(code, c.lines.join('\n')).toBe(0);
      const report = JSON.parse(readFileSync(join(evalOut, 'report.json'), 'utf8'));
      const episode = report.policies.find((p: { name: string }) => p.name === 'policy').episodes[0];
      const evalFills = merged(
        (episode.executions as Array<{ tsMs: number; side: string; price: number; count: number; taker: boolean }>).map((e) => ({
          key: [e.tsMs - firstTs, e.side, formatPrice(e.price), e.taker].join(' '),
          count: e.count,
        })),
      );
      expect(evalFills.length).toBeGreaterThan(5);

      const scenario = parseScenario(
        `
name: replay-parity
seed: 1
start: ${new Date(firstTs).toISOString()}
duration: ${lastTs - firstTs + 249}ms
drain: 0s
exchange:
  replay: { session: ${sessionId} }
  cash: 100
trader:
  strategy: onnx:${modelPath}
  options: { watch: false }
  throttle: 250ms
  limits: { max_position: 100, max_order: 100, max_notional: 1000, cash_reserve: 0 }
expect: {}
`,
        'parity.yaml',
      );
      const outcome = await runSession(scenario, { storeDataDir: dbDir, dataDir: dir });
      expect(outcome.status, outcome.failures.join('\n')).not.toBe('error');
      const sessionFills = merged(
        outcome.report.fills.map((f) => ({ key: [f.ts_ms, f.side, f.price, f.is_taker].join(' '), count: Math.round(Number(f.count) * 100) })),
      );
      expect(sessionFills).toEqual(evalFills);

      // the report writes dollars (e.g. "-1.2345"): back to micros
      const sessionPnl = Math.round(Number(outcome.report.pnl!.final.replace(/[^0-9.-]/g, '')) * 1_000_000);
      const evalPnl = episode.netPnl as number;
      // identical: the venue moves cash with Kalshi's per-order rounding, as the exchange does
      expect(sessionPnl).toBe(evalPnl);
      expect(Math.abs(sessionPnl - evalPnl)).toBeLessThanOrEqual(Math.abs(evalPnl) * 0.05);
    },
    120_000,
  );
});
