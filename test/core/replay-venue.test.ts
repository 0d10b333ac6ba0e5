import { describe, expect, it } from 'vitest';
import { FeeRounding, makerFee, takerFee } from '../../src/core/fees.ts';
import { BUY_NO, BUY_YES, HOLD, SELL_NO, SELL_YES } from '../../src/core/features/actions.ts';
import { ReplayVenue } from '../../src/core/replay-venue.ts';
import type { QueueModel, VenueFill } from '../../src/core/replay-venue.ts';

const CASH = 100_000_000; // $100

/** YES bids 40¢ ×10, 38¢ ×10; NO bids 58¢ ×3, 56¢ ×5 (YES asks 42¢, 44¢). */
function sim(options: { maxPosition?: number; cash?: number; queue?: QueueModel } = {}): ReplayVenue {
  const s = new ReplayVenue('T', { startingCash: options.cash ?? CASH, maxPosition: options.maxPosition ?? 10_000, ...(options.queue ? { queue: options.queue } : {}) });
  s.applySnapshot(
    [
      [4_000, 1_000],
      [3_800, 1_000],
    ],
    [
      [5_800, 300],
      [5_600, 500],
    ],
  );
  s.endBatch();
  return s;
}

describe('marketable orders', () => {
  it('walk the opposite levels at book prices, paying the taker fee per level', () => {
    const s = sim();
    const filled = s.act(BUY_YES, 500, 'take', 0);
    expect(filled).toBe(500);
    const cost = 4_200 * 300 + 4_400 * 200;
    // the balance moves as Kalshi moves it: each fill floored to the cent, the residue rebated per order
    const order = new FeeRounding();
    const moved = order.settleFill(-4_200 * 300, takerFee(4_200, 300)).balanceChange + order.settleFill(-4_400 * 200, takerFee(4_400, 200)).balanceChange;
    expect(Math.abs(moved % 10_000)).toBe(0);
    expect(s.cash).toBe(CASH + moved);
    expect(s.feesPaid).toBe(-moved - cost);
    expect(s.feesPaid).toBeGreaterThanOrEqual(takerFee(4_200, 300) + takerFee(4_400, 200));
    expect(s.fills).toBe(2);
    expect(s.position.position).toBe(500);
    expect(s.position.costBasis).toBe(cost);
    // the 58¢ NO level is gone and 56¢ has 3 left
    expect(s.book.bestNoBid()).toBe(5_600);
    expect(s.book.sizeAt('no', 5_600)).toBe(300);
  });

  it('stop at the end of the book (immediate-or-cancel)', () => {
    const s = sim();
    expect(s.act(BUY_YES, 5_000, 'take', 0)).toBe(800);
    expect(s.book.bestNoBid()).toBeNull();
  });

  it('BUY_NO hits the YES bids and opens a NO position', () => {
    const s = sim();
    expect(s.act(BUY_NO, 200, 'take', 0)).toBe(200);
    expect(s.position.position).toBe(-200);
    // buying NO at $1 − 40¢ = 60¢
    expect(s.position.costBasis).toBe(6_000 * 200);
    expect(s.cash).toBe(CASH + new FeeRounding().settleFill(-6_000 * 200, takerFee(4_000, 200)).balanceChange);
  });

  it('sells only what is held, and cap buys at the position limit and the cash', () => {
    const s = sim({ maxPosition: 400 });
    expect(s.act(SELL_YES, 500, 'take', 0)).toBe(0);
    expect(s.act(SELL_NO, 500, 'take', 0)).toBe(0);
    expect(s.act(BUY_YES, 500, 'take', 0)).toBe(400);
    expect(s.act(SELL_YES, 1_000, 'take', 0)).toBe(400);
    expect(s.position.position).toBe(0);

    const poor = sim({ cash: 1_000_000 }); // $1 buys about 2 contracts at 42¢ with fees
    const got = poor.act(BUY_YES, 1_000, 'take', 0);
    expect(got).toBeGreaterThan(200);
    expect(got).toBeLessThan(240);
    expect(poor.cash).toBeGreaterThanOrEqual(0);
  });

  it('HOLD and an unknown book do nothing', () => {
    const s = sim();
    expect(s.act(HOLD, 500, 'take', 0)).toBe(0);
    s.applyGap();
    expect(s.act(BUY_YES, 500, 'take', 0)).toBe(0);
    expect(s.fills).toBe(0);
  });
});

