/**
 * The sweep grid (src/sessions/sweep.ts): seeds and --set values expand to every combination,
 * job keys depend on the scenario text and the combination only, and a combination's fields
 * are set on the scenario and validated like the file itself.
 */
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/sessions/scenario.ts';
import { combinations, jobKeyOf, parseSeeds, parseSetting, scenarioWith, sweepKeyOf } from '../../src/sessions/sweep.ts';

const SOURCE = `name: grid
seed: 3
duration: 20s
exchange:
  markets:
    - { ticker: G-A, fair: 0.5 }
trader:
  strategy: spread-quoter
`;

describe('sweep grid', () => {
  it('reads seed lists and ranges, refuses bad ones', () => {
    expect(parseSeeds('1-3,7,2')).toEqual([1, 2, 3, 7]);
    expect(() => parseSeeds('5-1')).toThrow(ScenarioError);
    expect(() => parseSeeds('a')).toThrow(ScenarioError);
  });

  it('expands settings × seeds, numbers as numbers', () => {
    const grid = combinations([1, 2], [parseSetting('trader.strategy=hold,spread-quoter'), parseSetting('trader.throttle=500')]);
    expect(grid).toHaveLength(4);
    expect(grid[0]).toEqual({ 'trader.strategy': 'hold', 'trader.throttle': 500, seed: 1 });
    expect(() => parseSetting('seed=1,2')).toThrow(/--seeds/);
    expect(() => parseSetting('trader.strategy')).toThrow(ScenarioError);
  });

  it('keys a job by scenario text and combination, not key order', () => {
    const a = jobKeyOf(SOURCE, { seed: 1, 'trader.strategy': 'hold' });
    expect(jobKeyOf(SOURCE, { 'trader.strategy': 'hold', seed: 1 })).toBe(a);
    expect(jobKeyOf(SOURCE, { seed: 2, 'trader.strategy': 'hold' })).not.toBe(a);
    expect(jobKeyOf(`${SOURCE}# edited\n`, { seed: 1, 'trader.strategy': 'hold' })).not.toBe(a);
    expect(sweepKeyOf(SOURCE, [{ seed: 1 }, { seed: 2 }])).toBe(sweepKeyOf(SOURCE, [{ seed: 2 }, { seed: 1 }]));
  });

  it('sets the combination on the scenario and validates it', () => {
    const loaded = scenarioWith(SOURCE, 'grid.yaml', { seed: 9, 'trader.strategy': 'hold' });
    expect(loaded.scenario.seed).toBe(9);
    expect(loaded.scenario.trader.strategy).toBe('hold');
    expect(loaded.source).toBe(SOURCE);
    expect(() => scenarioWith(SOURCE, 'grid.yaml', { seed: 1, 'trader.nonsense': 1 })).toThrow(ScenarioError);
    expect(() => scenarioWith(SOURCE, 'grid.yaml', { seed: 1, 'name.x': 1 })).toThrow(/not a mapping/);
  });
});
