/**
 * The simulator's events and series (kalshi-api.md §3.2), derived from its markets: a market
 * belongs to its `event_ticker`, an event to the series named by the event ticker's first
 * dash-separated part (Kalshi's convention: series KXFED, event KXFED-26JAN28, market
 * KXFED-26JAN28-T4.25). Wire shapes follow kalshi-typescript 3.30's EventData and Series. Pure
 * functions over SimMarket lists; part of src/sim/server.
 */
import type { MarketStatus, SimMarket } from '../exchange.types.ts';
import { rfc3339 } from './wire.ts';

export function seriesTickerOf(eventTicker: string): string {
  const cut = eventTicker.indexOf('-');
  return cut > 0 ? eventTicker.slice(0, cut) : eventTicker;
}

export interface SimEvent {
  eventTicker: string;
  seriesTicker: string;
  markets: SimMarket[];
}

/** Events in first-listed order, each with its markets in listing order. */
export function eventsOf(markets: SimMarket[]): SimEvent[] {
  const byTicker = new Map<string, SimEvent>();
  for (const m of markets) {
    let e = byTicker.get(m.eventTicker);
    if (!e) byTicker.set(m.eventTicker, (e = { eventTicker: m.eventTicker, seriesTicker: seriesTickerOf(m.eventTicker), markets: [] }));
    e.markets.push(m);
  }
  return [...byTicker.values()];
}

/** Series tickers in first-listed order with their events. */
export function seriesOf(markets: SimMarket[]): Map<string, SimEvent[]> {
  const out = new Map<string, SimEvent[]>();
  for (const e of eventsOf(markets)) {
    const list = out.get(e.seriesTicker) ?? [];
    list.push(e);
    out.set(e.seriesTicker, list);
  }
  return out;
}

/**
 * An event's status in the `GET /events?status=` vocabulary: open while a market trades,
 * unopened before any opened, settled when all settled, else closed. (Kalshi documents the
 * filter values, not how an event's status follows its markets; this is our reading.)
 */
export function eventStatus(e: SimEvent): 'unopened' | 'open' | 'closed' | 'settled' {
  const has = (s: MarketStatus) => e.markets.some((m) => m.status === s);
  if (has('active')) return 'open';
  if (e.markets.every((m) => m.status === 'initialized')) return 'unopened';
  if (e.markets.every((m) => m.status === 'finalized')) return 'settled';
  return 'closed';
}

const CATEGORY = 'Simulated';

export function eventToWire(e: SimEvent, nestedMarkets?: unknown[]) {
  const first = e.markets[0];
  const title = first ? first.title.replace(/\s+\S+$/, '') : e.eventTicker;
  const lastClose = Math.max(...e.markets.map((m) => m.closeTimeMs));
  return {
    event_ticker: e.eventTicker,
    series_ticker: e.seriesTicker,
    title,
    sub_title: e.eventTicker,
    collateral_return_type: '',
    // strike ladders ("exceeds 50", "exceeds 55"): several can resolve YES together
    mutually_exclusive: false,
    category: CATEGORY,
    strike_date: Number.isFinite(lastClose) ? rfc3339(lastClose) : null,
    strike_period: null,
    settlement_sources: [],
    available_on_brokers: false,
    exchange_index: 0,
    ...(nestedMarkets ? { markets: nestedMarkets } : {}),
  };
}

export function seriesToWire(seriesTicker: string, events: SimEvent[]) {
  const markets = events.flatMap((e) => e.markets);
  const makerFees = markets.some((m) => m.feeType === 'quadratic_with_maker_fees');
  return {
    ticker: seriesTicker,
    frequency: 'daily',
    title: `Simulated series ${seriesTicker}`,
    category: CATEGORY,
    categories: [CATEGORY],
    tags: [],
    settlement_sources: [],
    contract_url: '',
    contract_terms_url: '',
    // the series' fee type is its markets' (a simulated series mixing both reports the maker-fee type)
    fee_type: makerFees ? 'quadratic_with_maker_fees' : 'quadratic',
    fee_multiplier: 1,
    additional_prohibitions: [],
    exchange_index: 0,
  };
}
