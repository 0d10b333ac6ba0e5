/**
 * `GET /metrics`: Prometheus text exposition of the trading system, built with prom-client on a
 * private Registry per app (so two apps in one process — tests, a session runner — never share or
 * collide). Values are read from one `SystemView.status()` per scrape; totals the system keeps are
 * exported as counters set to the system's figure. Part of src/server.
 *
 * `StatusReport.counters` keys read here (the first present wins): ws_reconnects_total |
 * ws_reconnects; fills_applied | fills_received; write_queue_depth; write_queue_dropped; syncs_ok;
 * syncs_failed (camelCase spellings are accepted too). Every other running total the system keeps
 * is a counter of its own, `kalshiflow_<name>_total` (metric names never go into labels), and
 * rates are left to Prometheus (`rate()`), so no gauge is "per second since the last scrape".
 * prom-client's default process and Node metrics are included, and latency histograms are fed by
 * the view's samples (`SystemView.onLatency`): tick-to-order, REST requests by method and
 * endpoint, journal write batches.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
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

/** Counters of `StatusReport.counters` exported under their own names elsewhere, or levels (not totals). */
const NOT_OWN_COUNTERS = new Set(['ws_reconnects_total', 'ws_reconnects', 'fills_applied', 'fills_received', 'write_queue_depth', 'write_queue_dropped', 'syncs_ok', 'syncs_failed', 'syncs_total', 'open_orders']);

/** `deltas_applied` → `kalshiflow_deltas_applied_total`. */
function ownCounterName(key: string): string | null {
  const snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/_total$/, '');
  return /^[a-z][a-z0-9_]*$/.test(snake) ? `kalshiflow_${snake}_total` : null;
}

export function createOperatorMetrics(view: SystemView, feedStats?: () => ConsoleFeedStats, clock: Clock = systemClock): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const tickToOrder = new Histogram({
    name: 'kalshiflow_tick_to_order_seconds',
    help: 'A market book update to the order it made the trader place (synchronous strategies), wall time.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers: [registry],
  });
  const restLatency = new Histogram({
    name: 'kalshiflow_rest_request_duration_seconds',
    help: 'REST requests to the venue, by method and endpoint (ids replaced), send to body read.',
    labelNames: ['method', 'endpoint'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const journalLatency = new Histogram({
    name: 'kalshiflow_journal_write_duration_seconds',
    help: 'One group-committed batch of order-journal writes (intents, sends, answers, fills).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  view.onLatency?.((sample) => {
    if (sample.kind === 'tick_to_order') tickToOrder.observe(sample.seconds);
    else if (sample.kind === 'rest') restLatency.observe({ method: sample.method, endpoint: sample.endpoint }, sample.seconds);
    else journalLatency.observe(sample.seconds);
  });
  const ownCounters = new Map<string, Counter<string>>();
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
  const reconnects = totalCounter(registry, 'kalshiflow_orderbook_reconnects_total', 'Order-book stream reconnects.');
  const orders = gauge('kalshiflow_orders', 'Open orders by order-actor state.', ['state']);
  const ordersPlaced = totalCounter(registry, 'kalshiflow_orders_placed_total', 'Orders placed by the trader.');
  const ordersDenied = totalCounter(registry, 'kalshiflow_orders_denied_total', 'Order intents denied by local risk checks.');
  const decisions = totalCounter(registry, 'kalshiflow_trader_decisions_total', 'Strategy decisions made.');
  const traderState = gauge('kalshiflow_trader_state', 'Trader actor state: 1 for the current state.', ['state']);
  const fills = totalCounter(registry, 'kalshiflow_fills_total', 'Fills applied.');
  const pnl = gauge('kalshiflow_pnl_dollars', 'Profit and loss in dollars.', ['kind']);
  const fees = totalCounter(registry, 'kalshiflow_fees_paid_dollars_total', 'Fees paid in dollars (by the positions the trader holds or has closed).');
  const staleMarks = gauge('kalshiflow_positions_stale_marks', 'Positions valued at the last prices a book showed (no usable book now).');
  const staleMarkAge = gauge('kalshiflow_stale_mark_age_seconds', 'Age of the oldest stale valuation price (0 when none).');
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
  const wsClients = gauge('kalshiflow_ws_clients', 'Browsers connected to /v3/ws.');
  const wsSent = totalCounter(registry, 'kalshiflow_ws_messages_sent_total', 'Messages sent to /v3/ws clients.');
  const wsDropped = totalCounter(registry, 'kalshiflow_ws_dropped_clients_total', '/v3/ws clients dropped.', ['reason']);
  const wsCoalesced = totalCounter(registry, 'kalshiflow_ws_coalesced_updates_total', 'Updates replaced by a newer one before being sent.');

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
    fees.reset();
    setTotal(fees, microsToDollarsFloat(s.trading.feesPaid));
    staleMarks.set(s.trading.staleMarks ?? 0);
    staleMarkAge.set(s.trading.oldestStaleMarkMs != null ? Math.max(0, nowMs - s.trading.oldestStaleMarkMs) / 1000 : 0);
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
    for (const [key, value] of Object.entries(c)) {
      if (NOT_OWN_COUNTERS.has(key) || !Number.isFinite(value)) continue;
      const name = ownCounterName(key);
      if (!name) continue;
      let counter = ownCounters.get(name);
      if (!counter) {
        if (registry.getSingleMetric(name)) continue; // already exported under that name
        counter = totalCounter(registry, name, `The trading system's ${key} count.`);
        ownCounters.set(name, counter);
      }
      counter.reset();
      setTotal(counter, value);
    }

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
