/**
 * Strategy lookup by spec string: `hold`, `spread-quoter`, `imbalance`, or `<name>:<argument>` for strategies
 * that take one (the RL policy will register `onnx:<path>` from the adapter layer by passing its
 * factory in `extra`, so this core module stays free of I/O).
 */
import { createHoldStrategy } from './hold.ts';
import { createImbalanceStrategy } from './imbalance.ts';
import { createSpreadQuoter } from './spread-quoter.ts';
import type { Strategy } from './types.ts';

export type { BookView, Decision, MarketView, OwnOrder, Strategy, SyncStrategy } from './types.ts';
export { createHoldStrategy } from './hold.ts';
export { createSpreadQuoter, quoteTargets, quoteSide, othersBest, spreadQuoterOptionsSchema } from './spread-quoter.ts';
export type { SpreadQuoterOptions, QuoteTargets, QuoteOrderOptions } from './spread-quoter.ts';
export { createImbalanceStrategy, bookImbalance, imbalanceOptionsSchema } from './imbalance.ts';
export type { ImbalanceOptions } from './imbalance.ts';

/** `argument` is what follows the first ':' in the spec (empty when there is none). */
export type StrategyFactory = (argument: string, options: unknown) => Strategy;

export const BUILTIN_STRATEGIES: Readonly<Record<string, StrategyFactory>> = Object.freeze({
  hold: () => createHoldStrategy(),
  'spread-quoter': (_argument: string, options: unknown) => createSpreadQuoter(options),
  imbalance: (_argument: string, options: unknown) => createImbalanceStrategy(options),
});

export class UnknownStrategyError extends Error {
  override readonly name = 'UnknownStrategyError';
}

export function createStrategy(spec: string, options?: unknown, extra: Readonly<Record<string, StrategyFactory>> = {}): Strategy {
  const factories: Record<string, StrategyFactory> = { ...BUILTIN_STRATEGIES, ...extra };
  const colon = spec.indexOf(':');
  const name = (colon === -1 ? spec : spec.slice(0, colon)).trim();
  const argument = colon === -1 ? '' : spec.slice(colon + 1);
  const factory = Object.hasOwn(factories, name) ? factories[name] : undefined;
  if (!factory) {
    throw new UnknownStrategyError(
      `unknown strategy ${JSON.stringify(spec)}; known: ${Object.keys(factories).sort().join(', ')}`,
    );
  }
  return factory(argument, options ?? {});
}
