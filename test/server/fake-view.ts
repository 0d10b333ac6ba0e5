/**
 * An in-memory SystemView for the server tests: a scripted trading system whose state, markets,
 * trading state and event stream the test drives directly.
 */
import type { Clock } from '../../src/core/clock.ts';
import type {
  ComponentHealth,
  ControlAction,
  ControlAvailability,
  ControlCommand,
  ControlResult,
  CoordinatorStateName,
  FillView,
  HealthReport,
  MarketStatus,
  OrderStatusView,
  StatusReport,
  SystemEvent,
  SystemView,
  TradingState,
  TransitionRecord,
} from '../../src/actors/system-view.ts';

export class FakeSystemView implements SystemView {
  state: CoordinatorStateName = 'startup';
  degraded = false;
  readonly startedAtMs: number;
  history: TransitionRecord[] = [];
  markets = new Map<string, MarketStatus>();
  components: ComponentHealth[] = [
    { name: 'orderbook', healthy: true, detail: 'connected', lastActivityMs: null },
    { name: 'trading_client', healthy: true, detail: 'connected', lastActivityMs: null },
  ];
  trading: TradingState = {
    version: 0,
    balance: 1_000_000_000,
    portfolioValue: 0,
    realizedPnl: 0,
    unrealizedPnl: 0,
    feesPaid: 0,
    positions: [],
    openOrders: [],
    lastSyncMs: null,
    staleMarks: 0,
    oldestStaleMarkMs: null,
  };
  fills: FillView[] = [];
  counters: Record<string, number> = { ws_reconnects_total: 0, fills_applied: 0, write_queue_depth: 0, write_queue_dropped: 0, syncs_ok: 0, syncs_failed: 0 };
  errors: Array<{ atMs: number; message: string }> = [];
  syncSummary: unknown = null;
  machines: Record<string, unknown> = {};
  statusCalls = 0;
  /** The scripted trader: paused by the operator or trading; what controls were applied. */
  trader: { state: string; reason: string | null } = { state: 'ready', reason: null };
  controlCalls: ControlCommand[] = [];
  private readonly listeners = new Set<(event: SystemEvent) => void>();

