/**
 * Running figures the wire needs but the exchange contract does not keep: 24-hour volume and
 * notional per market, last trade size (ticker frames), and contracts traded per user and market
 * (`volume_fp` of market_position frames). Fed by exchange events; part of src/sim/server.
 */
import type { Count, Micros } from '../../core/money.ts';
import type { ExchangeEvent } from '../exchange.types.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * The 24-hour window keeps one bucket per minute of trades, not every trade: a busy market trades
 * tens of times a minute, and a day of single trades at 50 markets is millions of entries. A
 * bucket leaves the window when its newest trade is 24 h old, so the volume is exact to a minute.
 */
const BUCKET_MS = 60_000;

interface MarketFigures {
  notionalTraded: Micros;
  lastTradeSize: Count;
  /** Per-minute trade buckets inside the last 24 h, oldest first (`tsMs`: the bucket's newest trade); `head` skips pruned entries without shifting. */
  window: Array<{ minute: number; tsMs: number; count: Count }>;
  head: number;
  windowVolume: Count;
}

export class TradingFigures {
  private readonly markets = new Map<string, MarketFigures>();
  private readonly userVolume = new Map<string, Count>();

  record(event: ExchangeEvent): void {
    if (event.type === 'trade') {
      const { ticker, count, price, tsMs } = event.trade;
      const m = this.market(ticker);
      m.notionalTraded += price * count;
      m.lastTradeSize = count;
      const minute = Math.floor(tsMs / BUCKET_MS);
      const last = m.window.length > m.head ? m.window[m.window.length - 1] : undefined;
      if (last !== undefined && last.minute === minute) {
        last.count += count;
        if (tsMs > last.tsMs) last.tsMs = tsMs;
      } else {
        m.window.push({ minute, tsMs, count });
      }
      m.windowVolume += count;
      this.prune(m, tsMs);
    } else if (event.type === 'fill') {
      const key = `${event.fill.userId}\u0000${event.fill.ticker}`;
      this.userVolume.set(key, (this.userVolume.get(key) ?? 0) + event.fill.count);
    }
  }

  volume24h(ticker: string, nowMs: number): Count {
    const m = this.markets.get(ticker);
    if (!m) return 0;
    this.prune(m, nowMs);
    return m.windowVolume;
  }

  ticker(ticker: string): { lastTradeSize: Count; notionalTraded: Micros } {
    const m = this.markets.get(ticker);
    return { lastTradeSize: m?.lastTradeSize ?? 0, notionalTraded: m?.notionalTraded ?? 0 };
  }

  userVolumeIn(userId: string, ticker: string): Count {
    return this.userVolume.get(`${userId}\u0000${ticker}`) ?? 0;
  }

  private market(ticker: string): MarketFigures {
    let m = this.markets.get(ticker);
    if (!m) {
      m = { notionalTraded: 0, lastTradeSize: 0, window: [], head: 0, windowVolume: 0 };
      this.markets.set(ticker, m);
    }
    return m;
  }

  private prune(m: MarketFigures, nowMs: number): void {
    while (m.head < m.window.length && m.window[m.head].tsMs <= nowMs - DAY_MS) {
      m.windowVolume -= m.window[m.head].count;
      m.head++;
    }
    if (m.head > 64 && m.head * 2 > m.window.length) {
      m.window = m.window.slice(m.head);
      m.head = 0;
    }
  }
}
