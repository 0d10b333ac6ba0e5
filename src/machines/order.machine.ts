/**
 * The order actor: one XState v5 actor per order, from intent to a closed state, modelled on
 * NautilusTrader's order state machine. It sits under the trader actor, which spawns it with the
 * client_order_id as its id (and itself as `parentRef`, its clock as `clock`), forwards the venue's fills and status reports to it, and stops it
 * when it reports ORDER_CLOSED.
 *
 *   initialized → denied (local risk said no)
 *               → accepted | partially_filled (adopted: resting at the venue from an earlier run)
 *               → unknown.awaiting_landing (recovered: an earlier run's unanswered create that the
 *                 venue did not know at start-up, and that may still land: it keeps its slot until
 *                 a lookup once it no longer can — `createLanding` after it was sent — settles it)
 *               → rejected (recovered, and it can no longer land: never placed)
 *               → submitted ──► accepted ──► partially_filled ──► filled
 *                   │  │           └──────────┴──► pending_cancel ──► canceled
 *                   │  └──► rejected (the venue said no, or not sent: the journal failed first)
 *                   │                                                expired (any open state)
 *                   └──► unknown (sent, no answer) ── query by client_order_id, with backoff
 *                         (QUERY_NOW: at once, when the venue answers again) ──►
 *                         accepted | partially_filled | filled | canceled | expired
 *                         | rejected ("never reached venue") | submitted (one resubmission, same id)
 *                         A "not found" while the create may still land (a recovered one, or this
 *                         run's that timed out or lost its connection after sending — leaving
 *                         `submitted` aborts the send, so nothing leaves after that) is not an
 *                         answer: it waits in unknown.awaiting_landing and looks again. A send the
 *                         venue refused before accepting it (429, 503, no connection) is looked up at once.
 *
 * The venue is reached only through invoked actors named in setup (`submitOrder`, `queryOrder`,
 * `cancelOrder`), which the wiring supplies with `.provide({ actors })`; the defaults reject. Every
 * wait is an XState delay, so the actor runs on whatever clock the actor system was given.
 *
 * The five closed states (denied, filled, canceled, rejected, expired) take no events and are not
 * XState `final` states on purpose: a final state would send the trader an
 * `xstate.done.actor.<client_order_id>` event, one new event type per order, and XState memoizes
 * transition candidates per event type on each of the trader's state nodes for the life of the
 * machine (the soak's main heap growth). ORDER_CLOSED is the order's one "I am done" report.
 *
 * Money rule: a fill is applied once per fill id; fill counts only move up, so a REST snapshot
 * taken before a fill cannot undo it. Order *state* follows the venue's status (executed → filled
 * even if some fill records have not arrived yet); position accounting follows fill records, which
 * the trader applies whether or not the order actor still exists.
 */
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import { systemClock } from '../core/clock.ts';
import type { Count } from '../core/money.ts';
import type { OrderClosedEvent, OrderEvent, OrderParentEvent } from './order.events.ts';
import {
  DEFAULT_ORDER_TIMINGS,
  IN_FLIGHT_ORDER_STATES,
  type CancelOrderInput,
  type CancelOrderResult,
  type OrderContext,
  type OrderInput,
  type OrderStateName,
  type OrderSummary,
  type QueryOrderInput,
  type QueryOrderResult,
  type SubmitOrderInput,
  type SubmitOrderResult,
  type VenueOrderReport,
} from './order.types.ts';

const HISTORY_LIMIT = 32;

export function summarizeOrder(context: OrderContext): OrderSummary {
  const { clientOrderId, orderId, state, filledCount, venueFilledCount, remainingCount, avgPrice, fees, closeReason } = context;
  const { ticker, side, price, count } = context.intent;
  const inFlight = IN_FLIGHT_ORDER_STATES.has(state);
  return { clientOrderId, orderId, ticker, side, price, count, state, filledCount, venueFilledCount, remainingCount, avgPrice, fees, inFlight, closeReason };
}

/** Remaining only moves down: it is the smaller of what is known locally and what the venue says. */
function remainingAfter(context: OrderContext, filled: Count, venueRemaining?: Count): Count {
  let remaining = Math.min(context.remainingCount, context.intent.count - filled);
  if (venueRemaining !== undefined) remaining = Math.min(remaining, venueRemaining);
  return Math.max(0, remaining);
}

