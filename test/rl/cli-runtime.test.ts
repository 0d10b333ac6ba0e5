/**
 * `--strategy onnx:<file>` in the assembled runtime (what `kalshiflow start` runs): the default
 * strategy factories load the policy before anything starts, the trader places the policy's
 * orders against the embedded simulator, the strategy reads the trader's own cash and cost basis,
 * `/v3/status` shows a `policy` component (path, version, load time, last error — a bad file
 * written over the model is reported and the running model kept), and close() releases it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUY_YES, HOLD, encodeAction } from '../../src/core/features/actions.ts';
import type { ActionSpaceConfig } from '../../src/core/features/actions.ts';
import { createRuntime } from '../../src/app/runtime.ts';
import type { Runtime } from '../../src/app/runtime.ts';
import { ConfigError } from '../../src/app/config.ts';
import { exportPolicyOnnx } from '../../src/rl/export.ts';
import { ActorCritic } from '../../src/rl/ppo/policy.ts';

const SPACE: ActionSpaceConfig = { sizes: [100], styles: ['take'] };

/** A policy whose logits always rank `action` first, then HOLD. */
async function constantModel(path: string, action: number, version: string): Promise<void> {
  const p = new ActorCritic({ observationSize: 52, actionCount: 5, hidden: [8] });
  const last = p.pi.layers[p.pi.layers.length - 1];
  p.pi.params[last.bOffset + action] = 5;
  p.pi.params[last.bOffset + HOLD] = 1;
  p.syncWeights();
  await exportPolicyOnnx(p, path, { actionSpace: SPACE, modelVersion: version });
}

async function until(what: string, condition: () => boolean, timeoutMs = 25_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let dir: string;
let runtime: Runtime | null = null;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kf-rlrt-'));
});

afterAll(async () => {
  await runtime?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('createRuntime with onnx:<path>', () => {
  it('refuses a model it cannot load with a strategy ConfigError', async () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    await expect(
      createRuntime({ environment: 'sim', selection: { mode: 'discovery', limit: 1 }, strategy: `onnx:${bad}`, dataDir: join(dir, 'refused') }),
    ).rejects.toThrow(ConfigError);
    await expect(
      createRuntime({ environment: 'sim', selection: { mode: 'discovery', limit: 1 }, strategy: `onnx:${bad}`, dataDir: join(dir, 'refused') }),
    ).rejects.toThrow(/^strategy: .*bad\.onnx is not a readable ONNX model/);
  });

  it('trades the policy, passes the trader account to it, and reports the model as a policy component', async () => {
    const model = join(dir, 'buy-yes.onnx');
    await constantModel(model, encodeAction(SPACE, BUY_YES), 'buy-yes-1');
    runtime = await createRuntime({
      environment: 'sim',
      selection: { mode: 'discovery', limit: 1 },
      strategy: `onnx:${model}`,
      dataDir: join(dir, 'data'),
      sim: { markets: 1, seed: 5 },
      throttleMs: 100,
    });
    const system = runtime.system;
    expect(system.status().strategy).toBe('onnx');
    await system.waitForState('ready', 25_000);
    await until('a policy order', () => system.status().trader.ordersPlaced > 0);

    const policy = system.status().components.find((c) => c.name === 'policy');
    expect(policy).toBeDefined();
    expect(policy!.healthy).toBe(true);
    expect(policy!.detail).toContain(`model ${model} version buy-yes-1 (obs-v1), loaded `);
    expect(policy!.lastActivityMs).not.toBeNull();

    const ticker = system.status().markets[0].ticker;
    const ctx = system.trader!.getSnapshot().context;
    expect(system.account(ticker)).toEqual({ cash: ctx.cash, costBasis: ctx.positions[ticker]?.costBasis ?? 0 });
    expect(system.account(ticker).cash).toBeGreaterThan(0);
    // the strategy computed its observation with that account: cash ratio ~ 1 for a small position
    const strategy = runtime.strategy as unknown as { observation(t: string): Float32Array | null };
    const obs = strategy.observation(ticker);
    expect(obs).not.toBeNull();
    expect(obs![36]).toBeGreaterThan(0.9);

    // a broken file over the model: reported, the running model kept
    writeFileSync(model, 'garbage');
    await until('the failed reload in the status', () => system.status().components.find((c) => c.name === 'policy')!.healthy === false, 10_000);
    const after = system.status().components.find((c) => c.name === 'policy')!;
    expect(after.detail).toMatch(/version buy-yes-1 .*; last reload failed .*: .*not a readable ONNX model/);
  });
});
