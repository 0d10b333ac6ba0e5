import { describe, expect, it } from 'vitest';
import { liquidityScore, selectTopMarkets } from '../../src/core/market-selection.ts';
import type { MarketCandidate } from '../../src/core/market-selection.ts';

const now = Date.UTC(2026, 10, 23);
const market = (ticker: string, over: Partial<MarketCandidate> = {}): MarketCandidate => ({
  ticker,
  yesBid: 4500,
  yesAsk: 4700,
  volume24h: 100_00,
  volume: 1000_00,
  openInterest: 500_00,
  closeTimeMs: now + 86_400_000,
  ...over,
});

describe('discovery market selection', () => {
  it('takes a true top-N by score, not the first N in API order', () => {
    const markets = [
      market('A', { volume24h: 1_00 }),
      market('B', { volume24h: 10_000_00 }),
      market('C', { volume24h: 500_00 }),
      market('D', { volume24h: 0 }),
    ];
    expect(selectTopMarkets(markets, 2, { nowMs: now }).map((m) => m.ticker)).toEqual(['B', 'C']);
  });

  it('penalizes wide or one-sided books', () => {
    expect(liquidityScore(market('T'))).toBeGreaterThan(liquidityScore(market('W', { yesBid: 1000, yesAsk: 9000 })));
    expect(liquidityScore(market('T'))).toBeGreaterThan(liquidityScore(market('O', { yesBid: 0 })));
  });

  it('skips markets about to close and breaks ties by ticker', () => {
    const markets = [market('Z'), market('Y'), market('X', { closeTimeMs: now + 1000 })];
    const picked = selectTopMarkets(markets, 10, { nowMs: now, minTimeToCloseMs: 60_000 });
    expect(picked.map((m) => m.ticker)).toEqual(['Y', 'Z']);
  });
});
