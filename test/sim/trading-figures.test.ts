/** The simulator's 24-hour volume (src/sim/server/stats.ts): right, and bounded however many trades a day brings. */
import { describe, expect, it } from 'vitest';
import { TradingFigures } from '../../src/sim/server/stats.ts';

const T = 'KXFIG-26JAN01-A';
const T0 = Date.UTC(2026, 0, 1);
const trade = (tsMs: number, count: number) => ({ type: 'trade' as const, trade: { tradeId: `t${tsMs}`, ticker: T, price: 5000, count, takerSide: 'bid' as const, tsMs } });

describe('TradingFigures', () => {
  it('counts the last 24 hours of volume, and keeps per-minute buckets rather than every trade', () => {
    const f = new TradingFigures();
    // 2 days of trades, 20 a minute, 1 contract (100) each
    for (let ms = 0; ms < 2 * 86_400_000; ms += 3_000) f.record(trade(T0 + ms, 100));
    const now = T0 + 2 * 86_400_000;
    expect(f.volume24h(T, now)).toBe(20 * 60 * 24 * 100);
    const window = (f as unknown as { markets: Map<string, { window: unknown[]; head: number }> }).markets.get(T)!;
    // a day of minutes (plus what pruning has not compacted yet), not the 57,600 trades of a day
    expect(window.window.length - window.head).toBeLessThanOrEqual(24 * 60 + 1);
    expect(window.window.length).toBeLessThanOrEqual(2 * (24 * 60 + 1));
    expect(f.volume24h(T, now + 86_400_000)).toBe(0);
  });
});
