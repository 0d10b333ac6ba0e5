/**
 * The assembled actor system: the coordinator statechart (root, supervising), the market registry
 * (one root actor per ticker), the trader actor and its order actors, wired to the Kalshi
 * adapters (REST, WebSocket) and the store. It implements `SystemView` for the HTTP surface.
 * Used by `kalshiflow start`, by scripted sessions and by integration tests, always the same way.
 */
import { createActor } from 'xstate';
import type { Actor, InspectionEvent } from 'xstate';
import { fromPromise } from 'xstate';
import type { Pool } from 'pg';
import type { Clock } from '../core/clock.ts';
import type { Micros } from '../core/money.ts';
import type { RiskLimits } from '../core/risk.ts';
import type { Strategy } from '../core/strategy/index.ts';
import { priceRangesFor } from '../core/ticks.ts';
import type { PriceLevelStructure, PriceRange } from '../core/ticks.ts';
import type { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiWsClient, WsClientEvent } from '../adapters/kalshi/ws.ts';
import { describeDbError, isDatabaseUnavailable } from '../adapters/store/database.ts';
import type { StoreEnvironment } from '../adapters/store/statuses.ts';
import { coordinatorMachine, orderbookActivityWatcher } from '../machines/coordinator.machine.ts';
import { coordinatorStatusLabel, describeState, tradingPauseReason } from '../machines/coordinator.status.ts';
import type { CoordinatorInput, SyncSummary } from '../machines/coordinator.types.ts';
import type { LabelVisit, StatusHistory } from '../machines/status-history.ts';
import { orderMachine } from '../machines/order.machine.ts';
import { localReconcileView, traderMachine } from '../machines/trader.machine.ts';
import type { TraderNotification } from '../machines/trader.types.ts';
import type { ControlAction, ControlAvailability, ControlCommand, ControlResult, FillView, HealthReport, StatusReport, SystemEvent, SystemView } from './system-view.ts';
import { ORDERBOOK_CHANNEL } from '../adapters/kalshi/ws.ts';
import { MarketFeed } from './market-feed.ts';
import { openOrderCount, SystemStatus } from './system-status.ts';
import { journalDecision, journalFill, OrderStateJournal } from './order-journal.ts';
import { OperatorControls } from './operator-controls.ts';
import type { MarketRegistry } from './market-registry.ts';
import { selectMarkets } from './markets.ts';
import type { MarketSelection } from './markets.ts';
import { syncWithVenue } from './sync.ts';
import { orderActors } from './order.actors.ts';
import { fillRecordFromWs, orderActorDeps, orderStatusFromWs } from './venue.ts';
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

/** Wait for the WebSocket to be connected; a connect failure rejects (the coordinator decides what next). */
function waitForConnection(ws: KalshiWsClient): Promise<void> {
  if (ws.isConnected()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const off = ws.onEvent((event) => {
      if (event.type === 'connected') {
        off();
        resolve();
      } else if (event.type === 'connect_failed') {
        off();
        reject(new Error(`orderbook stream: ${event.error}${event.status ? ` (HTTP ${event.status})` : ''}`));
      }
    });
  });
}

export class TradingSystem implements SystemView {
  readonly clock: Clock;
  readonly registry: MarketRegistry;
  private readonly feed: MarketFeed;
  private readonly journal: OrderStateJournal;
  private readonly view: SystemStatus;
  readonly coordinator: Actor<typeof coordinatorMachine>;
  readonly trader: Actor<typeof traderMachine> | null;
  private readonly operator: OperatorControls;

  private readonly options: TradingSystemOptions;
  private readonly env: StoreEnvironment;
  private readonly venue: VenueContext;
  private readonly marketMeta = new Map<string, { ranges: PriceRange[]; title: string | null }>();
  private readonly dirtyBooks = new Set<string>();
  private markets: string[] = [];
  private subscribed = false;
  private flushScheduled = false;
  private lastPaused: string | null = null;
  private readonly cleanups: Array<() => void> = [];
  private stopped = false;
  /** Journal writes that follow an order's life after its create answer, kept in order. */
  /** Stream fills, journaled one after the other, each before the trader applies it. */
  private fillChain: Promise<void> = Promise.resolve();

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

    this.trader = options.tradingEnabled ? this.createTrader(traderId) : null;
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

