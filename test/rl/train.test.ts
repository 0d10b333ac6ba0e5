import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUY_YES, HOLD } from '../../src/core/features/actions.ts';
import { FEATURE_NAMES } from '../../src/core/features.ts';
import { loadOnnxPolicy } from '../../src/adapters/policy/onnx-policy.ts';
import { evaluatePolicy, featuresCsv, featuresTable } from '../../src/rl/evaluate.ts';
import type { PolicyActor } from '../../src/rl/evaluate.ts';
import { driftTimeline, syntheticTimeline } from '../../src/rl/synthetic.ts';
import { compileTimeline, playableSteps } from '../../src/rl/timeline.ts';
import type { MarketTimeline } from '../../src/rl/timeline.ts';
import { readCheckpoint, timelineDifficulty, trainPolicy, TrainingError } from '../../src/rl/train.ts';
import type { TrainProgress } from '../../src/rl/train.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kalshiflow-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Decision ticks of a timeline without gaps, counted from its timestamps alone: the first after the
 * first timestamp, then the later of last + interval and the next timestamp (the env's rule).
 */
function decisionTicks(timeline: MarketTimeline, intervalMs = 250): number {
  const ts = timeline.events.map((e) => e.tsMs);
  let at = ts[0];
  let i = 0;
  while (i < ts.length && ts[i] <= at) i++;
  let ticks = 1;
  while (i < ts.length) {
    at = Math.max(at + intervalMs, ts[i]);
    while (i < ts.length && ts[i] <= at) i++;
    ticks++;
  }
  return ticks;
}

const timelines = [1, 2].map((seed) => syntheticTimeline({ seed, events: 400, sessionId: `s${seed}`, result: 'fair' }));
const ppo = { nEnvs: 2, nSteps: 256, batchSize: 128, nEpochs: 2, hidden: [16] };

describe('trainPolicy', () => {
  it('trains, checkpoints, exports ONNX, and resumes where it stopped', { timeout: 60_000 }, async () => {
    const checkpointDir = join(dir, 'ckpt');
    const progress: TrainProgress[] = [];
    const first = await trainPolicy({
      timelines,
      steps: 2_048,
      out: join(dir, 'model.onnx'),
      checkpointDir,
      checkpointEvery: 1_024,
      keepCheckpoints: 2,
      ppo,
      env: { maxEpisodeSteps: 200 },
      modelVersion: 'first',
      onProgress: (p) => {
        progress.push(p);
      },
    });
    expect(first.stepsDone).toBe(2_048);
    expect(progress.map((p) => p.stepsDone)).toEqual([512, 1_024, 1_536, 2_048]);
    expect(progress.filter((p) => p.checkpoint).map((p) => p.stepsDone)).toEqual([1_024, 2_048]);
    expect((await readdir(checkpointDir)).filter((f) => f.endsWith('.json'))).toHaveLength(2);
    expect(progress.every((p) => Number.isFinite(p.entropy) && p.stepsPerSecond > 0)).toBe(true);

    const model = await loadOnnxPolicy(first.out);
    expect(model.contract.version).toBe('first');
    expect(model.contract.metadata.trained_steps).toBe('2048');
    await model.release();

    const { checkpoint } = await readCheckpoint(checkpointDir);
    expect(checkpoint.stepsDone).toBe(2_048);
    expect(checkpoint.adam.step).toBeGreaterThan(0);

    const resumed: number[] = [];
    const second = await trainPolicy({
      timelines,
      steps: 3_072,
      out: join(dir, 'model2.onnx'),
      resumeFrom: checkpointDir,
      ppo,
      env: { maxEpisodeSteps: 200 },
      onProgress: (p) => {
        resumed.push(p.stepsDone);
      },
    });
    expect(resumed).toEqual([2_560, 3_072]);
    expect(second.stepsDone).toBe(3_072);
  });

  it('refuses a checkpoint for another action space, and unreadable checkpoints', async () => {
    const checkpointDir = join(dir, 'ckpt-space');
    await trainPolicy({ timelines, steps: 512, out: join(dir, 'space.onnx'), checkpointDir, ppo, env: { maxEpisodeSteps: 100 } });
    await expect(
      trainPolicy({ timelines, steps: 1_024, out: join(dir, 'x.onnx'), resumeFrom: checkpointDir, ppo, env: { actions: { sizes: [100, 200], styles: ['take'] } } }),
    ).rejects.toThrow(/checkpoint .* has actions/);
    await writeFile(join(dir, 'broken.json'), '{"format":"kalshiflow-checkpoint"}');
    await expect(readCheckpoint(join(dir, 'broken.json'))).rejects.toThrow(TrainingError);
    await expect(readCheckpoint(join(dir, 'nothing-here'))).rejects.toThrow(/cannot read checkpoint/);
  });

  it('runs a curriculum in phases and skips timelines that are too short', async () => {
    const phases = new Set<string>();
    await trainPolicy({
      timelines: [...timelines, syntheticTimeline({ seed: 3, events: 5 })],
      curriculum: 'per-market',
      steps: 1_024,
      out: join(dir, 'curriculum.onnx'),
      ppo,
      onProgress: (p) => {
        phases.add(`${p.phase}/${p.phases}`);
      },
    });
    expect([...phases]).toEqual(['1/2', '2/2']);
    await expect(trainPolicy({ timelines: [syntheticTimeline({ seed: 3, events: 5 })], steps: 512, out: join(dir, 'none.onnx') })).rejects.toThrow(
      /no timeline has at least 10 playable steps/,
    );
  });

  it('validates on held-out timelines and exports the best-validated policy; a time limit stops early and still exports', async () => {
    const validation = [syntheticTimeline({ seed: 9, events: 300, sessionId: 'v1' })];
    const out = join(dir, 'validated.onnx');
    const result = await trainPolicy({ timelines, validation, validateEvery: 512, steps: 2_048, out, ppo });
    expect(result.validations.map((v) => v.stepsDone)).toEqual([512, 1_024, 1_536, 2_048]);
    expect(result.best!.meanPnl).toBe(Math.max(...result.validations.map((v) => v.meanPnl)));
    const model = await loadOnnxPolicy(out);
    await model.release();
    const timed = await trainPolicy({ timelines, validation, steps: 1_000_000, timeLimitMs: 1, out: join(dir, 'timed.onnx'), ppo });
    expect(timed.timedOut).toBe(true);
    expect(timed.stepsDone).toBeLessThan(1_000_000);
    expect(timed.validations.length).toBeGreaterThan(0);
    const again = await loadOnnxPolicy(join(dir, 'timed.onnx'));
    await again.release();
  });

  it('rates narrow, quiet markets as easier', () => {
    const easy = timelineDifficulty(compileTimeline(syntheticTimeline({ seed: 1, events: 300, spreadTicks: 1, volatility: 5 })));
    const hard = timelineDifficulty(compileTimeline(syntheticTimeline({ seed: 1, events: 300, spreadTicks: 8, volatility: 80 })));
    expect(easy.spread).toBeLessThan(hard.spread);
  });
});

describe('evaluatePolicy', () => {
  it('reports P&L, per-session Sharpe, drawdown, trades, fees and actions beside HOLD and the rule baselines', async () => {
    const drift = { ...driftTimeline(), sessionId: 'drift-session' };
    let step = 0;
    const buyFirst: PolicyActor = {
      name: 'buy-first',
      act: (_obs, mask) => {
        const a = step++ === 0 ? BUY_YES : HOLD;
        return mask[a] ? a : HOLD;
      },
    };
    const config = { maxPosition: 1_000, actions: { sizes: [1_000], styles: ['take' as const] } };
    const report = await evaluatePolicy(buyFirst, [drift], config);
    const p = report.policy;
    expect(p.name).toBe('buy-first');
    expect(p.trades).toBe(1);
    expect(p.fees).toBeGreaterThan(0);
    // 10 YES at 31¢ settle at $1: 10 × $0.69 minus the fee
    expect(p.netPnl).toBe(10 * (10_000 - 3_100) * 100 - p.fees);
    expect(p.maxDrawdown).toBeGreaterThan(0); // buying crosses the spread first
    expect(Object.keys(p.sharpeBySession)).toEqual(['drift-session']);
    expect(p.sharpeBySession['drift-session']).toBeGreaterThan(0);
    // one step per decision tick (every 250 ms at most, each whole exchange timestamp applied)
    const ticks = decisionTicks(drift);
    expect(ticks).toBeLessThan(playableSteps(compileTimeline(drift)) + 1);
    expect(p.actionDistribution.BUY_YES).toBeCloseTo(1 / ticks, 9);
    expect(Object.values(p.actionDistribution).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
    expect(report.baselines.hold).toMatchObject({ name: 'hold', netPnl: 0, trades: 0, fees: 0, maxDrawdown: 0 });
    expect(report.policies.map((q) => q.name)).toEqual(['buy-first', 'hold', 'buy_and_hold', 'spread-quoter', 'imbalance']);
    expect(report.baselines['spread-quoter'].episodes).toHaveLength(1);
    // buy-and-hold buys the baseline size (the action space's first: 10 YES) at the first tick, as the policy did
    expect(report.baselines.buy_and_hold.netPnl).toBe(p.netPnl);
    expect(report.baselines.buy_and_hold.episodes[0].endPosition).toBe(0); // settled
    expect(report.stress?.config.orderLatencyMs).toBe(report.config.orderLatencyMs * 2);
  });

  it('evaluates an exported ONNX model with the action space from its metadata', async () => {
    const out = join(dir, 'eval.onnx');
    await trainPolicy({ timelines, steps: 512, out, ppo, env: { actions: { sizes: [200], styles: ['take', 'join'] } } });
    const model = await loadOnnxPolicy(out);
    try {
      const report = await evaluatePolicy(model, timelines);
      expect(Object.keys(report.policy.actionDistribution)).toHaveLength(9);
      expect(report.policy.episodes.map((e) => e.sessionId)).toEqual(['s1', 's2']);
    } finally {
      await model.release();
    }
  });
});

describe('featuresTable', () => {
  it('lists the observation at every decision tick, ready for CSV', () => {
    const t = syntheticTimeline({ seed: 4, events: 50 });
    const table = featuresTable(t);
    expect(table.columns).toEqual(['event_index', 'ts_ms', ...FEATURE_NAMES]);
    const ticks = decisionTicks(t);
    expect(table.rows).toHaveLength(ticks);
    expect(table.rows[0][0]).toBe(0);
    expect(table.rows[ticks - 1][0]).toBe(49);
    expect(table.rows.every((r) => r.length === 54)).toBe(true);
    // decisions are at least 250 ms apart
    for (let i = 1; i < ticks; i++) expect(table.rows[i][1] - table.rows[i - 1][1]).toBeGreaterThanOrEqual(250);
    const csv = featuresCsv(table);
    const lines = csv.trimEnd().split('\n');
    expect(lines).toHaveLength(ticks + 1);
    expect(lines[0].startsWith('event_index,ts_ms,best_yes_bid_norm,')).toBe(true);
  });
});
