import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrderBook } from '../../src/core/orderbook.ts';
import { createStrategy } from '../../src/core/strategy/index.ts';
import type { MarketView, OwnOrder } from '../../src/core/strategy/types.ts';
import { priceRangesFor } from '../../src/core/ticks.ts';
import { BUY_YES, HOLD, SELL_YES, encodeAction } from '../../src/core/features/actions.ts';
import type { ActionSpaceConfig } from '../../src/core/features/actions.ts';
import { createOnnxStrategy, loadOnnxStrategy, onnxStrategyFactory } from '../../src/adapters/policy/onnx-strategy.ts';
import type { OnnxStrategy } from '../../src/adapters/policy/onnx-strategy.ts';
import { PolicyModelError } from '../../src/adapters/policy/onnx-policy.ts';
import { encodeOnnxPolicy } from '../../src/adapters/policy/onnx-export.ts';
import { exportPolicyOnnx, policyNetwork } from '../../src/rl/export.ts';
import { ActorCritic } from '../../src/rl/ppo/policy.ts';
import { MarketEnv } from '../../src/rl/env.ts';
import { syntheticTimeline } from '../../src/rl/synthetic.ts';

const TAKE: ActionSpaceConfig = { sizes: [500], styles: ['take'] };
const BOTH: ActionSpaceConfig = { sizes: [500], styles: ['take', 'join'] };

/** A policy whose logits are constant: `action` always scores highest, then HOLD. */
function constantPolicy(action: number, space: ActionSpaceConfig): ActorCritic {
  const count = 1 + 4 * space.sizes.length * space.styles.length;
  const p = new ActorCritic({ observationSize: 52, actionCount: count, hidden: [8] });
  const last = p.pi.layers[p.pi.layers.length - 1];
  p.pi.params[last.bOffset + action] = 5;
  if (action !== HOLD) p.pi.params[last.bOffset + HOLD] = 1;
  p.syncWeights();
  return p;
}

async function writeModel(path: string, action: number, version: string, space: ActionSpaceConfig = TAKE): Promise<void> {
  await exportPolicyOnnx(constantPolicy(action, space), path, { actionSpace: space, modelVersion: version });
}

/** YES bids 40¢ ×10, 38¢ ×10; NO bids 58¢ ×3, 56¢ ×5 (YES asks 42¢, 44¢). */
function book(): OrderBook {
  const b = new OrderBook('MKT');
  b.applySnapshot(
    [
      [4_000, 1_000],
      [3_800, 1_000],
    ],
    [
      [5_800, 300],
      [5_600, 500],
    ],
  );
  return b;
}

