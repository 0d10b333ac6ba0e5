/**
 * The assembled actor system, assembly and lifecycle only: the coordinator statechart (root,
 * supervising) with the trader as its child (`systemId: 'trader'`, its order actors below it),
 * the market registry (one root actor per ticker), wired to the Kalshi adapters (REST, WebSocket)
 * and the store. Its parts: coordinator.actors.ts (the chart's invoked actors), system-relays.ts
 * (stream events and trader notifications), system-status.ts (the `SystemView` it implements for
 * the HTTP surface), market-feed.ts, order-journal.ts, operator-controls.ts. Pausing and resuming
 * the trader is the coordinator chart's (REVIEW_TRADING), not this class's.
 * Used by `kalshiflow start`, by scripted sessions and by integration tests, always the same way.
 */
import { createActor } from 'xstate';
import type { Actor, InspectionEvent } from 'xstate';
import type { Pool } from 'pg';
import type { Clock } from '../core/clock.ts';
import type { Micros } from '../core/money.ts';
import type { RiskLimits } from '../core/risk.ts';
import type { Strategy } from '../core/strategy/index.ts';
import { priceRangesFor } from '../core/ticks.ts';
import type { PriceLevelStructure, PriceRange } from '../core/ticks.ts';
import type { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiMarket } from '../adapters/kalshi/rest.schemas.ts';
import type { KalshiWsClient } from '../adapters/kalshi/ws.ts';
import { describeDbError, isDatabaseUnavailable } from '../adapters/store/database.ts';
import { recordDecision } from '../adapters/store/journal.ts';
import type { StoreEnvironment } from '../adapters/store/statuses.ts';
import { coordinatorMachine } from '../machines/coordinator.machine.ts';
import { coordinatorStatusLabel, describeState } from '../machines/coordinator.status.ts';
import type { CoordinatorInput } from '../machines/coordinator.types.ts';
import type { LabelVisit, StatusHistory } from '../machines/status-history.ts';
import { orderMachine } from '../machines/order.machine.ts';
import { traderMachine } from '../machines/trader.machine.ts';
import type { ControlAction, ControlAvailability, ControlCommand, ControlResult, HealthReport, LatencySample, StatusReport, SystemEvent, SystemView } from './system-view.ts';
import { MarketFeed } from './market-feed.ts';
import { openOrderCount, SystemStatus } from './system-status.ts';
import { coordinatorActors } from './coordinator.actors.ts';
import { SystemRelays } from './system-relays.ts';
import { OrderStateJournal } from './order-journal.ts';
import { journalWriter } from '../adapters/store/journal-writer.ts';
import { OperatorControls } from './operator-controls.ts';
import type { MarketRegistry } from './market-registry.ts';
import type { MarketSelection } from './markets.ts';
import { orderActors } from './order.actors.ts';
import { orderActorDeps } from './venue.ts';
import type { VenueContext } from './venue.ts';
import type { OrderSide } from '../core/order-state.ts';

export type { MarketSelection } from './markets.ts';

export interface TradingSystemOptions {
  environment: 'sim' | 'paper' | 'production';
  clock: Clock;
  rest: KalshiRestClient;
  ws: KalshiWsClient;
  pool: Pool;
  selection: MarketSelection;
  strategy: Strategy;
  /** False for production (read-only market data): no trader, no order endpoints. */
  tradingEnabled: boolean;
  traderId?: string;
  /** Distinguishes client_order_ids across runs (default: derived from the clock). */
  runNonce?: string;
  riskLimits?: Partial<RiskLimits>;
  coordinator?: Partial<Omit<CoordinatorInput, 'tradingEnabled'>>;
  /** Throttle of the trader's strategy runs per market (default 250 ms). */
  throttleMs?: number;
  inspect?: (event: InspectionEvent) => void;
}

const LIVE_STATES = new Set(['live', 'stale']);

export class TradingSystem implements SystemView {
  readonly clock: Clock;
  readonly registry: MarketRegistry;
  private readonly feed: MarketFeed;
  private readonly journal: OrderStateJournal;
  private readonly view: SystemStatus;
  private readonly relays: SystemRelays;
  readonly coordinator: Actor<typeof coordinatorMachine>;
  readonly trader: Actor<typeof traderMachine> | null;
  private readonly operator: OperatorControls;

  private readonly options: TradingSystemOptions;
  private readonly env: StoreEnvironment;
  private readonly venue: VenueContext;
  private readonly marketMeta = new Map<string, { ranges: PriceRange[]; title: string | null }>();
  private readonly dirtyBooks = new Set<string>();
  private markets: string[] = [];
  private flushScheduled = false;
  private readonly cleanups: Array<() => void> = [];
  private stopped = false;

