import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Portfolio,
  PositionError,
  applyFill,
  emptyPosition,
  markToMarket,
  mulDivFloor,
  netRealizedPnl,
  settlePosition,
  unrealizedPnl,
} from '../../src/core/positions.ts';
import type { Position, PositionFill } from '../../src/core/positions.ts';

function run(fills: PositionFill[], start: Position = emptyPosition('T')): { pos: Position; cash: number } {
  let pos = start;
  let cash = 0;
  for (const f of fills) {
    const r = applyFill(pos, f);
    pos = r.position;
    cash += r.cashChange;
  }
  return { pos, cash };
}

describe('applyFill — Kalshi netting with average cost', () => {
  it('a bid buys YES: position up, cost and cash by price × count, fee paid', () => {
    const { position, cashChange } = applyFill(emptyPosition('T'), { side: 'bid', price: 4_000, count: 1_000, fee: 170_000 });
    expect(position).toEqual({ ticker: 'T', position: 1_000, costBasis: 4_000_000, realizedPnl: 0, feesPaid: 170_000, totalTraded: 4_000_000 });
    expect(cashChange).toBe(-4_170_000);
  });

  it('an ask on a flat position buys NO at $1 − p', () => {
    const { position, cashChange } = applyFill(emptyPosition('T'), { side: 'ask', price: 7_000, count: 1_000, fee: 0 });
    expect(position.position).toBe(-1_000);
    expect(position.costBasis).toBe(3_000_000);
    expect(cashChange).toBe(-3_000_000);
  });

  it('an ask on a long YES closes at p and realizes against the average cost', () => {
    const { pos, cash } = run([
      { side: 'bid', price: 4_000, count: 1_000, fee: 0 },
      { side: 'ask', price: 5_500, count: 400, fee: 0 },
    ]);
    expect(pos.position).toBe(600);
    expect(pos.costBasis).toBe(2_400_000);
    expect(pos.realizedPnl).toBe(600_000);
    expect(cash).toBe(-4_000_000 + 2_200_000);
  });

  it('an ask larger than the YES position closes it and opens NO with the rest', () => {
    const start = run([{ side: 'bid', price: 4_000, count: 600, fee: 0 }]).pos;
    const { position, cashChange } = applyFill(start, { side: 'ask', price: 5_500, count: 1_000, fee: 1_000 });
    expect(position.position).toBe(-400);
    expect(position.realizedPnl).toBe(600 * 5_500 - 600 * 4_000);
    expect(position.costBasis).toBe(400 * 4_500); // 4 NO at $0.45
    expect(cashChange).toBe(600 * 5_500 - 400 * 4_500 - 1_000);
    expect(position.totalTraded).toBe(600 * 4_000 + 600 * 5_500 + 400 * 4_500);
  });

  it('a bid on a long NO sells NO at $1 − p (a YES+NO pair is worth $1)', () => {
    // Long 10 NO bought at $0.30 (ask at $0.70); a bid at $0.60 closes them at $0.40 each.
    const { pos, cash } = run([
      { side: 'ask', price: 7_000, count: 1_000, fee: 0 },
      { side: 'bid', price: 6_000, count: 1_000, fee: 0 },
    ]);
    expect(pos.position).toBe(0);
    expect(pos.costBasis).toBe(0);
    expect(pos.realizedPnl).toBe(1_000_000); // +$0.10 per contract
    expect(cash).toBe(1_000_000);
  });

  it('average cost never drifts: closing in thirds releases exactly what was paid', () => {
    const { pos } = run([
      { side: 'bid', price: 3_300, count: 100, fee: 0 },
      { side: 'bid', price: 3_400, count: 100, fee: 0 },
      { side: 'bid', price: 3_400, count: 100, fee: 0 },
    ]);
    expect(pos.costBasis).toBe(1_010_000);
    const a = applyFill(pos, { side: 'ask', price: 5_000, count: 100, fee: 0 }).position;
    expect(a.costBasis).toBe(1_010_000 - 336_666); // floor(1_010_000 / 3)
    const b = applyFill(a, { side: 'ask', price: 5_000, count: 100, fee: 0 }).position;
    const c = applyFill(b, { side: 'ask', price: 5_000, count: 100, fee: 0 }).position;
    expect(c.costBasis).toBe(0);
    expect(c.realizedPnl).toBe(1_500_000 - 1_010_000);
  });

  it('is pure: the input position is not modified', () => {
    const pos = emptyPosition('T');
    applyFill(pos, { side: 'bid', price: 5_000, count: 100, fee: 10 });
    expect(pos).toEqual(emptyPosition('T'));
  });

  it('rejects malformed fills', () => {
    const pos = emptyPosition('T');
    expect(() => applyFill(pos, { side: 'buy' as never, price: 5_000, count: 100, fee: 0 })).toThrow(PositionError);
    expect(() => applyFill(pos, { side: 'bid', price: 0, count: 100, fee: 0 })).toThrow(PositionError);
    expect(() => applyFill(pos, { side: 'bid', price: 10_000, count: 100, fee: 0 })).toThrow(PositionError);
    expect(() => applyFill(pos, { side: 'bid', price: 5_000, count: 0, fee: 0 })).toThrow(PositionError);
    expect(() => applyFill(pos, { side: 'bid', price: 5_000, count: 1.5, fee: 0 })).toThrow(PositionError);
    expect(() => applyFill(pos, { side: 'bid', price: 5_000, count: 100, fee: 0.5 })).toThrow(PositionError);
  });

  it('accepts a fill whose net fee is a rounding rebate (negative), and books it', () => {
    const { position, cashChange } = applyFill(emptyPosition('T'), { side: 'bid', price: 5_000, count: 100, fee: -10_000 });
    expect(position.feesPaid).toBe(-10_000);
    expect(cashChange).toBe(-500_000 + 10_000);
  });

  it('mulDivFloor is exact beyond 2^53', () => {
    expect(mulDivFloor(7, 3, 2)).toBe(10);
    expect(mulDivFloor(9_000_000_000_000, 1_000_003, 3_000_001)).toBe(Number((9_000_000_000_000n * 1_000_003n) / 3_000_001n));
  });
});

