/**
 * Per-minute candles of each market for `GET …/candlesticks` (kalshi-api.md §3.2): YES bid and
 * YES ask open/low/high/close as the top of the book moved, trade price OHLC and mean, volume and
 * open interest. Fed by exchange events (trades and top-of-book changes), with the book read from
 * the exchange; minutes without activity are not stored (a candle then repeats the last close).
 * Keeps the last 7 days per market. Part of src/sim/server.
 */
import type { Count, Price } from '../../core/money.ts';
import type { ExchangeApi, ExchangeEvent } from '../exchange.types.ts';
import { topOfBook } from './wire.ts';

const MINUTE_MS = 60_000;
const KEEP_MINUTES = 7 * 24 * 60;

export interface Ohlc {
  open: Price;
  low: Price;
  high: Price;
  close: Price;
}

export interface MinuteCandle {
  /** Start of the minute, ms. */
  minute: number;
  yesBid: Ohlc;
  yesAsk: Ohlc;
  /** Trades in the minute; null when there were none. */
  price: (Ohlc & { notional: number; count: Count }) | null;
  volume: Count;
  openInterest: Count;
}

export interface Candle {
  /** End of the period, Unix seconds. */
  endPeriodTs: number;
  yesBid: Ohlc;
  yesAsk: Ohlc;
  price: (Ohlc & { mean: Price }) | null;
  previousPrice: Price | null;
  volume: Count;
  openInterest: Count;
}

const point = (p: Price): Ohlc => ({ open: p, low: p, high: p, close: p });
function extend(o: Ohlc, p: Price): void {
  if (p < o.low) o.low = p;
  if (p > o.high) o.high = p;
  o.close = p;
}
function merge(into: Ohlc, next: Ohlc): void {
  if (next.low < into.low) into.low = next.low;
  if (next.high > into.high) into.high = next.high;
  into.close = next.close;
}

export class MarketCandles {
  private readonly byTicker = new Map<string, MinuteCandle[]>();

  constructor(private readonly exchange: Pick<ExchangeApi, 'bookLevels' | 'getMarket'>) {}

  record(event: ExchangeEvent): void {
    if (event.type === 'trade') {
      const c = this.current(event.trade.ticker, event.trade.tsMs);
      if (!c) return;
      const { price, count } = event.trade;
      if (c.price === null) c.price = { ...point(price), notional: 0, count: 0 };
      else extend(c.price, price);
      c.price.notional += price * count;
      c.price.count += count;
      c.volume += count;
    } else if (event.type === 'ticker') {
      this.current(event.ticker, event.tsMs);
    }
  }

  /**
   * Candles of `periodMinutes` (1, 60 or 1440) whose periods end in [startS, endS] (Unix s); a
   * period with no stored minute repeats the previous close with no trades.
   */
  candles(ticker: string, startS: number, endS: number, periodMinutes: number): Candle[] {
    const minutes = this.byTicker.get(ticker) ?? [];
    const periodMs = periodMinutes * MINUTE_MS;
    const out: Candle[] = [];
    let last: MinuteCandle | undefined;
    let i = 0;
    let previousPrice: Price | null = null;
    const firstEnd = Math.ceil((startS * 1000) / periodMs) * periodMs;
    for (let end = firstEnd; end <= endS * 1000; end += periodMs) {
      const start = end - periodMs;
      // minutes before this period only set what the period starts from
      while (i < minutes.length && minutes[i]!.minute < start) {
        last = minutes[i];
        if (last!.price) previousPrice = last!.price.close;
        i++;
      }
      let candle: Candle | null = null;
      let notional = 0;
      let traded: Count = 0;
      while (i < minutes.length && minutes[i]!.minute < end) {
        const m = minutes[i]!;
        if (candle === null) {
          candle = { endPeriodTs: end / 1000, yesBid: { ...m.yesBid }, yesAsk: { ...m.yesAsk }, price: null, previousPrice, volume: 0, openInterest: m.openInterest };
        } else {
          merge(candle.yesBid, m.yesBid);
          merge(candle.yesAsk, m.yesAsk);
        }
        if (m.price) {
          if (candle.price === null) candle.price = { open: m.price.open, low: m.price.low, high: m.price.high, close: m.price.close, mean: 0 };
          else merge(candle.price, m.price);
          notional += m.price.notional;
          traded += m.price.count;
        }
        candle.volume += m.volume;
        candle.openInterest = m.openInterest;
        last = m;
        i++;
      }
      if (candle === null) {
        if (last === undefined) continue; // nothing known yet
        candle = { endPeriodTs: end / 1000, yesBid: point(last.yesBid.close), yesAsk: point(last.yesAsk.close), price: null, previousPrice, volume: 0, openInterest: last.openInterest };
      }
      if (candle.price) {
        candle.price.mean = Math.round(notional / traded);
        previousPrice = candle.price.close;
      }
      out.push(candle);
    }
    return out;
  }

  /** The candle of the minute of `tsMs`, created from the book as it is now; its bid/ask follow the book. */
  private current(ticker: string, tsMs: number): MinuteCandle | null {
    const market = this.exchange.getMarket(ticker);
    if (!market) return null;
    const top = topOfBook(this.exchange.bookLevels(ticker));
    const bid = top.yesBid ?? 0;
    const ask = top.yesAsk ?? 10_000;
    const minute = Math.floor(tsMs / MINUTE_MS) * MINUTE_MS;
    let list = this.byTicker.get(ticker);
    if (!list) this.byTicker.set(ticker, (list = []));
    let c = list[list.length - 1];
    if (c === undefined || c.minute !== minute) {
      c = { minute, yesBid: point(bid), yesAsk: point(ask), price: null, volume: 0, openInterest: market.openInterest };
      list.push(c);
      if (list.length > KEEP_MINUTES + 1024) list.splice(0, list.length - KEEP_MINUTES);
    } else {
      extend(c.yesBid, bid);
      extend(c.yesAsk, ask);
    }
    c.openInterest = market.openInterest;
    return c;
  }
}
