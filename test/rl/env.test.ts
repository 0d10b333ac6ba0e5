import { describe, expect, it } from 'vitest';
import { FEATURE_INDEX } from '../../src/core/features.ts';
import { actionCount, actionNames, decodeAction, encodeAction, BUY_YES, SELL_YES } from '../../src/core/features/actions.ts';
import { OrderBook } from '../../src/core/orderbook.ts';
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
  it('steps one recorded timestamp at a time (events 1 s apart) and skips a gap to the next snapshot', () => {
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
    // 10 YES at 42¢; our fill changed the book, so the next decision is the throttle's trailing one
    // (1,250 ms, before the 41¢ bid arrives): marked at the 40¢ bid
    const r = env.step(BUY_YES);
    expect(r.info.tsMs).toBe(1_250);
    // ceil(0.07 × 10 × 0.42 × 0.58) to $0.0001 = $0.1706, and the balance moves in whole cents:
    // $4.3706 is floored to $4.38 (Kalshi's per-order rounding), so $0.18 is paid
    expect(r.info.feesPaid).toBe(180_000);
    expect(r.info.portfolioValue).toBe(100_000_000 - 4_200_000 - 180_000 + 4_000_000);
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
      expect(env.venue.valid).toBe(true);
      expect(obs[FEATURE_INDEX.best_yes_bid_norm]).toBe(Math.fround(env.venue.book.bestYesBid()! / 10_000));
      expect(env.features.tsAt(0)).toBe(env.decisionTimeMs);
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

/** A taker's print and the makers' requote share one exchange timestamp (2,000). */
function requote(): MarketTimeline {
  return {
    ticker: 'REQUOTE',
    events: [
      { kind: 'snapshot', seq: 1, tsMs: 1_000, yes: [[4_000, 1_000]], no: [[5_800, 1_000]] },
      // a taker sweeps the 42¢ YES ask (Kalshi publishes the maker's delta, then the trade) ...
      { kind: 'delta', seq: 2, tsMs: 2_000, side: 'no', price: 5_800, delta: -1_000 },
      { kind: 'trade', seq: null, tsMs: 2_000, yesPrice: 4_200, count: 1_000, takerSide: 'yes' },
      // ... and the makers requote higher in the same exchange step
      { kind: 'delta', seq: 3, tsMs: 2_000, side: 'no', price: 5_500, delta: 1_000 },
      { kind: 'delta', seq: 4, tsMs: 2_000, side: 'yes', price: 4_300, delta: 1_000 },
      { kind: 'delta', seq: 5, tsMs: 2_100, side: 'yes', price: 4_300, delta: 500 },
      { kind: 'delta', seq: 6, tsMs: 2_200, side: 'yes', price: 4_300, delta: 500 },
      { kind: 'delta', seq: 7, tsMs: 2_600, side: 'yes', price: 4_300, delta: 500 },
      { kind: 'delta', seq: 8, tsMs: 2_610, side: 'no', price: 5_500, delta: -1_000 },
      { kind: 'delta', seq: 9, tsMs: 2_610, side: 'no', price: 5_400, delta: 1_000 },
      { kind: 'delta', seq: 10, tsMs: 4_000, side: 'yes', price: 4_300, delta: 500 },
    ],
  };
}

/** The recorded book after events 0..index, replayed from scratch. */
function replayedBook(t: ReturnType<typeof compileTimeline>, index: number): OrderBook | null {
  const book = new OrderBook('X');
  let valid = false;
  for (let i = t.firstSnapshot; i <= index; i++) {
    if (t.kind[i] === 0) {
      book.applySnapshot(t.snapshots[t.price[i]].yes, t.snapshots[t.price[i]].no);
      valid = true;
    } else if (t.kind[i] === 1 && valid) {
      try {
        book.applyDelta(t.side[i] === 0 ? 'yes' : 'no', t.price[i], t.amount[i]);
      } catch {
        valid = false;
      }
    } else if (t.kind[i] === 3) valid = false;
  }
  return valid ? book : null;
}

describe('decision ticks', () => {
  it('apply every event of one exchange timestamp before the policy sees the book', () => {
    const env = new MarketEnv([requote()], { decisionIntervalMs: 0, orderLatencyMs: 0 });
    env.reset(0);
    const r = env.step(0);
    // never the swept book between the print and the requote: the whole 2,000 ms step is in
    expect(r.info.eventIndex).toBe(4);
    expect(env.venue.book.bestYesAsk()).toBe(4_500);
    expect(env.venue.book.bestYesBid()).toBe(4_300);
  });

  it('decide at most once per interval: leading edge after it, trailing at decision + interval', () => {
    const env = new MarketEnv([requote()], { decisionIntervalMs: 250, orderLatencyMs: 0 });
    env.reset(0);
    const at: Array<[number, number]> = [];
    for (;;) {
      const r = env.step(0);
      if (r.terminated) break;
      at.push([r.info.tsMs as number, r.info.eventIndex as number]);
    }
    // 2,000 (leading); 2,250 trailing with 2,100 and 2,200 in; 2,600 leading (2,610 not yet); 2,860 trailing; 4,000
    expect(at).toEqual([
      [2_000, 4],
      [2_250, 6],
      [2_600, 7],
      [2_850, 9],
      [4_000, 10],
    ]);
    const every = new MarketEnv([requote()], { decisionIntervalMs: 0, orderLatencyMs: 0 });
    every.reset(0);
    let steps = 0;
    while (!every.step(0).terminated) steps++;
    expect(steps).toBe(6); // one per distinct timestamp after the first
  });

  it('let the order-entry latency pass before the order reaches the book', () => {
    const space = { sizes: [500], styles: ['take' as const] };
    // decided at 2,600 on a 45¢ ask; at 2,610 the ask moves to 46¢, before a 20 ms order arrives
    const late = new MarketEnv([requote()], { actions: space, decisionIntervalMs: 0, orderLatencyMs: 20 });
    late.reset(0);
    for (let i = 0; i < 4; i++) late.step(0);
    expect(late.decisionTimeMs).toBe(2_600);
    expect(late.venue.book.bestYesAsk()).toBe(4_500);
    late.step(BUY_YES);
    expect(late.venue.position.costBasis).toBe(4_600 * 500);
    const fast = new MarketEnv([requote()], { actions: space, decisionIntervalMs: 0, orderLatencyMs: 5 });
    fast.reset(0);
    for (let i = 0; i < 4; i++) fast.step(0);
    fast.step(BUY_YES);
    expect(fast.venue.position.costBasis).toBe(4_500 * 500);
  });

  it('start a random episode on exactly the recorded book, restored from a checkpoint', () => {
    const timeline = compileTimeline(syntheticTimeline({ seed: 4, events: 3_000, gapProbability: 0.002, meanIntervalMs: 100 }));
    const env = new MarketEnv([timeline], { start: 'random' });
    for (let seed = 1; seed <= 40; seed++) {
      env.reset(seed);
      const expected = replayedBook(timeline, env.eventIndex);
      expect(expected).not.toBeNull();
      expect(env.venue.book.levels('yes')).toEqual(expected!.levels('yes'));
      expect(env.venue.book.levels('no')).toEqual(expected!.levels('no'));
      // the whole timestamp is in
      expect(timeline.tsMs[env.eventIndex + 1]).not.toBe(timeline.tsMs[env.eventIndex]);
    }
  });
});

function encodeActionJoinBuy(): number {
  // sizes [5], styles [take, join]: BUY_YES take = 1, BUY_YES join = 2
  return 2;
}