    const machine = coordinatorMachine.provide({
      actors: {
        initializeSystem: fromPromise(async () => this.initializeSystem()),
        connectOrderbook: fromPromise(async ({ input }) => this.connectOrderbook(input.markets)),
        connectTradingClient: fromPromise(async () => this.connectTradingClient()),
        syncKalshiData: fromPromise(async ({ input }) => this.sync(input.kind)),
        watchOrderbookHealth: orderbookActivityWatcher({
          clock: options.clock,
          lastActivityAtMs: () => this.view.lastActivityAtMs(),
        }),
        shutdownSystem: fromPromise(async ({ input }) => this.shutdownSystem(input.cancelOrders)),
        probeJournal: fromPromise(async () => {
          await options.pool.query('SELECT 1');
        }),
        // an authenticated read, like the trader's own requests (a public endpoint may be fine)
        probeTradingApi: fromPromise(async () => {
          await options.rest.getBalance();
        }),
      },
    });
    this.coordinator = createActor(machine, {
      input: {
        tradingEnabled: options.tradingEnabled,
        startedAtMs: options.clock.now(),
        ...options.coordinator,
      },
      clock: options.clock,
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  start(): void {
    this.cleanups.push(this.view.observeCoordinator(this.coordinator));
    const sub = this.coordinator.subscribe({ next: () => this.onCoordinatorChange(), error: (e) => this.view.recordError(String(e)) });
    this.cleanups.push(() => sub.unsubscribe());
    this.cleanups.push(this.options.ws.onEvent((event) => this.onWsEvent(event)));
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
    this.trader?.start();
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
    this.trader?.stop();
    this.coordinator.stop();
    this.registry.stopAll();
    await this.options.ws.stop();
    await this.fillChain;
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

  // ---- coordinator actors -----------------------------------------------------------------------

  private async initializeSystem(): Promise<{ markets: string[] }> {
    const { selection, rest } = this.options;
    const markets = await selectMarkets(rest, selection, this.clock);
    // stop() may have run during the request: market actors made now would outlive the system
    this.assertRunning();
    for (const m of markets) {
      const ranges = m.priceRanges && m.priceRanges.length > 0
        ? m.priceRanges
        : priceRangesFor((m.priceLevelStructure as PriceLevelStructure) ?? 'linear_cent');
      this.marketMeta.set(m.ticker, { ranges, title: m.title });
    }
    this.markets = markets.map((m) => m.ticker);
    this.view.markets = this.markets;
    for (const t of this.markets) this.registry.add(t);
    this.view.activity('initialization', `selected ${this.markets.length} markets (${selection.mode})`, 'info', {
      markets: this.markets.slice(0, 5),
      market_count: this.markets.length,
    });
    return { markets: this.markets };
  }

  private async connectOrderbook(markets: string[]): Promise<{ marketsConnected: number }> {
    const ws = this.options.ws;
    // after stop() the stream must stay stopped (a started client reconnects forever)
    this.assertRunning();
    ws.start();
    await waitForConnection(ws);
    if (!this.subscribed) {
      await ws.subscribe(['orderbook_delta'], markets);
      await ws.subscribe(['trade'], markets);
      await ws.subscribe(['market_lifecycle_v2']);
      if (this.options.tradingEnabled) {
        await ws.subscribe(['fill']);
        await ws.subscribe(['user_orders']);
      }
      this.subscribed = true;
    }
    return { marketsConnected: markets.length };
  }

  /** The coordinator's promise actors keep running after it stops; their side effects must not. */
  private assertRunning(): void {
    if (this.stopped) throw new Error('the trading system is stopping');
  }

  private async connectTradingClient(): Promise<Record<string, unknown>> {
    const status = await this.options.rest.getExchangeStatus();
    if (!status.tradingActive) throw new Error('exchange reports trading inactive');
    const balance = await this.options.rest.getBalance();
    return { balance: balance.balance, environment: this.env };
  }

  private async sync(kind: 'initial' | 'periodic'): Promise<SyncSummary> {
    try {
      const outcome = await syncWithVenue(
        {
          rest: this.options.rest,
          pool: this.options.pool,
          env: this.env,
          clock: this.clock,
          traderId: this.venue.traderId,
          localView: () => (this.trader ? localReconcileView(this.trader.getSnapshot().context) : { orders: [], positions: [] }),
        },
        kind,
      );
      this.view.counters.syncs_ok++;
      this.view.lastSync = outcome.summary;
      const r = outcome.result;
      this.trader?.send({
        type: 'RECONCILED',
        agreed: r.agreed,
        asOfMs: outcome.asOfMs,
        positions: r.positions,
        reportedTickers: r.reportedTickers,
        accountedFillIds: r.accountedFillIds,
        adoptOrders: r.adoptOrders,
        unansweredCreates: outcome.unansweredCreates,
        externalOrders: r.externalOrders,
        missingFills: r.missingFills,
        orderUpdates: r.orderUpdates,
        findings: r.findings,
        ...(outcome.balanceCoherent ? { cash: outcome.balance } : {}),
      });
      const blocking = r.findings.filter((f) => f.severity === 'blocking');
      this.view.activity(
        'sync',
        `${kind} sync: ${outcome.summary.positions} positions, ${outcome.summary.restingOrders} resting orders, ${outcome.summary.newFills} new fills${r.agreed ? '' : `; ${blocking.length} blocking findings`}`,
        r.agreed ? 'info' : 'warning',
        { findings: r.findings.slice(0, 10).map((f) => f.message) },
      );
      this.view.scheduleTradingState();
      return outcome.summary;
    } catch (error) {
      this.view.counters.syncs_failed++;
      const message = error instanceof Error ? error.message : String(error);
      this.view.recordError(`${kind} sync failed: ${message}`);
      // before the sync's own failure reaches the chart: a sync the outage broke is held, not counted
      this.journalFailed(error);
      throw error;
    }
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

  private async shutdownSystem(cancelOrders: boolean): Promise<void> {
    const trader = this.trader;
    if (!trader || !cancelOrders) return;
    // Pause first: an active trader re-quotes on the book changes its own cancels cause, which
    // left 4–6 orders resting after a "graceful" shutdown.
    this.lastPaused = 'shutdown';
    trader.send({ type: 'PAUSE', reason: 'shutdown' });
    trader.send({ type: 'CANCEL_ALL', reason: 'shutdown' });
    // Done when nothing of ours rests; the coordinator's shutdown timeout (or SHUTDOWN_NOW) ends
    // the wait otherwise, and this loop with it.
    await new Promise<void>((resolve) => {
      const check = () => {
        if (openOrderCount(trader.getSnapshot().context) === 0 || this.coordinator.getSnapshot().status !== 'active') resolve();
        else this.clock.setTimeout(check, 20);
      };
      check();
    });
  }

  // ---- trader -----------------------------------------------------------------------------------

  private createTrader(traderId: string) {
    const orderLogic = orderMachine.provide({ actors: orderActors(orderActorDeps(this.venue)) });
    const machine = traderMachine.provide({ actors: { order: orderLogic } });
    return createActor(machine, {
      clock: this.options.clock,
      ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
      input: {
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
        notify: (n) => this.onTraderNotification(n),
        clock: this.clock,
      },
    });
  }

  private onTraderNotification(n: TraderNotification): void {
    this.operator.observe(n);
    switch (n.type) {
      case 'TRADER_ACTING':
        this.coordinator.send({ type: 'TRADER_ACTING', traderId: n.traderId });
        break;
      case 'TRADER_IDLE':
        this.coordinator.send({ type: 'TRADER_IDLE', traderId: n.traderId });
        break;
      case 'TRADER_STATE':
        this.view.activity('trader', `trader ${n.state}: ${n.reason}`, n.state === 'paused' ? 'warning' : 'info');
        break;
      case 'ORDER_PLACED':
        this.view.counters.orders_placed++;
        this.journalDecision(n.intent, 'submitted', null, { clientOrderId: n.clientOrderId });
        this.view.orderChanged(n.clientOrderId);
        break;
      case 'ORDER_ADOPTED': {
        this.view.counters.orders_adopted = (this.view.counters.orders_adopted ?? 0) + 1;
        this.view.activity('trader', `adopted resting order ${n.clientOrderId} of an earlier run${n.canceling ? ' (over the open-order limit: canceling)' : ''}`, 'info');
        this.journal.adopted(n.clientOrderId, n.orderId, { canceling: n.canceling });
        this.view.orderChanged(n.clientOrderId);
        break;
      }
      case 'ORDER_RECOVERED':
        this.view.activity('trader', `order ${n.clientOrderId} of an earlier run got no answer and is not at the exchange yet: counted until it lands or can no longer`, 'info');
        this.view.orderChanged(n.clientOrderId);
        break;
      case 'ORDER_DENIED':
        this.view.counters.orders_denied++;
        this.journalDecision(n.intent, 'denied', `${n.rule}: ${n.reason}`, { rule: n.rule });
        this.view.activity('risk', `order denied (${n.rule}): ${n.reason}`, 'warning', { ticker: n.intent.ticker });
        break;
      case 'ORDER_CLOSED':
        this.view.counters.orders_closed++;
        this.journal.state(n.order, 'closed', n.reason);
        this.view.emit({ type: 'order_update', data: this.view.orderView(n.order) });
        break;
      case 'FILL_APPLIED': {
        const fill: FillView = {
          fillId: n.fill.fillId,
          clientOrderId: n.fill.clientOrderId ?? null,
          ticker: n.fill.ticker,
          side: n.fill.side,
          price: n.fill.price,
          count: n.fill.count,
          fee: n.fill.fee,
          isTaker: n.fill.isTaker,
          tsMs: n.fill.tsMs,
        };
        if (n.managed && n.fill.clientOrderId) this.journalFilledCount(n.fill.clientOrderId);
        this.view.fillApplied(fill, n.position);
        break;
      }
      case 'DECISION_FAILED':
        this.view.recordError(`strategy failed on ${n.ticker}: ${n.error}`);
        break;
      case 'POSITION_CLOSING':
        this.view.activity('trader', `flatten ${n.ticker}: ${n.sent ? n.detail : `not closed (${n.detail})`}`, n.sent ? 'info' : 'warning', { ticker: n.ticker });
        break;
      case 'RECONCILE_REQUESTED':
        this.view.activity('sync', `trader asks for a reconcile: ${n.reason}`, 'info');
        this.coordinator.send({ type: 'SYNC_NOW' });
        break;
    }
  }

  /** Every order decision (placed or denied by risk) goes to `trader_decisions`; a failed write is reported, never blocks. */
  private journalDecision(
    intent: { ticker: string; side: OrderSide; price: number; count: number },
    outcome: 'submitted' | 'denied',
    reason: string | null,
    details: Record<string, unknown>,
  ): void {
    journalDecision(this.options, {
      trader: this.venue.traderId,
      strategy: this.options.strategy.name,
      env: this.env,
      ticker: intent.ticker,
      atMs: this.clock.now(),
      action: intent.side === 'bid' ? 'buy_yes' : 'sell_yes',
      price: intent.price,
      count: intent.count,
      outcome,
      reason,
      details,
    }).catch((error: unknown) => this.view.recordError(`could not journal a decision on ${intent.ticker}: ${String(error)}`));
  }

  /** After a fill, the order actor has applied it by the next microtask: journal its new count. */
  private journalFilledCount(clientOrderId: string): void {
    queueMicrotask(() => {
      const order = this.trader?.getSnapshot().context.orders[clientOrderId];
      // gone: closed, and ORDER_CLOSED journals the final state
      if (!order || (order.state !== 'partially_filled' && order.state !== 'pending_cancel')) return;
      const { orderId, state, filledCount, remainingCount } = order;
      this.journal.state({ clientOrderId, orderId, state, filledCount, venueFilledCount: filledCount, remainingCount }, 'fill', null);
    });
  }

  // ---- stream routing ---------------------------------------------------------------------------

  private onWsEvent(event: WsClientEvent): void {
    const outcome = this.feed.route(event);
    switch (event.type) {
      case 'connected':
        if (event.attempt > 1 || this.view.counters.ws_reconnects > 0) {
          this.view.activity('connection', `orderbook stream reconnected (attempt ${event.attempt})`, 'success');
        }
        break;
      case 'disconnected':
        this.view.counters.ws_reconnects++;
        this.coordinator.send({ type: 'ORDERBOOK_DOWN', reason: `stream closed: ${event.reason || event.code}` });
        this.view.activity('connection', `orderbook stream disconnected (${event.code} ${event.reason})`, 'warning');
        break;
      case 'connect_failed':
        this.view.activity('connection', `orderbook connect failed: ${event.error}; retry in ${event.nextAttemptMs} ms`, 'warning');
        break;
      case 'subscribed':
        if (event.channel === ORDERBOOK_CHANNEL) {
          if (event.previousSid !== undefined) {
            // Resubscribed after a reconnect: fills may have been missed while down.
            this.coordinator.send({ type: 'ORDERBOOK_UP', reason: 'resubscribed after reconnect' });
            this.coordinator.send({ type: 'SYNC_NOW' });
          }
        }
        break;
      case 'delta':
        if (outcome === 'applied') this.view.deltaApplied(event.ticker);
        break;
      case 'gap':
        this.view.counters.ws_gaps++;
        this.view.activity('orderbook', `sequence gap on sid ${event.sid} (${event.reason}); re-snapshotting ${event.tickers.length} markets`, 'warning');
        break;
      case 'malformed':
        this.view.counters.ws_malformed_frames++;
        this.view.activity('orderbook', `malformed frame ignored: ${event.reason}`, 'warning');
        break;
      case 'fill': {
        this.view.counters.fills_received++;
        const fill = fillRecordFromWs(event.msg, this.clock);
        // A fill is durable before it moves cash or positions: one that cannot be journaled is not
        // applied; the next reconciliation brings it in from the venue (journaled first there too).
        // Written at once (fills group-commit with everything else queued); applied in arrival order.
        const journaled = journalFill(this.venue, fill, 'ws');
        journaled.catch(() => undefined); // handled in the chain below, maybe after it settles
        this.fillChain = this.fillChain
          .then(() => journaled)
          .then(
            (isNew) => {
              if (isNew) this.view.counters.fills_journaled++;
              this.trader?.send({ type: 'FILL_RECEIVED', fill });
            },
            (error: unknown) => {
              this.view.recordError(`could not journal fill ${fill.fillId} (applied at the next reconciliation): ${String(error)}`);
              this.journalFailed(error);
            },
          );
        break;
      }
      case 'user_order':
        this.trader?.send(orderStatusFromWs(event.msg));
        break;
      case 'market_lifecycle':
        if (event.msg.eventType === 'settled' || event.msg.eventType === 'determined') {
          if (this.registry.state(event.msg.ticker) !== undefined) {
            this.view.activity('market', `${event.msg.ticker} ${event.msg.eventType}${event.msg.result ? ` (${event.msg.result})` : ''}`, 'info');
            this.coordinator.send({ type: 'SYNC_NOW' });
          }
        }
        break;
      case 'server_error':
        this.view.activity('orderbook', `stream error ${event.code}: ${event.message}`, 'warning');
        break;
      default:
        break;
    }
  }

  private onBookUpdate(ticker: string): void {
    this.view.bookUpdated(ticker);
    this.scheduleFlush(ticker);
  }

  /** Coalesces book updates: the trader and the feed hear about each market once per macrotask. */
  private scheduleFlush(ticker: string): void {
    this.dirtyBooks.add(ticker);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      const tickers = [...this.dirtyBooks];
      this.dirtyBooks.clear();
      for (const t of tickers) {
        this.trader?.send({ type: 'BOOK_UPDATED', ticker: t });
        if (this.view.hasListeners) this.view.emit({ type: 'market_update', data: this.view.marketStatus(t) });
      }
    });
  }

  private onCoordinatorChange(): void {
    const snap = this.coordinator.getSnapshot();
    const { state } = describeState(snap);
    const recovered = this.view.coordinatorChanged();
    if (recovered.includes('journal')) this.journal.replayBacklog();
    // the venue answers again: orders left `unknown` by failed sends are looked up now
    if (recovered.includes('trading_api')) this.trader?.send({ type: 'RESOLVE_UNKNOWN', reason: 'trading API answering again' });
    if (!this.trader || this.lastPaused === 'shutdown') return;
    // The chart says why entries must stop (error, database outage, trading API, no book); the
    // trader is paused with that reason and resumed when the system is operational again.
    const pauseReason = tradingPauseReason(snap);
    const operational = state === 'ready' || state === 'acting';
    if (pauseReason && this.lastPaused !== pauseReason) {
      this.lastPaused = pauseReason;
      this.trader.send({ type: 'PAUSE', reason: pauseReason });
    } else if (!pauseReason && this.lastPaused !== null && operational) {
      this.lastPaused = null;
      this.trader.send({ type: 'RESUME' });
    }
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

  /** Resolves when the coordinator reaches `state` (e.g. 'ready'), rejects after `timeoutMs` of wall time. */
  waitForState(state: string, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new Error(`timed out waiting for ${state}; current ${describeState(this.coordinator.getSnapshot()).state}`));
      }, timeoutMs);
      const check = (): boolean => {
        if (describeState(this.coordinator.getSnapshot()).state === state) {
          clearTimeout(timer);
          resolve();
          return true;
        }
        return false;
      };
      const sub = this.coordinator.subscribe(() => {
        if (check()) sub.unsubscribe();
      });
      if (check()) sub.unsubscribe();
    });
  }
}

export function startTradingSystem(options: TradingSystemOptions): TradingSystem {
  const system = new TradingSystem(options);
  system.start();
  return system;
}
