import { describe, expect, it } from 'vitest';
import { FEATURE_INDEX } from '../../src/core/features.ts';
import { actionCount, actionNames, decodeAction, encodeAction, BUY_YES, SELL_YES } from '../../src/core/features/actions.ts';
import { MarketEnv, resolveMarketEnvConfig } from '../../src/rl/env.ts';
import { driftTimeline, syntheticTimeline } from '../../src/rl/synthetic.ts';
import { compileTimeline, fromRecordedTimeline, parseMarketTimeline, playableSteps, TimelineError } from '../../src/rl/timeline.ts';
import type { MarketTimeline } from '../../src/rl/timeline.ts';

function tiny(result: 'yes' | 'no' | null = null): MarketTimeline {
  return {
    ticker: 'TINY',
    result,
    events: [
      { kind: 'snapshot', seq: 1, tsMs: 1_000, yes: [[4_000, 1_000]], no: [[5_800, 1_000]] },
      { kind: 'delta', seq: 2, tsMs: 2_000, side: 'yes', price: 4_100, delta: 500 },
      { kind: 'delta', seq: 3, tsMs: 3_000, side: 'no', price: 5_700, delta: 500 },
      { kind: 'gap', seq: null, tsMs: 4_000 },
      { kind: 'delta', seq: 5, tsMs: 5_000, side: 'yes', price: 4_200, delta: 500 },
      { kind: 'snapshot', seq: 6, tsMs: 6_000, yes: [[4_500, 1_000]], no: [[5_300, 1_000]] },
      { kind: 'trade', seq: 7, tsMs: 7_000, yesPrice: 4_500, count: 100, takerSide: 'no' },
    ],
  };
}

describe('action space', () => {
  it('keeps the original layout for one size and nests styles inside sizes', () => {
    const one = { sizes: [500], styles: ['take' as const] };
    expect(actionCount(one)).toBe(5);
    expect(actionNames(one)).toEqual(['HOLD', 'BUY_YES', 'SELL_YES', 'BUY_NO', 'SELL_NO']);
    const many = { sizes: [100, 500], styles: ['take' as const, 'join' as const] };
    expect(actionCount(many)).toBe(17);
    expect(decodeAction(many, 1)).toEqual({ base: BUY_YES, size: 100, style: 'take' });
    expect(decodeAction(many, 2)).toEqual({ base: BUY_YES, size: 500, style: 'take' });
    expect(decodeAction(many, 3)).toEqual({ base: BUY_YES, size: 100, style: 'join' });
    expect(decodeAction(many, 5)).toEqual({ base: SELL_YES, size: 100, style: 'take' });
    for (let a = 1; a < 17; a++) {
      const d = decodeAction(many, a);
      expect(encodeAction(many, d.base, many.sizes.indexOf(d.size), many.styles.indexOf(d.style))).toBe(a);
    }
    expect(actionNames(many)[4]).toBe('BUY_YES_5_join');
    expect(() => decodeAction(one, 5)).toThrow(RangeError);
  });
});

describe('timelines', () => {
  it('validate untrusted input', () => {
    expect(parseMarketTimeline(JSON.parse(JSON.stringify(tiny('yes')))).events).toHaveLength(7);
    expect(() => parseMarketTimeline({ ticker: 'X', events: [{ kind: 'delta', seq: 1, tsMs: 1, side: 'yes', price: 10_000, delta: 1 }] })).toThrow(TimelineError);
    expect(() => parseMarketTimeline({ ticker: 'X', events: [{ kind: 'teleport' }] })).toThrow(/events\.0/);
  });

  it('compile to columns and count playable steps', () => {
    const c = compileTimeline(tiny());
    expect(c.length).toBe(7);
    expect(c.firstSnapshot).toBe(0);
    expect(playableSteps(c)).toBe(6);
    expect(c.snapshots).toHaveLength(2);
  });

  it('convert the store loader shape', () => {
    const converted = fromRecordedTimeline(
      {
        ticker: 'REC',
        counts: { snapshots: 1, deltas: 1, trades: 1, gaps: 1 },
        events: [
          { kind: 'snapshot', ord: 1, sid: 1, seq: 1, tsMs: null, recvMs: 10, yes: [[100, 100]], no: [[200, 100]] },
          { kind: 'delta', ord: 2, sid: 1, seq: 2, tsMs: 20, recvMs: 21, side: 'no', price: 200, delta: -50 },
          { kind: 'trade', ord: 3, sid: 1, seq: null, tradeId: 't', tsMs: 30, recvMs: 31, yesPrice: 100, count: 10, takerSide: 'yes' },
          { kind: 'gap', ord: 4, sid: 1, gapKind: 'seq_gap' as never, expectedSeq: 3, receivedSeq: 5, recvMs: 40, detail: null },
        ],
      },
      42,
    );
    expect(converted.sessionId).toBe('42');
    expect(converted.events.map((e) => [e.kind, e.tsMs])).toEqual([
      ['snapshot', 10],
      ['delta', 20],
      ['trade', 30],
      ['gap', 40],
    ]);
  });
});