describe('settlement and marking', () => {
  const longYes = run([{ side: 'bid', price: 4_000, count: 1_000, fee: 0 }]).pos;
  const longNo = run([{ side: 'ask', price: 7_000, count: 1_000, fee: 0 }]).pos;

  it('pays $1 per contract of the winning side and closes the position', () => {
    expect(settlePosition(longYes, 'yes').revenue).toBe(10_000_000);
    expect(settlePosition(longYes, 'yes').position).toMatchObject({ position: 0, costBasis: 0, realizedPnl: 6_000_000 });
    expect(settlePosition(longYes, 'no').revenue).toBe(0);
    expect(settlePosition(longYes, 'no').position.realizedPnl).toBe(-4_000_000);
    expect(settlePosition(longNo, 'no').revenue).toBe(10_000_000);
    expect(settlePosition(longNo, 'no').position.realizedPnl).toBe(7_000_000);
    expect(settlePosition(emptyPosition('T'), 'yes').revenue).toBe(0);
    expect(() => settlePosition(longYes, 'maybe' as never)).toThrow(PositionError);
  });

  it('marks long YES at the YES bid and long NO at the NO bid; missing prices value at 0', () => {
    expect(markToMarket(longYes, 4_500, 5_000)).toBe(4_500_000);
    expect(unrealizedPnl(longYes, 4_500, 5_000)).toBe(500_000);
    expect(markToMarket(longYes, null, 5_000)).toBe(0);
    expect(markToMarket(longNo, 4_500, 2_800)).toBe(2_800_000);
    expect(unrealizedPnl(longNo, 4_500, 2_800)).toBe(-200_000);
    expect(markToMarket(longNo, 4_500, null)).toBe(0);
    expect(markToMarket(emptyPosition('T'), 4_500, 2_800)).toBe(0);
  });
});

describe('Portfolio', () => {
  it('moves cash with fills and settlements and values positions at executable prices', () => {
    const p = new Portfolio(100_000_000);
    p.applyFill('A', { side: 'bid', price: 4_000, count: 1_000, fee: 170_000 });
    p.applyFill('B', { side: 'ask', price: 7_000, count: 500, fee: 100_000 });
    expect(p.cash).toBe(100_000_000 - 4_170_000 - 1_600_000);
    const marks = (t: string) => (t === 'A' ? { bestYesBid: 4_200, bestNoBid: 5_700 } : { bestYesBid: 6_900, bestNoBid: 3_000 });
    expect(p.value(marks)).toBe(p.cash + 4_200_000 + 1_500_000);
    expect(p.settle('A', 'yes')).toBe(10_000_000);
    expect(p.cash).toBe(100_000_000 - 4_170_000 - 1_600_000 + 10_000_000);
    expect(p.position('A')).toMatchObject({ position: 0, costBasis: 0, realizedPnl: 6_000_000, feesPaid: 170_000 });
    expect(netRealizedPnl(p.position('A'))).toBe(5_830_000);
    expect(p.settle('UNKNOWN', 'no')).toBe(0);
    expect(p.position('UNKNOWN')).toEqual(emptyPosition('UNKNOWN'));
    expect(() => new Portfolio(1.5)).toThrow(PositionError);
  });
});

// ---- properties ----

const fillArb: fc.Arbitrary<PositionFill> = fc.record({
  side: fc.constantFrom<'bid' | 'ask'>('bid', 'ask'),
  price: fc.integer({ min: 1, max: 9_999 }),
  count: fc.integer({ min: 1, max: 100_000 }),
  fee: fc.integer({ min: 0, max: 500_000 }),
});

