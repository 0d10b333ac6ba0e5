/**
 * The trader actor: turns book updates into strategy decisions, decisions into risk-checked order
 * intents, and intents into order actors (`order.machine.ts`), one per order, spawned with the
 * client_order_id as id and stopped as soon as they report ORDER_CLOSED. It keeps positions, cash,
 * P&L and fees from fill records, adopts the resting orders of its earlier runs (an order actor
 * each, spawned already accepted), takes over their unanswered creates the venue did not know at
 * start-up (an order actor each, in `unknown`: such a create may still land) and tracks venue
 * orders it does not manage as `external`; risk counts all of them, so limits hold across restarts.
 *
 *   idle ─START─► calibrating ─RECONCILED(agreed)─► ready ⇄ acting
 *                      ▲  ▲                           │  (acting = a venue request in flight)
 *                      │  └──RECONCILED(!agreed) / CALIBRATE
 *                      └──────── paused ◄─PAUSE / risk denial── ; RESUME → ready (or calibrating)
 *                                      ▲
 *                                      └── OPERATOR_PAUSE / FLATTEN (the operator's hold, reason `operator`)
 *
 * Two holds keep it paused: the system's (PAUSE … RESUME: outages, errors, shutdown) and the
 * operator's (OPERATOR_PAUSE … OPERATOR_RESUME). A system RESUME does not end the operator's hold,
 * and the operator cannot lift the system's: OPERATOR_RESUME during an outage only drops the
 * operator's hold, and the system's RESUME then resumes. A risk denial's pause is the trader's own
 * and the operator's resume ends it. FLATTEN holds the trader, cancels its orders and closes each
 * position with one marketable order through the risk checks (core/flatten.ts).
 *
 * A disagreement caused by the trader's own in-flight orders (an `unknown` left by a failed send)
 * does not wait a sync interval: those orders are queried at once (QUERY_NOW) and, when all have
 * resolved, calibrating asks for a fresh reconcile (RECONCILE_REQUESTED). RESOLVE_UNKNOWN (the
 * venue answers again after a fault) queries every `unknown` order at once.
 *
 * Decisions run only in ready/acting, at most once per `throttleMs` per market (leading edge, plus
 * one trailing run if updates arrived inside the window), timed by XState delays on the actor
 * system's clock (timestamps from the clock in the input). Books are read through `books.bookFor(ticker)` — never copied into context; a
 * market without a usable book is shown to the strategy as `book: null` (the spread-quoter then
 * pulls its quotes), and a degraded feed as a whole pauses the trader through PAUSE/RESUME from
 * the coordinator.
 * TRADER_ACTING / TRADER_IDLE go to `parentRef` (e.g. the coordinator) when the input names one, and every
 * notable thing also goes to the optional `notify` callback.
 */
import { assign, enqueueActions, fromCallback, raise, setup } from 'xstate';
import type { AnyActorRef, EventObject } from 'xstate';
import type { Micros } from '../core/money.ts';
import { CLOSED_ORDER_STATES, type OrderIntent } from '../core/order-state.ts';
import { applyFill, emptyPosition, type Position } from '../core/positions.ts';
import { holdAfterSnapshot, type FillRecord, type Finding, type LocalOrderRecord, type VenueOrderRecord } from '../core/reconcile.ts';
import { closingOrder, describeClosing } from '../core/flatten.ts';
import { checkOrder, DEFAULT_RISK_LIMITS, intentCost, type RiskContext } from '../core/risk.ts';
import type { Decision, MarketView, OwnOrder } from '../core/strategy/types.ts';
import { systemClock } from '../core/clock.ts';
import { orderMachine } from './order.machine.ts';
import { toOrderEvent, type OrderEvent } from './order.events.ts';
import type { TraderEvent } from './trader.events.ts';
import type {
  DenialRecord,
  ManagedOrder,
  MarketPacing,
  TraderContext,
  TraderInput,
  TraderNotification,
  TraderStateName,
} from './trader.types.ts';

const FILL_DEDUPE_LIMIT = 10_000;
/** Fills kept in order for re-applying on top of a snapshot that predates them (a sync takes ~ms). */
const RECENT_FILLS_LIMIT = 1_000;
const DENIAL_LIMIT = 50;

const NEW_PACING: MarketPacing = Object.freeze({
  lastDecisionAtMs: null,
  lastOrderAtMs: null,
  trailingPending: false,
  deciding: false,
});

function pacingOf(context: TraderContext, ticker: string): MarketPacing {
  return context.markets[ticker] ?? NEW_PACING;
}

