/**
 * Which markets to follow: the one market-selection step shared by the trader
 * (`trading-system.ts`) and the recorder (`recorder.ts`). `config` fetches the named tickers;
 * `discovery` pages through every open market and keeps the top N by the core's liquidity score
 * (src/core/market-selection.ts), optionally only within some series or events. Sits in the actors layer: it drives the REST adapter and the
 * pure selection; callers decide what to do with the markets.
 */
import type { Clock } from '../core/clock.ts';
import { selectTopMarkets } from '../core/market-selection.ts';
import type { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiMarket } from '../adapters/kalshi/rest.schemas.ts';

/**
 * `discovery` picks the top `limit` open markets; with `seriesTickers` and/or `eventTickers` only
 * among the open markets of those series and events (Kalshi's `series_ticker` / `event_ticker`
 * filters), else among all.
 */
export type MarketSelection =
  | { mode: 'config'; tickers: string[] }
  | { mode: 'discovery'; limit: number; seriesTickers?: string[]; eventTickers?: string[] };

export interface SelectMarketsOptions {
  /** Discovery skips markets closing sooner than this (default one minute). */
  minTimeToCloseMs?: number;
}

/**
 * Resolves a selection to full market records (config: in the given order; discovery: the
 * chosen markets in the exchange's listing order). Throws if discovery finds nothing, or a configured ticker is
 * unknown (the REST client's 404).
 */
export async function selectMarkets(
  rest: Pick<KalshiRestClient, 'getMarket' | 'iterateMarkets'>,
  selection: MarketSelection,
  clock: Clock,
  options: SelectMarketsOptions = {},
): Promise<KalshiMarket[]> {
  if (selection.mode === 'config') {
    const markets: KalshiMarket[] = [];
    for (const ticker of selection.tickers) markets.push(await rest.getMarket(ticker));
    return markets;
  }
  const open: KalshiMarket[] = [];
  const seen = new Set<string>();
  const filters = [
    ...(selection.seriesTickers ?? []).map((seriesTicker) => ({ seriesTicker })),
    ...(selection.eventTickers ?? []).map((eventTicker) => ({ eventTicker })),
  ];
  for (const filter of filters.length > 0 ? filters : [{}]) {
    for await (const m of rest.iterateMarkets({ status: 'open', limit: 1000, ...filter })) {
      if (seen.has(m.ticker)) continue; // an event of a listed series may be listed too
      seen.add(m.ticker);
      open.push(m);
    }
  }
  const picked = selectTopMarkets(open, selection.limit, {
    nowMs: clock.now(),
    minTimeToCloseMs: options.minTimeToCloseMs ?? 60_000,
  });
  const chosen = new Set(picked.map((p) => p.ticker));
  const markets = open.filter((m) => chosen.has(m.ticker));
  if (markets.length === 0) throw new Error('discovery found no open markets');
  return markets;
}