  constructor(options: TradingSystemOptions) {
    this.options = options;
    this.clock = options.clock;
    this.env = options.environment;
    const traderId = options.traderId ?? 'trader';
    this.venue = {
      rest: options.rest,
      pool: options.pool,
      env: this.env,
      clock: options.clock,
      traderId,
      onJournalFailure: (error) => this.journalFailed(error),
    };

    this.journal = new OrderStateJournal({
      pool: options.pool,
      clock: options.clock,
      onError: (message) => this.view.recordError(message),
      onUnavailable: (error) => this.journalFailed(error),
      onReplay: (count) => this.view.activity('journal', `writing ${count} order updates held during the database outage`, 'info'),
    });
    this.feed = new MarketFeed({ ws: options.ws, clock: options.clock });
    this.registry = this.feed.registry;
    this.view = new SystemStatus({
      clock: options.clock,
      environment: options.environment,
      strategy: options.strategy,
      tradingEnabled: options.tradingEnabled,
      ws: options.ws,
      registry: this.registry,
      coordinator: () => this.coordinator.getSnapshot(),
      trader: () => this.trader?.getSnapshot(),
    });

    this.relays = new SystemRelays({
      clock: options.clock,
      pool: options.pool,
      env: this.env,
      traderId,
      strategyName: options.strategy.name,
      status: this.view,
      journal: this.journal,
      registry: this.registry,
      coordinator: { send: (event) => this.coordinator.send(event) },
      trader: () => this.liveTrader(),
      journalFailed: (error) => this.journalFailed(error),
    });
    const orderLogic = orderMachine.provide({ actors: orderActors(orderActorDeps(this.venue)) });
    const machine = coordinatorMachine.provide({
      actors: {
        trader: traderMachine.provide({ actors: { order: orderLogic } }),
        ...coordinatorActors({
          clock: options.clock,
          rest: options.rest,
          ws: options.ws,
          pool: options.pool,
          env: this.env,
          traderId,
          selection: options.selection,
          tradingEnabled: options.tradingEnabled,
          status: this.view,
          trader: () => this.trader,
          assertRunning: () => this.assertRunning(),
          marketsSelected: (markets) => this.marketsSelected(markets),
          journalFailed: (error) => this.journalFailed(error),
          coordinatorActive: () => this.coordinator.getSnapshot().status === 'active',
        }),
      },
    });
    this.coordinator = createActor(machine, {
      input: {
        tradingEnabled: options.tradingEnabled,
        startedAtMs: options.clock.now(),
        ...options.coordinator,
        ...(options.tradingEnabled ? { trader: this.traderInput(traderId) } : {}),
      },
      clock: options.clock,
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    // the coordinator's child from here on: paused and resumed by its chart, stopped with it
    this.trader = (this.coordinator.system.get('trader') as Actor<typeof traderMachine> | undefined) ?? null;
    this.operator = new OperatorControls({
      trader: this.trader,
      traderId,
      env: this.env,
      pool: options.pool,
      clock: options.clock,
      systemLabel: () => coordinatorStatusLabel(this.coordinator.getSnapshot()).replace(/^acting/, 'ready'),
      markets: () => this.markets,
      statusLine: (label, message, metadata) => this.history.record({ atMs: this.clock.now(), from: label, to: label, reason: message, metadata, durationMs: 0 }),
      activity: (message, severity, metadata) => this.view.activity('operator', message, severity, metadata),
      onError: (message) => this.view.recordError(message),
    });

  }

  // ---- lifecycle --------------------------------------------------------------------------------

  start(): void {
    this.cleanups.push(this.view.observeCoordinator(this.coordinator));
    const sub = this.coordinator.subscribe({ next: () => this.onCoordinatorChange(), error: (e) => this.view.recordError(String(e)) });
    this.cleanups.push(() => sub.unsubscribe());
    this.cleanups.push(this.options.ws.onEvent((event) => this.relays.streamEvent(event, this.feed.route(event))));
    if (this.options.tradingEnabled) {
      this.cleanups.push(
        this.options.rest.onRequestOutcome((outcome) => {
          // requests of a killed or stopped system may still finish: the chart is gone by then
          if (this.coordinator.getSnapshot().status !== 'active') return;
          if (outcome.fault) {
            this.coordinator.send({ type: 'TRADING_API_FAILED', reason: outcome.detail ?? `HTTP ${outcome.status}`, atMs: this.clock.now() });
          } else if (this.coordinator.getSnapshot().context.tradingApi.failures > 0) {
            // only a streak below the threshold needs ending (saves an event per request)
            this.coordinator.send({ type: 'TRADING_API_OK' });
          }
        }),
      );
    }
    this.cleanups.push(this.registry.onBookUpdate((update) => this.onBookUpdate(update.ticker)));
    this.cleanups.push(
      this.registry.onMarketState((ticker, state, previous, reason) => {
        if (state === 'resyncing' || state === 'closed' || previous === 'resyncing') {
          this.view.activity('market', `${ticker}: ${previous} → ${state} (${reason})`, state === 'resyncing' ? 'warning' : 'info');
        }
        this.scheduleFlush(ticker);
      }),
    );
    this.coordinator.start();
    this.trader?.send({ type: 'START' });
    this.coordinator.send({ type: 'START' });
  }

  /**
   * Shuts down through the coordinator (cancel the trader's resting orders unless configured
   * otherwise, close the stream) and waits for it to finish: the chart's shutdown timeout bounds
   * the wait, `stopNow()` cuts it short.
   */
  async stop(reason = 'shutdown requested'): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.coordinator.send({ type: 'SHUTDOWN', reason });
    await new Promise<void>((resolve) => {
      const check = () => {
        if (this.coordinator.getSnapshot().status !== 'active') resolve();
        else setTimeout(check, 20);
      };
      check();
    });
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.coordinator.stop();
    this.registry.stopAll();
    await this.options.ws.stop();
    await this.relays.settled();
    await this.journal.settled();
  }

  /** Ends a shutdown at once, leaving resting orders at the venue (the coordinator's SHUTDOWN_NOW). */
  stopNow(reason = 'stop requested at once'): void {
    this.coordinator.send({ type: 'SHUTDOWN_NOW', reason });
  }

  /** Orders of the trader the venue may still hold (not known to be filled, canceled or rejected). */
  restingOrderCount(): number {
    return this.trader ? openOrderCount(this.trader.getSnapshot().context) : 0;
  }

  /** The trader while it runs (it stops with the coordinator, before `stop()` has detached the stream). */
  private liveTrader(): Actor<typeof traderMachine> | null {
    return this.trader?.getSnapshot().status === 'active' ? this.trader : null;
  }

  /** The coordinator's promise actors keep running after it stops; their side effects must not. */
  private assertRunning(): void {
    if (this.stopped) throw new Error('the trading system is stopping');
  }

  /**
   * A journal read or write failed. When the database is unreachable, the coordinator enters its
   * journal outage: the trader is paused with `database_outage` and a probe brings the system back.
   * (A bad row is not an outage: the order it belonged to is simply not sent.)
   */
  private journalFailed(error: unknown): void {
    if (!isDatabaseUnavailable(error)) return;
    if (this.coordinator.getSnapshot().status !== 'active') return;
    this.coordinator.send({ type: 'JOURNAL_FAILED', reason: describeDbError(error), atMs: this.clock.now() });
  }

  /** The selected markets: one market actor each, and their price ranges for the trader. */
  private marketsSelected(markets: KalshiMarket[]): void {
    for (const m of markets) {
      const ranges = m.priceRanges && m.priceRanges.length > 0
        ? m.priceRanges
        : priceRangesFor((m.priceLevelStructure as PriceLevelStructure) ?? 'linear_cent');
      this.marketMeta.set(m.ticker, { ranges, title: m.title });
    }
    this.markets = markets.map((m) => m.ticker);
    this.view.markets = this.markets;
    for (const t of this.markets) this.registry.add(t);
  }

  // ---- trader -----------------------------------------------------------------------------------

  /** The trader's input (the coordinator spawns it as its child, `systemId: 'trader'`). */
  private traderInput(traderId: string): NonNullable<CoordinatorInput['trader']> {
    return {
      traderId,
      runNonce: this.options.runNonce ?? this.clock.now().toString(36),
      strategy: this.options.strategy,
      books: {
        bookFor: (ticker) => (LIVE_STATES.has(this.registry.state(ticker) ?? '') ? (this.registry.book(ticker) ?? null) : null),
        priceRangesFor: (ticker) => this.marketMeta.get(ticker)?.ranges ?? priceRangesFor('linear_cent'),
      },
      ...(this.options.riskLimits ? { riskLimits: this.options.riskLimits } : {}),
      ...(this.options.throttleMs !== undefined ? { throttleMs: this.options.throttleMs } : {}),
      // a create may land until one request timeout after it was sent: the order waits that long
      // for its answer, and an earlier run's unanswered one keeps its slot that long
      order: { timings: { submitTimeoutMs: this.options.rest.requestTimeoutMs, createLandingMs: this.options.rest.requestTimeoutMs } },
      notify: (n) => {
        if (n.type === 'ORDER_PLACED' && this.tickStartedAt !== null) this.latency({ kind: 'tick_to_order', seconds: (performance.now() - this.tickStartedAt) / 1000 });
        this.operator.observe(n);
        this.relays.traderNotification(n);
      },
      clock: this.clock,
    };
  }

  private onBookUpdate(ticker: string): void {
    this.view.bookUpdated(ticker);
    this.scheduleFlush(ticker);
  }

  /** Coalesces book updates: the trader and the feed hear about each market once per macrotask. */
  private scheduleFlush(ticker: string): void {
    this.dirtyBooks.add(ticker);
    if (this.latencyListeners.size > 0 && !this.dirtySince.has(ticker)) this.dirtySince.set(ticker, performance.now());
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      const tickers = [...this.dirtyBooks];
      this.dirtyBooks.clear();
      for (const t of tickers) {
        this.tickStartedAt = this.dirtySince.get(t) ?? null;
        this.dirtySince.delete(t);
        this.liveTrader()?.send({ type: 'BOOK_UPDATED', ticker: t });
        this.tickStartedAt = null;
        if (this.view.hasListeners) this.view.emit({ type: 'market_update', data: this.view.marketStatus(t) });
      }
    });
  }

  private onCoordinatorChange(): void {
    const recovered = this.view.coordinatorChanged();
    // the order updates held during a database outage are written once it is back
    if (recovered.includes('journal')) this.journal.replayBacklog();
  }

  // ---- SystemView (projected by SystemStatus) ----------------------------------------------------

  get history(): StatusHistory {
    return this.view.history;
  }

  /** Every state label entered (each coordinator state, and `degraded` alongside it), with entries and time spent. */
  get visited(): ReadonlyMap<string, LabelVisit> {
    return this.view.visited;
  }

  health(): HealthReport {
    return this.view.health();
  }

  status(): StatusReport {
    return this.view.status();
  }

  /** Cash and the market's cost basis as the trader holds them (the ONNX policy's portfolio features). */
  account(ticker: string): { cash: Micros; costBasis: Micros } {
    return this.view.account(ticker);
  }

  machineStates(): Record<string, unknown> {
    return this.view.machineStates();
  }

  controls(): Record<ControlAction, ControlAvailability> {
    return this.operator.availability();
  }

  control(command: ControlCommand): Promise<ControlResult> {
    return this.operator.apply(command);
  }

  subscribe(listener: (event: SystemEvent) => void): () => void {
    return this.view.subscribe(listener);
  }

  private readonly latencyListeners = new Set<(sample: LatencySample) => void>();
  /** While BOOK_UPDATED is being handled: when that market's book changed (tick-to-order's start). */
  private tickStartedAt: number | null = null;
  private readonly dirtySince = new Map<string, number>();

  onLatency(listener: (sample: LatencySample) => void): () => void {
    if (this.latencyListeners.size === 0) {
      const offRest = this.options.rest.onRequestOutcome((o) => {
        if (o.durationMs !== undefined) this.latency({ kind: 'rest', method: o.method, endpoint: endpointOf(o.path), seconds: o.durationMs / 1000 });
      });
      const offJournal = journalWriter(this.options.pool).onBatch((seconds) => this.latency({ kind: 'journal_write', seconds }));
      this.cleanups.push(offRest, offJournal);
    }
    this.latencyListeners.add(listener);
    return () => this.latencyListeners.delete(listener);
  }

  private latency(sample: LatencySample): void {
    for (const listener of this.latencyListeners) {
      try {
        listener(sample);
      } catch {
        // a broken observer must never reach the trader
      }
    }
  }

  /** Resolves when the coordinator reaches `state` (e.g. 'ready'), rejects after `timeoutMs` of wall time. */
  waitForState(state: string, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      // settles when the coordinator stops too: a pending wait (and its timer) must never keep a
      // stopped process alive — `start` waits for `ready` with a day-long timeout
      const settle = (error: Error | null) => {
        clearTimeout(timer);
        sub.unsubscribe();
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (describeState(this.coordinator.getSnapshot()).state === state) settle(null);
      };
      const timer = setTimeout(() => {
        settle(new Error(`timed out waiting for ${state}; current ${describeState(this.coordinator.getSnapshot()).state}`));
      }, timeoutMs);
      const sub = this.coordinator.subscribe({
        next: check,
        error: (error) => settle(error instanceof Error ? error : new Error(String(error))),
        complete: () => settle(new Error(`the trading system stopped before reaching ${state}`)),
      });
      if (this.coordinator.getSnapshot().status !== 'active') settle(new Error(`the trading system stopped before reaching ${state}`));
      else check();
    });
  }
}

export function startTradingSystem(options: TradingSystemOptions): TradingSystem {
  const system = new TradingSystem(options);
  system.start();
  return system;
}

/** A REST path as a metric label: the API prefix dropped, ids and tickers replaced (`/markets/:id/orderbook`). */
export function endpointOf(path: string): string {
  const parts = path.replace(/^\/trade-api\/v2/, '').split('/');
  return parts.map((p) => (p !== '' && (/[0-9A-Z]/.test(p) || p.length > 24) ? ':id' : p)).join('/') || '/';
}
