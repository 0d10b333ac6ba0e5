/**
 * The order journal: the one writer of an order's ledger. The venue actors (venue.ts) journal the
 * intent and its send before the request leaves, then the venue's answer, a query's miss and a
 * cancel; the trading system journals fills (once per fill, before they move money), its
 * decisions, and the state rows that follow the order to its end (adopted, each fill's new count,
 * closed). A row refused because the database is unreachable is held and written, in its original
 * order, once the database is back (a restart must not find a long-gone order still open).
 *
 * Every write goes through the pool's group-commit writer (store/journal-writer.ts), in the order
 * it is made: what must be durable before something else happens is awaited — the intent and its
 * send (one batch, so one round trip on an order's hot path), a fill — and the rest (answers,
 * notes, state rows, decisions) is queued without waiting, durable in queue order: before the
 * next awaited write, so before any later fill of the same order moves money.
 *
 * Actors layer: writes through the store's journal adapter.
 */
import type { Pool } from 'pg';
import type { Clock } from '../core/clock.ts';
import type { FillRecord } from '../core/reconcile.ts';
import { isDatabaseUnavailable } from '../adapters/store/database.ts';
import { answerOp, checked, DuplicateOrderError, idOf, intentOp, isNewFill } from '../adapters/store/journal.ts';
import type { OrderEvent as JournalOrderEvent, TraderDecision, VenueAnswer } from '../adapters/store/journal.ts';
import { journalWriter } from '../adapters/store/journal-writer.ts';
import type { StoreEnvironment } from '../adapters/store/statuses.ts';
import type { OrderSummary, SubmitOrderInput } from '../machines/order.types.ts';

export interface OrderJournalContext {
  pool: Pool;
  env: StoreEnvironment;
  clock: Clock;
  traderId: string;
  /** Told when a queued write (an answer, a note) was refused because the database is unreachable. */
  onJournalFailure?: (error: unknown) => void;
}

/**
 * Journal first: the intent (on the first attempt) and its send are durable before the request
 * leaves — both in one batch, one round trip. Throws when they are not (the request must then
 * not be sent).
 */
export async function journalSubmit(ctx: OrderJournalContext, input: Pick<SubmitOrderInput, 'clientOrderId' | 'intent' | 'attempt'>): Promise<void> {
  const { clientOrderId, intent } = input;
  const writer = journalWriter(ctx.pool);
  const now = ctx.clock.now();
  const intentWritten =
    input.attempt === 1
      ? writer.write(
          intentOp({
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
            createdMs: now,
          }),
        )
      : null;
  const sent = writer.write({ op: 'sent', clientOrderId, sentMs: now });
  if (intentWritten) {
    try {
      checked(await intentWritten, clientOrderId);
    } catch (error) {
      // Already journaled by an earlier attempt of this very order: sending again is safe,
      // the client resolves duplicates through client_order_id.
      if (!(error instanceof DuplicateOrderError)) {
        sent.catch(() => undefined);
        throw error;
      }
    }
  }
  checked(await sent, clientOrderId);
}

/** A resend of the create, durable before it leaves: the journal's send time is then the last send's. */
export async function journalResend(ctx: OrderJournalContext, clientOrderId: string): Promise<void> {
  checked(await journalWriter(ctx.pool).write({ op: 'sent', clientOrderId, sentMs: ctx.clock.now() }), clientOrderId);
}

/** Queues a write whose caller does not wait; an unreachable database is reported, not thrown. */
function queued(ctx: OrderJournalContext, written: Promise<unknown>): Promise<void> {
  return written.then(
    () => undefined,
    (error: unknown) => {
      if (isDatabaseUnavailable(error)) ctx.onJournalFailure?.(error);
    },
  );
}

/**
 * What the venue answered to a create or a query (stamped now). Queued, not awaited: durable
 * before the order's next awaited write (its fills). Never rejects.
 */
export function journalVenueAnswer(ctx: OrderJournalContext, clientOrderId: string, answer: Omit<VenueAnswer, 'answeredMs'>): Promise<void> {
  void queued(ctx, journalWriter(ctx.pool).write(answerOp(clientOrderId, { answeredMs: ctx.clock.now(), ...answer })));
  return Promise.resolve();
}

/** A venue interaction that changes no state (a query that found nothing, a cancel's result). Queued; never rejects. */
export function journalOrderNote(ctx: OrderJournalContext, clientOrderId: string, kind: 'query' | 'cancel', details: Record<string, unknown>): Promise<void> {
  void queued(ctx, journalWriter(ctx.pool).write({ op: 'event', clientOrderId, atMs: ctx.clock.now(), kind, details }));
  return Promise.resolve();
}

/** Stores a fill in the journal once; true when it was new. Resolves once it is durable. */
export async function journalFill(
  ctx: { pool: Pool; env: StoreEnvironment; clock: Clock },
  fill: FillRecord,
  source: 'ws' | 'rest',
): Promise<boolean> {
  const result = await journalWriter(ctx.pool).write({
    op: 'fill',
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
  return isNewFill(result);
}

/** A trader decision (placed or denied by risk); queued. Resolves with its id once durable. */
export async function journalDecision(ctx: { pool: Pool }, decision: TraderDecision): Promise<number> {
  return idOf(await journalWriter(ctx.pool).write({ op: 'decision', ...decision }), null);
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
  /** Order-state rows the database refused during an outage, in their original order. */
  private backlog: JournalOrderEvent[] = [];
  /** Rows written and not yet stored or refused. */
  private readonly inFlight = new Set<Promise<void>>();

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

  /**
   * Resolves once every row written so far has been stored or refused (and a refusal handled),
   * and with them every other write queued on the pool's journal (answers, notes, decisions).
   */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    await journalWriter(this.options.pool).settled();
  }

  private write(event: JournalOrderEvent): void {
    // queue order is write order: rows of one order are stored in the order they happened
    const written = journalWriter(this.options.pool)
      .write({ op: 'event', ...event })
      .then((result) => {
        checked(result, event.clientOrderId); // an order the journal does not know: reported below
      })
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
    this.inFlight.add(written);
    void written.finally(() => this.inFlight.delete(written));
  }
}
