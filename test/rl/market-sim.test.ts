import { describe, expect, it } from 'vitest';
import { makerFee, takerFee } from '../../src/core/fees.ts';
import { BUY_NO, BUY_YES, HOLD, SELL_NO, SELL_YES } from '../../src/core/features/actions.ts';
import { MarketSim } from '../../src/rl/market-sim.ts';

const CASH = 100_000_000; // $100

/** YES bids 40¢ ×10, 38¢ ×10; NO bids 58¢ ×3, 56¢ ×5 (YES asks 42¢, 44¢). */
function sim(options: { maxPosition?: number; cash?: number } = {}): MarketSim {
  const s = new MarketSim('T', { startingCash: options.cash ?? CASH, maxPosition: options.maxPosition ?? 10_000 });
  s.applySnapshot(
    [
      [4_000, 1_000],
      [3_800, 1_000],
    ],
    [
      [5_800, 300],
      [5_600, 500],
    ],
    0,
  );
  return s;
}

describe('marketable orders', () => {
  it('walk the opposite levels at book prices, paying the taker fee per level', () => {
    const s = sim();
    const filled = s.act(BUY_YES, 500, 'take', 0);
    expect(filled).toBe(500);
    const cost = 4_200 * 300 + 4_400 * 200;
    const fees = takerFee(4_200, 300) + takerFee(4_400, 200);
    expect(s.cash).toBe(CASH - cost - fees);
    expect(s.feesPaid).toBe(fees);
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
    expect(s.cash).toBe(CASH - 6_000 * 200 - takerFee(4_000, 200));
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
    s.applyDelta('no', 5_800, 200, 1);
    expect(s.book.sizeAt('no', 5_800)).toBe(200);
    // the recording loses 2 at 56¢ (recorded 5 → 3): our 1 consumed goes first, then 1 more
    s.applyDelta('no', 5_600, -200, 2);
    expect(s.book.sizeAt('no', 5_600)).toBe(300);
    // the recording loses the rest at 58¢ (recorded 5 → 0): nothing left, no negative level
    s.applyDelta('no', 5_800, -500, 3);
    expect(s.book.sizeAt('no', 5_800)).toBe(0);
    expect(s.valid).toBe(true);
  });

  it('keeps what we took across a snapshot, capped at the restated level', () => {
    const s = sim();
    s.act(BUY_YES, 300, 'take', 0);
    s.applySnapshot([[4_000, 1_000]], [[5_800, 1_000], [5_600, 500]], 1);
    expect(s.book.sizeAt('no', 5_800)).toBe(700);
    s.applySnapshot([[4_000, 1_000]], [[5_800, 100]], 2);
    expect(s.book.sizeAt('no', 5_800)).toBe(0);
  });

  it('marks the book invalid when a recorded delta cannot apply', () => {
    const s = sim();
    s.applyDelta('yes', 3_000, -100, 1);
    expect(s.valid).toBe(false);
    // deltas are ignored until the next snapshot
    s.applyDelta('yes', 4_000, 100, 2);
    s.applySnapshot([[4_000, 100]], [[5_800, 100]], 3);
    expect(s.valid).toBe(true);
    expect(s.book.sizeAt('yes', 4_000)).toBe(100);
  });
});

describe('passive orders', () => {
  it('rest at the own best bid behind the queue, which recorded decreases shrink', () => {
    const s = sim();
    s.act(BUY_YES, 300, 'join', 10);
    expect(s.bid).toMatchObject({ active: true, price: 4_000, remaining: 300, queueAhead: 1_000, placedMs: 10 });
    s.applyDelta('yes', 4_000, -600, 11);
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
    s.applyDelta('yes', 4_300, 500, 1);
    expect(s.position.position).toBe(-200);
    expect(s.ask.active).toBe(false);
    expect(s.book.sizeAt('yes', 4_300)).toBe(300);
    expect(s.position.costBasis).toBe(5_800 * 200);
  });

  it('replace the previous order on the same side; close-only sells fill only what is held', () => {
    const s = sim();
    s.act(BUY_YES, 200, 'take', 0);
    s.act(SELL_YES, 500, 'join', 1);
    expect(s.ask).toMatchObject({ active: true, remaining: 200, closeOnly: true });
    s.act(SELL_YES, 100, 'join', 2);
    expect(s.ask.remaining).toBe(100);
    s.applyTrade(4_600, 5_000, 'yes');
    expect(s.position.position).toBe(100);
    s.act(SELL_NO, 100, 'join', 3);
    expect(s.bid.active).toBe(false); // nothing NO to sell
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
