/**
 * What the assembled system does with a stream event beyond routing it to the books (market-feed.ts
 * does that) and with a trader notification: counters and activity for the status
 * (system-status.ts), the coordinator's signals (stream down/up, sync now), the trader's inbox
 * (fills, order reports), and the journal writes that follow an order (decisions, fills, states).
 *
 * Invariants: a stream fill is journaled before the trader applies it, one after the other (a
 * fill that cannot be journaled is not applied; the next reconciliation brings it in); a failed
 * decision write is reported, never blocks trading.
 */
import type { Pool } from 'pg';
import type { Clock } from '../core/clock.ts';
import type { OrderSide } from '../core/order-state.ts';
import { ORDERBOOK_CHANNEL } from '../adapters/kalshi/ws.ts';
import type { WsClientEvent } from '../adapters/kalshi/ws.ts';
import type { StoreEnvironment } from '../adapters/store/statuses.ts';
import type { CoordinatorEvent } from '../machines/coordinator.types.ts';
import type { TraderNotification } from '../machines/trader.types.ts';
import type { TraderHandle } from './coordinator.actors.ts';
import type { MarketFeed } from './market-feed.ts';
import type { MarketRegistry } from './market-registry.ts';
import { journalDecision, journalFill } from './order-journal.ts';
import type { OrderStateJournal } from './order-journal.ts';
import type { SystemStatus } from './system-status.ts';
import type { FillView } from './system-view.ts';
import { fillRecordFromWs, orderStatusFromWs } from './venue.ts';

export interface SystemRelayDeps {
  clock: Clock;
  pool: Pool;
  env: StoreEnvironment;
  traderId: string;
  strategyName: string;
  status: SystemStatus;
  journal: OrderStateJournal;
  registry: MarketRegistry;
  coordinator: { send(event: CoordinatorEvent): void };
  trader: () => TraderHandle | null;
  journalFailed: (error: unknown) => void;
}

