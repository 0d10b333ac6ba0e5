/**
 * The RL commands end to end on a small embedded store: `rl regimes` records simulator regimes
 * as recorded sessions (virtual clock), `features` writes the obs-v1 CSV, `train` writes an ONNX
 * policy that loads, a `models` row and per-iteration `episodes`, resumes from its checkpoints,
 * and `eval` writes report.json (policy, HOLD, rule) and the chart; `start --strategy onnx:` with
 * a bad path is one clear line and a non-zero exit.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_NAMES, OBS_VERSION } from '../../src/core/features.ts';
import { getRecordedSession, listEpisodes, listModels, loadRecordedSession, migrate, openDatabase } from '../../src/adapters/store/index.ts';
import type { StoredModel } from '../../src/adapters/store/index.ts';
import { loadOnnxPolicy } from '../../src/adapters/policy/onnx-policy.ts';
import { UsageError } from '../../src/app/errors.ts';
import { runEvalCommand } from '../../src/cli/eval.command.ts';
import { runFeaturesCommand } from '../../src/cli/features.command.ts';
import { runRlCommand } from '../../src/cli/rl.command.ts';
import { runTrainCommand } from '../../src/cli/train.command.ts';
import { resolveSessionIds, sha256File } from '../../src/cli/rl-support.ts';
import { killAllCli, startCli } from '../helpers/processes.ts';
import type { CommandIo } from '../../src/cli/rl-support.ts';
import type { EvalReportJson } from '../../src/rl/eval-report.ts';

const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin', 'kalshiflow.js');

let dir: string;
let env: NodeJS.ProcessEnv;
/** Session ids by seed: seed 1 trains, seed 2 is held out. */
let trainIds: number[];
let evalIds: number[];
let regimesOut: string[];

interface Captured {
  io: CommandIo;
  out: string[];
  err: string[];
  frames: string[];
}

function capture(tty = false): Captured {
  const out: string[] = [];
  const err: string[] = [];
  const frames: string[] = [];
  return {
    io: { out: (l) => out.push(l), err: (l) => err.push(l), env, ...(tty ? { rewrite: (t: string) => frames.push(t) } : {}) },
    out,
    err,
    frames,
  };
}

async function withStore<T>(work: (pool: import('pg').Pool) => Promise<T>): Promise<T> {
  const db = await openDatabase({ dataDir: join(dir, 'db'), poolSize: 1 });
  try {
    await migrate(db.pool);
    return await work(db.pool);
  } finally {
    await db.close();
  }
}

