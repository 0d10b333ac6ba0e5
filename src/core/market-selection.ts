/**
 * Discovery mode's market choice: a true top-N over every open market by a documented
 * liquidity/volume score (the original took the first N in API order). Pure; the wiring pages
 * through all open markets and hands them here.
 *
 * score = 2·ln(1 + volume₂₄ₕ) + ln(1 + open interest) + 1 (if quoted on both sides) − 20·spread$
 *
 * Volume and open interest are in whole contracts, the spread in dollars (YES ask − YES bid).
 * Logarithms keep one huge market from drowning the rest; the spread penalty prefers books a
 * quoter can actually trade (a 5¢ spread costs 1 point, a 50¢ one 10). Markets closing within
 * `minTimeToCloseMs` are skipped. Ties break by ticker so the choice is deterministic.
 */
import { COUNT_SCALE, ONE_DOLLAR, PRICE_SCALE } from './money.ts';
import type { Count, Price } from './money.ts';

export interface MarketCandidate {
  ticker: string;
  yesBid: Price;
  yesAsk: Price;
  volume24h: Count | null;
  volume: Count;
  openInterest: Count;
  closeTimeMs: number;
}

export interface ScoredMarket {
  ticker: string;
  score: number;
}

export function liquidityScore(market: MarketCandidate): number {
  const volume = (market.volume24h ?? market.volume) / COUNT_SCALE;
  const openInterest = market.openInterest / COUNT_SCALE;
  const twoSided = market.yesBid > 0 && market.yesAsk > 0 && market.yesAsk < ONE_DOLLAR;
  const spread = twoSided ? Math.max(0, market.yesAsk - market.yesBid) / PRICE_SCALE : 1;
  return 2 * Math.log1p(volume) + Math.log1p(openInterest) + (twoSided ? 1 : 0) - 20 * spread;
}

export function selectTopMarkets(
  markets: Iterable<MarketCandidate>,
  limit: number,
  options: { nowMs: number; minTimeToCloseMs?: number },
): ScoredMarket[] {
  const minClose = options.nowMs + (options.minTimeToCloseMs ?? 0);
  const scored: ScoredMarket[] = [];
  for (const m of markets) {
    if (m.closeTimeMs <= minClose) continue;
    scored.push({ ticker: m.ticker, score: liquidityScore(m) });
  }
  scored.sort((a, b) => b.score - a.score || (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0));
  return scored.slice(0, Math.max(0, limit));
}
