/**
 * The market feed: the one route from the WS client's events into the MarketRegistry, used by the
 * trading system and the recorder alike. The client owns the per-sid sequence (gaps, duplicates,
 * deltas withheld until their snapshot); the feed passes what it decided on to the registry,
 * which owns the books and their market machines. It also owns the other direction: a market
 * machine that needs a fresh snapshot asks the client for one on the market's sid.
 *
 * Callers keep their own side effects (counters, activity lines, recorded rows, coordinator
 * events): `route` tells them what the registry did with a snapshot or a delta.
 *
 * Actors layer: drives the registry, asks the Kalshi WS adapter for snapshots.
 */
import type { Clock } from '../core/clock.ts';
import { ORDERBOOK_CHANNEL } from '../adapters/kalshi/ws.ts';
import type { KalshiWsClient, WsClientEvent } from '../adapters/kalshi/ws.ts';
import { MarketRegistry } from './market-registry.ts';
import type { DeltaOutcome, SnapshotOutcome } from './market-registry.ts';
import type { MarketTimings } from '../machines/market.machine.ts';

export interface MarketFeedOptions {
  ws: Pick<KalshiWsClient, 'requestSnapshot'>;
  clock: Clock;
  timings?: Partial<MarketTimings>;
}

export class MarketFeed {
  readonly registry: MarketRegistry;
  private readonly ws: Pick<KalshiWsClient, 'requestSnapshot'>;

  constructor(options: MarketFeedOptions) {
    this.ws = options.ws;
    this.registry = new MarketRegistry({
      clock: options.clock,
      requestSnapshot: (ticker) => this.requestSnapshot(ticker),
      ...(options.timings !== undefined ? { timings: options.timings } : {}),
    });
  }

  /**
   * Passes one client event on to the registry. Returns the registry's outcome for a snapshot or
   * a delta (null for every other event).
   */
  route(event: WsClientEvent): SnapshotOutcome | DeltaOutcome | null {
    const registry = this.registry;
    switch (event.type) {
      case 'snapshot':
        return registry.applySnapshot(event.ticker, event.sid, event.seq, event.yes, event.no);
      case 'delta':
        return registry.applyDelta(event.ticker, event.sid, event.seq, event.side, event.price, event.delta);
      case 'gap':
        for (const ticker of event.tickers) registry.markGap(ticker, gapReason(event));
        return null;
      case 'subscribed':
        if (event.channel === ORDERBOOK_CHANNEL) for (const ticker of event.tickers) registry.markSubscribed(ticker, event.sid);
        return null;
      case 'disconnected':
        registry.markDisconnected(disconnectDetail(event));
        return null;
      case 'market_lifecycle':
        if (event.msg.eventType === 'settled' || event.msg.eventType === 'determined') registry.markSettled(event.msg.ticker);
        return null;
      case 'heartbeat':
      case 'trade':
        registry.markActivity();
        return null;
      default:
        return null;
    }
  }

  // The WS client re-snapshots its own gaps; a stale or never-snapshotted market asks here.
  private requestSnapshot(ticker: string): void {
    const sid = this.registry.actorSnapshot(ticker)?.context.sid ?? null;
    if (sid !== null) this.ws.requestSnapshot(sid, [ticker]);
  }
}

function gapReason(event: Extract<WsClientEvent, { type: 'gap' }>): string {
  return `${event.reason}: expected seq ${event.expected}, got ${event.received}`;
}

/** How a lost connection is described (market machines' reason, the recorder's gap rows). */
export function disconnectDetail(event: Extract<WsClientEvent, { type: 'disconnected' }>): string {
  return `connection closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`;
}
