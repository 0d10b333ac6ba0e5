import { describe, expect, it } from 'vitest';
import { CartPole } from '../../src/rl/cartpole.ts';
import { MarketEnv } from '../../src/rl/env.ts';
import { PpoTrainer } from '../../src/rl/ppo/trainer.ts';
import { driftTimeline } from '../../src/rl/synthetic.ts';
import { compileTimeline } from '../../src/rl/timeline.ts';
import { BUY_YES } from '../../src/core/features/actions.ts';

describe('PPO learns known-solvable tasks', () => {
  it('solves CartPole-v1 (≥ 475 average over 10 greedy episodes)', { timeout: 120_000 }, async () => {
    const trainer = await PpoTrainer.create(
      { kind: 'cartpole' },
      {
        nEnvs: 8,
        nSteps: 32,
        batchSize: 256,
        nEpochs: 20,
        gamma: 0.98,
        gaeLambda: 0.8,
        entCoef: 0,
        learningRate: 1e-3,
        lrSchedule: 'linear',
        clipSchedule: 'linear',
        hidden: [32, 32],
        // SB3's MlpPolicy layout, with rl-zoo's CartPole hyperparameters
        architecture: 'separate',
        seed: 1,
      },
    );
    try {
      // stop once the last 100 training episodes all but reach the cap
      await trainer.train(100_000, (s) => !(s.meanReturn >= 490));
    } finally {
      await trainer.close();
    }
    const env = new CartPole();
    let total = 0;
    for (let episode = 0; episode < 10; episode++) {
      let obs = env.reset(10_000 + episode);
      for (;;) {
        const r = env.step(trainer.policy.greedyAction(obs));
        total += r.reward;
        obs = r.obs;
        if (r.terminated || r.truncated) break;
      }
    }
    expect(total / 10).toBeGreaterThanOrEqual(475);
  });

  it('finds the known optimal policy of a drifting market (≥ 90 % of its return)', { timeout: 120_000 }, async () => {
    const timelines = [1, 2, 3].map((seed) => compileTimeline(driftTimeline({ seed })));
    const config = { maxPosition: 1_000, actions: { sizes: [1_000], styles: ['take' as const] } };
    const env = new MarketEnv(timelines, config);
    const mask = new Uint8Array(env.actionCount);
    // optimal: buy the limit on the first step, hold to settlement
    const optimal = timelines.map((_, t) => {
      env.reset(0, { timeline: t });
      let total = 0;
      for (let step = 0; ; step++) {
        const r = env.step(step === 0 ? BUY_YES : 0);
        total += r.reward;
        if (r.terminated) return total;
      }
    });
    const greedyReturn = (policy: PpoTrainer['policy'], t: number): number => {
      let obs = env.reset(0, { timeline: t });
      let total = 0;
      for (;;) {
        const r = env.step(policy.greedyAction(obs, env.actionMask(mask)));
        total += r.reward;
        obs = r.obs;
        if (r.terminated || r.truncated) return total;
      }
    };
    const trainer = await PpoTrainer.create(
      { kind: 'market', timelines, config },
      { nEnvs: 4, nSteps: 128, batchSize: 128, nEpochs: 10, learningRate: 1e-3, entCoef: 0.01, hidden: [64, 64], seed: 1 },
    );
    try {
      // stop early once the greedy policy is within 5 % of the optimum on every timeline
      await trainer.train(30_720, (s) => s.iteration % 4 !== 0 || timelines.some((_, t) => greedyReturn(trainer.policy, t) < 0.95 * optimal[t]));
    } finally {
      await trainer.close();
    }
    for (let t = 0; t < timelines.length; t++) {
      expect(optimal[t]).toBeGreaterThan(6);
      expect(greedyReturn(trainer.policy, t)).toBeGreaterThanOrEqual(0.9 * optimal[t]);
    }
  });

  it('learns the same with the onnxruntime backend in worker threads', { timeout: 120_000 }, async () => {
    const timelines = [1, 2].map((seed) => compileTimeline(driftTimeline({ seed })));
    const config = { maxPosition: 1_000, actions: { sizes: [1_000], styles: ['take' as const] } };
    const env = new MarketEnv(timelines, config);
    const mask = new Uint8Array(env.actionCount);
    env.reset(0, { timeline: 0 });
    let optimal = 0;
    for (let step = 0; ; step++) {
      const r = env.step(step === 0 ? BUY_YES : 0);
      optimal += r.reward;
      if (r.terminated) break;
    }
    const greedyReturn = (policy: PpoTrainer['policy']): number => {
      let obs = env.reset(0, { timeline: 0 });
      let total = 0;
      for (;;) {
        const r = env.step(policy.greedyAction(obs, env.actionMask(mask)));
        total += r.reward;
        obs = r.obs;
        if (r.terminated || r.truncated) return total;
      }
    };
    const trainer = await PpoTrainer.create(
      { kind: 'market', timelines, config },
      { nEnvs: 4, nSteps: 128, batchSize: 128, nEpochs: 10, learningRate: 1e-3, hidden: [64, 64], seed: 1, workers: 2, backend: 'onnxruntime' },
    );
    try {
      // a near-tie between HOLD and BUY when flat can leave the greedy policy waiting: train until it is not
      await trainer.train(40_960, (s) => s.iteration % 4 !== 0 || greedyReturn(trainer.policy) < 0.95 * optimal);
    } finally {
      await trainer.close();
    }
    expect(greedyReturn(trainer.policy)).toBeGreaterThanOrEqual(0.9 * optimal);
  });

  it('runs rollouts and gradients in worker threads, deterministically', { timeout: 60_000 }, async () => {
    const run = async () => {
      const trainer = await PpoTrainer.create(
        { kind: 'cartpole' },
        { nEnvs: 4, nSteps: 64, batchSize: 64, nEpochs: 2, hidden: [16], workers: 2, seed: 7 },
      );
      try {
        const first = await trainer.iterate();
        const second = await trainer.iterate();
        return { first, second, params: [...trainer.policy.params] };
      } finally {
        await trainer.close();
      }
    };
    const a = await run();
    expect(a.first.stepsDone).toBe(256);
    expect(a.second.stepsDone).toBe(512);
    expect(Number.isFinite(a.second.loss.loss)).toBe(true);
    expect(a.second.episodes).toBeGreaterThan(0);
    const b = await run();
    expect(b.params).toEqual(a.params);
  });
});
