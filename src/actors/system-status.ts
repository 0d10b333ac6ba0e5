/**
 * What the assembled system shows of itself: the `SystemView` projection (/v3/health, /v3/status,
 * trading state, market and order views), the event stream the server pushes to its clients, the
 * coordinator's status log and state visits, and the counters and bounded histories (errors,
 * recent fills) behind them. It reads the coordinator, the trader, the registry and the stream;
 * it decides nothing — the charts do. TradingSystem (./trading-system.ts) owns one and feeds it.
 */
import type { Actor, SnapshotFrom } from 'xstate';
import type { Clock } from '../core/clock.ts';
import type { Micros } from '../core/money.ts';
import type { OrderSide } from '../core/order-state.ts';
import { LastMarks, valueAtMark } from '../core/positions.ts';
import type { Strategy } from '../core/strategy/index.ts';
import type { KalshiWsClient } from '../adapters/kalshi/ws.ts';
import type { PolicyStatus } from '../adapters/policy/onnx-strategy.ts';
import type { CoordinatorMachine } from '../machines/coordinator.machine.ts';
import { coordinatorStatusLabel, coordinatorVisitLabels, currentProblems, describeState } from '../machines/coordinator.status.ts';
import type { DegradedComponent, SyncSummary } from '../machines/coordinator.types.ts';
import { StateVisits, StatusHistory, observeTransitions } from '../machines/status-history.ts';
import type { LabelVisit, TransitionRecord } from '../machines/status-history.ts';
import type { TraderMachine } from '../machines/trader.machine.ts';
import type { MarketRegistry } from './market-registry.ts';
import type {
  ComponentHealth,
  CurrentProblem,
  FillView,
  HealthReport,
  MarketStatus,
  OrderStatusView,
  PositionStatus,
  Severity,
  StatusReport,
  SystemEvent,
  TradingState,
} from './system-view.ts';

const MAX_RECENT_FILLS = 100;
/** Market-actor states whose book is the market's current one (as the trader reads books). */
const MARKED_STATES = new Set(['live', 'stale']);
const MAX_ERRORS = 20;

type CoordinatorSnapshot = SnapshotFrom<CoordinatorMachine>;
type TraderSnapshot = SnapshotFrom<TraderMachine>;

export interface SystemStatusSources {
  clock: Clock;
  environment: 'sim' | 'paper' | 'production';
  strategy: Strategy;
  tradingEnabled: boolean;
  ws: KalshiWsClient;
  registry: MarketRegistry;
  coordinator: () => CoordinatorSnapshot;
  trader: () => TraderSnapshot | undefined;
}

/** Managed orders with contracts the venue may still hold. */
export function openOrderCount(trader: { orders: Record<string, { remainingCount: number }> }): number {
  return Object.values(trader.orders).filter((o) => o.remainingCount > 0).length;
}

const DEGRADED_MESSAGES: Record<DegradedComponent, { down: (c: { journal: { lastError: string | null }; tradingApi: { lastError: string | null } }) => string; up: string }> = {
  orderbook: { down: () => 'DEGRADED MODE: trading without an order book', up: 'order book restored' },
  journal: {
    down: (c) => `DATABASE OUTAGE: trading paused, nothing is sent until the journal is back (${c.journal.lastError ?? 'unknown'})`,
    up: 'database available again: trading resumes',
  },
  trading_api: {
    down: (c) => `TRADING API FAULTED: trading paused, probing with backoff (${c.tradingApi.lastError ?? 'unknown'})`,
    up: 'trading API answering again: resolving unknown orders, syncing',
  },
};

function dependencyDetail(name: string, h: { lastError: string | null; downSinceMs: number | null; probes: number; outages: number }, down: boolean): string {
  if (down) return `${name} unavailable since ${h.downSinceMs === null ? '?' : new Date(h.downSinceMs).toISOString()} (${h.probes} probes): ${h.lastError ?? 'unknown'}`;
  return h.outages === 0 ? 'ok' : `ok (${h.outages} outages so far; last: ${h.lastError ?? 'unknown'})`;
}

