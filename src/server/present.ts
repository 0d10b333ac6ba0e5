/**
 * JSON shapes of the operator surfaces: turns the integer money of `SystemView` (Price 1/10,000 $,
 * Count 1/100 contract, Micros 1e-6 $) into dollar / contract strings via src/core/money.ts, with
 * the raw integers kept beside them under `raw` for programs that want exact arithmetic. Used by
 * /v3/status and by the /v3/ws feed, so both speak the same vocabulary. Part of src/server.
 */
import { formatCount, formatDollars, formatPrice } from '../core/money.ts';
import { formatStatusLine } from '../machines/status-history.ts';
import { redactSecrets, redactText } from './redact.ts';
import type {
  ComponentHealth,
  ControlResult,
  FillView,
  MarketStatus,
  OrderStatusView,
  PositionStatus,
  Severity,
  StatusReport,
  TradingState,
  TransitionRecord,
} from '../actors/system-view.ts';

/** What the `raw` integers mean; served with the status so a reader needs no docs. */
export const UNITS = {
  price: '1/10000 USD',
  count: '1/100 contract',
  micros: '1/1000000 USD',
} as const;

const price = (p: number | null): string | null => (p === null ? null : formatPrice(p));

/** "14:03:22" (UTC), the console's time format. */
export function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

export function presentMarket(m: MarketStatus) {
  return {
    ticker: m.ticker,
    subscription: m.subscription,
    bestYesBid: price(m.bestYesBid),
    bestYesAsk: price(m.bestYesAsk),
    spread: price(m.spread),
    yesDepth: formatCount(m.yesDepth),
    noDepth: formatCount(m.noDepth),
    lastUpdateMs: m.lastUpdateMs,
    deltas: m.deltas,
    raw: { bestYesBid: m.bestYesBid, bestYesAsk: m.bestYesAsk, spread: m.spread, yesDepth: m.yesDepth, noDepth: m.noDepth },
  };
}

export function presentPosition(p: PositionStatus) {
  return {
    ticker: p.ticker,
    position: formatCount(p.position),
    costBasis: formatDollars(p.costBasis),
    realizedPnl: formatDollars(p.realizedPnl),
    unrealizedPnl: formatDollars(p.unrealizedPnl),
    feesPaid: formatDollars(p.feesPaid),
    /** Valued at the last prices a book showed (no usable book now): `markAtMs` says how old. */
    markStale: p.markStale,
    markAtMs: p.markAtMs,
    raw: { position: p.position, costBasis: p.costBasis, realizedPnl: p.realizedPnl, unrealizedPnl: p.unrealizedPnl, feesPaid: p.feesPaid },
  };
}

export function presentOrder(o: OrderStatusView) {
  return {
    clientOrderId: o.clientOrderId,
    orderId: o.orderId,
    ticker: o.ticker,
    side: o.side,
    price: formatPrice(o.price),
    count: formatCount(o.count),
    filled: formatCount(o.filled),
    state: o.state,
    external: o.external,
    updatedMs: o.updatedMs,
    raw: { price: o.price, count: o.count, filled: o.filled },
  };
}

export function presentFill(f: FillView) {
  return {
    fillId: f.fillId,
    clientOrderId: f.clientOrderId,
    ticker: f.ticker,
    side: f.side,
    price: formatPrice(f.price),
    count: formatCount(f.count),
    fee: formatDollars(f.fee),
    isTaker: f.isTaker,
    tsMs: f.tsMs,
    raw: { price: f.price, count: f.count, fee: f.fee },
  };
}

export function presentTradingState(t: TradingState) {
  return {
    version: t.version,
    balance: formatDollars(t.balance),
    portfolioValue: formatDollars(t.portfolioValue),
    realizedPnl: formatDollars(t.realizedPnl),
    unrealizedPnl: formatDollars(t.unrealizedPnl),
    totalPnl: formatDollars(t.realizedPnl + t.unrealizedPnl),
    feesPaid: formatDollars(t.feesPaid),
    positions: t.positions.map(presentPosition),
    openOrders: t.openOrders.map(presentOrder),
    lastSyncMs: t.lastSyncMs,
    staleMarks: t.staleMarks,
    oldestStaleMarkMs: t.oldestStaleMarkMs,
    raw: {
      balance: t.balance,
      portfolioValue: t.portfolioValue,
      realizedPnl: t.realizedPnl,
      unrealizedPnl: t.unrealizedPnl,
      feesPaid: t.feesPaid,
    },
  };
}

export function presentComponent(c: ComponentHealth) {
  return { name: c.name, healthy: c.healthy, detail: redactText(c.detail), lastActivityMs: c.lastActivityMs };
}

export function presentTransition(t: TransitionRecord) {
  return {
    atMs: t.atMs,
    time: clockTime(t.atMs),
    from: t.from,
    to: t.to,
    reason: redactText(t.reason),
    durationMs: t.durationMs,
    metadata: redactSecrets(t.metadata ?? {}),
    line: redactText(formatStatusLine({ ...t, metadata: t.metadata ?? {} })),
  };
}