describe('MarketEnv', () => {
  it('steps one recorded event at a time and skips a gap to the next snapshot', () => {
    const env = new MarketEnv([tiny()]);
    env.reset(1);
    expect(env.eventIndex).toBe(0);
    const seen: number[] = [];
    for (;;) {
      const r = env.step(0);
      seen.push(r.info.eventIndex as number);
      if (r.terminated) break;
    }
    expect(seen).toEqual([1, 2, 5, 6, 6]);
  });

  it('rewards the change of portfolio value at executable prices, fees included', () => {
    const env = new MarketEnv([tiny()], { actions: { sizes: [1_000], styles: ['take'] } });
    env.reset(1);
    const start = env.portfolioValue();
    const r = env.step(BUY_YES); // 10 YES at 42¢, then marked at the 41¢ bid the next event adds
    expect(r.info.feesPaid).toBe(170_600); // ceil(0.07 × 10 × 0.42 × 0.58) to $0.0001
    expect(r.info.portfolioValue).toBe(100_000_000 - 4_200_000 - 170_600 + 4_100_000);
    expect(r.info.position).toBe(1_000);
    expect(r.info.cash).toBe(100_000_000 - 4_200_000 - (r.info.feesPaid as number));
    expect(r.reward).toBeCloseTo((r.info.portfolioValue as number) / 1e6 - start / 1e6, 9);
    let total = r.reward;
    for (;;) {
      const s = env.step(0);
      total += s.reward;
      if (s.terminated) break;
    }
    expect(total).toBeCloseTo((env.portfolioValue() - start) / 1e6, 9);
  });

  it('settles open positions when the result is known', () => {
    const env = new MarketEnv([tiny('yes')], { actions: { sizes: [1_000], styles: ['take'] } });
    env.reset(1);
    const start = env.portfolioValue();
    let r = env.step(BUY_YES);
    const fees = r.info.feesPaid as number;
    while (!r.terminated) r = env.step(0);
    expect(r.info.position).toBe(0);
    expect(env.portfolioValue() - start).toBe(10 * 10_000 * 100 - 4_200_000 - fees);
  });

  it('masks sells without a position and everything but HOLD on an unknown book', () => {
    const env = new MarketEnv([tiny()]);
    env.reset(1);
    expect([...env.actionMask(new Uint8Array(5))]).toEqual([1, 1, 0, 1, 0]);
    env.step(BUY_YES);
    expect([...env.actionMask(new Uint8Array(5))]).toEqual([1, 1, 1, 1, 0]);
  });

  it('has no ticker in the observation and is deterministic for a seed', () => {
    const a = syntheticTimeline({ seed: 5, events: 300 });
    const b = { ...a, ticker: 'OTHER-TICKER' };
    const run = (t: MarketTimeline, seed: number) => {
      const env = new MarketEnv([t], { start: 'random', maxEpisodeSteps: 50 });
      const out: number[] = [...env.reset(seed)];
      for (let i = 0; i < 50; i++) {
        const r = env.step(i % 7 === 0 ? 1 : 0);
        out.push(...r.obs, r.reward);
        if (r.terminated || r.truncated) break;
      }
      return out;
    };
    expect(run(a, 3)).toEqual(run(b, 3));
    expect(run(a, 3)).toEqual(run(a, 3));
    expect(run(a, 3)).not.toEqual(run(a, 4));
  });

  it('starts a random episode on the current book with a warm feature history', () => {
    const env = new MarketEnv([syntheticTimeline({ seed: 9, events: 2_000, gapProbability: 0.01 })], { start: 'random' });
    for (let seed = 1; seed <= 20; seed++) {
      const obs = env.reset(seed);
      expect(env.sim.valid).toBe(true);
      expect(obs[FEATURE_INDEX.best_yes_bid_norm]).toBe(Math.fround(env.sim.book.bestYesBid()! / 10_000));
      expect(env.features.tsAt(0)).toBe(env.timeline.tsMs[env.eventIndex]);
      if (env.eventIndex > 20) expect(env.features.length).toBeGreaterThan(1);
    }
  });

  it('truncates at the step limit and refuses steps after the end', () => {
    const env = new MarketEnv([syntheticTimeline({ seed: 1, events: 200 })], { maxEpisodeSteps: 10 });
    env.reset(0);
    let r = env.step(0);
    for (let i = 1; i < 10; i++) r = env.step(0);
    expect(r.truncated).toBe(true);
    expect(r.terminated).toBe(false);
    expect(() => env.step(0)).toThrow(/reset/);
  });

  it('fills the portfolio and order slots the same way the live strategy does', () => {
    const env = new MarketEnv([syntheticTimeline({ seed: 2, events: 200 })], { actions: { sizes: [500], styles: ['take', 'join'] } });
    env.reset(0);
    const r = env.step(encodeActionJoinBuy());
    expect(r.obs[FEATURE_INDEX.has_open_buy]).toBe(1);
    expect(r.obs[FEATURE_INDEX.buy_distance_from_mid]).toBeGreaterThan(0);
    expect(r.obs[FEATURE_INDEX.cash_ratio]).toBe(1);
  });

  it('validates its configuration', () => {
    expect(() => resolveMarketEnvConfig({ maxPosition: -1 })).toThrow(/maxPosition/);
    expect(() => new MarketEnv([{ ticker: 'EMPTY', events: [] }])).toThrow(/at least one timeline/);
  });

  it('plays the drift market where buying first and holding is optimal', () => {
    const env = new MarketEnv([driftTimeline()], { maxPosition: 1_000, actions: { sizes: [1_000], styles: ['take'] } });
    const play = (policy: (step: number) => number) => {
      env.reset(0);
      let total = 0;
      for (let step = 0; ; step++) {
        const r = env.step(policy(step));
        total += r.reward;
        if (r.terminated) return total;
      }
    };
    const optimal = play((s) => (s === 0 ? BUY_YES : 0));
    expect(optimal).toBeGreaterThan(6);
    expect(play(() => 0)).toBe(0);
    expect(play((s) => (s === 80 ? BUY_YES : 0))).toBeLessThan(optimal * 0.8);
  });
});

function encodeActionJoinBuy(): number {
  // sizes [5], styles [take, join]: BUY_YES take = 1, BUY_YES join = 2
  return 2;
}