/** Context changes for a venue report (create response, query result, user_orders update). */
function absorbVenueReport(
  context: OrderContext,
  report: { orderId?: string | null; fillCount: Count; remainingCount: Count },
): Partial<OrderContext> {
  const venueFilledCount = Math.max(context.venueFilledCount, report.fillCount, context.filledCount);
  return {
    orderId: report.orderId ?? context.orderId,
    venueFilledCount,
    remainingCount: remainingAfter(context, venueFilledCount, report.remainingCount),
    acknowledged: true,
  };
}

/** The venue shows fills for the order (its report, or what we know already). */
function showsFills(context: OrderContext, report: { fillCount: Count }): boolean {
  return Math.max(report.fillCount, context.filledCount, context.venueFilledCount) > 0;
}

function isExpiry(report: Pick<VenueOrderReport, 'status' | 'reason'>): boolean {
  return report.status === 'canceled' && report.reason !== undefined && /expir/i.test(report.reason);
}

/** The state entered, recorded in the context and its bounded history. */
function entered(context: OrderContext, state: OrderStateName, note = ''): Pick<OrderContext, 'state' | 'history'> {
  const entry = { atMs: context.config.clock.now(), state, note };
  const history = context.history.length >= HISTORY_LIMIT ? [...context.history.slice(1), entry] : [...context.history, entry];
  return { state, history };
}

/** What an accepted create or a found query says about the order; null for any other answer. */
function venueAnswer(output: SubmitOrderResult | QueryOrderResult): { orderId: string; fillCount: Count; remainingCount: Count } | null {
  if ('outcome' in output) return output.outcome === 'accepted' ? output : null;
  return output.found ? output.order : null;
}

const found = (result: QueryOrderResult): VenueOrderReport | null => (result.found ? result.order : null);
const accepted = (result: SubmitOrderResult) => (result.outcome === 'accepted' ? result : null);

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const notProvided = (name: string) => async (): Promise<never> => {
  throw new Error(`${name} not provided`);
};

// ---- transitions every open state shares --------------------------------------------------------

/** A fill applies once per fill id; the one that completes the count fills the order. */
const onFill = <const T>(otherwise: T) =>
  [{ guard: 'isDuplicateFill' }, { guard: 'fillCompletes', target: 'filled', actions: 'applyFill' }, otherwise] as const;

/** A venue report that closes the order: executed, expired, canceled. */
const venueCloses = [
  { guard: 'venueExecuted', target: 'filled', actions: 'absorbVenueUpdate' },
  { guard: 'venueExpired', target: 'expired', actions: ['absorbVenueUpdate', 'closeReasonFromVenue'] },
  { guard: 'venueCanceled', target: 'canceled', actions: ['absorbVenueUpdate', 'closeReasonFromVenue'] },
] as const;
const venueShowsFills = { guard: 'venueShowsFills', target: 'partially_filled', actions: 'absorbVenueUpdate' } as const;
const absorbOnly = { actions: 'absorbVenueUpdate' } as const;

/** submitted and unknown: not yet acknowledged, so any news from the venue tells where the order is. */
const awaitingVenue = {
  FILL: onFill({ target: 'partially_filled', actions: 'applyFill' }),
  VENUE_UPDATE: [...venueCloses, venueShowsFills, { target: 'accepted', actions: 'absorbVenueUpdate' }],
  CANCEL: { actions: 'requestCancelLater' },
  EXPIRE: { target: 'expired' },
} as const;

const cancelWhenAcknowledged = [{ guard: 'canCancelNow', target: 'pending_cancel' }, { actions: 'requestCancelLater' }] as const;

/** A closed state (not XState `final`, see above): nothing remains at the venue; the parent hears ORDER_CLOSED. */
const closedState = (state: 'filled' | 'canceled' | 'rejected' | 'expired') =>
  ({ entry: [{ type: 'close', params: { state } }, 'reportClosed'] }) as const;