/** `/v3/status`: the report with money formatted and every free-form field scrubbed. */
export function presentStatus(s: StatusReport, extra: Record<string, unknown> = {}) {
  return {
    state: s.state,
    degraded: s.degraded,
    degradedComponents: s.degradedComponents,
    environment: s.environment,
    strategy: s.strategy,
    startedAtMs: s.startedAtMs,
    uptime: s.uptime,
    timeInStateMs: Math.round(s.stateHistory[0] ? Math.max(0, s.startedAtMs + s.uptime * 1000 - s.stateHistory[0].atMs) : s.uptime * 1000),
    stateHistory: s.stateHistory.map(presentTransition),
    statusLog: redactText(s.statusLog),
    components: s.components.map(presentComponent),
    problems: s.problems.map((p) => ({
      component: p.component,
      message: redactText(p.message),
      sinceMs: p.sinceMs,
      since: p.sinceMs === null ? null : clockTime(p.sinceMs),
    })),
    markets: s.markets.map(presentMarket),
    trading: presentTradingState(s.trading),
    recentFills: s.recentFills.map(presentFill),
    sync: { lastSyncMs: s.sync.lastSyncMs, syncCount: s.sync.syncCount, lastSummary: redactSecrets(s.sync.lastSummary ?? null) },
    errors: s.errors.map((e) => ({ atMs: e.atMs, time: clockTime(e.atMs), message: redactText(e.message) })),
    trader: { ...s.trader, reason: s.trader.reason === null ? null : redactText(s.trader.reason) },
    counters: s.counters,
    units: UNITS,
    ...extra,
  };
}

/** A control's answer: what it did, prices and counts formatted (raw integers beside them). */
export function presentControlResult(r: ControlResult) {
  return {
    applied: r.applied,
    action: r.action,
    ticker: r.ticker,
    message: redactText(r.message),
    trader: { state: r.trader.state, reason: r.trader.reason === null ? null : redactText(r.trader.reason) },
    cancelsSent: r.cancelsSent,
    ordersPlaced: r.ordersPlaced.map((o) => ({ ...o, price: formatPrice(o.price), count: formatCount(o.count), raw: { price: o.price, count: o.count } })),
    ordersDenied: r.ordersDenied.map((d) => ({ ...d, reason: redactText(d.reason) })),
    positions: r.positions,
    journaled: r.journaled,
  };
}

/** One point of the P&L chart (the feed keeps a bounded series). */
export interface PnlPoint {
  atMs: number;
  realized: string;
  unrealized: string;
  total: string;
  raw: { realized: number; unrealized: number; total: number };
}

export interface ActivityData {
  timestamp: string;
  atMs: number;
  activity_type: string;
  message: string;
  severity: Severity;
  metadata: Record<string, unknown>;
  state: string;
  from_state?: string;
  to_state?: string;
  /** The copy-paste log line for this console message. */
  line: string;
}

/** How the console colours a transition; labels may carry a qualifier ("ready (degraded)"). */
export function transitionSeverity(to: string): Severity {
  if (to.startsWith('error')) return 'error';
  if (to.includes('degraded')) return 'warning';
  if (to.startsWith('ready') || to.startsWith('acting')) return 'success';
  return 'info';
}

/** A state transition as console activity (the history_replay items and live transitions). */
export function transitionActivity(t: TransitionRecord): ActivityData {
  const reason = redactText(t.reason);
  return {
    timestamp: clockTime(t.atMs),
    atMs: t.atMs,
    activity_type: 'state_transition',
    message: `${t.from} → ${t.to}: ${reason}`,
    severity: transitionSeverity(t.to),
    metadata: { ...(redactSecrets(t.metadata ?? {}) as Record<string, unknown>), from_state: t.from, to_state: t.to, durationMs: t.durationMs },
    state: t.to,
    from_state: t.from,
    to_state: t.to,
    line: redactText(formatStatusLine({ ...t, metadata: t.metadata ?? {} })),
  };
}

/** Any other notable event as console activity: `HH:MM:SS [state] message`. */
export function plainActivity(
  atMs: number,
  state: string,
  activity: { activity_type: string; message: string; severity: Severity; metadata?: Record<string, unknown> },
): ActivityData {
  const message = redactText(activity.message).replace(/\s*\n\s*/g, ' ');
  const severityTag = activity.severity === 'warning' || activity.severity === 'error' ? `[${activity.severity}] ` : '';
  return {
    timestamp: clockTime(atMs),
    atMs,
    activity_type: activity.activity_type,
    message,
    severity: activity.severity,
    metadata: redactSecrets(activity.metadata ?? {}) as Record<string, unknown>,
    state,
    line: `${clockTime(atMs)} [${state}] ${severityTag}${message}`,
  };
}