export class SystemStatus {
  readonly history = new StatusHistory(50);
  private readonly visits = new StateVisits();
  /** Every state label entered (each coordinator state, and `degraded` alongside it), with entries and time spent. */
  readonly visited: ReadonlyMap<string, LabelVisit> = this.visits.visited;
  readonly counters: Record<string, number> = {
    ws_reconnects: 0,
    ws_gaps: 0,
    ws_malformed_frames: 0,
    fills_received: 0,
    fills_journaled: 0,
    orders_placed: 0,
    orders_adopted: 0,
    orders_denied: 0,
    orders_closed: 0,
    syncs_ok: 0,
    syncs_failed: 0,
  };
  /** The selected markets (set once initialization has chosen them). */
  markets: string[] = [];
  lastSync: SyncSummary | null = null;

  private readonly listeners = new Set<(event: SystemEvent) => void>();
  private readonly recentFills: FillView[] = [];
  private readonly errors: Array<{ atMs: number; message: string }> = [];
  private readonly lastUpdateMs = new Map<string, number>();
  private readonly deltaCounts = new Map<string, number>();
  private tradingVersion = 0;
  private tradingStateScheduled = false;
  private lastCoordinatorValue = '';
  private lastDegraded: readonly DegradedComponent[] = [];

  constructor(private readonly sources: SystemStatusSources) {}

  // ---- the event stream -------------------------------------------------------------------------

  subscribe(listener: (event: SystemEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get hasListeners(): boolean {
    return this.listeners.size > 0;
  }

  emit(event: SystemEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken listener (e.g. a closed socket) must never reach the trader.
      }
    }
  }

  activity(type: string, message: string, severity: Severity, metadata?: Record<string, unknown>): void {
    this.emit({ type: 'system_activity', data: { activity_type: type, message, severity, ...(metadata ? { metadata } : {}) } });
  }

  recordError(message: string): void {
    this.errors.unshift({ atMs: this.sources.clock.now(), message });
    if (this.errors.length > MAX_ERRORS) this.errors.length = MAX_ERRORS;
  }

  // ---- what the system reports in -----------------------------------------------------------------

  bookUpdated(ticker: string): void {
    this.lastUpdateMs.set(ticker, this.sources.clock.now());
  }

  deltaApplied(ticker: string): void {
    this.deltaCounts.set(ticker, (this.deltaCounts.get(ticker) ?? 0) + 1);
  }

  /** A fill the trader applied: kept among the recent fills and pushed with the new position. */
  fillApplied(fill: FillView, position: Parameters<SystemStatus['positionStatus']>[0]): void {
    this.recentFills.unshift(fill);
    if (this.recentFills.length > MAX_RECENT_FILLS) this.recentFills.length = MAX_RECENT_FILLS;
    this.emit({ type: 'fill', data: fill });
    this.emit({ type: 'position_update', data: this.positionStatus(position) });
    this.scheduleTradingState();
  }

  /** A managed order changed: pushed at once, the trading state once per microtask. */
  orderChanged(clientOrderId: string): void {
    const order = this.sources.trader()?.context.orders[clientOrderId];
    if (!order) return;
    this.emit({ type: 'order_update', data: this.orderView(order) });
    this.scheduleTradingState();
  }

  scheduleTradingState(): void {
    if (this.tradingStateScheduled) return;
    this.tradingStateScheduled = true;
    queueMicrotask(() => {
      this.tradingStateScheduled = false;
      this.tradingVersion++;
      this.emit({ type: 'trading_state', data: this.tradingState() });
    });
  }

  /**
   * Follows the coordinator's transitions into the status log (ready ⇄ acting happens on every
   * decision cycle: counted in `visited`, kept out of the 50-line history so the operators' log
   * shows what matters), each one also pushed as a `state_transition` activity.
   */
  observeCoordinator(coordinator: Actor<CoordinatorMachine>): () => void {
    const history = this.history;
    const originalRecord = history.record.bind(history);
    history.record = (record: TransitionRecord) => {
      originalRecord(record);
      const severity: Severity = record.to.startsWith('error') ? 'error' : record.to.includes('degraded') ? 'warning' : 'info';
      this.emit({
        type: 'system_activity',
        data: {
          activity_type: 'state_transition',
          message: `${record.from} → ${record.to}: ${record.reason}`,
          severity,
          metadata: { from_state: record.from, to_state: record.to, duration_ms: record.durationMs, ...record.metadata },
        },
      });
      if (record.to.startsWith('error')) this.recordError(record.reason);
    };
    return observeTransitions(coordinator, history, this.sources.clock, {
      label: (snap) => coordinatorStatusLabel(snap).replace(/^acting/, 'ready'),
    });
  }

