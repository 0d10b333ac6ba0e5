/**
 * RL environment throughput on one core: `MarketEnv.step` over a synthetic recorded-like market
 * (10 levels per leg, size churn, trades), with a policy that mostly holds and trades now and
 * then (taking and joining), and the cost of the 52 obs-v1 features alone. A step is a decision
 * tick (default 250 ms interval; every event of a timestamp applied) through the replay venue;
 * `events_per_step` says how many recorded events one tick applies on average.
 * Goals: ≥ 200,000 env steps/s; reset at a random start ≤ 100 µs; features ≪ 5 µs.
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

{
  // recorded events one decision tick applies (the synthetic market's events are ~500 ms apart)
  const env = new MarketEnv(timelines, { maxEpisodeSteps: 0, schedule: 'round-robin' });
  env.reset(5);
  let steps = 0;
  while (!env.step(0).terminated) steps++;
  report({ bench: 'rl-env', metric: 'events_per_step', value: Number((env.eventIndex / steps).toFixed(3)), unit: 'events' });
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

{
  // reset at a random start: checkpoints restore the recorded book (built on the first reset of a timeline)
  const env = new MarketEnv(timelines, { start: 'random' });
  for (let i = 0; i < timelines.length * 4; i++) env.reset(i);
  const resets = opsPerSecond(() => {
    for (let i = 0; i < 100; i++) env.reset();
    return 100;
  }, 1_500);
  report({ bench: 'rl-env', metric: 'reset_random_start_us', value: Number((1e6 / resets).toFixed(1)), unit: 'µs', goal: '<= 100' });
}

// features alone, on the live book of a running env
{
  const env = new MarketEnv(timelines, { maxEpisodeSteps: 10_000 });
  env.reset(3);
  for (let i = 0; i < 500; i++) env.step(0);
  const book = env.venue.book;
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