  constructor(private readonly clock: Clock) {
    this.startedAtMs = clock.now();
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  health(): HealthReport {
    const operational = this.state === 'ready' || this.state === 'acting';
    return {
      healthy: operational,
      status: operational ? (this.degraded ? 'degraded' : 'healthy') : 'unhealthy',
      state: this.state,
      degraded: this.degraded,
      degradedComponents: this.degraded ? ['orderbook'] : [],
      uptime: (this.clock.now() - this.startedAtMs) / 1000,
    };
  }

  status(): StatusReport {
    this.statusCalls++;
    return {
      state: this.state,
      degraded: this.degraded,
      degradedComponents: this.degraded ? ['orderbook'] : [],
      problems: this.degraded ? [{ component: 'orderbook', message: 'order book unavailable; reconnecting', sinceMs: null }] : [],
      environment: 'sim',
      strategy: 'hold',
      startedAtMs: this.startedAtMs,
      uptime: (this.clock.now() - this.startedAtMs) / 1000,
      stateHistory: [...this.history],
      statusLog: this.history
        .map((t) => `${new Date(t.atMs).toISOString().slice(11, 19)} [${t.from} → ${t.to}] ${t.reason} (${(t.durationMs / 1000).toFixed(1)}s)`)
        .join('\n'),
      components: this.components,
      markets: [...this.markets.values()],
      trading: this.trading,
      recentFills: this.fills,
      sync: { lastSyncMs: this.trading.lastSyncMs, syncCount: this.counters.syncs_ok ?? 0, lastSummary: this.syncSummary },
      errors: this.errors,
      trader: { ...this.trader, decisions: 3, ordersPlaced: 2, denied: 1 },
      counters: this.counters,
    };
  }

  machineStates(): Record<string, unknown> {
    return { coordinator: this.state, ...this.machines };
  }

  controls(): Record<ControlAction, ControlAvailability> {
    const paused = this.trader.state === 'paused';
    const open = this.trading.openOrders.length > 0;
    return {
      pause: paused ? { allowed: false, reason: 'already paused by the operator' } : { allowed: true, reason: null },
      resume: paused ? { allowed: true, reason: null } : { allowed: false, reason: `not paused (${this.trader.state})` },
      'cancel-all': open ? { allowed: true, reason: null } : { allowed: false, reason: 'no open orders' },
      flatten: open || this.trading.positions.length > 0 ? { allowed: true, reason: null } : { allowed: false, reason: 'no positions or orders' },
    };
  }

  /** Scripted like the trading system: pause/flatten hold the trader, cancel-all empties the orders. */
  async control(command: ControlCommand): Promise<ControlResult> {
    this.controlCalls.push(command);
    const allowed = this.controls()[command.action];
    const base = { action: command.action, ticker: command.ticker ?? null, cancelsSent: 0, ordersPlaced: [], ordersDenied: [], positions: [], journaled: true };
    if (!allowed.allowed) return { ...base, applied: false, message: `${command.action} refused: ${allowed.reason}`, trader: this.trader };
    const cancels = this.trading.openOrders.filter((o) => !command.ticker || o.ticker === command.ticker).length;
    if (command.action === 'pause' || command.action === 'flatten') this.trader = { state: 'paused', reason: 'operator' };
    if (command.action === 'resume') this.trader = { state: 'ready', reason: null };
    if (command.action === 'pause' || command.action === 'cancel-all' || command.action === 'flatten') {
      this.updateTrading({ openOrders: this.trading.openOrders.filter((o) => command.ticker !== undefined && o.ticker !== command.ticker) });
    }
    this.machines = { ...this.machines, trader: this.trader.state };
    const message = command.action === 'pause' ? 'trader paused (operator)' : command.action === 'resume' ? 'trader ready' : `${cancels} cancels sent`;
    this.transition(this.state, `operator ${command.action}: ${message}`, { operator_action: command.action });
    return { ...base, applied: true, message, trader: this.trader, cancelsSent: command.action === 'resume' ? 0 : cancels };
  }

  subscribe(listener: (event: SystemEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: SystemEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** Moves the coordinator, records the transition and announces it as the real system does. */
  transition(to: CoordinatorStateName, reason: string, metadata: Record<string, unknown> = {}): TransitionRecord {
    const atMs = this.clock.now();
    const previous = this.history[0];
    const record: TransitionRecord = {
      atMs,
      from: this.state,
      to,
      reason,
      metadata,
      durationMs: atMs - (previous?.atMs ?? this.startedAtMs),
    };
    this.history.unshift(record);
    if (this.history.length > 50) this.history.pop();
    this.state = to;
    this.emit({
      type: 'system_activity',
      data: { activity_type: 'state_transition', message: `${record.from} → ${to}: ${reason}`, severity: 'info', metadata: { ...metadata, from_state: record.from, to_state: to } },
    });
    return record;
  }

  /** Walks startup → ready. */
  bootToReady(advance: (ms: number) => void): void {
    const steps: Array<[CoordinatorStateName, string]> = [
      ['initializing', 'Starting state machine components'],
      ['orderbook_connect', 'Connecting to the orderbook'],
      ['trading_client_connect', 'Orderbook connected: 2 markets'],
      ['kalshi_data_sync', 'Trading client connected'],
      ['ready', 'System fully operational with 2 markets and trading enabled'],
    ];
    for (const [to, why] of steps) {
      advance(1200);
      this.transition(to, why);
    }
  }

  setMarket(m: Partial<MarketStatus> & { ticker: string }): MarketStatus {
    const market: MarketStatus = {
      subscription: 'live',
      bestYesBid: 5500,
      bestYesAsk: 5700,
      spread: 200,
      yesDepth: 10_000,
      noDepth: 8_000,
      deltas: 0,
      ...this.markets.get(m.ticker),
      lastUpdateMs: this.clock.now(),
      ...m,
    };
    this.markets.set(m.ticker, market);
    this.emit({ type: 'market_update', data: market });
    return market;
  }

  updateTrading(change: Partial<Omit<TradingState, 'version'>>): TradingState {
    this.trading = { ...this.trading, ...change, version: this.trading.version + 1 };
    this.emit({ type: 'trading_state', data: this.trading });
    return this.trading;
  }

  addOrder(order: Partial<OrderStatusView> & { clientOrderId: string }): OrderStatusView {
    const full: OrderStatusView = {
      orderId: null,
      ticker: 'KXTEST-A',
      side: 'bid',
      price: 5500,
      count: 500,
      filled: 0,
      state: 'accepted',
      external: false,
      updatedMs: this.clock.now(),
      ...order,
    };
    this.trading = { ...this.trading, openOrders: [...this.trading.openOrders.filter((o) => o.clientOrderId !== full.clientOrderId), full], version: this.trading.version + 1 };
    this.emit({ type: 'order_update', data: full });
    return full;
  }

  addFill(fill: Partial<FillView> & { fillId: string }): FillView {
    const full: FillView = {
      clientOrderId: null,
      ticker: 'KXTEST-A',
      side: 'bid',
      price: 5600,
      count: 100,
      fee: 7000,
      isTaker: false,
      tsMs: this.clock.now(),
      ...fill,
    };
    this.fills = [full, ...this.fills].slice(0, 50);
    this.counters = { ...this.counters, fills_applied: (this.counters.fills_applied ?? 0) + 1 };
    this.emit({ type: 'fill', data: full });
    return full;
  }
}
