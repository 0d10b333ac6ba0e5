/**
 * PPO training throughput end to end (rollouts + GAE + minibatch updates), in environment steps
 * per second, on the market environment (52 obs-v1 features, 5 actions, a 64×64 tanh trunk with policy and
 * value heads on a shared trunk; 8 environments). Goal: ≥ 25,000 env steps/s on 2 cores (2 worker threads).
 * Each configuration warms up for one iteration, then runs for about 4 s; `js` runs the update on
 * our kernels, `ort` runs the same forward/backward graphs in onnxruntime (backend: 'onnxruntime').
 */
import { PpoTrainer } from '../src/rl/ppo/trainer.ts';
import type { PpoConfig } from '../src/rl/ppo/trainer.ts';
import { syntheticTimeline } from '../src/rl/synthetic.ts';
import { compileTimeline } from '../src/rl/timeline.ts';
import { report } from './harness.ts';

const timelines = [1, 2, 3, 4].map((seed) => compileTimeline(syntheticTimeline({ seed, events: 20_000 })));
const spec = { kind: 'market' as const, timelines, config: { maxEpisodeSteps: 2_000, start: 'random' as const } };

async function measure(metric: string, config: Partial<PpoConfig>, goal?: string): Promise<void> {
  const trainer = await PpoTrainer.create(spec, config);
  try {
    await trainer.iterate();
    let steps = 0;
    let collectMs = 0;
    let updateMs = 0;
    const start = performance.now();
    while (performance.now() - start < 4_000) {
      const before = trainer.stepsDone;
      const s = await trainer.iterate();
      steps += trainer.stepsDone - before;
      collectMs += s.collectMs;
      updateMs += s.updateMs;
    }
    const seconds = (performance.now() - start) / 1000;
    report({
      bench: 'rl-ppo',
      metric,
      value: Math.round(steps / seconds),
      unit: 'env steps/s',
      ...(goal ? { goal } : {}),
      workers: config.workers ?? 0,
      backend: config.backend ?? 'js',
      nEpochs: config.nEpochs,
      batchSize: config.batchSize,
      collectShare: +(collectMs / (collectMs + updateMs)).toFixed(3),
    });
  } finally {
    await trainer.close();
  }
}

const base: Partial<PpoConfig> = { nEnvs: 8, nSteps: 256, batchSize: 256, hidden: [64, 64], seed: 1 };
// our JS kernels (the reference)
await measure('ppo_steps_per_s_js_2_workers_10_epochs', { ...base, nEpochs: 10, workers: 2 }, '>= 25000');
await measure('ppo_steps_per_s_js_in_process_10_epochs', { ...base, nEpochs: 10, workers: 0 });
await measure('ppo_steps_per_s_js_2_workers_4_epochs', { ...base, nEpochs: 4, workers: 2 }, '>= 25000');
// the same forward/backward math run by onnxruntime
await measure('ppo_steps_per_s_ort_2_workers_10_epochs', { ...base, nEpochs: 10, workers: 2, backend: 'onnxruntime' }, '>= 25000');
await measure('ppo_steps_per_s_ort_in_process_10_epochs', { ...base, nEpochs: 10, workers: 0, backend: 'onnxruntime' });
await measure('ppo_steps_per_s_ort_2_workers_4_epochs', { ...base, nEpochs: 4, workers: 2, backend: 'onnxruntime' }, '>= 25000');
await measure('ppo_steps_per_s_ort_2_workers_4_epochs_batch512', { ...base, nEpochs: 4, batchSize: 512, workers: 2, backend: 'onnxruntime' }, '>= 25000');
