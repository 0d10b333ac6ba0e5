/**
 * `GET /metrics`: Prometheus text exposition of the trading system, built with prom-client on a
 * private Registry per app (so two apps in one process — tests, a session runner — never share or
 * collide). Values are read from one `SystemView.status()` per scrape; totals the system keeps are
 * exported as counters set to the system's figure. Part of src/server.
 *
 * `StatusReport.counters` keys read here (the first present wins; every counter is also exported
 * as `kalshiflow_system_counter{name}`): ws_reconnects_total | ws_reconnects; fills_applied |
 * fills_received; write_queue_depth; write_queue_dropped; syncs_ok; syncs_failed (camelCase
 * spellings are accepted too).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { systemClock, type Clock } from '../core/clock.ts';
import { microsToDollarsFloat } from '../core/money.ts';
import type { ConsoleFeedStats } from './console-feed.ts';
import type { CoordinatorStateName, StatusReport, SystemView } from '../actors/system-view.ts';

const COORDINATOR_STATES: CoordinatorStateName[] = [
  'startup',
  'initializing',
  'orderbook_connect',
  'trading_client_connect',
  'kalshi_data_sync',
  'ready',
  'acting',
  'error',
  'shutdown',
];

export interface OperatorMetrics {
  registry: Registry;
  contentType: string;
  /** Reads the view once and renders the exposition text. */
  render(): Promise<string>;
}

