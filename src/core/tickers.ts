/**
 * What a market ticker looks like (Kalshi: `KXHIGHNY-25JAN01-T50`, `KXBTCD-25JAN0117-T96999.99`):
 * upper-case letters, digits, dots, dashes and underscores, at most 100 characters. One rule for
 * configuration, scenario files, the simulator's markets and the Kalshi adapters, which refuse
 * anything else before it reaches a URL or a frame.
 */
import { z } from 'zod';

export const MARKET_TICKER_PATTERN = /^[A-Z0-9][A-Z0-9._-]{0,99}$/;
export const MARKET_TICKER_RULE = 'tickers are upper-case letters, digits, dots, dashes and underscores (at most 100)';

export function isMarketTicker(value: unknown): value is string {
  return typeof value === 'string' && MARKET_TICKER_PATTERN.test(value);
}

export const marketTickerSchema = z.string().regex(MARKET_TICKER_PATTERN, MARKET_TICKER_RULE);

/** Throws a RangeError naming `what` unless every value is a market ticker (shown cut to 40 characters). */
export function assertMarketTickers(values: readonly unknown[], what = 'ticker'): void {
  for (const value of values) {
    if (!isMarketTicker(value)) {
      const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) + (value.length > 40 ? '…' : '') : String(value);
      throw new RangeError(`${what} ${shown} is not a market ticker: ${MARKET_TICKER_RULE}`);
    }
  }
}
