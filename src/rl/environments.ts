/**
 * Environment specs: plain, structured-clone-friendly descriptions from which each rollout worker
 * builds its own environments (timelines are compiled once and copied to the workers).
 */
import { CartPole } from './cartpole.ts';
import { MarketEnv } from './env.ts';
import type { MarketEnvConfig } from './env.ts';
import type { CompiledTimeline } from './timeline.ts';
import type { Environment } from './types.ts';

export type EnvSpec =
  | { kind: 'cartpole'; maxSteps?: number }
  | { kind: 'market'; timelines: CompiledTimeline[]; config?: Partial<MarketEnvConfig> };

export function createEnvironment(spec: EnvSpec): Environment {
  switch (spec.kind) {
    case 'cartpole':
      return new CartPole({ maxSteps: spec.maxSteps });
    case 'market':
      return new MarketEnv(spec.timelines, spec.config ?? {});
    default:
      throw new RangeError(`unknown environment kind ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}