function pick(counters: Record<string, number>, keys: string[]): number {
  for (const key of keys) {
    const v = counters[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return 0;
}

/** A counter whose value is the system's own running total (re-set on every scrape). */
function totalCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []) {
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

function setTotal(counter: Counter<string>, value: number, labels?: Record<string, string>): void {
  const v = Math.max(0, value);
  if (labels) counter.inc(labels, v);
  else counter.inc(v);
}

export function createOperatorMetrics(view: SystemView, feedStats?: () => ConsoleFeedStats, clock: Clock = systemClock): OperatorMetrics {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });

  const up = gauge('kalshiflow_up', 'The operator API is answering (always 1 when scraped).');
  const state = gauge('kalshiflow_coordinator_state', 'Coordinator state: 1 for the current state, 0 for the others.', ['state']);
  const degraded = gauge('kalshiflow_coordinator_degraded', '1 while operating degraded (orderbook unavailable, trading up).');
  const healthy = gauge('kalshiflow_coordinator_healthy', '1 while operational (ready or acting, degraded included).');
  const timeInState = gauge('kalshiflow_time_in_state_seconds', 'Seconds since the coordinator entered its current state.');
  const uptime = gauge('kalshiflow_uptime_seconds', 'Seconds since the trading system started.');
  const markets = gauge('kalshiflow_markets', 'Markets by subscription state.', ['subscription']);
  const deltas = totalCounter(registry, 'kalshiflow_orderbook_deltas_total', 'Order-book deltas received, all markets.');
  const deltaRate = gauge('kalshiflow_orderbook_deltas_per_second', 'Order-book deltas per second since the previous scrape.');
  const reconnects = totalCounter(registry, 'kalshiflow_orderbook_reconnects_total', 'Order-book stream reconnects.');
  const orders = gauge('kalshiflow_orders', 'Open orders by order-actor state.', ['state']);
  const ordersPlaced = totalCounter(registry, 'kalshiflow_orders_placed_total', 'Orders placed by the trader.');
  const ordersDenied = totalCounter(registry, 'kalshiflow_orders_denied_total', 'Order intents denied by local risk checks.');
  const decisions = totalCounter(registry, 'kalshiflow_trader_decisions_total', 'Strategy decisions made.');
  const traderState = gauge('kalshiflow_trader_state', 'Trader actor state: 1 for the current state.', ['state']);
  const fills = totalCounter(registry, 'kalshiflow_fills_total', 'Fills applied.');
  const pnl = gauge('kalshiflow_pnl_dollars', 'Profit and loss in dollars.', ['kind']);
  const fees = gauge('kalshiflow_fees_paid_dollars', 'Fees paid in dollars.');
  const balance = gauge('kalshiflow_balance_dollars', 'Cash balance in dollars.');
  const portfolio = gauge('kalshiflow_portfolio_value_dollars', 'Portfolio value in dollars.');
  const positions = gauge('kalshiflow_positions', 'Markets with a non-zero position.');
  const tradingVersion = gauge('kalshiflow_trading_state_version', 'Version of the trading state (increments on change).');
  const queueDepth = gauge('kalshiflow_store_write_queue_depth', 'Records waiting in the store write queue.');
  const queueDropped = totalCounter(registry, 'kalshiflow_store_write_queue_dropped_total', 'Records the store write queue dropped.');
  const syncRuns = totalCounter(registry, 'kalshiflow_sync_runs_total', 'Kalshi data syncs completed.');
  const syncResults = totalCounter(registry, 'kalshiflow_sync_results_total', 'Kalshi data sync outcomes.', ['result']);
  const lastSync = gauge('kalshiflow_last_sync_timestamp_seconds', 'Unix time of the last completed sync (0 if none).');
  const components = gauge('kalshiflow_component_healthy', 'Component health: 1 healthy, 0 not.', ['component']);
  const recentErrors = gauge('kalshiflow_recent_errors', 'Errors in the status report (bounded list).');
  const systemCounters = gauge('kalshiflow_system_counter', "The trading system's own counters, by name.", ['name']);
  const wsClients = gauge('kalshiflow_ws_clients', 'Browsers connected to /v3/ws.');
  const wsSent = totalCounter(registry, 'kalshiflow_ws_messages_sent_total', 'Messages sent to /v3/ws clients.');
  const wsDropped = totalCounter(registry, 'kalshiflow_ws_dropped_clients_total', '/v3/ws clients dropped.', ['reason']);
  const wsCoalesced = totalCounter(registry, 'kalshiflow_ws_coalesced_updates_total', 'Updates replaced by a newer one before being sent.');

  let previousDeltas: { atMs: number; total: number } | null = null;

  const update = (s: StatusReport): void => {
    up.set(1);
    state.reset();
    for (const name of COORDINATOR_STATES) state.set({ state: name }, name === s.state ? 1 : 0);
    degraded.set(s.degraded ? 1 : 0);
    healthy.set(s.state === 'ready' || s.state === 'acting' ? 1 : 0);
    const nowMs = clock.now();
    const enteredAt = s.stateHistory[0]?.atMs ?? s.startedAtMs;
    timeInState.set(Math.max(0, nowMs - enteredAt) / 1000);
    uptime.set(s.uptime);

    markets.reset();
    const bySubscription = new Map<string, number>();
    for (const m of s.markets) bySubscription.set(m.subscription, (bySubscription.get(m.subscription) ?? 0) + 1);
    for (const [subscription, n] of bySubscription) markets.set({ subscription }, n);
    const totalDeltas = s.markets.reduce((sum, m) => sum + m.deltas, 0);
    deltas.reset();
    setTotal(deltas, totalDeltas);
    if (previousDeltas && nowMs > previousDeltas.atMs && totalDeltas >= previousDeltas.total) {
      deltaRate.set(((totalDeltas - previousDeltas.total) * 1000) / (nowMs - previousDeltas.atMs));
    } else {
      deltaRate.set(0);
    }
    previousDeltas = { atMs: nowMs, total: totalDeltas };

    const c = s.counters;
    reconnects.reset();
    setTotal(reconnects, pick(c, ['ws_reconnects_total', 'ws_reconnects', 'reconnects', 'orderbookReconnects']));
    orders.reset();
    const byState = new Map<string, number>();
    for (const o of s.trading.openOrders) byState.set(o.state, (byState.get(o.state) ?? 0) + 1);
    for (const [orderState, n] of byState) orders.set({ state: orderState }, n);
    ordersPlaced.reset();
    setTotal(ordersPlaced, s.trader.ordersPlaced);
    ordersDenied.reset();
    setTotal(ordersDenied, s.trader.denied);
    decisions.reset();
    setTotal(decisions, s.trader.decisions);
    traderState.reset();
    traderState.set({ state: s.trader.state }, 1);
    fills.reset();
    setTotal(fills, pick(c, ['fills_applied', 'fills_received', 'fills', 'fillsApplied']));

    pnl.set({ kind: 'realized' }, microsToDollarsFloat(s.trading.realizedPnl));
    pnl.set({ kind: 'unrealized' }, microsToDollarsFloat(s.trading.unrealizedPnl));
    pnl.set({ kind: 'total' }, microsToDollarsFloat(s.trading.realizedPnl + s.trading.unrealizedPnl));
    fees.set(microsToDollarsFloat(s.trading.feesPaid));
    balance.set(microsToDollarsFloat(s.trading.balance));
    portfolio.set(microsToDollarsFloat(s.trading.portfolioValue));
    positions.set(s.trading.positions.filter((p) => p.position !== 0).length);
    tradingVersion.set(s.trading.version);

    queueDepth.set(pick(c, ['write_queue_depth', 'writeQueueDepth']));
    queueDropped.reset();
    setTotal(queueDropped, pick(c, ['write_queue_dropped', 'writeQueueDropped']));
    syncRuns.reset();
    setTotal(syncRuns, s.sync.syncCount);
    syncResults.reset();
    setTotal(syncResults, pick(c, ['syncs_ok', 'syncOk', 'syncSucceeded']), { result: 'ok' });
    setTotal(syncResults, pick(c, ['syncs_failed', 'syncFailed', 'syncFailures']), { result: 'failed' });
    lastSync.set(s.sync.lastSyncMs === null ? 0 : s.sync.lastSyncMs / 1000);

    components.reset();
    for (const comp of s.components) components.set({ component: comp.name }, comp.healthy ? 1 : 0);
    recentErrors.set(s.errors.length);
    systemCounters.reset();
    for (const [name, value] of Object.entries(c)) if (Number.isFinite(value)) systemCounters.set({ name }, value);

    const feed = feedStats?.();
    wsClients.set(feed?.clients ?? 0);
    wsSent.reset();
    setTotal(wsSent, feed?.messagesSent ?? 0);
    wsDropped.reset();
    setTotal(wsDropped, feed?.droppedSlowClients ?? 0, { reason: 'slow' });
    setTotal(wsDropped, feed?.droppedDeadClients ?? 0, { reason: 'no_pong' });
    wsCoalesced.reset();
    setTotal(wsCoalesced, feed?.coalescedUpdates ?? 0);
  };

  return {
    registry,
    contentType: registry.contentType,
    async render() {
      update(view.status());
      return registry.metrics();
    },
  };
}