describe('consumed liquidity', () => {
  it('stays consumed; recorded additions show, recorded removals eat our part first', () => {
    const s = sim();
    s.act(BUY_YES, 400, 'take', 0); // takes 3 @58¢ NO and 1 @56¢ NO
    expect(s.book.sizeAt('no', 5_800)).toBe(0);
    expect(s.book.sizeAt('no', 5_600)).toBe(400);
    // the recording adds 2 at 58¢: only those 2 are there for us
    s.applyDelta('no', 5_800, 200);
    expect(s.book.sizeAt('no', 5_800)).toBe(200);
    // the recording loses 2 at 56¢ (recorded 5 → 3): our 1 consumed goes first, then 1 more
    s.applyDelta('no', 5_600, -200);
    expect(s.book.sizeAt('no', 5_600)).toBe(300);
    // the recording loses the rest at 58¢ (recorded 5 → 0): nothing left, no negative level
    s.applyDelta('no', 5_800, -500);
    expect(s.book.sizeAt('no', 5_800)).toBe(0);
    expect(s.valid).toBe(true);
  });

  it('keeps what we took across a snapshot, capped at the restated level', () => {
    const s = sim();
    s.act(BUY_YES, 300, 'take', 0);
    s.applySnapshot([[4_000, 1_000]], [[5_800, 1_000], [5_600, 500]]);
    expect(s.book.sizeAt('no', 5_800)).toBe(700);
    s.applySnapshot([[4_000, 1_000]], [[5_800, 100]]);
    expect(s.book.sizeAt('no', 5_800)).toBe(0);
  });

  it('marks the book invalid when a recorded delta cannot apply', () => {
    const s = sim();
    s.applyDelta('yes', 3_000, -100);
    expect(s.valid).toBe(false);
    // deltas are ignored until the next snapshot
    s.applyDelta('yes', 4_000, 100);
    s.applySnapshot([[4_000, 100]], [[5_800, 100]]);
    expect(s.valid).toBe(true);
    expect(s.book.sizeAt('yes', 4_000)).toBe(100);
  });
});

