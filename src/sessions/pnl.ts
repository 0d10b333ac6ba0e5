/**
 * The session's P&L as the exchange sees it: the trader account's cash (reserved included) plus
 * every position marked at the price it could be sold at now (best YES bid for YES, best NO bid
 * for NO), minus the starting value. Sampled on the session clock for the report's chart and the
 * drawdown expectation; independent of the trader's own books, so a trader that lost track of a
 * fill cannot hide it here. Part of src/sessions.
 */
import type { Micros } from '../core/money.ts';
import { markToMarket } from '../core/positions.ts';
import type { Exchange } from '../sim/exchange.ts';

export interface PnlSample {
  /** Ms since the session start. */
  tMs: number;
  pnl: Micros;
}

export class PnlTracker {
  readonly samples: PnlSample[] = [];
  private peak = 0;
  maxDrawdown: Micros = 0;
  private initial: Micros | null = null;
  /** Fees of the account's fills, counted as they happen: the exchange keeps only a window of fills. */
  private feesPaid: Micros = 0;

  constructor(
    private readonly exchange: Exchange,
    private readonly userId: string,
  ) {
    for (const f of exchange.listFills(userId)) this.feesPaid += f.fee;
    exchange.subscribe((event) => {
      if (event.type === 'fill' && event.fill.userId === userId) this.feesPaid += event.fill.fee;
    });
  }

  /** The account's value now: cash (reserved included) + positions marked at executable bids. */
  value(): Micros {
    let value = this.exchange.cashSummary(this.userId).cash;
    for (const p of this.exchange.listPositions(this.userId)) {
      if (p.position === 0) continue;
      const levels = this.exchange.bookLevels(p.ticker);
      const bestYesBid = levels && levels.yes.length ? levels.yes[levels.yes.length - 1][0] : null;
      const bestNoBid = levels && levels.no.length ? levels.no[levels.no.length - 1][0] : null;
      value += markToMarket({ ticker: p.ticker, position: p.position, costBasis: 0, realizedPnl: 0, feesPaid: 0, totalTraded: 0 }, bestYesBid, bestNoBid);
    }
    return value;
  }

  /** Takes the starting value (call before the trader can trade). */
  start(): void {
    this.initial = this.value();
    this.samples.push({ tMs: 0, pnl: 0 });
  }

  pnl(): Micros {
    return this.initial === null ? 0 : this.value() - this.initial;
  }

  /** Fees the account paid so far (taker and maker, as the exchange charged them). */
  fees(): Micros {
    return this.feesPaid;
  }

  sample(tMs: number): void {
    if (this.initial === null) return;
    const pnl = this.pnl();
    this.samples.push({ tMs, pnl });
    if (pnl > this.peak) this.peak = pnl;
    if (this.peak - pnl > this.maxDrawdown) this.maxDrawdown = this.peak - pnl;
  }
}
