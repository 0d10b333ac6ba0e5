/**
 * Tick-to-order latency with the ONNX policy in process: from BOOK_UPDATED sent to the trader
 * actor until the order actor for the policy's intent has invoked `submitOrder` (the point where
 * the wiring journals and POSTs). The `onnx:` strategy as `kalshiflow start` builds it (features
 * with per-market rolling state, action mask, onnxruntime-node inference of a PPO-shaped
 * network — shared tanh trunk 64×64, policy and value heads — greedy action, order mapping),
 * real OrderBook (30 levels a side), real risk checks, real order actors. The policy always
 * chooses BUY_YES (take), so every tick places an immediate-or-cancel bid; the venue adapter
 * answers "filled" at once. Mirrors bench/tick-to-order.bench.ts (the rule strategy). Goal: p99 ≤ 1 ms.
 *
 * Also reported: the strategy's decide() alone (features + mask + inference + mapping), the bare
 * onnxruntime inference, and process CPU time per tick (a shared 2-core machine's wall-clock tails
 * are mostly time the process was not running).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../src/core/clock.ts';
import { FEATURE_COUNT } from '../src/core/features.ts';
import { BUY_YES, HOLD, encodeAction } from '../src/core/features/actions.ts';
import type { ActionSpaceConfig } from '../src/core/features/actions.ts';
import type { MarketView } from '../src/core/strategy/types.ts';
import { loadOnnxPolicy } from '../src/adapters/policy/onnx-policy.ts';
import { loadOnnxStrategy } from '../src/adapters/policy/onnx-strategy.ts';
import { exportPolicyOnnx } from '../src/rl/export.ts';
import { ActorCritic } from '../src/rl/ppo/policy.ts';
import { percentile, report } from './harness.ts';
import { TICKER, benchBook, benchTrader, drain, ranges } from './trader-fixture.ts';

const WARMUP = 1_000;
const SAMPLES = 10_000;
const SPACE: ActionSpaceConfig = { sizes: [100], styles: ['take'] };

const book = benchBook();

// The default PPO network (shared trunk [64, 64]) with random weights, biased so BUY_YES wins.
const network = ActorCritic.create({ observationSize: FEATURE_COUNT, actionCount: 5, hidden: [64, 64], architecture: 'shared' }, 7);
const head = network.pi.layers[network.pi.layers.length - 1];
network.pi.params[head.bOffset + encodeAction(SPACE, BUY_YES)] = 50;
network.pi.params[head.bOffset + HOLD] = 10;
network.syncWeights();
const dir = await mkdtemp(join(tmpdir(), 'kf-rl-tick-'));
const modelPath = join(dir, 'policy.onnx');
await exportPolicyOnnx(network, modelPath, { actionSpace: SPACE, modelVersion: 'bench' });

const clock = new VirtualClock(Date.UTC(2026, 0, 5, 15));
const CASH = 1_000_000_000_000;
const strategy = await loadOnnxStrategy(modelPath, { watch: false, clock, account: () => ({ cash: CASH, costBasis: 0 }) });

let submitAt: number[] = [];
let onSubmit: (() => void) | null = null;
const trader = benchTrader({
  clock,
  book,
  strategy,
  cash: CASH,
  submit: (input) => {
    submitAt.push(performance.now());
    onSubmit?.();
    return { outcome: 'accepted', orderId: `o-${input.clientOrderId}`, fillCount: input.intent.count, remainingCount: 0 };
  },
});

async function measure(n: number, record: boolean) {
  const first: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    submitAt = [];
    const submitted = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no order within 5 s at tick ${i}`)), 5_000);
      onSubmit = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    trader.send({ type: 'BOOK_UPDATED', ticker: TICKER });
    await submitted;
    const c1 = process.cpuUsage(c0);
    onSubmit = null;
    if (record) {
      first.push(submitAt[0] - t0);
      cpu.push((c1.user + c1.system) / 1_000);
    }
    await drain(); // the IOC order fills and its actor is released
    clock.advance(250);
  }
  return { first, cpu };
}

await measure(WARMUP, false);
globalThis.gc?.();
const { first, cpu } = await measure(SAMPLES, true);
first.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
const snapshot = trader.getSnapshot();
if (Object.keys(snapshot.context.orders).length !== 0) throw new Error('orders leaked across ticks');
const placed = snapshot.context.counters.ordersPlaced;
trader.stop();

// decide() alone, and the bare inference, on the same book
const view: MarketView = { ticker: 'KX-DECIDE', book, position: 0, openOrders: [], nowMs: clock.now(), priceRanges: ranges };
const decideMs: number[] = [];
for (let i = 0; i < WARMUP + SAMPLES; i++) {
  view.nowMs += 250;
  const t0 = performance.now();
  const decisions = await strategy.decide(view);
  const t1 = performance.now();
  if (decisions.length !== 1) throw new Error(`expected one decision, got ${decisions.length}`);
  if (i >= WARMUP) decideMs.push(t1 - t0);
}
decideMs.sort((a, b) => a - b);
const policy = await loadOnnxPolicy(modelPath);
const obs = new Float32Array(FEATURE_COUNT).fill(0.25);
const inferMs: number[] = [];
for (let i = 0; i < WARMUP + SAMPLES; i++) {
  const t0 = performance.now();
  await policy.run(obs, 1);
  if (i >= WARMUP) inferMs.push(performance.now() - t0);
}
inferMs.sort((a, b) => a - b);
await policy.release();
await strategy.close();
await rm(dir, { recursive: true, force: true });

const bench = 'rl-tick-to-order';
const ms = (v: number) => Math.round(v * 1_000) / 1_000;
report({ bench, metric: 'book_updated_to_submit_p50', value: ms(percentile(first, 50)), unit: 'ms', samples: SAMPLES, strategy: 'onnx (64x64 shared trunk)' });
report({ bench, metric: 'book_updated_to_submit_p99', value: ms(percentile(first, 99)), unit: 'ms', goal: '<= 1 ms', samples: SAMPLES });
report({ bench, metric: 'book_updated_to_submit_max', value: ms(first[first.length - 1]), unit: 'ms', samples: SAMPLES });
report({ bench, metric: 'tick_cpu_p50', value: ms(percentile(cpu, 50)), unit: 'ms', note: 'process CPU time, all threads, BOOK_UPDATED to submit' });
report({ bench, metric: 'tick_cpu_p99', value: ms(percentile(cpu, 99)), unit: 'ms', note: 'process CPU time, all threads, BOOK_UPDATED to submit' });
report({ bench, metric: 'decide_p50', value: ms(percentile(decideMs, 50)), unit: 'ms', note: 'features + mask + inference + order mapping' });
report({ bench, metric: 'decide_p99', value: ms(percentile(decideMs, 99)), unit: 'ms', note: 'features + mask + inference + order mapping' });
report({ bench, metric: 'inference_p50', value: ms(percentile(inferMs, 50)), unit: 'ms', note: 'onnxruntime-node run, batch 1' });
report({ bench, metric: 'inference_p99', value: ms(percentile(inferMs, 99)), unit: 'ms', note: 'onnxruntime-node run, batch 1' });
report({ bench, metric: 'orders_placed', value: placed, unit: 'orders', note: 'one per tick expected' });
report({ bench, metric: 'host_load_1min', value: Math.round(loadavg()[0] * 100) / 100, unit: 'runnable', cores: availableParallelism() });