function view(overrides: Partial<MarketView> = {}): MarketView {
  return {
    ticker: 'MKT',
    book: book(),
    position: 0,
    openOrders: [],
    nowMs: Date.UTC(2026, 0, 5, 15),
    priceRanges: priceRangesFor('linear_cent'),
    ...overrides,
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let dir: string;
const open: OnnxStrategy[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kalshiflow-strategy-'));
});
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function strategyFor(name: string, action: number, space: ActionSpaceConfig = TAKE, options = {}): Promise<OnnxStrategy> {
  const path = join(dir, name);
  await writeModel(path, action, name, space);
  const s = await loadOnnxStrategy(path, { watch: false, ...options });
  open.push(s);
  return s;
}

describe('onnx strategy decisions', () => {
  it('turns a taking BUY_YES into an IOC bid at the deepest level its size needs', async () => {
    const s = await strategyFor('buy.onnx', BUY_YES);
    expect(s.name).toBe('onnx');
    expect(s.needsBook).toBe(true);
    // 5 contracts: 3 at 42¢ and 2 at 44¢ → limit 44¢
    expect(await s.decide(view())).toEqual([
      { kind: 'place', intent: { ticker: 'MKT', side: 'bid', price: 4_400, count: 500, timeInForce: 'immediate_or_cancel' } },
    ]);
    // at the position limit the action is masked: HOLD
    const limited = await strategyFor('buy-limited.onnx', BUY_YES, TAKE, { maxPosition: 500 });
    expect(await limited.decide(view({ position: 500 }))).toEqual([]);
  });

  it('sells only what is held (masked when flat, capped otherwise)', async () => {
    const s = await strategyFor('sell.onnx', SELL_YES);
    expect(await s.decide(view())).toEqual([]);
    expect(await s.decide(view({ position: 300 }))).toEqual([
      { kind: 'place', intent: { ticker: 'MKT', side: 'ask', price: 4_000, count: 300, timeInForce: 'immediate_or_cancel' } },
    ]);
  });

  it('joins the best bid post-only, replacing its own order on that side unless it is already there', async () => {
    const s = await strategyFor('join.onnx', encodeAction(BOTH, BUY_YES, 0, 1), BOTH);
    const place = { kind: 'place', intent: { ticker: 'MKT', side: 'bid', price: 4_000, count: 500, timeInForce: 'good_till_canceled', postOnly: true } };
    expect(await s.decide(view())).toEqual([place]);
    const stale: OwnOrder = { clientOrderId: 'c1', side: 'bid', price: 3_900, remaining: 500 };
    expect(await s.decide(view({ openOrders: [stale] }))).toEqual([{ kind: 'cancel', clientOrderId: 'c1', reason: 'policy re-quotes bid at 4000' }, place]);
    const there: OwnOrder = { clientOrderId: 'c2', side: 'bid', price: 4_000, remaining: 500 };
    expect(await s.decide(view({ openOrders: [there] }))).toEqual([]);
  });

  it('does nothing without a book', async () => {
    const s = await strategyFor('nobook.onnx', BUY_YES);
    expect(await s.decide(view({ book: null }))).toEqual([]);
  });

  it('computes exactly the observation the training environment computes', async () => {
    const s = await strategyFor('parity.onnx', HOLD, TAKE, {
      account: () => ({ cash: 100_000_000, costBasis: 0 }),
    });
    const env = new MarketEnv([syntheticTimeline({ seed: 11, events: 120, tradeProbability: 0 })]);
    let obs = env.reset(0);
    for (let step = 0; step < 100; step++) {
      await s.decide({ ...view(), ticker: 'PARITY', book: env.venue.book, nowMs: env.decisionTimeMs });
      expect([...s.observation('PARITY')!]).toEqual([...obs]);
      const r = env.step(HOLD);
      if (r.terminated) break;
      obs = r.obs;
    }
  });

  it('registers as onnx:<path> and refuses a bad model at start', async () => {
    const path = join(dir, 'factory.onnx');
    await writeModel(path, HOLD, 'factory');
    const s = createStrategy(`onnx:${path}`, { watch: false }, { onnx: onnxStrategyFactory }) as OnnxStrategy;
    open.push(s);
    await s.ready();
    expect(s.status().version).toBe('factory');
    const bad = join(dir, 'bad.onnx');
    await writeFile(bad, 'nope');
    await expect(loadOnnxStrategy(bad, { watch: false })).rejects.toThrow(PolicyModelError);
  });
});

describe('hot reload', () => {
  it('swaps in a valid new model atomically and keeps the running one when the file is bad', async () => {
    const path = join(dir, 'live.onnx');
    await writeModel(path, HOLD, 'v1');
    const reloads: string[] = [];
    const s = createOnnxStrategy(path, { debounceMs: 20, onReload: (st) => reloads.push(st.version ?? '-') });
    open.push(s);
    await s.ready();
    expect(s.status()).toMatchObject({ modelPath: path, version: 'v1', obsVersion: 'obs-v1', lastError: null, loads: 1 });
    expect(s.status().loadedAt).toBeGreaterThan(0);
    expect(await s.decide(view())).toEqual([]);

    // a new model, written atomically: picked up and used
    await writeModel(path, BUY_YES, 'v2');
    await until(() => s.status().version === 'v2', 'v2 to load');
    expect((await s.decide(view()))[0]).toMatchObject({ kind: 'place', intent: { side: 'bid' } });

    // garbage: refused, recorded, the running model stays
    await writeFile(`${path}.tmp`, 'corrupt');
    await rename(`${path}.tmp`, path);
    await until(() => s.status().lastError !== null, 'the bad file to be refused');
    expect(s.status().version).toBe('v2');
    expect(s.status().lastError).toMatch(/not a readable ONNX model|onnxruntime refused/);
    expect((await s.decide(view()))[0]).toMatchObject({ kind: 'place' });

    // a model for another observation version: refused with the reason
    const v0 = encodeOnnxPolicy(policyNetwork(constantPolicy(HOLD, TAKE)), {
      obsVersion: 'obs-v0',
      actions: ['HOLD', 'BUY_YES', 'SELL_YES', 'BUY_NO', 'SELL_NO'],
      actionSpace: TAKE,
    });
    await writeFile(`${path}.tmp`, v0);
    await rename(`${path}.tmp`, path);
    await until(() => /obs-v0/.test(s.status().lastError ?? ''), 'the obs-v0 model to be refused');
    expect(s.status().version).toBe('v2');

    // a good model again clears the error
    await writeModel(path, HOLD, 'v3');
    await until(() => s.status().version === 'v3', 'v3 to load');
    expect(s.status()).toMatchObject({ lastError: null, loads: 3 });
    expect(await s.decide(view())).toEqual([]);
    expect(reloads).toContain('v2');
  });

  it('lets a decision in flight finish on the model it started with', async () => {
    const path = join(dir, 'inflight.onnx');
    await writeModel(path, BUY_YES, 'a');
    const s = await loadOnnxStrategy(path, { watch: false });
    open.push(s);
    const pending = s.decide(view());
    await writeModel(path, HOLD, 'b');
    const [decisions, swapped] = await Promise.all([pending, s.reload()]);
    expect(swapped).toBe(true);
    expect(decisions[0]).toMatchObject({ kind: 'place' });
    expect(await s.decide(view())).toEqual([]);
  });
});