  /**
   * After every coordinator change: the visited labels, the live statechart's snapshot, and a
   * message for each component that went down or came back. Returns the components that came back.
   */
  coordinatorChanged(): DegradedComponent[] {
    const snap = this.sources.coordinator();
    const { state, degraded, degradedComponents } = describeState(snap);
    this.visits.update(coordinatorVisitLabels({ state, degraded, degradedComponents }), this.sources.clock.now());
    // the dashboard's live statechart follows these (the feed coalesces them per actor)
    const value = JSON.stringify(snap.value);
    if (value !== this.lastCoordinatorValue) {
      this.lastCoordinatorValue = value;
      if (this.hasListeners) this.emit({ type: 'actor_snapshot', data: { actor: 'coordinator', state: snap.value } });
    }
    const previous = this.lastDegraded;
    if (degradedComponents.join() === previous.join()) return [];
    this.lastDegraded = degradedComponents;
    for (const c of degradedComponents) {
      if (previous.includes(c)) continue;
      const message = DEGRADED_MESSAGES[c].down(snap.context);
      this.activity('connection', message, 'warning', { component: c, degraded: true });
      // the history keeps it after recovery (`problems` shows only what is wrong now)
      if (c !== 'orderbook') this.recordError(message);
    }
    const recovered = previous.filter((c) => !degradedComponents.includes(c));
    for (const c of recovered) this.activity('connection', DEGRADED_MESSAGES[c].up, 'success', { component: c, degraded: false });
    return recovered;
  }

  lastActivityAtMs(): number | null {
    const a = this.sources.registry.lastActivityAtMs();
    const b = this.sources.ws.stats.lastMessageAtMs;
    if (a === null) return b;
    if (b === null) return a;
    return Math.max(a, b);
  }

  // ---- SystemView -------------------------------------------------------------------------------

  health(): HealthReport {
    const snap = this.sources.coordinator();
    const { state, degraded, degradedComponents } = describeState(snap);
    const healthy = state === 'ready' || state === 'acting';
    return {
      healthy,
      status: !healthy ? 'unhealthy' : degraded ? 'degraded' : 'healthy',
      state,
      degraded,
      degradedComponents: [...degradedComponents],
      uptime: Math.max(0, Math.round((this.sources.clock.now() - snap.context.startedAtMs) / 1000)),
    };
  }