export class SystemRelays {
  /** Stream fills, journaled one after the other, each before the trader applies it. */
  private fillChain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SystemRelayDeps) {}

  /** Resolves when every stream fill received so far has been journaled (or failed to be). */
  settled(): Promise<void> {
    return this.fillChain;
  }

  traderNotification(n: TraderNotification): void {
    const status = this.deps.status;
    switch (n.type) {
      // TRADER_ACTING / TRADER_IDLE go to the coordinator directly (its parentRef)
      case 'TRADER_STATE':
        status.activity('trader', `trader ${n.state}: ${n.reason}`, n.state === 'paused' ? 'warning' : 'info');
        break;
      case 'ORDER_PLACED':
        status.counters.orders_placed++;
        this.journalDecision(n.intent, 'submitted', null, { clientOrderId: n.clientOrderId });
        status.orderChanged(n.clientOrderId);
        break;
      case 'ORDER_ADOPTED': {
        status.counters.orders_adopted = (status.counters.orders_adopted ?? 0) + 1;
        status.activity('trader', `adopted resting order ${n.clientOrderId} of an earlier run${n.canceling ? ' (over the open-order limit: canceling)' : ''}`, 'info');
        this.deps.journal.adopted(n.clientOrderId, n.orderId, { canceling: n.canceling });
        status.orderChanged(n.clientOrderId);
        break;
      }
      case 'ORDER_RECOVERED':
        status.activity('trader', `order ${n.clientOrderId} of an earlier run got no answer and is not at the exchange yet: counted until it lands or can no longer`, 'info');
        status.orderChanged(n.clientOrderId);
        break;
      case 'ORDER_DENIED':
        status.counters.orders_denied++;
        this.journalDecision(n.intent, 'denied', `${n.rule}: ${n.reason}`, { rule: n.rule });
        status.activity('risk', `order denied (${n.rule}): ${n.reason}`, 'warning', { ticker: n.intent.ticker });
        break;
      case 'ORDER_CLOSED':
        status.counters.orders_closed++;
        this.deps.journal.state(n.order, 'closed', n.reason);
        status.emit({ type: 'order_update', data: status.orderView(n.order) });
        break;
      case 'FILL_APPLIED': {
        const fill: FillView = {
          fillId: n.fill.fillId,
          clientOrderId: n.fill.clientOrderId ?? null,
          ticker: n.fill.ticker,
          side: n.fill.side,
          price: n.fill.price,
          count: n.fill.count,
          fee: n.fill.fee,
          isTaker: n.fill.isTaker,
          tsMs: n.fill.tsMs,
        };
        if (n.managed && n.fill.clientOrderId) this.journalFilledCount(n.fill.clientOrderId);
        status.fillApplied(fill, n.position);
        break;
      }
      case 'DECISION_FAILED':
        status.recordError(`strategy failed on ${n.ticker}: ${n.error}`);
        break;
      case 'POSITION_CLOSING':
        status.activity('trader', `flatten ${n.ticker}: ${n.sent ? n.detail : `not closed (${n.detail})`}`, n.sent ? 'info' : 'warning', { ticker: n.ticker });
        break;
      case 'RECONCILE_REQUESTED':
        status.activity('sync', `trader asks for a reconcile: ${n.reason}`, 'info');
        this.deps.coordinator.send({ type: 'SYNC_NOW' });
        break;
    }
  }

  /** Every order decision (placed or denied by risk) goes to `trader_decisions`; a failed write is reported, never blocks. */
  private journalDecision(
    intent: { ticker: string; side: OrderSide; price: number; count: number },
    outcome: 'submitted' | 'denied',
    reason: string | null,
    details: Record<string, unknown>,
  ): void {
    journalDecision(this.deps, {
      trader: this.deps.traderId,
      strategy: this.deps.strategyName,
      env: this.deps.env,
      ticker: intent.ticker,
      atMs: this.deps.clock.now(),
      action: intent.side === 'bid' ? 'buy_yes' : 'sell_yes',
      price: intent.price,
      count: intent.count,
      outcome,
      reason,
      details,
    }).catch((error: unknown) => this.deps.status.recordError(`could not journal a decision on ${intent.ticker}: ${String(error)}`));
  }

  /** After a fill, the order actor has applied it by the next microtask: journal its new count. */
  private journalFilledCount(clientOrderId: string): void {
    queueMicrotask(() => {
      const order = this.deps.trader()?.getSnapshot().context.orders[clientOrderId];
      // gone: closed, and ORDER_CLOSED journals the final state
      if (!order || (order.state !== 'partially_filled' && order.state !== 'pending_cancel')) return;
      const { orderId, state, filledCount, remainingCount } = order;
      this.deps.journal.state({ clientOrderId, orderId, state, filledCount, venueFilledCount: filledCount, remainingCount }, 'fill', null);
    });
  }

  streamEvent(event: WsClientEvent, outcome: ReturnType<MarketFeed['route']>): void {
    const status = this.deps.status;
    switch (event.type) {
      case 'connected':
        if (event.attempt > 1 || status.counters.ws_reconnects > 0) {
          status.activity('connection', `orderbook stream reconnected (attempt ${event.attempt})`, 'success');
        }
        break;
      case 'disconnected':
        status.counters.ws_reconnects++;
        this.deps.coordinator.send({ type: 'ORDERBOOK_DOWN', reason: `stream closed: ${event.reason || event.code}` });
        status.activity('connection', `orderbook stream disconnected (${event.code} ${event.reason})`, 'warning');
        break;
      case 'connect_failed':
        status.activity('connection', `orderbook connect failed: ${event.error}; retry in ${event.nextAttemptMs} ms`, 'warning');
        break;
      case 'subscribed':
        if (event.channel === ORDERBOOK_CHANNEL) {
          if (event.previousSid !== undefined) {
            // Resubscribed after a reconnect: fills may have been missed while down.
            this.deps.coordinator.send({ type: 'ORDERBOOK_UP', reason: 'resubscribed after reconnect' });
            this.deps.coordinator.send({ type: 'SYNC_NOW' });
          }
        }
        break;
      case 'delta':
        if (outcome === 'applied') status.deltaApplied(event.ticker);
        break;
      case 'gap':
        status.counters.ws_gaps++;
        status.activity('orderbook', `sequence gap on sid ${event.sid} (${event.reason}); re-snapshotting ${event.tickers.length} markets`, 'warning');
        break;
      case 'malformed':
        status.counters.ws_malformed_frames++;
        status.activity('orderbook', `malformed frame ignored: ${event.reason}`, 'warning');
        break;
      case 'fill': {
        status.counters.fills_received++;
        const fill = fillRecordFromWs(event.msg, this.deps.clock);
        // A fill is durable before it moves cash or positions: one that cannot be journaled is not
        // applied; the next reconciliation brings it in from the venue (journaled first there too).
        // Written at once (fills group-commit with everything else queued); applied in arrival order.
        const journaled = journalFill(this.deps, fill, 'ws');
        journaled.catch(() => undefined); // handled in the chain below, maybe after it settles
        this.fillChain = this.fillChain
          .then(() => journaled)
          .then(
            (isNew) => {
              if (isNew) status.counters.fills_journaled++;
              this.deps.trader()?.send({ type: 'FILL_RECEIVED', fill });
            },
            (error: unknown) => {
              status.recordError(`could not journal fill ${fill.fillId} (applied at the next reconciliation): ${String(error)}`);
              this.deps.journalFailed(error);
            },
          );
        break;
      }
      case 'user_order':
        this.deps.trader()?.send(orderStatusFromWs(event.msg));
        break;
      case 'market_lifecycle':
        if (event.msg.eventType === 'settled' || event.msg.eventType === 'determined') {
          if (this.deps.registry.state(event.msg.ticker) !== undefined) {
            status.activity('market', `${event.msg.ticker} ${event.msg.eventType}${event.msg.result ? ` (${event.msg.result})` : ''}`, 'info');
            this.deps.coordinator.send({ type: 'SYNC_NOW' });
          }
        }
        break;
      case 'server_error':
        status.activity('orderbook', `stream error ${event.code}: ${event.message}`, 'warning');
        break;
      default:
        break;
    }
  }
}