describe('positions — properties', () => {
  it('buying then selling the same count at the same price realizes exactly −fees', () => {
    fc.assert(
      fc.property(fillArb, fc.integer({ min: 0, max: 500_000 }), (open, closeFee) => {
        const close: PositionFill = { ...open, side: open.side === 'bid' ? 'ask' : 'bid', fee: closeFee };
        const { pos, cash } = run([open, close]);
        expect(pos.position).toBe(0);
        expect(pos.costBasis).toBe(0);
        expect(pos.realizedPnl).toBe(0);
        expect(pos.feesPaid).toBe(open.fee + closeFee);
        expect(netRealizedPnl(pos)).toBe(-(open.fee + closeFee));
        expect(cash).toBe(-(open.fee + closeFee));
      }),
      { numRuns: 300 },
    );
  });

  it('invariants hold after any fill sequence: sign, cost bounds, cash = realized − fees − cost', () => {
    fc.assert(
      fc.property(fc.array(fillArb, { maxLength: 40 }), (fills) => {
        let pos = emptyPosition('T');
        let cash = 0;
        let signed = 0;
        for (const f of fills) {
          const r = applyFill(pos, f);
          pos = r.position;
          cash += r.cashChange;
          signed += f.side === 'bid' ? f.count : -f.count;
          expect(pos.position).toBe(signed);
          expect(pos.costBasis).toBeGreaterThanOrEqual(Math.abs(pos.position));
          expect(pos.costBasis).toBeLessThanOrEqual(Math.abs(pos.position) * 9_999);
          expect(pos.costBasis === 0).toBe(pos.position === 0);
          expect(cash).toBe(pos.realizedPnl - pos.feesPaid - pos.costBasis);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('after settlement, P&L equals each fill’s own payoff whatever the netting order (YES vs NO)', () => {
    fc.assert(
      fc.property(fc.array(fillArb, { minLength: 1, maxLength: 40 }), fc.constantFrom<'yes' | 'no'>('yes', 'no'), fc.integer({ min: 0, max: 10_000_000_000 }), (fills, result, startCash) => {
        const portfolio = new Portfolio(startCash);
        for (const f of fills) portfolio.applyFill('M', f);
        const revenue = portfolio.settle('M', result);
        const pos = portfolio.position('M');
        // A bid is long YES (or short NO): +($1 − p) if YES wins, −p if NO wins; an ask mirrors it.
        const payoff = fills.reduce((sum, f) => {
          const perContract = f.side === 'bid' ? (result === 'yes' ? 10_000 - f.price : -f.price) : result === 'yes' ? -(10_000 - f.price) : f.price;
          return sum + perContract * f.count;
        }, 0);
        const fees = fills.reduce((s, f) => s + f.fee, 0);
        expect(pos.position).toBe(0);
        expect(pos.costBasis).toBe(0);
        expect(pos.realizedPnl).toBe(payoff);
        expect(portfolio.cash).toBe(startCash + payoff - fees);
        expect(revenue).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 300 },
    );
  });

  it('portfolio value = cash + mark-to-market, and unrealized = mark − cost', () => {
    fc.assert(
      fc.property(
        fc.array(fillArb, { maxLength: 20 }),
        fc.option(fc.integer({ min: 1, max: 9_999 })),
        fc.option(fc.integer({ min: 1, max: 9_999 })),
        (fills, yesBid, noBid) => {
          const portfolio = new Portfolio(0);
          for (const f of fills) portfolio.applyFill('M', f);
          const pos = portfolio.position('M');
          const mark = markToMarket(pos, yesBid, noBid);
          expect(portfolio.value(() => ({ bestYesBid: yesBid, bestNoBid: noBid }))).toBe(portfolio.cash + mark);
          expect(unrealizedPnl(pos, yesBid, noBid)).toBe(mark - pos.costBasis);
          expect(mark).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('valuation marks (LastMarks)', () => {
  it('values at the book now; without a book at the last prices seen, stale with their time, never at zero', async () => {
    const { LastMarks, valueAtMark } = await import('../../src/core/positions.ts');
    const marks = new LastMarks();
    const long = { ...emptyPosition('T'), position: 1_000, costBasis: 5_000_000 };
    const before = marks.mark('T', null, 1_000);
    expect(before).toEqual({ bestYesBid: null, bestNoBid: null, atMs: null, stale: true });
    // no price ever seen: at cost (unrealized 0), not at $0
    expect(valueAtMark(long, before)).toBe(5_000_000);
    const live = marks.mark('T', { bestYesBid: 5_200, bestNoBid: 4_600 }, 2_000);
    expect(live.stale).toBe(false);
    expect(valueAtMark(long, live)).toBe(5_200_000);
    const outage = marks.mark('T', null, 9_000);
    expect(outage).toEqual({ bestYesBid: 5_200, bestNoBid: 4_600, atMs: 2_000, stale: true });
    expect(valueAtMark(long, outage)).toBe(5_200_000);
    // a usable book with an empty side is the honest executable value
    expect(valueAtMark(long, marks.mark('T', { bestYesBid: null, bestNoBid: 4_600 }, 10_000))).toBe(0);
  });
});