describe('passive orders', () => {
  it('rest at the own best bid behind the queue; a level shrinking below it shrinks it', () => {
    const s = sim();
    s.act(BUY_YES, 300, 'join', 10);
    expect(s.bid).toMatchObject({ active: true, price: 4_000, remaining: 300, queueAhead: 1_000, placedMs: 10 });
    s.applyDelta('yes', 4_000, -600);
    s.endBatch();
    // everything at the level was ahead of us: what is left of it still is
    expect(s.bid.queueAhead).toBe(400);
    expect(s.fills).toBe(0);
  });

  it('fill from trades at their price after the queue ahead, as maker', () => {
    const s = sim();
    s.act(BUY_YES, 300, 'join', 0);
    // a seller takes 12 at 40¢: 10 ahead of us, then 2 of ours
    s.applyTrade(4_000, 1_200, 'no');
    expect(s.position.position).toBe(200);
    expect(s.bid.remaining).toBe(100);
    expect(s.cash).toBe(CASH - 4_000 * 200 - makerFee(4_000, 200));
    // a buyer's trade does not fill a bid
    s.applyTrade(4_000, 1_000, 'yes');
    expect(s.bid.remaining).toBe(100);
    // a trade below our price went through us: the rest fills
    s.applyTrade(3_900, 100, null);
    expect(s.position.position).toBe(300);
    expect(s.bid.active).toBe(false);
  });

  it('fill when the recorded book crosses their price, consuming the crossing liquidity', () => {
    const s = sim();
    s.act(BUY_NO, 200, 'join', 0); // rests as a YES ask at 42¢ (a NO bid at 58¢)
    expect(s.ask).toMatchObject({ active: true, price: 4_200 });
    // a YES bid at 43¢ appears in the recording: it would have traded with us at 42¢
    s.applyDelta('yes', 4_300, 500);
    s.endBatch();
    expect(s.position.position).toBe(-200);
    expect(s.ask.active).toBe(false);
    expect(s.book.sizeAt('yes', 4_300)).toBe(300);
    expect(s.position.costBasis).toBe(5_800 * 200);
  });

  it('replace the previous order on the same side at a new price; close-only sells fill only what is held', () => {
    const s = sim();
    s.act(BUY_YES, 200, 'take', 0);
    s.act(SELL_YES, 500, 'join', 1);
    expect(s.ask).toMatchObject({ active: true, price: 4_200, remaining: 200, closeOnly: true });
    // joining again at the same price keeps the order as it is (as the live strategy does)
    s.act(SELL_YES, 100, 'join', 2);
    expect(s.ask).toMatchObject({ price: 4_200, remaining: 200, placedMs: 1 });
    // the recording adds a better NO bid (a 41¢ YES ask): joining now moves the order there
    s.applyDelta('no', 5_900, 300);
    s.endBatch();
    s.act(SELL_YES, 100, 'join', 3);
    expect(s.ask).toMatchObject({ price: 4_100, remaining: 100, queueAhead: 300, placedMs: 3 });
    s.applyTrade(4_600, 5_000, 'yes');
    expect(s.position.position).toBe(100);
    s.act(SELL_NO, 100, 'join', 4);
    expect(s.bid.active).toBe(false); // nothing NO to sell
  });
});

