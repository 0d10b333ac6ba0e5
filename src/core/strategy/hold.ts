/**
 * `hold`: never trades. The default strategy, and the baseline every other one is compared with.
 */
import type { Decision, MarketView, SyncStrategy } from './types.ts';

export function createHoldStrategy(): SyncStrategy {
  return {
    name: 'hold',
    needsBook: false,
    decide(_view: MarketView): Decision[] {
      return [];
    },
  };
}