function positionOf(context: TraderContext, ticker: string): Position {
  return context.positions[ticker] ?? emptyPosition(ticker);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function safeNotify(context: TraderContext, notification: TraderNotification): void {
  if (!context.config.notify) return;
  try {
    context.config.notify(notification);
  } catch {
    // an observer's failure must not break trading
  }
}

function isThenable(value: unknown): value is Promise<Decision[]> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The orders of `ticker` as the strategy sees them. */
export function ownOrdersFor(context: TraderContext, ticker: string): OwnOrder[] {
  const out: OwnOrder[] = [];
  for (const id in context.orders) {
    const o = context.orders[id];
    if (o.ticker !== ticker) continue;
    out.push({ clientOrderId: o.clientOrderId, side: o.side, price: o.price, remaining: o.remainingCount, cancelPending: o.cancelPending });
  }
  return out;
}

export function marketViewFor(context: TraderContext, ticker: string, nowMs: number): MarketView {
  return {
    ticker,
    book: context.config.books.bookFor(ticker),
    position: positionOf(context, ticker).position,
    openOrders: ownOrdersFor(context, ticker),
    nowMs,
    priceRanges: context.config.books.priceRangesFor(ticker),
  };
}

/**
 * What risk sees for an intent in `ticker`, given the orders as they stand mid-cycle (so a bid and
 * an ask placed in one cycle see each other). Cash is net of what resting orders have committed.
 * External venue orders count like managed ones: the venue holds them for this account.
 */
export function riskContextFor(
  context: TraderContext,
  orders: Record<string, ManagedOrder>,
  ticker: string,
  lastOrderAtMs: number | null,
  nowMs: number,
): RiskContext {
  let open = 0;
  let pending = 0;
  let committed: Micros = 0;
  for (const id in orders) {
    const o = orders[id];
    open++;
    if (o.ticker === ticker) pending += o.side === 'bid' ? o.remainingCount : -o.remainingCount;
    if (o.remainingCount > 0) {
      committed += intentCost({ ticker: o.ticker, side: o.side, price: o.price, count: o.remainingCount }, positionOf(context, o.ticker).position);
    }
  }
  for (const id in context.externalOrders) {
    const o = context.externalOrders[id];
    open++;
    if (o.ticker === ticker) pending += o.side === 'bid' ? o.remainingCount : -o.remainingCount;
    if (o.remainingCount > 0) {
      committed += intentCost({ ticker: o.ticker, side: o.side, price: o.price, count: o.remainingCount }, positionOf(context, o.ticker).position);
    }
  }
  return {
    position: positionOf(context, ticker).position,
    openOrders: open,
    pendingExposure: pending,
    cash: context.cash - committed,
    lastOrderAtMs,
    nowMs,
  };
}

export function clientOrderIdFor(traderId: string, runNonce: string, seq: number): string {
  return `${traderId}-${runNonce}-${seq}`;
}

interface DecisionPlan {
  orders: Record<string, ManagedOrder>;
  seq: number;
  spawns: Array<{ id: string; intent: OrderIntent }>;
  cancels: Array<{ id: string; reason: string }>;
  denials: DenialRecord[];
  notices: TraderNotification[];
  pauseReason: string | null;
}

/** Pure: what a list of decisions does to the trader — orders to spawn, cancels to send, denials. */
export function planDecisions(context: TraderContext, ticker: string, decisions: readonly Decision[], nowMs: number): DecisionPlan {
  let orders = context.orders;
  let seq = context.seq;
  const plan: DecisionPlan = { orders, seq, spawns: [], cancels: [], denials: [], notices: [], pauseReason: null };
  const lastOrderAtMs = pacingOf(context, ticker).lastOrderAtMs;
  for (const decision of decisions) {
    if (decision.kind === 'cancel') {
      const order = orders[decision.clientOrderId];
      // not ours (or already gone): external orders are never managed
      if (!order || order.cancelPending) continue;
      orders = { ...orders, [order.clientOrderId]: { ...order, cancelPending: true } };
      plan.cancels.push({ id: order.clientOrderId, reason: decision.reason });
      continue;
    }
    const intent = decision.intent;
    const verdict =
      context.config.tickers && !context.config.tickers.has(intent.ticker)
        ? ({ ok: false, rule: 'invalid', reason: `${intent.ticker} is not one of this trader's markets` } as const)
        : checkOrder(intent, riskContextFor(context, orders, intent.ticker, lastOrderAtMs, nowMs), context.config.limits);
    if (!verdict.ok) {
      plan.denials.push({ atMs: nowMs, intent, rule: verdict.rule, reason: verdict.reason });
      plan.notices.push({ type: 'ORDER_DENIED', traderId: context.config.traderId, intent, rule: verdict.rule, reason: verdict.reason });
      if (plan.pauseReason === null && context.config.pauseOnRules.has(verdict.rule)) {
        plan.pauseReason = `risk: ${verdict.rule}: ${verdict.reason}`;
      }
      continue;
    }
    const id = clientOrderIdFor(context.config.traderId, context.config.runNonce, seq++);
    orders = {
      ...orders,
      [id]: {
        clientOrderId: id,
        orderId: null,
        ticker: intent.ticker,
        side: intent.side,
        price: intent.price,
        count: intent.count,
        filledCount: 0,
        remainingCount: intent.count,
        state: 'initialized',
        inFlight: true,
        cancelPending: false,
        createdAtMs: nowMs,
      },
    };
    plan.spawns.push({ id, intent });
    plan.notices.push({ type: 'ORDER_PLACED', traderId: context.config.traderId, clientOrderId: id, intent });
  }
  plan.orders = orders;
  plan.seq = seq;
  return plan;
}

/** The trader's side of a reconciliation (fills come from the journal, which the trader does not keep). */
export function localReconcileView(context: TraderContext): { orders: LocalOrderRecord[]; positions: Position[]; positionsTracked: boolean } {
  return {
    // agreed once and not told to recalibrate since: every fill since then has been applied
    positionsTracked: context.reconciled,
    orders: Object.values(context.orders).map((o) => ({
      clientOrderId: o.clientOrderId,
      orderId: o.orderId,
      ticker: o.ticker,
      side: o.side,
      price: o.price,
      count: o.count,
      filledCount: o.filledCount,
      remainingCount: o.remainingCount,
      state: o.state,
      createdAtMs: o.createdAtMs,
    })),
    positions: Object.values(context.positions),
  };
}

/** An order its own actor is still settling: in flight, or `unknown` (it will query the venue). */
function settling(order: ManagedOrder | undefined): boolean {
  return order !== undefined && (order.inFlight || order.state === 'unknown');
}

/** The trader's own settling orders among the blocking findings of a reconciliation. */
function settlingBlockers(context: TraderContext, findings: readonly Finding[]): string[] {
  const ids = new Set<string>();
  for (const f of findings) {
    if (f.severity === 'blocking' && f.clientOrderId !== undefined && settling(context.orders[f.clientOrderId])) ids.add(f.clientOrderId);
  }
  return [...ids];
}

function hasInFlight(context: TraderContext): boolean {
  for (const id in context.orders) if (context.orders[id].inFlight) return true;
  return false;
}

/** Remembers a fill id; false if it was already there. Bounded FIFO, mutated in place. */
function rememberFill(context: TraderContext, fillId: string): boolean {
  const { ids, order } = context.fillDedupe;
  if (ids.has(fillId)) return false;
  ids.add(fillId);
  order.push(fillId);
  if (order.length > FILL_DEDUPE_LIMIT) ids.delete(order.shift()!);
  return true;
}

/** Keeps an applied fill in order (bounded), for the next snapshot that may predate it. */
function keepRecentFill(context: TraderContext, fill: FillRecord, appliedAtMs: number): void {
  const { recent } = context.fillDedupe;
  recent.push({ ...fill, appliedAtMs });
  if (recent.length > RECENT_FILLS_LIMIT) recent.splice(0, recent.length - RECENT_FILLS_LIMIT);
}

/** The managed-order record of an adopted venue order (its actor starts accepted or partially filled). */
function adoptedOrder(o: VenueOrderRecord, nowMs: number): ManagedOrder {
  return {
    clientOrderId: o.clientOrderId!,
    orderId: o.orderId,
    ticker: o.ticker,
    side: o.side,
    price: o.price,
    count: o.fillCount + o.remainingCount,
    filledCount: o.fillCount,
    remainingCount: o.remainingCount,
    state: o.fillCount > 0 ? 'partially_filled' : 'accepted',
    inFlight: false,
    cancelPending: false,
    createdAtMs: nowMs,
  };
}

function managedIdFor(context: TraderContext, clientOrderId: string | null | undefined, orderId: string | null | undefined): string | null {
  if (clientOrderId && context.orders[clientOrderId]) return clientOrderId;
  if (orderId) {
    const id = context.orderIdIndex[orderId];
    if (id && context.orders[id]) return id;
  }
  return null;
}

/** Actions of this machine that other actions of it enqueue by name. */
type NamedTraderAction =
  | { type: 'decide'; params: { ticker: string } }
  | { type: 'queryUnknownOrders'; params: { only?: readonly string[] } }
  | { type: 'cancelAll'; params: { reason: string; ticker?: string } }
  | { type: 'applyDecisions'; params: { ticker: string; decisions: readonly Decision[] } };

/**
 * Inside setup(), `enqueue` is typed before the machine's own actions exist, so it cannot name
 * them; at run time a named action is resolved against the machine's implementations as usual.
 */
function enqueueNamed(enqueue: unknown, action: NamedTraderAction): void {
  (enqueue as (action: NamedTraderAction) => void)(action);
}

function initialContext(input: TraderInput): TraderContext {
  const limits = { ...DEFAULT_RISK_LIMITS, ...input.riskLimits };
  const positions: Record<string, Position> = {};
  for (const p of input.positions ?? []) positions[p.ticker] = p;
  return {
    config: {
      traderId: input.traderId,
      runNonce: input.runNonce,
      strategy: input.strategy,
      books: input.books,
      tickers: input.tickers ? new Set(input.tickers) : null,
      limits,
      throttleMs: input.throttleMs ?? limits.throttleMs,
      orderOptions: { timings: input.order?.timings, resubmitIfAbsent: input.order?.resubmitIfAbsent ?? false },
      cancelOnPause: input.cancelOnPause ?? true,
      pauseOnRules: new Set(input.pauseOnRules ?? ['cash_reserve']),
      clock: input.clock ?? systemClock,
      parentRef: input.parentRef ?? null,
      notify: input.notify ?? null,
    },
    seq: 1,
    orders: {},
    orderIdIndex: {},
    externalOrders: {},
    positions,
    cash: input.cash ?? 0,
    markets: {},
    fillDedupe: { ids: new Set(), order: [], recent: [] },
    denials: [],
    counters: {
      decisionCycles: 0,
      ordersPlaced: 0,
      ordersDenied: 0,
      ordersClosed: 0,
      cancelsSent: 0,
      fillsApplied: 0,
      duplicateFills: 0,
      unmanagedFills: 0,
      throttledUpdates: 0,
    },
    reconciled: false,
    lastReconcile: null,
    reason: 'waiting for START',
    operatorHold: false,
    systemPause: null,
    lastError: null,
  };
}

/** An order actor that is still running (a closed one ignores events until it is released). */
function liveChild(self: AnyActorRef, id: string): boolean {
  const child = (self.getSnapshot().children as Record<string, AnyActorRef | undefined>)[id];
  return child !== undefined && child.getSnapshot().status === 'active';
}

export const traderMachine = setup({
  types: {} as {
    context: TraderContext;
    events: TraderEvent;
    input: TraderInput;
  },
  actors: {
    order: orderMachine,
    /** Waits for an async strategy's answer and reports it back as an event. */
    asyncDecision: fromCallback<EventObject, { ticker: string; pending: Promise<Decision[]> }>(({ input, sendBack }) => {
      let live = true;
      input.pending.then(
        (decisions) => {
          if (live) sendBack({ type: 'DECISIONS_READY', ticker: input.ticker, decisions });
        },
        (error: unknown) => {
          if (live) sendBack({ type: 'DECISION_FAILED', ticker: input.ticker, error: errorText(error) });
        },
      );
      return () => {
        live = false;
      };
    }),
  },
  guards: {
    agreed: ({ event }) => event.type === 'RECONCILED' && event.agreed,
    hasInFlight: ({ context }) => hasInFlight(context),
    noInFlight: ({ context }) => !hasInFlight(context),
    reconciled: ({ context }) => context.reconciled,
    operatorHold: ({ context }) => context.operatorHold,
    systemPaused: ({ context }) => context.systemPause !== null,
    /** Every settling order that blocked the last reconciliation has settled (or closed). */
    recheckDue: ({ context }) => {
      const recheck = context.lastReconcile?.recheck;
      return !!recheck && recheck.every((id) => !settling(context.orders[id]));
    },
  },
  actions: {
    announceState: enqueueActions(({ context, enqueue }, params: { state: TraderStateName; reason: string }) => {
      enqueue.assign({ reason: params.state === 'ready' ? null : params.reason });
      enqueue(() => safeNotify(context, { type: 'TRADER_STATE', traderId: context.config.traderId, state: params.state, reason: params.reason }));
    }),
    reportActing: enqueueActions(({ context, self, enqueue }, params: { acting: boolean }) => {
      const notification: TraderNotification = {
        type: params.acting ? 'TRADER_ACTING' : 'TRADER_IDLE',
        traderId: context.config.traderId,
      };
      if (context.config.parentRef) enqueue.sendTo(context.config.parentRef, notification);
      enqueue(() => safeNotify(context, notification));
    }),

    onBookUpdated: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'BOOK_UPDATED') return;
      const ticker = event.ticker;
      if (context.config.tickers && !context.config.tickers.has(ticker)) return;
      const now = context.config.clock.now();
      const pacing = pacingOf(context, ticker);
      const since = pacing.lastDecisionAtMs === null ? Infinity : now - pacing.lastDecisionAtMs;
      if (since >= context.config.throttleMs && !pacing.deciding) {
        enqueueNamed(enqueue, { type: 'decide', params: { ticker } });
        return;
      }
      // Inside the window: one trailing run at its end sees the latest book.
      const counters = { ...context.counters, throttledUpdates: context.counters.throttledUpdates + 1 };
      if (pacing.trailingPending) {
        enqueue.assign({ counters });
        return;
      }
      enqueue.assign({ counters, markets: { ...context.markets, [ticker]: { ...pacing, trailingPending: true } } });
      const wait = pacing.deciding ? context.config.throttleMs : Math.max(0, context.config.throttleMs - since);
      enqueue.raise({ type: 'THROTTLE_ELAPSED', ticker }, { delay: wait, id: `throttle:${ticker}` });
    }),

    onThrottleElapsed: enqueueActions(({ context, event, enqueue }, params: { run: boolean }) => {
      if (event.type !== 'THROTTLE_ELAPSED') return;
      const pacing = pacingOf(context, event.ticker);
      if (!pacing.trailingPending) return;
      enqueue.assign({ markets: { ...context.markets, [event.ticker]: { ...pacing, trailingPending: false } } });
      if (!params.run) return;
      if (pacing.deciding) {
        // an async decision is still out: look again one window later
        enqueue.assign({ markets: { ...context.markets, [event.ticker]: { ...pacing, trailingPending: true } } });
        enqueue.raise({ type: 'THROTTLE_ELAPSED', ticker: event.ticker }, { delay: context.config.throttleMs, id: `throttle:${event.ticker}` });
        return;
      }
      enqueueNamed(enqueue, { type: 'decide', params: { ticker: event.ticker } });
    }),

    /** Runs the strategy for one market now. */
    decide: enqueueActions(({ context, enqueue }, params: { ticker: string }) => {
      const { ticker } = params;
      const now = context.config.clock.now();
      const pacing = pacingOf(context, ticker);
      const counters = { ...context.counters, decisionCycles: context.counters.decisionCycles + 1 };
      let result: Decision[] | Promise<Decision[]>;
      try {
        result = context.config.strategy.decide(marketViewFor(context, ticker, now));
      } catch (error) {
        const message = errorText(error);
        enqueue.assign({ counters, lastError: `strategy ${context.config.strategy.name} failed on ${ticker}: ${message}`, markets: { ...context.markets, [ticker]: { ...pacing, lastDecisionAtMs: now } } });
        enqueue(() => safeNotify(context, { type: 'DECISION_FAILED', traderId: context.config.traderId, ticker, error: message }));
        return;
      }
      if (isThenable(result)) {
        enqueue.assign({ counters, markets: { ...context.markets, [ticker]: { ...pacing, lastDecisionAtMs: now, deciding: true } } });
        enqueue.spawnChild('asyncDecision', { id: `decide:${ticker}`, input: { ticker, pending: result } });
        return;
      }
      enqueue.assign({ counters, markets: { ...context.markets, [ticker]: { ...pacing, lastDecisionAtMs: now } } });
      if (result.length > 0) enqueueNamed(enqueue, { type: 'applyDecisions', params: { ticker, decisions: result } });
    }),

    applyDecisions: enqueueActions(({ context, self, enqueue }, params: { ticker: string; decisions: readonly Decision[] }) => {
      const now = context.config.clock.now();
      const plan = planDecisions(context, params.ticker, params.decisions, now);
      const pacing = pacingOf(context, params.ticker);
      const denials =
        plan.denials.length === 0
          ? context.denials
          : [...context.denials, ...plan.denials].slice(-DENIAL_LIMIT);
      enqueue.assign({
        orders: plan.orders,
        seq: plan.seq,
        denials,
        markets:
          plan.spawns.length > 0 ? { ...context.markets, [params.ticker]: { ...pacing, lastOrderAtMs: now } } : context.markets,
        counters: {
          ...context.counters,
          ordersPlaced: context.counters.ordersPlaced + plan.spawns.length,
          ordersDenied: context.counters.ordersDenied + plan.denials.length,
          cancelsSent: context.counters.cancelsSent + plan.cancels.length,
        },
      });
      for (const c of plan.cancels) {
        if (liveChild(self, c.id)) enqueue.sendTo(c.id, { type: 'CANCEL', reason: c.reason } satisfies OrderEvent);
      }
      for (const s of plan.spawns) {
        enqueue.spawnChild('order', {
          id: s.id,
          input: {
            clientOrderId: s.id,
            intent: s.intent,
            resubmitIfAbsent: context.config.orderOptions.resubmitIfAbsent,
            ...(context.config.orderOptions.timings ? { timings: context.config.orderOptions.timings } : {}),
            clock: context.config.clock,
            parentRef: self,
          },
        });
      }
      if (plan.notices.length > 0) enqueue(() => plan.notices.forEach((n) => safeNotify(context, n)));
      if (plan.pauseReason !== null) enqueue.raise({ type: 'PAUSE', reason: plan.pauseReason, source: 'risk' });
    }),

    onDecisionsReady: enqueueActions(({ context, event, enqueue }, params: { apply: boolean }) => {
      if (event.type !== 'DECISIONS_READY' && event.type !== 'DECISION_FAILED') return;
      enqueue.stopChild(`decide:${event.ticker}`);
      const pacing = pacingOf(context, event.ticker);
      enqueue.assign({ markets: { ...context.markets, [event.ticker]: { ...pacing, deciding: false } } });
      if (event.type === 'DECISION_FAILED') {
        enqueue.assign({ lastError: `strategy ${context.config.strategy.name} failed on ${event.ticker}: ${event.error}` });
        enqueue(() => safeNotify(context, { type: 'DECISION_FAILED', traderId: context.config.traderId, ticker: event.ticker, error: event.error }));
        return;
      }
      if (params.apply && event.decisions.length > 0) {
        enqueueNamed(enqueue, { type: 'applyDecisions', params: { ticker: event.ticker, decisions: event.decisions } });
      }
    }),

    cancelAll: enqueueActions(({ context, self, enqueue }, params: { reason: string; ticker?: string }) => {
      let orders = context.orders;
      let sent = 0;
      for (const id in context.orders) {
        const o = context.orders[id];
        if (o.cancelPending || !liveChild(self, id) || (params.ticker !== undefined && o.ticker !== params.ticker)) continue;
        orders = { ...orders, [id]: { ...o, cancelPending: true } };
        enqueue.sendTo(id, { type: 'CANCEL', reason: params.reason } satisfies OrderEvent);
        sent++;
      }
      if (sent > 0) enqueue.assign({ orders, counters: { ...context.counters, cancelsSent: context.counters.cancelsSent + sent } });
    }),

    /** A PAUSE: its reason shows; the system's (not a risk denial's) is a hold only its RESUME ends. */
    notePause: assign(({ context, event }) => {
      if (event.type !== 'PAUSE') return {};
      return { reason: event.reason, systemPause: event.source === 'risk' ? context.systemPause : event.reason };
    }),
    holdForOperator: assign(({ context }) => ({ operatorHold: true, reason: context.systemPause ?? 'operator' })),

    /** FLATTEN, once paused: cancel (in one market or all), then one closing order per position. */
    closePositions: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'CLOSE_POSITIONS') return;
      const only = event.ticker;
      enqueueNamed(enqueue, { type: 'cancelAll', params: { reason: 'flatten', ...(only !== null ? { ticker: only } : {}) } });
      const notices: TraderNotification[] = [];
      const notice = (ticker: string, sent: boolean, detail: string) =>
        notices.push({ type: 'POSITION_CLOSING', traderId: context.config.traderId, ticker, sent, detail });
      for (const p of Object.values(context.positions)) {
        if (p.position === 0 || (only !== null && p.ticker !== only)) continue;
        const book = context.config.books.bookFor(p.ticker);
        const best = book ? { bestYesBid: book.bestYesBid(), bestYesAsk: book.bestYesAsk() } : null;
        const closing = closingOrder(p.ticker, p.position, best, context.config.limits.maxOrderSize);
        if (!closing.ok) {
          notice(p.ticker, false, closing.reason);
          continue;
        }
        notice(p.ticker, true, describeClosing(closing));
        enqueueNamed(enqueue, { type: 'applyDecisions', params: { ticker: p.ticker, decisions: [{ kind: 'place', intent: closing.intent }] } });
      }
      if (only !== null && notices.length === 0) notice(only, false, 'no position');
      if (notices.length > 0) enqueue(() => notices.forEach((n) => safeNotify(context, n)));
    }),

    /** Money follows fill records: applied once per fill id, whether or not the order actor still exists. */
    applyFillReceived: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'FILL_RECEIVED') return;
      const fill = event.fill;
      if (!rememberFill(context, fill.fillId)) {
        enqueue.assign({ counters: { ...context.counters, duplicateFills: context.counters.duplicateFills + 1 } });
        return;
      }
      keepRecentFill(context, fill, context.config.clock.now());
      const { position, cashChange } = applyFill(positionOf(context, fill.ticker), {
        side: fill.side,
        price: fill.price,
        count: fill.count,
        fee: fill.fee,
      });
      const id = managedIdFor(context, fill.clientOrderId, fill.orderId);
      enqueue.assign({
        positions: { ...context.positions, [fill.ticker]: position },
        cash: context.cash + cashChange,
        counters: {
          ...context.counters,
          fillsApplied: context.counters.fillsApplied + 1,
          unmanagedFills: context.counters.unmanagedFills + (id === null ? 1 : 0),
        },
      });
      if (id !== null && liveChild(self, id)) enqueue.sendTo(id, toOrderEvent(fill));
      enqueue(() => safeNotify(context, { type: 'FILL_APPLIED', traderId: context.config.traderId, fill, position, managed: id !== null }));
    }),

    routeOrderStatus: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'ORDER_STATUS_RECEIVED') return;
      const id = managedIdFor(context, event.clientOrderId, event.orderId);
      if (id !== null) {
        if (liveChild(self, id)) enqueue.sendTo(id, toOrderEvent(event));
        return;
      }
      const external = context.externalOrders[event.orderId];
      if (!external) return; // new unknown orders are picked up by the next reconciliation
      const externalOrders = { ...context.externalOrders };
      if (event.status === 'resting') {
        externalOrders[event.orderId] = {
          ...external,
          fillCount: Math.max(external.fillCount, event.fillCount),
          remainingCount: event.remainingCount,
        };
      } else {
        delete externalOrders[event.orderId];
      }
      enqueue.assign({ externalOrders });
    }),

    trackOrderUpdate: assign(({ context, event }) => {
      if (event.type !== 'ORDER_UPDATED') return {};
      const summary = event.order;
      const previous = context.orders[summary.clientOrderId];
      if (!previous) return {};
      // A cancel that fell through (back to an open state after pending_cancel/unknown) may be retried.
      const cancelFellThrough =
        (previous.state === 'pending_cancel' || previous.state === 'unknown') &&
        (summary.state === 'accepted' || summary.state === 'partially_filled');
      const next: ManagedOrder = {
        ...previous,
        orderId: summary.orderId ?? previous.orderId,
        state: summary.state,
        filledCount: summary.filledCount,
        remainingCount: summary.remainingCount,
        inFlight: summary.inFlight,
        cancelPending: summary.state === 'pending_cancel' || (previous.cancelPending && !cancelFellThrough),
      };
      const orderIdIndex =
        next.orderId && !previous.orderId ? { ...context.orderIdIndex, [next.orderId]: next.clientOrderId } : context.orderIdIndex;
      return { orders: { ...context.orders, [next.clientOrderId]: next }, orderIdIndex };
    }),

    /** A closed order's actor is stopped and forgotten: nothing about it stays in context. */
    releaseOrder: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'ORDER_CLOSED') return;
      const id = event.order.clientOrderId;
      enqueue.stopChild(id);
      const record = context.orders[id];
      if (!record) return;
      const orders = { ...context.orders };
      delete orders[id];
      let orderIdIndex = context.orderIdIndex;
      const orderId = record.orderId ?? event.order.orderId;
      if (orderId && orderIdIndex[orderId]) {
        orderIdIndex = { ...orderIdIndex };
        delete orderIdIndex[orderId];
      }
      enqueue.assign({
        orders,
        orderIdIndex,
        counters: { ...context.counters, ordersClosed: context.counters.ordersClosed + 1 },
      });
      enqueue(() => safeNotify(context, { type: 'ORDER_CLOSED', traderId: context.config.traderId, order: event.order, reason: event.reason }));
    }),

    /**
     * An earlier run's creates that never got an answer and that the venue did not know when
     * looked up may still land: each is managed (an order actor in `unknown`, never resubmitted)
     * and counted by risk until a lookup after it can no longer land settles it. Taken over on
     * every reconciliation, agreeing or not, so the slot is held from the first one on.
     */
    takeOverUnansweredCreates: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'RECONCILED' || !event.unansweredCreates || event.unansweredCreates.length === 0) return;
      // one the venue already holds resting is adopted instead (adoptReconciliation)
      const adopting = new Set((event.adoptOrders ?? []).map((o) => o.clientOrderId));
      let orders = context.orders;
      const taken: Array<{ record: ManagedOrder; sentAtMs: number; intent: OrderIntent }> = [];
      for (const c of event.unansweredCreates) {
        if (orders[c.clientOrderId] || adopting.has(c.clientOrderId) || liveChild(self, c.clientOrderId)) continue;
        const record: ManagedOrder = {
          clientOrderId: c.clientOrderId,
          orderId: null,
          ticker: c.intent.ticker,
          side: c.intent.side,
          price: c.intent.price,
          count: c.intent.count,
          filledCount: 0,
          remainingCount: c.intent.count,
          state: 'unknown',
          inFlight: false,
          cancelPending: false,
          createdAtMs: c.sentAtMs,
        };
        orders = { ...orders, [record.clientOrderId]: record };
        taken.push({ record, sentAtMs: c.sentAtMs, intent: c.intent });
      }
      if (taken.length === 0) return;
      enqueue.assign({ orders });
      for (const { record, sentAtMs, intent } of taken) {
        enqueue.spawnChild('order', {
          id: record.clientOrderId,
          input: {
            clientOrderId: record.clientOrderId,
            intent,
            recovered: { sentAtMs },
            ...(context.config.orderOptions.timings ? { timings: context.config.orderOptions.timings } : {}),
            clock: context.config.clock,
            parentRef: self,
          },
        });
      }
      enqueue(() =>
        taken.forEach(({ record, sentAtMs }) =>
          safeNotify(context, { type: 'ORDER_RECOVERED', traderId: context.config.traderId, clientOrderId: record.clientOrderId, sentAtMs }),
        ),
      );
    }),

    adoptReconciliation: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'RECONCILED') return;
      const now = context.config.clock.now();
      const changes: Partial<TraderContext> = {
        reconciled: true,
        lastReconcile: { atMs: now, agreed: true, findings: [...(event.findings ?? [])], recheck: null },
      };
      // The snapshot never undoes a fill it does not account for, nor counts one twice (core rule 3).
      const accounted = new Set(event.accountedFillIds ?? []);
      if (event.positions || event.missingFills || event.cash !== undefined) {
        const held = holdAfterSnapshot(
          {
            positions: context.positions,
            cash: context.cash,
            appliedFills: context.fillDedupe.recent,
            hasApplied: (id) => context.fillDedupe.ids.has(id),
          },
          {
            // without a time, the snapshot is as of now: nothing applied so far is re-applied
            asOfMs: event.asOfMs ?? now,
            positions: event.positions ?? [],
            reportedTickers: event.reportedTickers ?? (event.positions ?? []).map((p) => p.ticker),
            accountedFillIds: accounted,
            missingFills: event.missingFills ?? [],
            ...(event.cash !== undefined ? { cash: event.cash } : {}),
          },
        );
        changes.positions = held.positions;
        changes.cash = held.cash;
        for (const f of held.newlyApplied) keepRecentFill(context, f, now);
      }
      // What the snapshot accounts for is applied: a late stream copy of it must not count again.
      for (const id of accounted) rememberFill(context, id);
      const missingFills = event.missingFills ?? [];
      for (const f of missingFills) rememberFill(context, f.fillId);

      // Adopt the resting orders of earlier runs: managed and counted before anything is quoted.
      let orders = context.orders;
      let orderIdIndex = context.orderIdIndex;
      const adopted: ManagedOrder[] = [];
      for (const o of event.adoptOrders ?? []) {
        if (!o.clientOrderId || orders[o.clientOrderId] || orderIdIndex[o.orderId] || o.remainingCount <= 0) continue;
        if (liveChild(self, o.clientOrderId)) continue;
        const record = adoptedOrder(o, now);
        orders = { ...orders, [record.clientOrderId]: record };
        orderIdIndex = { ...orderIdIndex, [record.orderId!]: record.clientOrderId };
        adopted.push(record);
      }
      const externalOrders: TraderContext['externalOrders'] = {};
      for (const o of event.externalOrders ?? Object.values(context.externalOrders)) {
        if (!orderIdIndex[o.orderId]) externalOrders[o.orderId] = o;
      }
      changes.externalOrders = externalOrders;
      // Never over the open-order limit: adopted orders beyond it are cancelled at once, the newest
      // first — resting ones before recovered creates, which may never land (a recovered one's
      // cancel waits until it is found; until then it keeps its slot).
      let over = Object.keys(orders).length + Object.keys(externalOrders).length - context.config.limits.maxOpenOrders;
      const canceling = new Set<string>();
      const recovered = (event.unansweredCreates ?? []).map((c) => orders[c.clientOrderId]).filter((o) => o?.state === 'unknown' && !o.cancelPending);
      const candidates = [...adopted.slice().reverse(), ...recovered.reverse()];
      for (let i = 0; i < candidates.length && over > 0; i++, over--) {
        canceling.add(candidates[i].clientOrderId);
        orders = { ...orders, [candidates[i].clientOrderId]: { ...candidates[i], cancelPending: true } };
      }
      if (adopted.length > 0 || canceling.size > 0) {
        changes.orders = orders;
        changes.orderIdIndex = orderIdIndex;
        changes.counters = { ...context.counters, cancelsSent: context.counters.cancelsSent + canceling.size };
      }
      enqueue.assign(changes);
      for (const { clientOrderId } of recovered) {
        if (canceling.has(clientOrderId)) enqueue.sendTo(clientOrderId, { type: 'CANCEL', reason: 'recovered over the open-order limit' } satisfies OrderEvent);
      }
      for (const record of adopted) {
        enqueue.spawnChild('order', {
          id: record.clientOrderId,
          input: {
            clientOrderId: record.clientOrderId,
            intent: { ticker: record.ticker, side: record.side, price: record.price, count: record.count, timeInForce: 'good_till_canceled' },
            adopted: { orderId: record.orderId!, fillCount: record.filledCount, remainingCount: record.remainingCount },
            ...(context.config.orderOptions.timings ? { timings: context.config.orderOptions.timings } : {}),
            clock: context.config.clock,
            parentRef: self,
          },
        });
        if (canceling.has(record.clientOrderId)) {
          enqueue.sendTo(record.clientOrderId, { type: 'CANCEL', reason: 'adopted over the open-order limit' } satisfies OrderEvent);
        }
      }
      if (adopted.length > 0) {
        enqueue(() =>
          adopted.forEach((r) =>
            safeNotify(context, {
              type: 'ORDER_ADOPTED',
              traderId: context.config.traderId,
              clientOrderId: r.clientOrderId,
              orderId: r.orderId!,
              canceling: canceling.has(r.clientOrderId),
            }),
          ),
        );
      }
      // Orders managed before this reconciliation see the fills they missed (an adopted one counts them already).
      for (const f of missingFills) {
        const id = managedIdFor(context, f.clientOrderId, f.orderId);
        if (id !== null && liveChild(self, id)) enqueue.sendTo(id, toOrderEvent(f));
      }
      for (const u of event.orderUpdates ?? []) {
        const id = managedIdFor(context, u.clientOrderId, u.orderId);
        if (id !== null && liveChild(self, id)) enqueue.sendTo(id, toOrderEvent(u));
      }
    }),

    recordDisagreement: enqueueActions(({ context, event, enqueue }, params: { keepReason: boolean }) => {
      if (event.type !== 'RECONCILED') return;
      const findings = [...(event.findings ?? [])];
      const blocking = findings.filter((f) => f.severity === 'blocking');
      const recheck = settlingBlockers(context, findings);
      enqueue.assign({
        reconciled: false,
        lastReconcile: { atMs: context.config.clock.now(), agreed: false, findings, recheck: recheck.length > 0 ? recheck : null },
        reason: params.keepReason
          ? context.reason
          : `reconciliation disagrees: ${blocking.map((f) => f.message).join('; ') || 'no agreement'}`,
      });
      // resolve them at once rather than after their query backoff
      if (recheck.length > 0) enqueueNamed(enqueue, { type: 'queryUnknownOrders', params: { only: recheck } });
    }),
    forgetReconciliation: assign((_, params: { reason: string }) => ({ reconciled: false, reason: params.reason })),
    /** An `unknown` order waits out its query backoff; these ask the venue now instead. */
    queryUnknownOrders: enqueueActions(({ context, self, enqueue }, params: { only?: readonly string[] }) => {
      for (const id of params.only ?? Object.keys(context.orders)) {
        if (context.orders[id]?.state === 'unknown' && liveChild(self, id)) enqueue.sendTo(id, { type: 'QUERY_NOW' } satisfies OrderEvent);
      }
    }),
    requestReconcile: enqueueActions(({ context, enqueue }) => {
      const last = context.lastReconcile;
      if (!last) return;
      enqueue.assign({ lastReconcile: { ...last, recheck: null } });
      const reason = `${last.recheck?.length ?? 0} blocking orders resolved`;
      enqueue(() => safeNotify(context, { type: 'RECONCILE_REQUESTED', traderId: context.config.traderId, reason }));
    }),
  },
}).createMachine({
  id: 'trader',
  context: ({ input }) => initialContext(input),
  initial: 'idle',
  on: {
    FILL_RECEIVED: { actions: 'applyFillReceived' },
    ORDER_STATUS_RECEIVED: { actions: 'routeOrderStatus' },
    ORDER_UPDATED: { actions: 'trackOrderUpdate' },
    ORDER_CLOSED: { actions: 'releaseOrder' },
    CASH_UPDATED: { actions: assign(({ event }) => ({ cash: event.cash })) },
    CANCEL_ALL: {
      actions: { type: 'cancelAll', params: ({ event }) => ({ reason: event.reason, ...(event.ticker !== undefined ? { ticker: event.ticker } : {}) }) },
    },
    RESOLVE_UNKNOWN: { actions: { type: 'queryUnknownOrders', params: {} } },
    THROTTLE_ELAPSED: { actions: { type: 'onThrottleElapsed', params: { run: false } } },
    DECISIONS_READY: { actions: { type: 'onDecisionsReady', params: { apply: false } } },
    DECISION_FAILED: { actions: { type: 'onDecisionsReady', params: { apply: false } } },
  },
  states: {
    idle: {
      on: { START: 'calibrating' },
    },

    calibrating: {
      entry: { type: 'announceState', params: { state: 'calibrating', reason: 'waiting for reconciliation to agree' } },
      always: { guard: 'recheckDue', actions: 'requestReconcile' },
      on: {
        RECONCILED: [
          {
            guard: 'agreed',
            target: 'ready',
            actions: ['takeOverUnansweredCreates', 'adoptReconciliation', { type: 'announceState', params: { state: 'ready', reason: 'reconciled' } }],
          },
          { actions: ['takeOverUnansweredCreates', { type: 'recordDisagreement', params: { keepReason: false } }] },
        ],
        PAUSE: { target: 'paused', actions: 'notePause' },
        OPERATOR_PAUSE: { target: 'paused', actions: 'holdForOperator' },
        FLATTEN: { target: 'paused', actions: ['holdForOperator', raise(({ event }) => ({ type: 'CLOSE_POSITIONS' as const, ticker: event.ticker ?? null }))] },
      },
    },

    ready: {
      always: { guard: 'hasInFlight', target: 'acting' },
      on: {
        BOOK_UPDATED: { actions: 'onBookUpdated' },
        THROTTLE_ELAPSED: { actions: { type: 'onThrottleElapsed', params: { run: true } } },
        DECISIONS_READY: { actions: { type: 'onDecisionsReady', params: { apply: true } } },
        RECONCILED: [
          { guard: 'agreed', actions: ['takeOverUnansweredCreates', 'adoptReconciliation'] },
          { target: 'calibrating', actions: ['takeOverUnansweredCreates', { type: 'recordDisagreement', params: { keepReason: false } }] },
        ],
        CALIBRATE: {
          target: 'calibrating',
          actions: { type: 'forgetReconciliation', params: ({ event }) => ({ reason: event.reason }) },
        },
        PAUSE: { target: 'paused', actions: 'notePause' },
        OPERATOR_PAUSE: { target: 'paused', actions: 'holdForOperator' },
        FLATTEN: { target: 'paused', actions: ['holdForOperator', raise(({ event }) => ({ type: 'CLOSE_POSITIONS' as const, ticker: event.ticker ?? null }))] },
      },
    },

    acting: {
      entry: { type: 'reportActing', params: { acting: true } },
      exit: { type: 'reportActing', params: { acting: false } },
      always: { guard: 'noInFlight', target: 'ready' },
      on: {
        BOOK_UPDATED: { actions: 'onBookUpdated' },
        THROTTLE_ELAPSED: { actions: { type: 'onThrottleElapsed', params: { run: true } } },
        DECISIONS_READY: { actions: { type: 'onDecisionsReady', params: { apply: true } } },
        RECONCILED: [
          { guard: 'agreed', actions: ['takeOverUnansweredCreates', 'adoptReconciliation'] },
          { target: 'calibrating', actions: ['takeOverUnansweredCreates', { type: 'recordDisagreement', params: { keepReason: false } }] },
        ],
        CALIBRATE: {
          target: 'calibrating',
          actions: { type: 'forgetReconciliation', params: ({ event }) => ({ reason: event.reason }) },
        },
        PAUSE: { target: 'paused', actions: 'notePause' },
        OPERATOR_PAUSE: { target: 'paused', actions: 'holdForOperator' },
        FLATTEN: { target: 'paused', actions: ['holdForOperator', raise(({ event }) => ({ type: 'CLOSE_POSITIONS' as const, ticker: event.ticker ?? null }))] },
      },
    },

    paused: {
      entry: [
        enqueueActions(({ context, enqueue }) => {
          const reason = context.reason ?? 'paused';
          enqueue({ type: 'announceState', params: { state: 'paused', reason } });
          if (context.config.cancelOnPause) enqueue({ type: 'cancelAll', params: { reason: `paused: ${reason}` } });
        }),
      ],
      on: {
        RESUME: [
          {
            guard: 'operatorHold',
            actions: [assign({ systemPause: null }), { type: 'announceState', params: { state: 'paused', reason: 'operator' } }],
          },
          {
            guard: 'reconciled',
            target: 'ready',
            actions: [assign({ systemPause: null }), { type: 'announceState', params: { state: 'ready', reason: 'resumed' } }],
          },
          { target: 'calibrating', actions: assign({ systemPause: null }) },
        ],
        OPERATOR_RESUME: [
          {
            guard: 'systemPaused',
            actions: [
              assign({ operatorHold: false }),
              { type: 'announceState', params: ({ context }) => ({ state: 'paused' as const, reason: context.systemPause ?? 'paused' }) },
            ],
          },
          {
            guard: 'reconciled',
            target: 'ready',
            actions: [assign({ operatorHold: false }), { type: 'announceState', params: { state: 'ready', reason: 'resumed by the operator' } }],
          },
          { target: 'calibrating', actions: assign({ operatorHold: false }) },
        ],
        OPERATOR_PAUSE: {
          actions: ['holdForOperator', { type: 'announceState', params: ({ context }) => ({ state: 'paused' as const, reason: context.reason ?? 'operator' }) }],
        },
        FLATTEN: { actions: ['holdForOperator', raise(({ event }) => ({ type: 'CLOSE_POSITIONS' as const, ticker: event.ticker ?? null }))] },
        CLOSE_POSITIONS: { actions: 'closePositions' },
        PAUSE: { actions: 'notePause' },
        CALIBRATE: { actions: assign({ reconciled: false }) },
        RECONCILED: [
          { guard: 'agreed', actions: ['takeOverUnansweredCreates', 'adoptReconciliation'] },
          { actions: ['takeOverUnansweredCreates', { type: 'recordDisagreement', params: { keepReason: true } }] },
        ],
      },
    },
  },
});

export type TraderMachine = typeof traderMachine;