const SMALL_PPO = ['--n-steps', '128', '--n-envs', '2', '--batch-size', '64', '--epochs', '2', '--hidden', '16'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kf-rlcli-'));
  env = { KALSHIFLOW_DATA_DIR: dir };
  const c = capture();
  const code = await runRlCommand(['regimes', '--duration', '90s', '--seeds', '1,2', '--regimes', 'calm,jumpy', '--markets', '2'], c.io);
  expect(code, c.err.join('\n')).toBe(0);
  regimesOut = c.out;
  const ids = c.out.find((l) => l.startsWith('sessions: '))!.slice('sessions: '.length).split(',').map(Number);
  expect(ids).toHaveLength(4);
  // seeds run in order: seed 1's regimes first
  trainIds = ids.slice(0, 2);
  evalIds = ids.slice(2);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('kalshiflow rl regimes', () => {
  it('records one closed session per regime and seed, with the regime in its metadata and virtual time', async () => {
    expect(regimesOut.filter((l) => /^session \d+: /.test(l))).toHaveLength(4);
    expect(regimesOut.some((l) => l.includes(`kalshiflow eval --model model.onnx --sessions ${evalIds.join(',')}`))).toBe(true);
    await withStore(async (pool) => {
      const sessions = await Promise.all([...trainIds, ...evalIds].map((id) => getRecordedSession(pool, id)));
      expect(sessions.map((s) => [s!.metadata.regime, s!.metadata.seed])).toEqual([
        ['calm', 1],
        ['jumpy', 1],
        ['calm', 2],
        ['jumpy', 2],
      ]);
      for (const s of sessions) {
        expect(s!.status).toBe('closed');
        expect(s!.env).toBe('sim');
        expect(s!.tickers).toHaveLength(2);
        expect(s!.counts.deltas).toBeGreaterThan(100);
        expect(s!.counts.dropped).toBe(0);
        // 90 s of simulated market (plus the final flush), whatever the wall clock did
        expect(s!.endedMs! - s!.startedMs).toBeGreaterThanOrEqual(90_000);
        expect(s!.endedMs! - s!.startedMs).toBeLessThan(100_000);
      }
      // the jumpy regime is busier than the calm one
      expect(sessions[1]!.counts.trades).toBeGreaterThan(sessions[0]!.counts.trades);
    });
  });

  it('records the same market data for the same regime and seed', async () => {
    const c = capture();
    expect(await runRlCommand(['regimes', '--duration', '90s', '--seeds', '1', '--regimes', 'calm', '--markets', '2'], c.io)).toBe(0);
    const again = Number(c.out.find((l) => l.startsWith('sessions: '))!.slice('sessions: '.length));
    await withStore(async (pool) => {
      const a = await loadRecordedSession(pool, trainIds[0]);
      const b = await loadRecordedSession(pool, again);
      const strip = (l: typeof a) => l.markets.map((m) => ({ ticker: m.ticker, events: m.events.map(({ ord: _o, ...rest }) => rest) }));
      expect(strip(b)).toEqual(strip(a));
    });
  });

  it('refuses unknown regimes and bad durations with a usage error', async () => {
    await expect(runRlCommand(['regimes', '--regimes', 'calm,stormy'], capture().io)).rejects.toThrow(/--regimes: unknown "stormy"/);
    await expect(runRlCommand(['regimes', '--duration', 'soon'], capture().io)).rejects.toThrow(UsageError);
    // a bare number is seconds, and must be positive like any other duration
    await expect(runRlCommand(['regimes', '--duration', '0'], capture().io)).rejects.toThrow(/^--duration: must be longer than 0, got "0"$/);
    await expect(runRlCommand(['nope'], capture().io)).rejects.toThrow(/unknown subcommand/);
  });
});

describe('kalshiflow features', () => {
  it('writes one CSV row per decision tick with a header naming the 52 features', async () => {
    const file = join(dir, 'features.csv');
    const c = capture();
    expect(await runFeaturesCommand(['--session', String(trainIds[0]), '--out', file], c.io)).toBe(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const header = lines[0].split(',');
    expect(header.slice(0, 3)).toEqual(['ticker', 'event_index', 'ts_ms']);
    expect(header.slice(3)).toEqual([...FEATURE_NAMES]);
    expect(header.slice(3)).toHaveLength(52);
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.length).toBeGreaterThan(50);
    for (const row of rows) {
      expect(row).toHaveLength(55);
      for (const v of row.slice(1)) expect(Number.isFinite(Number(v))).toBe(true);
    }
    const tickers = [...new Set(rows.map((r) => r[0]))];
    expect(tickers).toHaveLength(2);
    // steps of one market are in replay order
    const first = rows.filter((r) => r[0] === tickers[0]).map((r) => Number(r[1]));
    expect(first).toEqual([...first].sort((a, b) => a - b));
    expect(c.err.join('\n')).toMatch(new RegExp(`wrote ${rows.length} rows`));
  });

  it('limits the table to one market with --ticker, and names a missing session', async () => {
    const all = readFileSync(join(dir, 'features.csv'), 'utf8').trimEnd().split('\n').slice(1);
    const ticker = all[0].split(',')[0];
    const c = capture();
    expect(await runFeaturesCommand(['--session', String(trainIds[0]), '--ticker', ticker], c.io)).toBe(0);
    expect(c.out[0].split(',')).toHaveLength(55);
    expect(c.out.slice(1)).toEqual(all.filter((l) => l.startsWith(`${ticker},`)));
    await expect(runFeaturesCommand(['--session', '9999'], capture().io)).rejects.toThrow(/recorded session 9999 does not exist/);
    await expect(runFeaturesCommand([], capture().io)).rejects.toThrow(/--session: a recorded session id is required/);
  });
});

describe('kalshiflow train and eval', () => {
  const model = () => join(dir, 'model.onnx');
  const checkpoints = () => join(dir, 'ckpt');
  let first: StoredModel;

  it('trains for a small step budget: a loadable ONNX policy, a models row and per-iteration episodes', async () => {
    const c = capture();
    const code = await runTrainCommand(
      ['--sessions', trainIds.join(','), '--out', model(), '--steps', '1024', ...SMALL_PPO, '--checkpoint-dir', checkpoints(), '--checkpoint-every', '256', '--name', 'cli-test'],
      c.io,
    );
    expect(code, c.err.join('\n')).toBe(0);
    // not a terminal: plain progress lines with the step count
    expect(c.out.some((l) => /\] 100% 1024\/1024 steps, it 4/.test(l))).toBe(true);
    const policy = await loadOnnxPolicy(model());
    try {
      expect(policy.contract.obsVersion).toBe(OBS_VERSION);
      expect(policy.contract.actions).toEqual(['HOLD', 'BUY_YES', 'SELL_YES', 'BUY_NO', 'SELL_NO']);
      first = await withStore(async (pool) => (await listModels(pool)).find((m) => m.name === 'cli-test')!);
      expect(first.status).toBe('candidate');
      expect(first.obsVersion).toBe(OBS_VERSION);
      expect(first.algorithm).toBe('ppo');
      expect(policy.contract.version).toBe(first.version);
      expect(first.filePath).toBe(resolve(model()));
      expect(first.sha256).toBe(await sha256File(model()));
      expect(first.metrics.steps_done).toBe(1024);
      expect(first.hyperparameters.sessions).toEqual(trainIds);
    } finally {
      await policy.release();
    }
    const episodes = await withStore((pool) => listEpisodes(pool, { modelId: first.id, kind: 'training' }));
    // 1024 steps in rollouts of 128 × 2
    expect(episodes.map((e) => e.episodeNumber)).toEqual([1, 2, 3, 4]);
    expect(episodes.every((e) => e.steps === 256)).toBe(true);
    expect(readdirSync(checkpoints()).filter((n) => n.endsWith('.json')).length).toBeGreaterThan(0);
  });

  it('resumes from the newest checkpoint with its settings and continues the iteration count', async () => {
    const c = capture(true);
    const out = join(dir, 'model-resumed.onnx');
    const code = await runTrainCommand(['--sessions', trainIds.join(','), '--out', out, '--steps', '1536', '--checkpoint-dir', checkpoints(), '--resume', '--name', 'cli-test'], c.io);
    expect(code, c.err.join('\n')).toBe(0);
    expect(c.out.some((l) => l.includes('resuming from') && l.includes('at 1024/1536 steps'))).toBe(true);
    // a terminal gets a redrawn bar
    expect(c.frames.some((f) => /\[#+-*\]\s+\d+% 1280\/1536 steps/.test(f))).toBe(true);
    const resumed = await withStore(async (pool) => (await listModels(pool)).filter((m) => m.name === 'cli-test').sort((a, b) => b.id - a.id)[0]);
    expect(resumed.id).not.toBe(first.id);
    expect(resumed.metrics.steps_done).toBe(1536);
    // the network came from the checkpoint (no --hidden given): [16]
    expect((resumed.hyperparameters.ppo as { hidden: number[] }).hidden).toEqual([16]);
    const episodes = await withStore((pool) => listEpisodes(pool, { modelId: resumed.id, kind: 'training' }));
    expect(episodes.map((e) => e.episodeNumber)).toEqual([5, 6]);
    const policy = await loadOnnxPolicy(out);
    await policy.release();
  });

  it('refuses a resume whose network does not match, before registering anything', async () => {
    const before = await withStore((pool) => listModels(pool));
    await expect(
      runTrainCommand(['--sessions', trainIds.join(','), '--out', join(dir, 'x.onnx'), '--steps', '2048', '--hidden', '8', '--resume', checkpoints()], capture().io),
    ).rejects.toThrow(/network \[16\], --hidden asks for shared \[8\]/);
    expect(await withStore((pool) => listModels(pool))).toHaveLength(before.length);
    await expect(runTrainCommand(['--out', join(dir, 'x.onnx')], capture().io)).rejects.toThrow(/--sessions: required/);
    await expect(runTrainCommand(['--sessions', '9999', '--out', join(dir, 'x.onnx')], capture().io)).rejects.toThrow(/session 9999 does not exist/);
    await expect(runTrainCommand(['--sessions', 'all', '--out', join(dir, 'x.onnx'), '--curriculum', 'hardest'], capture().io)).rejects.toThrow(/--curriculum/);
  });

  it('selects the best checkpoint on validation sessions and takes the environment and PPO flags', async () => {
    const c = capture();
    const out = join(dir, 'model-validated.onnx');
    const code = await runTrainCommand(
      [
        '--sessions', String(trainIds[0]), '--validation-sessions', String(trainIds[1]), '--out', out, '--steps', '1024', ...SMALL_PPO,
        '--validate-every', '256', '--gamma', '0.995', '--gae-lambda', '0.9', '--clip', '0.1', '--episode-length', '30s',
        '--fees', 'quadratic×2', '--starting-cash', '250', '--max-position', '20', '--name', 'cli-validated',
      ],
      c.io,
    );
    expect(code, c.err.join('\n')).toBe(0);
    expect(c.out.some((l) => /validation [+-]\$\d+\.\d{3}\/episode/.test(l))).toBe(true);
    expect(c.out.some((l) => l.startsWith('exported the best validated policy: steps '))).toBe(true);
    const m = await withStore(async (pool) => (await listModels(pool)).find((x) => x.name === 'cli-validated')!);
    expect(m.hyperparameters.validation_sessions).toEqual([trainIds[1]]);
    expect(m.hyperparameters.ppo).toMatchObject({ gamma: 0.995, gaeLambda: 0.9, clipRange: 0.1, backend: 'onnxruntime', workers: 2 });
    expect(m.hyperparameters.env).toMatchObject({ maxEpisodeMs: 30_000, fees: { feeType: 'quadratic', multiplier: 2 }, startingCash: 250_000_000, maxPosition: 2_000, start: 'beginning' });
    const validations = m.metrics.validations as Array<{ steps: number; mean_pnl: number }>;
    expect(validations.map((v) => v.steps)).toEqual([256, 512, 768, 1024]);
    const best = m.metrics.best_validation as { steps: number; mean_pnl: number };
    expect(best.mean_pnl).toBe(Math.max(...validations.map((v) => v.mean_pnl)));
    await expect(
      runTrainCommand(['--sessions', String(trainIds[0]), '--validation-sessions', String(trainIds[0]), '--out', out], capture().io),
    ).rejects.toThrow(/--validation-sessions: session\(s\) \d+ are also training sessions/);
    await expect(runTrainCommand(['--sessions', String(trainIds[0]), '--out', out, '--fees', 'cheap'], capture().io)).rejects.toThrow(/--fees: quadratic/);
    await expect(runTrainCommand(['--sessions', String(trainIds[0]), '--out', out, '--gamma', '1.5'], capture().io)).rejects.toThrow(/--gamma: must be a number from 0 to 1/);
  });

  it('evaluates on held-out sessions: report.json with the policy and its baselines per regime, a chart, stored episodes', async () => {
    const outDir = join(dir, 'eval');
    const c = capture();
    expect(await runEvalCommand(['--model', model(), '--sessions', evalIds.join(','), '--out', outDir, '--bootstrap', '200'], c.io)).toBe(0);
    const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as EvalReportJson;
    expect(report.format).toBe('kalshiflow-eval');
    expect(report.version).toBe(2);
    expect(report.model.modelId).toBe(first.id);
    expect(report.held_out).toBe(true);
    expect(typeof report.collapsed).toBe('boolean');
    expect(report.sessions.map((s) => s.id)).toEqual(evalIds);
    expect(report.sessions.map((s) => [s.regime, s.split])).toEqual([
      ['calm', 'out_of_sample'],
      ['jumpy', 'out_of_sample'],
    ]);
    expect(report.policies.map((p) => p.name)).toEqual(['policy', 'hold', 'buy_and_hold', 'spread-quoter', 'imbalance']);
    for (const p of report.policies) {
      expect(p.episodes).toHaveLength(4);
      expect(Number.isInteger(p.net_pnl) && Number.isInteger(p.fees) && Number.isInteger(p.max_drawdown)).toBe(true);
      expect(p.curve.length).toBeGreaterThan(1);
      expect(p.regimes.map((r) => `${r.name}/${r.split}`)).toEqual(['calm/out_of_sample', 'jumpy/out_of_sample', 'all/out_of_sample']);
      expect(p.regimes.find((r) => r.name === 'all')!.net_pnl).toBe(p.net_pnl);
    }
    const policy = report.policies[0];
    expect(Object.values(policy.action_distribution).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    // HOLD never trades
    const hold = report.policies[1];
    expect(hold).toMatchObject({ net_pnl: 0, fills: 0, fees: 0 });
    expect(hold.action_distribution.HOLD).toBe(1);
    expect(report.stress).not.toBeNull();
    expect(report.stress!.policies.map((p) => p.name)).toEqual(report.policies.map((p) => p.name));
    expect(readFileSync(join(outDir, 'chart.svg'), 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const html = readFileSync(join(outDir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|src="http/);
    expect(c.out.some((l) => /^\s+spread-quoter\s+net/.test(l))).toBe(true);
    expect(c.out.some((l) => /^best net P&L: /.test(l))).toBe(true);

    const stored = await withStore((pool) => listEpisodes(pool, { modelId: first.id, kind: 'evaluation' }));
    expect(stored).toHaveLength(4);
    expect(new Set(stored.map((e) => e.recordingSessionId))).toEqual(new Set(evalIds));
    expect(stored.reduce((s, e) => s + e.pnl, 0)).toBe(policy.net_pnl);
    const m = await withStore(async (pool) => (await listModels(pool)).find((x) => x.id === first.id)!);
    expect((m.metrics.last_evaluation as { net_pnl: number }).net_pnl).toBe(policy.net_pnl);
    expect(m.status).toBe('candidate');
  });

  it('counts the sessions the model was trained on as in sample, and accepts a registered model id', async () => {
    const outDir = join(dir, 'eval-train');
    const c = capture();
    expect(await runEvalCommand(['--model', `#${first.id}`, '--sessions', [trainIds[0], evalIds[0]].join(','), '--out', outDir, '--no-stress'], c.io)).toBe(0);
    const report = JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as EvalReportJson;
    expect(report.overlapWithTraining).toEqual([trainIds[0]]);
    expect(report.sessions.map((s) => s.split)).toEqual(['in_sample', 'out_of_sample']);
    expect(report.policies[0].regimes.map((r) => `${r.name}/${r.split}`)).toEqual(['calm/in_sample', 'all/in_sample', 'calm/out_of_sample', 'all/out_of_sample']);
    // calm was trained on: not a held-out regime
    expect(report.policies[0].regimes.find((r) => r.name === 'calm' && r.split === 'out_of_sample')!.regime_held_out).toBe(false);
    expect(report.stress).toBeNull();
    expect(c.err.some((l) => l.includes('those rows are in sample'))).toBe(true);
    await expect(runEvalCommand(['--model', join(dir, 'missing.onnx'), '--sessions', '1', '--out', outDir], capture().io)).rejects.toThrow(/neither a file nor a registered model/);
  });
});

describe('kalshiflow train --sessions ranges', () => {
  afterAll(killAllCli);

  it('refuses a range too long to expand in one line and exit 2, before the store is opened (it used to hang expanding it)', async () => {
    const dataDir = join(dir, 'range');
    const cli = startCli(['train', '--sessions', '1-99999999', '--out', join(dir, 'never.onnx')], { KALSHIFLOW_DATA_DIR: dataDir });
    const timer = setTimeout(() => cli.kill('SIGKILL'), 30_000);
    const code = await cli.exited;
    clearTimeout(timer);
    expect(code, cli.output()).toBe(2);
    expect(cli.lines).toEqual([`! kalshiflow train: --sessions: range 1-99999999 spans 99999999 sessions; at most 10000`]);
    expect(existsSync(dataDir)).toBe(false);
  }, 40_000);

  it('expands ranges once each, in the order given, and counts repeats once', async () => {
    await withStore(async (pool) => {
      expect(await resolveSessionIds(pool, '3-5,4,1-2,5')).toEqual([3, 4, 5, 1, 2]);
      expect(await resolveSessionIds(pool, '1-10000')).toHaveLength(10_000);
      await expect(resolveSessionIds(pool, '1-10000,10001')).rejects.toThrow(/more than 10000 sessions/);
      await expect(resolveSessionIds(pool, '99999999999999999999')).rejects.toThrow(/not a session id/);
    });
  });
});

describe('kalshiflow start --strategy onnx:', () => {
  it('a model that cannot be loaded is one clear error line and a non-zero exit, before anything starts', async () => {
    const dataDir = join(dir, 'start');
    const outcome = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
      const child = spawn(process.execPath, [BIN, 'start', '--strategy', 'onnx:/no/such/model.onnx', '--port', '0'], {
        cwd: REPO,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, KALSHIFLOW_DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        fail(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        done({ code, stdout, stderr });
      });
    });
    expect(outcome.code).not.toBe(0);
    expect(outcome.code).not.toBeNull();
    const lines = outcome.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^kalshiflow start: strategy: cannot read policy model \/no\/such\/model\.onnx: ENOENT$/);
    expect(outcome.stdout).toBe('');
    // refused before the simulator, the database or the keys were touched
    expect(existsSync(dataDir)).toBe(false);
  });
});