  status(): StatusReport {
    const { ws, registry, tradingEnabled } = this.sources;
    const snap = this.sources.coordinator();
    const ctx = snap.context;
    const { state, degraded, degradedComponents } = describeState(snap);
    const trader = this.sources.trader();
    const components: ComponentHealth[] = [
      {
        name: 'orderbook',
        healthy: ws.isConnected() && !degradedComponents.includes('orderbook'),
        detail: `${registry.stateCounts().live ?? 0}/${this.markets.length} markets live, ${ws.stats.reconnects} reconnects`,
        lastActivityMs: this.lastActivityAtMs(),
      },
      {
        name: 'journal',
        healthy: !degradedComponents.includes('journal'),
        detail: dependencyDetail('database', ctx.journal, degradedComponents.includes('journal')),
        lastActivityMs: null,
      },
      {
        name: 'trading_api',
        healthy: tradingEnabled ? !degradedComponents.includes('trading_api') : true,
        detail: tradingEnabled ? dependencyDetail('trading API', ctx.tradingApi, degradedComponents.includes('trading_api')) : 'read-only',
        lastActivityMs: null,
      },
      {
        name: 'trading_client',
        healthy: tradingEnabled ? ctx.lastSyncError === null : true,
        detail: tradingEnabled ? (ctx.lastSyncError ?? `last sync ${ctx.lastSyncAtMs ? new Date(ctx.lastSyncAtMs).toISOString() : 'never'}`) : 'read-only',
        lastActivityMs: ctx.lastSyncAtMs,
      },
      {
        name: 'trader',
        healthy: trader ? trader.value !== 'paused' : true,
        detail: trader ? `${String(trader.value)}${trader.context.reason ? `: ${trader.context.reason}` : ''}` : 'disabled',
        lastActivityMs: null,
      },
      ...this.policyComponent(),
    ];
    const problems: CurrentProblem[] = currentProblems(snap);
    if (trader && trader.value === 'paused' && trader.context.reason) {
      problems.push({ component: 'trader', message: `paused: ${trader.context.reason}`, sinceMs: null });
    }
    for (const c of components) if (c.name === 'policy' && !c.healthy) problems.push({ component: 'policy', message: c.detail, sinceMs: null });
    const registryStats = registry.stats();
    const wsStats = ws.stats;
    const now = this.sources.clock.now();
    return {
      state,
      degraded,
      environment: this.sources.environment,
      strategy: this.sources.strategy.name,
      startedAtMs: ctx.startedAtMs,
      uptime: Math.max(0, Math.round((now - ctx.startedAtMs) / 1000)),
      stateHistory: this.history.recent(),
      statusLog: this.history.statusLog(),
      degradedComponents: [...degradedComponents],
      components,
      problems,
      markets: this.markets.map((t) => this.marketStatus(t)),
      trading: this.tradingState(),
      recentFills: this.recentFills.slice(0, 50),
      sync: { lastSyncMs: ctx.lastSyncAtMs, syncCount: ctx.syncCount, lastSummary: this.lastSync },
      errors: this.errors.slice(),
      trader: {
        state: trader ? String(trader.value) : 'disabled',
        reason: trader?.context.reason ?? null,
        decisions: trader?.context.counters.decisionCycles ?? 0,
        ordersPlaced: trader?.context.counters.ordersPlaced ?? 0,
        denied: trader?.context.counters.ordersDenied ?? 0,
      },
      counters: {
        ...this.counters,
        deltas_applied: registryStats.deltasApplied,
        snapshots_applied: registryStats.snapshots,
        book_gaps: registryStats.gaps,
        ws_frames_received: wsStats.framesReceived,
        ws_reconnects_total: wsStats.reconnects,
        coordinator_errors: ctx.errorCount,
        syncs_total: ctx.syncCount,
        fills_applied: trader?.context.counters.fillsApplied ?? 0,
        duplicate_fills: trader?.context.counters.duplicateFills ?? 0,
        open_orders: trader ? Object.keys(trader.context.orders).length : 0,
      },
    };
  }

  /** Cash and the market's cost basis as the trader holds them (the ONNX policy's portfolio features). */
  account(ticker: string): { cash: Micros; costBasis: Micros } {
    const ctx = this.sources.trader()?.context;
    return { cash: ctx?.cash ?? 0, costBasis: ctx?.positions[ticker]?.costBasis ?? 0 };
  }

  machineStates(): Record<string, unknown> {
    return {
      coordinator: this.sources.coordinator().value,
      trader: this.sources.trader()?.value ?? null,
      markets: this.sources.registry.stateCounts(),
    };
  }

