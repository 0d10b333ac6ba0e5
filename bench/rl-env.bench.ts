/**
 * RL environment throughput on one core: `MarketEnv.step` over a synthetic recorded-like market
 * (10 levels per leg, size churn, trades), with a policy that mostly holds and trades now and
 * then (taking and joining), and the cost of the 52 obs-v1 features alone.
 * Goals: ≥ 200,000 env steps/s; features ≪ 5 µs.
 */
import { FEATURE_COUNT, FeatureState, writeFeatures } from '../src/core/features.ts';
import { MarketEnv } from '../src/rl/env.ts';
import { syntheticTimeline } from '../src/rl/synthetic.ts';
import { compileTimeline } from '../src/rl/timeline.ts';
import { opsPerSecond, report } from './harness.ts';

const timelines = [1, 2, 3, 4].map((seed) => compileTimeline(syntheticTimeline({ seed, events: 50_000, tradeProbability: 0.05 })));

function envRate(name: string, styles: Array<'take' | 'join'>, tradeEvery: number): void {
  const env = new MarketEnv(timelines, { actions: { sizes: [500], styles }, maxEpisodeSteps: 10_000, start: 'random' });
  const mask = new Uint8Array(env.actionCount);
  env.reset(1);
  let step = 0;
  const rate = opsPerSecond(() => {
    for (let i = 0; i < 1_000; i++) {
      let action = 0;
      if (++step % tradeEvery === 0) {
        env.actionMask(mask);
        // cycle through the valid non-HOLD actions
        for (let k = 0; k < env.actionCount; k++) {
          const a = 1 + ((step / tradeEvery + k) % (env.actionCount - 1));
          if (mask[a]) {
            action = a;
            break;
          }
        }
      }
      const r = env.step(action);
      if (r.terminated || r.truncated) env.reset();
    }
    return 1_000;
  }, 2_000);
  report({ bench: 'rl-env', metric: name, value: Math.round(rate), unit: 'steps/s', goal: '>= 200000' });
}

envRate('env_steps_per_s_hold_mostly', ['take'], 50);
envRate('env_steps_per_s_take_join_every_10', ['take', 'join'], 10);
{
  // the masking cost a policy pays every step
  const env = new MarketEnv(timelines, { maxEpisodeSteps: 10_000 });
  const mask = new Uint8Array(env.actionCount);
  env.reset(2);
  const rate = opsPerSecond(() => {
    for (let i = 0; i < 1_000; i++) {
      env.actionMask(mask);
      const r = env.step(0);
      if (r.terminated || r.truncated) env.reset();
    }
    return 1_000;
  }, 2_000);
  report({ bench: 'rl-env', metric: 'env_steps_per_s_with_mask', value: Math.round(rate), unit: 'steps/s', goal: '>= 200000' });
}

// features alone, on the live book of a running env
{
  const env = new MarketEnv(timelines, { maxEpisodeSteps: 10_000 });
  env.reset(3);
  for (let i = 0; i < 500; i++) env.step(0);
  const book = env.sim.book;
  const state = new FeatureState();
  for (let i = 0; i < 20; i++) state.observe(book, 1_767_625_200_000 + i * 500);
  state.cash = 100_000_000;
  state.position = 500;
  state.costBasis = 250_000;
  const out = new Float32Array(FEATURE_COUNT);
  let ts = 1_767_625_210_000;
  const writes = opsPerSecond(() => {
    for (let i = 0; i < 10_000; i++) writeFeatures(book, state, ts, out);
    return 10_000;
  }, 1_500);
  report({ bench: 'rl-env', metric: 'write_features_ns', value: Math.round(1e9 / writes), unit: 'ns/op', goal: '<< 5000' });
  const observes = opsPerSecond(() => {
    for (let i = 0; i < 10_000; i++) state.observe(book, (ts += 250));
    return 10_000;
  }, 1_500);
  report({ bench: 'rl-env', metric: 'observe_ns', value: Math.round(1e9 / observes), unit: 'ns/op' });
  report({ bench: 'rl-env', metric: 'book_levels_per_leg', value: book.levelCount('yes'), unit: 'levels' });
}