export const orderMachine = setup({
  types: {} as {
    context: OrderContext;
    events: OrderEvent;
    input: OrderInput;
  },
  actors: {
    submitOrder: fromPromise<SubmitOrderResult, SubmitOrderInput>(notProvided('submitOrder')),
    queryOrder: fromPromise<QueryOrderResult, QueryOrderInput>(notProvided('queryOrder')),
    cancelOrder: fromPromise<CancelOrderResult, CancelOrderInput>(notProvided('cancelOrder')),
  },
  delays: {
    submitTimeout: ({ context }) => context.config.timings.submitTimeoutMs,
    queryBackoff: ({ context }) =>
      Math.min(context.config.timings.queryBackoffMaxMs, context.config.timings.queryBackoffMs * 2 ** context.attempts.query),
    cancelTimeout: ({ context }) => context.config.timings.cancelTimeoutMs,
    cancelRetry: ({ context }) => context.config.timings.queryBackoffMs,
    /** Until an unanswered create (recovered, or this run's) can no longer land at the venue. */
    createLanding: ({ context }) =>
      Math.max(0, (context.landingFromMs ?? 0) + context.config.timings.createLandingMs - context.config.clock.now()),
  },
  guards: {
    isDenied: ({ context }) => context.config.denial !== null,
    isAdopted: ({ context }) => context.config.adopted,
    isRecovered: ({ context }) => context.config.recoveredSentAtMs !== null,
    /** An unanswered create may still land: "not found" does not mean never placed yet. */
    createMayStillLand: ({ context }) =>
      context.landingFromMs !== null && context.config.clock.now() < context.landingFromMs + context.config.timings.createLandingMs,
    adoptedWithFills: ({ context }) => context.config.adopted && context.filledCount > 0,
    isDuplicateFill: ({ context, event }) => event.type === 'FILL' && context.fillIds.has(event.fillId),
    fillCompletes: ({ context, event }) =>
      event.type === 'FILL' && context.filledCount + event.count >= context.intent.count,
    venueExecuted: ({ event }) => event.type === 'VENUE_UPDATE' && event.status === 'executed',
    venueExpired: ({ event }) => event.type === 'VENUE_UPDATE' && isExpiry(event),
    venueCanceled: ({ event }) => event.type === 'VENUE_UPDATE' && event.status === 'canceled',
    venueShowsFills: ({ context, event }) => event.type === 'VENUE_UPDATE' && showsFills(context, event),
    cancelWaiting: ({ context }) => context.cancelRequested && context.orderId !== null,
    canCancelNow: ({ context }) => context.orderId !== null,
    cancelAttemptsLeft: ({ context }) => context.attempts.cancel < context.config.timings.cancelAttempts,
    mayResubmit: ({ context }) => !context.acknowledged && context.config.resubmitIfAbsent && context.attempts.submit < 2,
    neverAcknowledged: ({ context }) => !context.acknowledged,
  },
  actions: {
    enter: assign(({ context }, params: { state: OrderStateName }) => entered(context, params.state)),
    close: assign(({ context }, params: { state: OrderStateName }) => ({
      remainingCount: 0,
      closeReason: context.closeReason ?? params.state,
      ...entered(context, params.state),
    })),
    reportUpdated: enqueueActions(({ context, enqueue }, params: { note: string }) => {
      const parent = context.config.parentRef;
      if (!parent) return;
      const event: OrderParentEvent = { type: 'ORDER_UPDATED', order: summarizeOrder(context), note: params.note };
      enqueue.sendTo(parent, event);
    }),
    reportClosed: enqueueActions(({ context, enqueue }) => {
      const parent = context.config.parentRef;
      if (!parent) return;
      const event: OrderClosedEvent = {
        type: 'ORDER_CLOSED',
        order: summarizeOrder(context),
        state: context.state as OrderClosedEvent['state'],
        reason: context.closeReason ?? context.state,
      };
      enqueue.sendTo(parent, event);
    }),
    applyFill: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'FILL') return;
      const filledCount = context.filledCount + event.count;
      const filledNotional = context.filledNotional + event.price * event.count;
      const fillIds = new Set(context.fillIds);
      fillIds.add(event.fillId);
      enqueue.assign({
        fillIds,
        filledCount,
        filledNotional,
        avgPrice: Math.round(filledNotional / filledCount),
        fees: context.fees + event.fee,
        venueFilledCount: Math.max(context.venueFilledCount, filledCount),
        remainingCount: remainingAfter(context, Math.max(filledCount, context.venueFilledCount)),
        orderId: event.orderId ?? context.orderId,
        acknowledged: true,
        lastError: filledCount > context.intent.count ? `overfill: ${filledCount} > ${context.intent.count}` : context.lastError,
      });
    }),
    absorbVenueUpdate: assign(({ context, event }) => (event.type === 'VENUE_UPDATE' ? absorbVenueReport(context, event) : {})),
    /** The answer of an invoked submit (accepted) or query (found). */
    absorbAnswer: assign(({ context, event }) => {
      const report = venueAnswer((event as unknown as { output: SubmitOrderResult | QueryOrderResult }).output);
      return report ? absorbVenueReport(context, report) : {};
    }),
    countAttempt: assign(({ context }, params: { kind: keyof OrderContext['attempts'] }) => ({
      attempts: { ...context.attempts, [params.kind]: context.attempts[params.kind] + 1 },
    })),
    noteFailure: assign(({ event }, params: { what: string }) => ({
      lastError: `${params.what} failed: ${errorText((event as unknown as { error: unknown }).error)}`,
    })),
    requestCancelLater: assign({ cancelRequested: true }),
    /** This run's create went unanswered and may have been accepted; nothing is sent after now. */
    mayLandFromNow: assign(({ context }) => ({ landingFromMs: context.config.clock.now() })),
    setCloseReason: assign((_, params: { reason: string }) => ({ closeReason: params.reason })),
    closeReasonFromVenue: assign(({ event }) => {
      if (event.type !== 'VENUE_UPDATE') return {};
      return { closeReason: event.reason ? `venue: ${event.reason}` : `venue status ${event.status}` };
    }),
  },
}).createMachine({
  id: 'order',
  context: ({ input }) => ({
    state: 'initialized',
    clientOrderId: input.clientOrderId,
    intent: input.intent,
    config: {
      denial: input.denial ?? null,
      adopted: input.adopted !== undefined,
      recoveredSentAtMs: input.recovered?.sentAtMs ?? null,
      resubmitIfAbsent: input.resubmitIfAbsent ?? false,
      timings: { ...DEFAULT_ORDER_TIMINGS, ...input.timings },
      clock: input.clock ?? systemClock,
      parentRef: input.parentRef ?? null,
    },
    // an adopted order's earlier fills are already counted (their records are not replayed to it)
    orderId: input.adopted?.orderId ?? null,
    filledCount: input.adopted?.fillCount ?? 0,
    venueFilledCount: input.adopted?.fillCount ?? 0,
    remainingCount: input.adopted ? Math.min(input.adopted.remainingCount, input.intent.count - input.adopted.fillCount) : input.intent.count,
    filledNotional: input.adopted ? input.adopted.fillCount * input.intent.price : 0,
    avgPrice: input.adopted && input.adopted.fillCount > 0 ? input.intent.price : 0,
    fees: 0,
    fillIds: new Set<string>(),
    // adopted and recovered orders were sent by an earlier run: never sent again
    attempts: { submit: input.adopted || input.recovered ? 1 : 0, query: 0, cancel: 0 },
    cancelRequested: false,
    acknowledged: input.adopted !== undefined,
    landingFromMs: input.recovered?.sentAtMs ?? null,
    closeReason: null,
    lastError: null,
    history: [],
  }),
  initial: 'initialized',
  states: {
    initialized: {
      entry: { type: 'enter', params: { state: 'initialized' } },
      always: [
        { guard: 'isDenied', target: 'denied' },
        { guard: 'adoptedWithFills', target: 'partially_filled' },
        { guard: 'isAdopted', target: 'accepted' },
        { guard: 'createMayStillLand', target: 'unknown.awaiting_landing' },
        {
          // the start-up lookup did not find it, and it can no longer land
          guard: 'isRecovered',
          target: 'rejected',
          actions: { type: 'setCloseReason', params: { reason: 'never reached venue' } },
        },
        { target: 'submitted' },
      ],
    },

    denied: {
      entry: [
        assign(({ context }) => ({ closeReason: `risk: ${context.config.denial?.rule}: ${context.config.denial?.reason}` })),
        { type: 'enter', params: { state: 'denied' } },
        'reportClosed',
      ],
    },

    submitted: {
      entry: [
        { type: 'countAttempt', params: { kind: 'submit' } },
        { type: 'enter', params: { state: 'submitted' } },
        { type: 'reportUpdated', params: { note: 'submitted' } },
      ],
      invoke: {
        id: 'submitOrder',
        src: 'submitOrder',
        input: ({ context }) => ({ clientOrderId: context.clientOrderId, intent: context.intent, attempt: context.attempts.submit }),
        onDone: [
          {
            // a definite "no" from the venue, or not sent at all (journal first): nothing to look up
            guard: ({ event }) => event.output.outcome === 'rejected' || event.output.outcome === 'not_sent',
            target: 'rejected',
            actions: assign(({ event }) => ({
              closeReason:
                event.output.outcome === 'rejected' ? `venue rejected: ${event.output.reason}` : `not sent: ${'reason' in event.output ? event.output.reason : ''}`,
            })),
          },
          {
            guard: ({ event }) => event.output.outcome === 'unknown' && event.output.mayHaveLanded === true,
            target: 'unknown',
            actions: [assign(({ event }) => ({ lastError: 'reason' in event.output ? event.output.reason : null })), 'mayLandFromNow'],
          },
          {
            // every send was refused before it was accepted (429, 503, no connection): look at once, no landing wait
            guard: ({ event }) => event.output.outcome === 'unknown',
            target: 'unknown',
            actions: assign(({ event }) => ({ lastError: 'reason' in event.output ? event.output.reason : null })),
          },
          // The create response counts; fill *records* follow on the fill channel.
          { guard: ({ context, event }) => (accepted(event.output)?.fillCount ?? -1) >= context.intent.count, target: 'filled', actions: 'absorbAnswer' },
          {
            // IOC/FOK remainder canceled by the venue at once.
            guard: ({ event }) => accepted(event.output)?.remainingCount === 0,
            target: 'canceled',
            actions: ['absorbAnswer', { type: 'setCloseReason', params: { reason: 'unfilled remainder canceled by the venue' } }],
          },
          { guard: ({ event }) => (accepted(event.output)?.fillCount ?? 0) > 0, target: 'partially_filled', actions: 'absorbAnswer' },
          { target: 'accepted', actions: 'absorbAnswer' },
        ],
        onError: { target: 'unknown', actions: [{ type: 'noteFailure', params: { what: 'submit' } }, 'mayLandFromNow'] },
      },
      // leaving stops the send (its abort signal): whatever was sent left before now
      after: { submitTimeout: { target: 'unknown', actions: [assign({ lastError: 'submit timed out' }), 'mayLandFromNow'] } },
      on: awaitingVenue,
    },

    accepted: {
      entry: [{ type: 'enter', params: { state: 'accepted' } }, { type: 'reportUpdated', params: { note: 'accepted' } }],
      always: { guard: 'cancelWaiting', target: 'pending_cancel' },
      on: {
        FILL: onFill({ target: 'partially_filled', actions: 'applyFill' }),
        VENUE_UPDATE: [...venueCloses, venueShowsFills, absorbOnly],
        CANCEL: cancelWhenAcknowledged,
        EXPIRE: { target: 'expired' },
      },
    },

    partially_filled: {
      entry: [
        { type: 'enter', params: { state: 'partially_filled' } },
        { type: 'reportUpdated', params: { note: 'partially filled' } },
      ],
      always: { guard: 'cancelWaiting', target: 'pending_cancel' },
      on: {
        FILL: onFill({ actions: ['applyFill', { type: 'reportUpdated', params: { note: 'fill' } }] }),
        VENUE_UPDATE: [...venueCloses, absorbOnly],
        CANCEL: cancelWhenAcknowledged,
        EXPIRE: { target: 'expired' },
      },
    },

    pending_cancel: {
      entry: [
        assign({ cancelRequested: false }),
        { type: 'enter', params: { state: 'pending_cancel' } },
        { type: 'reportUpdated', params: { note: 'cancel requested' } },
      ],
      initial: 'requesting',
      states: {
        requesting: {
          entry: { type: 'countAttempt', params: { kind: 'cancel' } },
          invoke: {
            id: 'cancelOrder',
            src: 'cancelOrder',
            // orderId: guarded by canCancelNow / cancelWaiting on the way in
            input: ({ context }) => ({ clientOrderId: context.clientOrderId, orderId: context.orderId ?? '', ticker: context.intent.ticker }),
            onDone: [
              {
                guard: ({ event }) => event.output.outcome === 'canceled',
                target: '#order.canceled',
                actions: assign(({ context, event }) => {
                  const reducedBy = event.output.outcome === 'canceled' ? event.output.reducedBy : 0;
                  // what the venue had filled = everything it did not cancel
                  const venueFilledCount = Math.max(context.venueFilledCount, context.intent.count - reducedBy);
                  return { venueFilledCount, remainingCount: 0, closeReason: 'canceled' };
                }),
              },
              // not resting any more: filled or canceled meanwhile — ask the venue which
              { target: '#order.unknown', actions: assign({ lastError: 'cancel: order not found at venue' }) },
            ],
            onError: [
              { guard: 'cancelAttemptsLeft', target: 'retrying', actions: { type: 'noteFailure', params: { what: 'cancel' } } },
              { target: '#order.unknown', actions: { type: 'noteFailure', params: { what: 'cancel' } } },
            ],
          },
          after: {
            cancelTimeout: [
              { guard: 'cancelAttemptsLeft', target: 'retrying', actions: assign({ lastError: 'cancel timed out' }) },
              { target: '#order.unknown', actions: assign({ lastError: 'cancel timed out' }) },
            ],
          },
        },
        retrying: { after: { cancelRetry: 'requesting' } },
      },
      on: {
        FILL: onFill({ actions: ['applyFill', { type: 'reportUpdated', params: { note: 'fill while canceling' } }] }),
        VENUE_UPDATE: [...venueCloses, absorbOnly],
        EXPIRE: { target: 'expired' },
      },
    },

    unknown: {
      entry: [
        { type: 'enter', params: { state: 'unknown' } },
        { type: 'reportUpdated', params: { note: 'no answer from the venue; querying' } },
      ],
      initial: 'waiting',
      states: {
        waiting: { after: { queryBackoff: 'querying' }, on: { QUERY_NOW: 'querying' } },
        /** An unanswered create the venue does not know yet: it keeps its slot until it can no longer land. */
        awaiting_landing: { after: { createLanding: 'querying' }, on: { QUERY_NOW: 'querying' } },
        querying: {
          entry: { type: 'countAttempt', params: { kind: 'query' } },
          invoke: {
            id: 'queryOrder',
            src: 'queryOrder',
            input: ({ context }) => ({ clientOrderId: context.clientOrderId, ticker: context.intent.ticker, orderId: context.orderId }),
            onDone: [
              { guard: ({ event }) => found(event.output)?.status === 'executed', target: '#order.filled', actions: 'absorbAnswer' },
              {
                guard: ({ event }) => isExpiry(found(event.output) ?? { status: 'resting' }),
                target: '#order.expired',
                actions: ['absorbAnswer', { type: 'setCloseReason', params: { reason: 'expired at venue' } }],
              },
              {
                guard: ({ event }) => found(event.output)?.status === 'canceled',
                target: '#order.canceled',
                actions: ['absorbAnswer', { type: 'setCloseReason', params: { reason: 'canceled at venue' } }],
              },
              {
                guard: ({ context, event }) => showsFills(context, found(event.output) ?? { fillCount: 0 }) && event.output.found,
                target: '#order.partially_filled',
                actions: 'absorbAnswer',
              },
              { guard: ({ event }) => event.output.found, target: '#order.accepted', actions: 'absorbAnswer' },
              // not found, but the create may still land: look again once it no longer can
              { guard: 'createMayStillLand', target: 'awaiting_landing' },
              { guard: 'mayResubmit', target: '#order.submitted' },
              { guard: 'neverAcknowledged', target: '#order.rejected', actions: { type: 'setCloseReason', params: { reason: 'never reached venue' } } },
              // It was there once and is gone without a trace: treat as canceled externally.
              { target: '#order.canceled', actions: { type: 'setCloseReason', params: { reason: 'absent at venue' } } },
            ],
            onError: { target: 'waiting', actions: { type: 'noteFailure', params: { what: 'query' } } },
          },
        },
      },
      on: awaitingVenue,
    },

    filled: closedState('filled'),
    canceled: closedState('canceled'),
    rejected: closedState('rejected'),
    expired: closedState('expired'),
  },
});

export type OrderMachine = typeof orderMachine;