  /** A `policy` component when the strategy reports on its model (the ONNX policy does). */
  private policyComponent(): ComponentHealth[] {
    const reporter = this.sources.strategy as Strategy & { status?: () => PolicyStatus };
    if (typeof reporter.status !== 'function') return [];
    const p = reporter.status();
    const at = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString());
    const running = p.loadedAt !== null ? `model ${p.modelPath} version ${p.version ?? '?'} (${p.obsVersion ?? '?'}), loaded ${at(p.loadedAt)}` : `no model loaded from ${p.modelPath}`;
    const failure = p.lastError !== null ? `; ${p.loadedAt !== null ? 'last reload failed' : 'load failed'} ${at(p.lastErrorAt)}: ${p.lastError}` : '';
    return [{ name: 'policy', healthy: p.loadedAt !== null && p.lastError === null, detail: running + failure, lastActivityMs: p.loadedAt }];
  }

  // ---- views ------------------------------------------------------------------------------------

  marketStatus(ticker: string): MarketStatus {
    const book = this.sources.registry.book(ticker);
    return {
      ticker,
      subscription: this.sources.registry.state(ticker) ?? 'unknown',
      bestYesBid: book?.bestYesBid() ?? null,
      bestYesAsk: book?.bestYesAsk() ?? null,
      spread: book?.spread() ?? null,
      yesDepth: book?.totalSize('yes') ?? 0,
      noDepth: book?.totalSize('no') ?? 0,
      lastUpdateMs: this.lastUpdateMs.get(ticker) ?? null,
      deltas: this.deltaCounts.get(ticker) ?? 0,
    };
  }

  private readonly lastMarks = new LastMarks();

  /**
   * The market's prices for valuation: its book now, or — with no usable book (stream down,
   * resyncing) — the last prices a book showed, stale (core/positions.ts LastMarks), never zero.
   */
  private marks(ticker: string) {
    const usable = this.sources.ws.isConnected() && MARKED_STATES.has(this.sources.registry.state(ticker) ?? '');
    const book = usable ? this.sources.registry.book(ticker) : undefined;
    return this.lastMarks.mark(ticker, book ? { bestYesBid: book.bestYesBid(), bestNoBid: book.bestNoBid() } : null, this.sources.clock.now());
  }

  positionStatus(p: { ticker: string; position: number; costBasis: Micros; realizedPnl: Micros; feesPaid: Micros; totalTraded: Micros }): PositionStatus {
    const m = this.marks(p.ticker);
    return {
      ticker: p.ticker,
      position: p.position,
      costBasis: p.costBasis,
      realizedPnl: p.realizedPnl,
      unrealizedPnl: valueAtMark(p, m) - p.costBasis,
      feesPaid: p.feesPaid,
      markStale: p.position !== 0 && m.stale,
      markAtMs: m.atMs,
    };
  }

  orderView(o: { clientOrderId: string; orderId: string | null; ticker: string; side: OrderSide; price: number; count: number; filledCount: number; state: string }): OrderStatusView {
    return {
      clientOrderId: o.clientOrderId,
      orderId: o.orderId,
      ticker: o.ticker,
      side: o.side,
      price: o.price,
      count: o.count,
      filled: o.filledCount,
      state: o.state,
      external: false,
      updatedMs: this.sources.clock.now(),
    };
  }

  tradingState(): TradingState {
    const ctx = this.sources.trader()?.context;
    const positions = ctx ? Object.values(ctx.positions).filter((p) => p.position !== 0 || p.realizedPnl !== 0) : [];
    const views = positions.map((p) => this.positionStatus(p));
    const cash = ctx?.cash ?? this.lastSync?.balance ?? 0;
    let value = cash;
    for (const v of views) value += v.costBasis + v.unrealizedPnl;
    const stale = views.filter((v) => v.markStale);
    const openOrders: OrderStatusView[] = ctx ? Object.values(ctx.orders).map((o) => this.orderView(o)) : [];
    if (ctx) {
      for (const ext of Object.values(ctx.externalOrders)) {
        openOrders.push({
          clientOrderId: ext.clientOrderId ?? ext.orderId,
          orderId: ext.orderId,
          ticker: ext.ticker,
          side: ext.side,
          price: ext.price,
          count: ext.fillCount + ext.remainingCount,
          filled: ext.fillCount,
          state: `external (${ext.status})`,
          external: true,
          updatedMs: this.sources.clock.now(),
        });
      }
    }
    return {
      version: this.tradingVersion,
      balance: cash,
      portfolioValue: value,
      realizedPnl: views.reduce((s, p) => s + p.realizedPnl, 0),
      unrealizedPnl: views.reduce((s, p) => s + p.unrealizedPnl, 0),
      feesPaid: views.reduce((s, p) => s + p.feesPaid, 0),
      positions: views,
      openOrders,
      lastSyncMs: this.sources.coordinator().context.lastSyncAtMs,
      staleMarks: stale.length,
      oldestStaleMarkMs: stale.reduce<number | null>((oldest, v) => (v.markAtMs !== null && (oldest === null || v.markAtMs < oldest) ? v.markAtMs : oldest), null),
    };
  }
}
