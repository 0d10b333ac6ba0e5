/**
 * The order journal: the one writer of an order's ledger. The venue actors (venue.ts) journal the
 * intent and its send before the request leaves, then the venue's answer, a query's miss and a
 * cancel; the trading system journals fills (once per fill, before they move money) and the state
 * rows that follow the order to its end (adopted, each fill's new count, closed). State rows are
 * written one after another in the order they happened; a row refused because the database is
 * unreachable is held and written, in its original order, once the database is back (a restart
 * must not find a long-gone order still open).
 *
 * Actors layer: writes through the store's journal adapter.
 */
import type { Pool } from 'pg';
import type { Clock } from '../core/clock.ts';
import type { FillRecord } from '../core/reconcile.ts';
import { isDatabaseUnavailable } from '../adapters/store/database.ts';
import { DuplicateOrderError, journalOrderIntent, markOrderSent, recordFill, recordOrderEvent, recordVenueAnswer } from '../adapters/store/journal.ts';
import type { OrderEvent as JournalOrderEvent, VenueAnswer } from '../adapters/store/journal.ts';
import type { StoreEnvironment } from '../adapters/store/statuses.ts';
import type { OrderSummary, SubmitOrderInput } from '../machines/order.types.ts';

export interface OrderJournalContext {
  pool: Pool;
  env: StoreEnvironment;
  clock: Clock;
  traderId: string;
}

/**
 * Journal first: the intent (on the first attempt) and its send are durable before the request
 * leaves. Throws when they are not (the request must then not be sent).
 */
export async function journalSubmit(ctx: OrderJournalContext, input: Pick<SubmitOrderInput, 'clientOrderId' | 'intent' | 'attempt'>): Promise<void> {
  const { clientOrderId, intent } = input;
  if (input.attempt === 1) {
    try {
      await journalOrderIntent(ctx.pool, {
        clientOrderId,
        env: ctx.env,
        ticker: intent.ticker,
        side: intent.side,
        price: intent.price,
        count: intent.count,
        tif: intent.timeInForce,
        postOnly: intent.postOnly ?? false,
        ...(intent.expirationTime !== undefined ? { expirationS: intent.expirationTime } : {}),
        trader: ctx.traderId,
        createdMs: ctx.clock.now(),
      });
    } catch (error) {
      // Already journaled by an earlier attempt of this very order: sending again is safe,
      // the client resolves duplicates through client_order_id.
      if (!(error instanceof DuplicateOrderError)) throw error;
    }
  }
  await markOrderSent(ctx.pool, clientOrderId, ctx.clock.now());
}

/** What the venue answered to a create or a query (stamped now). */
export async function journalVenueAnswer(ctx: OrderJournalContext, clientOrderId: string, answer: Omit<VenueAnswer, 'answeredMs'>): Promise<void> {
  await recordVenueAnswer(ctx.pool, clientOrderId, { answeredMs: ctx.clock.now(), ...answer });
}

/** A venue interaction that changes no state (a query that found nothing, a cancel's result). */
export async function journalOrderNote(ctx: OrderJournalContext, clientOrderId: string, kind: 'query' | 'cancel', details: Record<string, unknown>): Promise<void> {
  await recordOrderEvent(ctx.pool, { clientOrderId, atMs: ctx.clock.now(), kind, details });
}

/** Stores a fill in the journal once; true when it was new. */
export async function journalFill(
  ctx: { pool: Pool; env: StoreEnvironment; clock: Clock },
  fill: FillRecord,
  source: 'ws' | 'rest',
): Promise<boolean> {
  return recordFill(ctx.pool, {
    fillId: fill.fillId,
    venueOrderId: fill.orderId ?? '',
    clientOrderId: fill.clientOrderId ?? null,
    env: ctx.env,
    ticker: fill.ticker,
    side: fill.side,
    yesPrice: fill.price,
    count: fill.count,
    fee: fill.fee,
    isTaker: fill.isTaker,
    tsMs: fill.tsMs,
    recordedMs: ctx.clock.now(),
    source,
  });
}

/** What an order-state row is made of (a whole OrderSummary is not needed, nor faked). */
export type JournaledOrderState = Pick<OrderSummary, 'clientOrderId' | 'orderId' | 'state' | 'filledCount' | 'venueFilledCount' | 'remainingCount'>;

export interface OrderStateJournalOptions {
  pool: Pool;
  clock: Clock;
  /** A write failed (reported, secrets-free). */
  onError(message: string): void;
  /** The database is unreachable: the system enters its journal outage. */
  onUnavailable(error: unknown): void;
  /** Held rows are being written after an outage. */
  onReplay(count: number): void;
}

export class OrderStateJournal {
  private chain: Promise<void> = Promise.resolve();
  /** Order-state rows the database refused during an outage, in their original order. */
  private backlog: JournalOrderEvent[] = [];

  constructor(private readonly options: OrderStateJournalOptions) {}

  /** The row that follows the order's state (filled, canceled, expired, a new fill count, …). */
  state(order: JournaledOrderState, kind: string, reason: string | null): void {
    const venueStatus = order.state === 'filled' ? 'executed' : order.state === 'canceled' || order.state === 'expired' ? 'canceled' : null;
    this.write({
      clientOrderId: order.clientOrderId,
      kind,
      atMs: this.options.clock.now(),
      state: order.state,
      fillCount: Math.max(order.filledCount, order.venueFilledCount),
      remainingCount: order.remainingCount,
      ...(order.orderId ? { venueOrderId: order.orderId } : {}),
      ...(venueStatus ? { venueStatus } : {}),
      ...(reason ? { details: { reason } } : {}),
    });
  }

  /** A resting order of an earlier run is managed again. */
  adopted(clientOrderId: string, venueOrderId: string, details: Record<string, unknown>): void {
    this.write({ clientOrderId, kind: 'adopted', atMs: this.options.clock.now(), venueOrderId, details });
  }

  /** The database is back: the rows the outage refused, in their original order. */
  replayBacklog(): void {
    const backlog = this.backlog.splice(0);
    if (backlog.length > 0) this.options.onReplay(backlog.length);
    for (const event of backlog) this.write(event);
  }

  /** Resolves once every row written so far has been stored or refused. */
  settled(): Promise<void> {
    return this.chain;
  }

  private write(event: JournalOrderEvent): void {
    this.chain = this.chain
      .then(() => recordOrderEvent(this.options.pool, event))
      .then(
        () => undefined,
        (error: unknown) => {
          this.options.onError(`could not journal order ${event.clientOrderId} (${event.state ?? event.kind}): ${String(error)}`);
          if (isDatabaseUnavailable(error)) {
            // an order canceled or filled during a database outage must not stay open in the journal
            this.backlog.push(event);
            this.options.onUnavailable(error);
          }
        },
      );
  }
}
