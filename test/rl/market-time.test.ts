/**
 * A learning problem on market time: each decision tick reports the seconds of market time it
 * took, PPO discounts by γ^seconds (and GAE's λ likewise) instead of once per tick, an episode can
 * be limited to a window of market time, and the venue takes the rule strategies' limit orders
 * (post-only refused when marketable, a marketable limit walks only up to its price, a quote
 * inside the spread rests with nothing ahead and fills on a trade through it).
 */
import { describe, expect, it } from 'vitest';
import { HOLD } from '../../src/core/features/actions.ts';
import { ReplayVenue } from '../../src/core/replay-venue.ts';
import { MarketEnv } from '../../src/rl/env.ts';
import { generalizedAdvantages } from '../../src/rl/ppo/rollout.ts';
import { syntheticTimeline } from '../../src/rl/synthetic.ts';

describe('market time', () => {
  it('each step reports the market seconds between its decision and the next', () => {
    const env = new MarketEnv([syntheticTimeline({ seed: 5, events: 400, meanIntervalMs: 900 })]);
    env.reset(0, { timeline: 0 });
    let before = env.decisionTimeMs;
    let total = 0;
    for (let k = 0; k < 50; k++) {
      const r = env.step(HOLD);
      expect(r.elapsed).toBeCloseTo((env.decisionTimeMs - before) / 1000, 9);
      total += r.elapsed!;
      before = env.decisionTimeMs;
      if (r.terminated) break;
    }
    // ticks are irregular: a per-tick discount would weigh them all alike
    expect(total).toBeGreaterThan(50 * 0.25);
  });

  it('limits an episode to a window of market time (truncated, not terminated)', () => {
    const env = new MarketEnv([syntheticTimeline({ seed: 6, events: 2_000 })], { maxEpisodeMs: 60_000 });
    env.reset(0, { timeline: 0 });
    const start = env.decisionTimeMs;
    let r;
    do r = env.step(HOLD);
    while (!r.terminated && !r.truncated);
    expect(r.truncated).toBe(true);
    expect(env.decisionTimeMs - start).toBeGreaterThanOrEqual(60_000);
    expect(env.decisionTimeMs - start).toBeLessThan(60_000 + 5_000);
  });

  it('GAE discounts by γ^elapsed: three steps of 2 s with γ = 0.5/s and λ = 1 give 1 + ¼ + 1/16', () => {
    const advantages = new Float32Array(3);
    const returns = new Float32Array(3);
    const gamma = 0.5;
    const elapsed = 2;
    generalizedAdvantages(
      {
        rewards: [1, 1, 1],
        values: [0.3, -0.2, 0.7],
        discounts: [gamma ** elapsed, gamma ** elapsed, gamma ** elapsed],
        lambdas: [1, 1, 1],
        episodeStarts: [1, 0, 0],
      },
      [5],
      [1], // the episode ended with the rollout's last step
      1,
      3,
      advantages,
      returns,
    );
    expect(returns[0]).toBeCloseTo(1 + 0.25 + 0.0625, 6);
    expect(returns[1]).toBeCloseTo(1 + 0.25, 6);
    expect(returns[2]).toBeCloseTo(1, 6);
  });
});

describe('replay venue limit orders', () => {
  /** YES bids 40¢ ×10; NO bids 55¢ ×10 (YES ask 45¢), 50¢ ×10 (YES ask 50¢). */
  function venue(): ReplayVenue {
    const v = new ReplayVenue('T');
    v.applySnapshot([[4_000, 1_000]], [
      [5_000, 1_000],
      [5_500, 1_000],
    ]);
    v.endBatch();
    return v;
  }

  it('refuses a marketable post-only order whole, and a marketable limit walks only up to its price', () => {
    const v = venue();
    expect(v.placeLimit('bid', 4_500, 500, 0, { postOnly: true })).toBe(0);
    expect(v.fills).toBe(0);
    expect(v.bid.active).toBe(false);
    // 10 at 45¢ are within the limit, the 50¢ level is not: the other 5 rest at 45¢
    expect(v.placeLimit('bid', 4_500, 1_500, 0)).toBe(1_000);
    expect(v.position.position).toBe(1_000);
    expect(v.bid).toMatchObject({ active: true, price: 4_500, remaining: 500 });
    expect(v.placeLimit('ask', 4_000, 300, 0, { immediate: true })).toBe(300);
    expect(v.ask.active).toBe(false);
  });

  it('rests a quote inside the spread with nothing ahead: a sell trade through it fills it at its price', () => {
    const v = venue();
    expect(v.placeLimit('bid', 4_100, 500, 0, { postOnly: true })).toBe(0);
    expect(v.bid).toMatchObject({ active: true, price: 4_100, queueAhead: 0 });
    const fills: number[] = [];
    v.onFill = (f) => fills.push(f.price, f.count, f.taker ? 1 : 0);
    v.applyTrade(4_000, 300, 'no');
    v.endBatch();
    expect(fills).toEqual([4_100, 300, 0]);
    v.cancel('bid');
    expect(v.bid.active).toBe(false);
  });
});