describe('queue position (hftbacktest / NautilusTrader L2 rules)', () => {
  /** Rests 1 contract at the 40¢ YES bid behind the 10 there. */
  function resting(queue?: QueueModel): ReplayVenue {
    const s = sim(queue ? { queue } : {});
    s.act(BUY_YES, 100, 'join', 0);
    expect(s.bid.queueAhead).toBe(1_000);
    return s;
  }

  it("counts a trade once: the maker's delta published before it does not shorten the queue again", () => {
    // Kalshi's order: the maker's level shrinks by 6, then the trade of 6 prints (one timestamp)
    const s = resting();
    s.applyDelta('yes', 4_000, -600);
    s.applyTrade(4_000, 600, 'no');
    s.endBatch();
    expect(s.fills).toBe(0);
    expect(s.bid.queueAhead).toBe(400);
    // the old model shortened the queue on the delta and again on the trade (10 − 6 − 6 < 0) and filled us
    // a second trade of 6 against the 4 ahead: our 1 fills (the excess), at our price, as maker
    s.applyDelta('yes', 4_000, -400);
    s.applyTrade(4_000, 600, 'no');
    s.endBatch();
    expect(s.position.position).toBe(100);
    expect(s.bid.active).toBe(false);
  });

  it('counts a trade once in the other order too (trade, then its delta)', () => {
    const s = resting();
    s.applyTrade(4_000, 600, 'no');
    s.applyDelta('yes', 4_000, -600);
    s.endBatch();
    expect(s.bid.queueAhead).toBe(400);
    expect(s.fills).toBe(0);
  });

  it('fills only the excess over the queue ahead', () => {
    const s = sim();
    s.act(BUY_YES, 500, 'join', 0);
    s.applyDelta('yes', 4_000, -1_000);
    s.applyTrade(4_000, 1_300, 'no');
    s.endBatch();
    expect(s.position.position).toBe(300);
    expect(s.bid.remaining).toBe(200);
    expect(s.bid.queueAhead).toBe(0);
  });

  it('risk-averse (default): cancellations never move us forward while someone could be behind us', () => {
    const s = resting();
    s.applyDelta('yes', 4_000, 500); // 5 join behind us
    s.endBatch();
    s.applyDelta('yes', 4_000, -500); // 5 cancel: assumed to be those behind
    s.endBatch();
    expect(s.bid.queueAhead).toBe(1_000);
    s.applyDelta('yes', 4_000, -700); // the level drops to 3: at most 3 can be ahead
    s.endBatch();
    expect(s.bid.queueAhead).toBe(300);
  });

  it('probabilistic (power n): the share f(back) / (f(front) + f(back)) of a cancellation is behind us', () => {
    const s = resting({ kind: 'power', n: 1 });
    s.applyDelta('yes', 4_000, 500);
    s.endBatch();
    s.applyDelta('yes', 4_000, -500);
    s.endBatch();
    // front 1000, back 500: 1/3 of the 500 cancelled is behind, 2/3 ahead → 1000 − 333.3, rounded up
    expect(s.bid.queueAhead).toBe(667);
    const log = resting({ kind: 'log' });
    log.applyDelta('yes', 4_000, 500);
    log.endBatch();
    log.applyDelta('yes', 4_000, -500);
    log.endBatch();
    const behind = Math.log1p(500) / (Math.log1p(500) + Math.log1p(1_000));
    expect(log.bid.queueAhead).toBe(Math.ceil(1_000 - (1 - behind) * 500));
    expect(() => sim({ queue: { kind: 'power', n: 0 } })).toThrow(/n > 0/);
  });

  it('re-joining at the price it rests at keeps the queue position', () => {
    const s = resting();
    s.applyTrade(4_000, 600, 'no');
    s.applyDelta('yes', 4_000, -600);
    s.endBatch();
    s.act(BUY_YES, 100, 'join', 5);
    expect(s.bid).toMatchObject({ queueAhead: 400, placedMs: 0 });
  });

  it('a trade through our price fills up to its size', () => {
    const s = sim();
    s.act(BUY_YES, 500, 'join', 0);
    s.applyTrade(3_900, 200, 'no');
    expect(s.position.position).toBe(200);
    expect(s.bid.remaining).toBe(300);
  });

  it('charges the schedule given: maker fees on passive fills, taker fees on marketable ones', () => {
    const fees = { feeType: 'quadratic_with_maker_fees' as const };
    // a direct member's $0.0001 balance precision: no rounding residue here, the fees are exact
    const s = new ReplayVenue('T', { fees, accountPrecision: 100 });
    const seen: VenueFill[] = [];
    s.onFill = (f) => seen.push(f);
    s.applySnapshot([[4_000, 1_000]], [[5_800, 300]]);
    s.endBatch();
    s.act(BUY_YES, 100, 'take', 0);
    s.act(SELL_YES, 100, 'join', 0);
    s.applyTrade(4_200, 400, 'yes');
    expect(seen).toEqual([
      { side: 'bid', price: 4_200, count: 100, fee: takerFee(4_200, 100, fees), taker: true },
      { side: 'ask', price: 4_200, count: 100, fee: makerFee(4_200, 100, fees), taker: false },
    ]);
    expect(makerFee(4_200, 100, fees)).toBeGreaterThan(0);
    expect(s.feesPaid).toBe(takerFee(4_200, 100, fees) + makerFee(4_200, 100, fees));
  });
});

describe('action masks', () => {
  it('allow buys with liquidity and room, sells only with a position', () => {
    const s = sim({ maxPosition: 300 });
    const m = new Uint8Array(5);
    expect([...s.baseMask('take', m)]).toEqual([1, 1, 0, 1, 0]);
    s.act(BUY_YES, 300, 'take', 0);
    expect([...s.baseMask('take', m)]).toEqual([1, 0, 1, 1, 0]);
    s.applyGap();
    expect([...s.baseMask('take', m)]).toEqual([1, 0, 0, 0, 0]);
  });
});
