/**
 * The one strategy registry of the assembled system: the rule strategies of src/core/strategy
 * (`hold`, `spread-quoter`, `imbalance`) and `onnx:<path>` (src/adapters/policy/onnx-strategy.ts). onnxruntime
 * is loaded only when a spec names it, so a machine without its native library still runs the
 * rule strategies. Also the lifecycle a built strategy may have beyond `decide` (the ONNX policy:
 * a model to load first, a session to free). Used by the runtime and by scripted sessions.
 */
import { BUILTIN_STRATEGIES, UnknownStrategyError } from '../core/strategy/index.ts';
import type { Strategy, StrategyFactory } from '../core/strategy/index.ts';

/** What a strategy may offer beyond `decide`: a first load to await, resources to free. */
export interface StrategyLifecycle {
  ready?: () => Promise<void>;
  close?: () => Promise<void>;
}

/** A strategy's name: what comes before the first ':' of its spec (`onnx` in `onnx:/m.onnx`). */
export function strategyName(spec: string): string {
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(':');
  return (colon === -1 ? trimmed : trimmed.slice(0, colon)).trim();
}

/** The `onnx:<path>` factory could not be loaded (onnxruntime missing or broken on this machine). */
export class StrategyUnavailableError extends Error {
  override readonly name = 'StrategyUnavailableError';
}

async function loadOnnxFactory(): Promise<StrategyFactory> {
  try {
    return (await import('../adapters/policy/onnx-strategy.ts')).onnxStrategyFactory;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new StrategyUnavailableError(`onnx strategies are not available: ${reason}`);
  }
}

/**
 * The factories `createStrategy(spec, …, factories)` needs beyond the built-in ones: `onnx` when
 * the spec names it (loaded here, unless `extra` brings one), plus `extra`. A name nobody
 * provides is refused with the full list of known strategies.
 */
export async function strategyFactoriesFor(
  spec: string,
  extra: Readonly<Record<string, StrategyFactory>> = {},
): Promise<Record<string, StrategyFactory>> {
  const name = strategyName(spec);
  if (name === 'onnx' && !Object.hasOwn(extra, 'onnx')) return { onnx: await loadOnnxFactory(), ...extra };
  if (name !== 'onnx' && !Object.hasOwn(BUILTIN_STRATEGIES, name) && !Object.hasOwn(extra, name)) {
    const known = [...new Set([...Object.keys(BUILTIN_STRATEGIES), ...Object.keys(extra), 'onnx:<path>'])].sort();
    throw new UnknownStrategyError(`unknown strategy ${JSON.stringify(spec)}; known: ${known.join(', ')}`);
  }
  return { ...extra };
}

/** Waits for what the strategy loads (a model file); one that fails to load is closed before the error goes on. */
export async function readyStrategy(strategy: Strategy): Promise<void> {
  const ready = (strategy as Strategy & StrategyLifecycle).ready;
  if (!ready) return;
  try {
    await ready.call(strategy);
  } catch (error) {
    await closeStrategy(strategy);
    throw error;
  }
}

/** Frees what the strategy holds (an ONNX session); never throws. */
export async function closeStrategy(strategy: Strategy): Promise<void> {
  await (strategy as Strategy & StrategyLifecycle).close?.().catch(() => undefined);
}
