/**
 * A scenario's strategy is built and loaded before the run: `kalshiflow session run` with an
 * `onnx:` model that cannot be loaded is one line naming `trader.strategy` and exit code 2, before
 * any store, simulator or trader exists (it used to run, fail, print "490896h simulated" and exit
 * 1); a model that loads passes the check and trades.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUY_YES, HOLD } from '../../src/core/features/actions.ts';
import { exportPolicyOnnx } from '../../src/rl/export.ts';
import { ActorCritic } from '../../src/rl/ppo/policy.ts';
import { runSession } from '../../src/sessions/runner.ts';
import { parseScenario } from '../../src/sessions/scenario.ts';
import { killAllCli, startCli } from '../helpers/processes.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kf-strategy-check-'));
});

afterAll(async () => {
  await killAllCli();
  rmSync(dir, { recursive: true, force: true });
});

const scenario = (strategy: string) => `
name: strategy-check
seed: 5
duration: 1m
drain: 10s
exchange:
  markets:
    - { ticker: CHK-A, fair: 0.5, volatility: 0.3, taker_rate: 2 }
trader:
  strategy: ${JSON.stringify(strategy)}
  throttle: 2s
`;

async function sessionRun(file: string, dataDir: string): Promise<{ code: number | string; lines: string[]; output: string }> {
  const cli = startCli(['session', 'run', file, '--out', join(dataDir, 'out')], { KALSHIFLOW_DATA_DIR: dataDir, DATABASE_URL: undefined });
  const timer = setTimeout(() => cli.kill('SIGKILL'), 60_000);
  const code = await cli.exited;
  clearTimeout(timer);
  return { code, lines: cli.lines, output: cli.output() };
}

describe('session run: the strategy is checked before the run', () => {
  it.each([
    ['an unreadable model file', (path: string) => writeFileSync(path, 'not a model'), /is not a readable ONNX model/],
    ['a missing model file', () => undefined, /cannot read policy model .*: ENOENT/],
  ])('%s is one line naming trader.strategy and exit 2, before anything starts', async (_what, make, reason) => {
    const dataDir = join(dir, `case-${Math.random().toString(36).slice(2)}`);
    const model = join(dir, `${Math.random().toString(36).slice(2)}.onnx`);
    make(model);
    const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, scenario(`onnx:${model}`));
    const run = await sessionRun(file, dataDir);
    expect(run.code, run.output).toBe(2);
    const errors = run.lines.filter((l) => l.startsWith('! '));
    expect(errors, run.output).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^! kalshiflow session: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: trader\\.strategy: `));
    expect(errors[0]).toMatch(reason);
    // no run: nothing simulated, no report, no store
    expect(run.output).not.toMatch(/simulated|ERROR|report:/);
    expect(existsSync(join(dataDir, 'out'))).toBe(false);
    expect(existsSync(join(dataDir, 'sessions-db'))).toBe(false);
  }, 70_000);

  it('a model that loads passes the check, and the policy trades', async () => {
    const model = join(dir, 'buy-yes.onnx');
    const p = new ActorCritic({ observationSize: 52, actionCount: 5, hidden: [8] });
    const last = p.pi.layers[p.pi.layers.length - 1];
    p.pi.params[last.bOffset + BUY_YES] = 5;
    p.pi.params[last.bOffset + HOLD] = 1;
    p.syncWeights();
    await exportPolicyOnnx(p, model, { actionSpace: { sizes: [100], styles: ['take'] }, modelVersion: 'check-1' });
    const outcome = await runSession(parseScenario(scenario(`onnx:${model}`), 'check.yaml'), { dataDir: join(dir, 'good') });
    expect(outcome.failures).toEqual([]);
    expect(outcome.status).toBe('passed');
    expect(outcome.report.orders.length).toBeGreaterThan(0);
    expect(outcome.report.run.simulated_ms).toBe(70_000);
  }, 120_000);
});
