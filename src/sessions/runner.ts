/**
 * Runs one scenario end to end: the simulator with the scenario's markets, the full trader
 * runtime (`createRuntime`: REST and WebSocket clients with their signing, validation, retries
 * and seq tracking, the journal, the actor system), the fault timeline, a drain, the
 * expectations, the report and the stored run.
 *
 * Virtual clock (default): the simulator runs in-process (src/sim/in-process.ts) and one
 * VirtualClock drives everything; the VirtualDriver advances it whenever the system is quiescent,
 * so a run is fast and the same for the same seed. Realtime: the simulator listens on loopback and
 * the wall clock runs. `trader_crash` kills the runtime abruptly (sockets cut, late requests and
 * queries fail, nothing cancelled or closed) and starts a new one — new TradingSystem, new run
 * nonce — on the same ledger and the same simulator.
 *
 * Part of src/sessions (wiring layer): used by `kalshiflow session run`, the tests and the bench.
 */
import WebSocket from 'ws';
import { systemClock, VirtualClock } from '../core/clock.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Count, Micros } from '../core/money.ts';
import type { RiskLimits } from '../core/risk.ts';
import { BUILTIN_STRATEGIES, createStrategy } from '../core/strategy/index.ts';
import type { Strategy, StrategyFactory } from '../core/strategy/index.ts';
import { listFills, listRecentOrders } from '../adapters/store/index.ts';
import type { JournalOrder, StoredFill } from '../adapters/store/index.ts';
import { createRuntime } from '../app/runtime.ts';
import type { Runtime } from '../app/runtime.ts';
import { closeStrategy, readyStrategy, strategyFactoriesFor, strategyName } from '../app/strategies.ts';
import { startInProcessSimulator } from '../sim/in-process.ts';
import type { InProcessSimulator } from '../sim/in-process.ts';
import type { SimFaults } from '../sim/faults.ts';
import type { HistoryRetention } from '../sim/matching/history.ts';
import { startSimulator } from '../sim/simulator.ts';
import type { RunningSimulator } from '../sim/simulator.ts';
import type { MarketSpec } from '../sim/activity/markets.ts';
import type { ReplayMarket } from '../sim/replay/recorded-replay.ts';
import { Rng } from '../core/random.ts';
import { VirtualDriver } from './driver.ts';
import { checkCleanShutdown, checkExpectations, describeFailures } from './expectations.ts';
import type { ExpectationResult } from './expectations.ts';
import { marketSpecsFor, replayMarkets } from './markets.ts';
import { SessionObserver } from './observer.ts';
import { PnlTracker } from './pnl.ts';
import { ActivityTracker, trackFetch, trackPool, trackWebSockets } from './quiescence.ts';
import type { TrackedFetch, TrackedPool, TrackedWebSockets } from './quiescence.ts';
import { buildReport, faultReactions } from './report.ts';
import type { AppliedFault, SessionReport } from './report.ts';
import { writeReportFiles } from './report-files.ts';
import type { Fault, LoadedScenario, Scenario } from './scenario.ts';
import { formatDuration, ScenarioError } from './scenario.ts';
import { SessionStore } from './store.ts';
import type { RunLedger } from './store.ts';

export interface SessionProgress {
  phase: 'starting' | 'running' | 'draining' | 'checking';
  /** Session ms elapsed and total (duration + drain). */
  elapsedMs: number;
  totalMs: number;
  state: string | null;
  orders: number;
  fills: number;
  faultsApplied: number;
}

export interface RunSessionOptions {
  /** An open store to record the run in (tests share one); otherwise one is opened and closed. */
  store?: SessionStore;
  /** postgres://… for the run's store when `store` is not given (default: embedded, in memory). */
  databaseUrl?: string;
  /** Folder of the embedded store when `store` and `databaseUrl` are not given (default in memory). */
  storeDataDir?: string;
  /** Local data folder for the simulator key pair (default `.kalshiflow`). */
  dataDir?: string;
  /** Overrides the scenario's `clock: virtual` (the CLI's --realtime). */
  realtime?: boolean;
  /** Writes report.json and report.html here. */
  outDir?: string;
  onProgress?: (progress: SessionProgress) => void;
  /** The simulator's history window (default: the simulator's, src/sim/simulator.ts SIMULATOR_HISTORY). */
  simulatorHistory?: Partial<HistoryRetention>;
  /** Lines worth telling a user while running (faults applied, restarts). */
  log?: (line: string) => void;
}

export interface SessionOutcome {
  status: 'passed' | 'failed' | 'error';
  /** 0 when every expectation holds, 1 otherwise. */
  exitCode: 0 | 1;
  report: SessionReport;
  /** One line per failed expectation (with its observed value), or the error. */
  failures: string[];
  runId: number | null;
  files: string[];
}

/** Virtual-time REST timeout (the REST client's own timeout runs on the wall clock). */
const VIRTUAL_REST_TIMEOUT_MS = 10_000;
/** Virtual time a graceful shutdown may take. */
const SHUTDOWN_LIMIT_MS = 60_000;
const PROGRESS_EVERY_MS = 100;

interface Generation {
  index: number;
  runtime: Runtime;
  fetch: TrackedFetch;
  sockets: TrackedWebSockets;
  pool: TrackedPool;
  detach: () => void;
}

function riskLimitsFor(scenario: Scenario): Partial<RiskLimits> {
  const l = scenario.trader.limits;
  const limits: Partial<RiskLimits> = {};
  if (l.max_position !== undefined) limits.maxPositionPerMarket = l.max_position;
  if (l.max_order !== undefined) limits.maxOrderSize = l.max_order;
  if (l.max_notional !== undefined) limits.maxNotional = l.max_notional;
  if (l.cash_reserve !== undefined) limits.cashReserve = l.cash_reserve;
  if (l.max_open_orders !== undefined) limits.maxOpenOrders = l.max_open_orders;
  if (scenario.trader.throttle !== undefined) limits.throttleMs = scenario.trader.throttle;
  return limits;
}

/**
 * Strategy factories with the scenario's options bound, plus `onnx:` when asked for (one registry:
 * src/app/strategies.ts); a strategy that cannot be built or loaded (bad options, an unreadable or
 * non-conforming model) is a scenario error (exit 2), found before anything starts.
 */
async function scenarioStrategyFactories(scenario: Scenario): Promise<Record<string, StrategyFactory>> {
  const spec = scenario.trader.strategy;
  const name = strategyName(spec);
  let factories: Record<string, StrategyFactory>;
  try {
    factories = await strategyFactoriesFor(spec);
  } catch (error) {
    throw new ScenarioError('trader.strategy', error instanceof Error ? error.message : String(error));
  }
  const options = scenario.trader.options;
  if (options) {
    const base = factories[name] ?? BUILTIN_STRATEGIES[name];
    // the runtime may pass options of its own (the onnx policy's clock and account): the scenario's add to them
    factories[name] = (argument, given) => base(argument, { ...(given !== null && typeof given === 'object' ? given : {}), ...options });
  }
  await probeStrategy(spec, factories, options ? 'trader.options' : 'trader.strategy');
  return factories;
}

/** Builds the strategy once and waits for what it loads (a model file), then releases it. */
async function probeStrategy(spec: string, factories: Record<string, StrategyFactory>, field: string): Promise<void> {
  let strategy: Strategy;
  try {
    strategy = createStrategy(spec, undefined, factories);
  } catch (error) {
    throw new ScenarioError(field, error instanceof Error ? error.message.split('\n')[0] : String(error));
  }
  try {
    await readyStrategy(strategy);
  } catch (error) {
    throw new ScenarioError('trader.strategy', error instanceof Error ? error.message.split('\n')[0] : String(error));
  }
  await closeStrategy(strategy);
}

/**
 * Kills a trader the way a crashed process dies: sockets cut, late requests and queries failing,
 * nothing cancelled or flushed. Its actors are stopped once the cut sockets' close events have
 * been delivered (no virtual time passes: the driver waits for `settled`), so nothing is sent to
 * an already-stopped actor.
 */
function killGeneration(gen: Generation, tracker: ActivityTracker): Record<string, number> {
  gen.detach();
  gen.sockets.kill();
  gen.fetch.kill();
  gen.pool.kill();
  const system = gen.runtime.system;
  const counters = system.status().counters;
  const settled = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
    // stops its child, the trader, with it
    system.coordinator.stop();
    system.registry.stopAll();
    // the stream client would otherwise reconnect forever: stop its timers (its socket is gone)
    await gen.runtime.ws.stop().catch(() => undefined);
    // what the dead process held in memory (e.g. an ONNX session) goes with it
    await closeStrategy(gen.runtime.strategy);
  });
  void tracker.track(settled);
  return counters;
}

function describeFault(fault: Fault): Record<string, unknown> {
  const { kind: _kind, at: _at, ...params } = fault;
  return params;
}

type Simulator = RunningSimulator | InProcessSimulator;

/**
 * What a simulator fault did, in words for the report (a trader crash is the runner's own, below).
 * `tickers[0]` is the default market of a `seq_gap` without one.
 */
function applySimulatorFault(faults: SimFaults, fault: Exclude<Fault, { kind: 'trader_crash' }>, tickers: readonly string[]): string {
  switch (fault.kind) {
    case 'ws_drop':
      return `cut ${faults.dropWebSockets()} WebSocket connections`;
    case 'ws_refuse':
      faults.refuseWebSocketUpgrades(fault.for);
      return `cut ${faults.dropWebSockets()} connections; upgrades refused (503) for ${formatDuration(fault.for)}`;
    case 'rest_error':
      faults.failRest(fault.status, fault.path, fault.for);
      return `REST ${fault.path} answers ${fault.status} for ${formatDuration(fault.for)}`;
    case 'seq_gap': {
      const ticker = fault.ticker ?? tickers[0];
      faults.skipSeq(ticker);
      return `next orderbook delta of ${ticker} skips a sequence number`;
    }
    case 'malformed_frame':
      return `sent a malformed frame on ${faults.sendMalformedFrame()} connections`;
    case 'reject_orders':
      faults.rejectNextOrders(fault.count, fault.status);
      return `next ${fault.count} order creations refused with ${fault.status}`;
    case 'latency':
      faults.addLatency(fault.ms, fault.for);
      return `REST answers and frames delayed ${fault.ms} ms for ${formatDuration(fault.for)}`;
    case 'create_delay':
      faults.delayOrderCreates(fault.ms, fault.for);
      return `order creates taken by the exchange ${fault.ms} ms late for ${formatDuration(fault.for)}`;
    case 'settle': {
      const outcome = faults.settleMarket(fault.ticker, fault.result);
      return outcome.ok ? `${fault.ticker} settled ${fault.result}` : `could not settle ${fault.ticker}: ${outcome.error.message}`;
    }
  }
}

/** The scenario's markets: generated, or read back from a recording (from the store's main schema). */
async function scenarioMarkets(scenario: Scenario, store: SessionStore): Promise<{ specs: MarketSpec[]; replay?: ReplayMarket[] }> {
  const replay = scenario.exchange.replay;
  if (!replay) return { specs: marketSpecsFor(scenario) };
  return replayMarkets(store.pool, replay.session, replay.tickers ? { tickers: replay.tickers } : {});
}

/** What the run observed at its end, for the expectations and the report. */
interface Observations {
  results: ExpectationResult[];
  journalOrders: JournalOrder[];
  journalFills: StoredFill[];
  traderPositions: Map<string, Count>;
  exchangePositions: Map<string, Count>;
  finalState: string | null;
  fees: Micros;
  simulatedMs: number | null;
  stepsAtEnd: number | null;
}

/**
 * One run of a scenario, step by step: `start` (ledger, simulator, first trader, fault timeline),
 * `runFor` (the session, then the drain), `observe` (the expectations), `stopLastTrader`, `report`.
 * A trader generation is one trader process; `trader_crash` kills one and schedules the next.
 */
class SessionRun {
  readonly realtime: boolean;
  readonly clock: Clock;
  readonly totalMs: number;
  error: unknown = null;
  private readonly scenario: Scenario;
  private readonly virtualClock: VirtualClock | null;
  private readonly tracker = new ActivityTracker();
  private readonly observer: SessionObserver;
  private readonly tickers: string[];
  private readonly applied: AppliedFault[] = [];
  private readonly timers: TimerHandle[] = [];
  private readonly generations: Generation[] = [];
  private current: Generation | null = null;
  private ledger: RunLedger | null = null;
  private sim: Simulator | null = null;
  private driver: VirtualDriver | null = null;
  private pnl: PnlTracker | null = null;
  // reset once the first trader runs; until then a run that fails counts from here, not from the epoch
  private sessionStartMs: number;
  private userId = '';
  private finalCounters: Record<string, number> = {};
  private finalStatusLog: string[] = [];
  private crashes = 0;
  private phase: SessionProgress['phase'] = 'starting';
  private lastProgressWall = 0;
  private seen: Observations = {
    results: [],
    journalOrders: [],
    journalFills: [],
    traderPositions: new Map(),
    exchangePositions: new Map(),
    finalState: null,
    fees: 0,
    simulatedMs: null,
    stepsAtEnd: null,
  };

  constructor(
    private readonly loaded: LoadedScenario,
    private readonly options: RunSessionOptions,
    private readonly factories: Record<string, StrategyFactory>,
    private readonly store: SessionStore,
    private readonly markets: { specs: MarketSpec[]; replay?: ReplayMarket[] },
  ) {
    this.scenario = loaded.scenario;
    this.realtime = options.realtime === true || this.scenario.clock === 'realtime';
    const startMs = this.scenario.start ? Date.parse(this.scenario.start) : Date.UTC(2026, 0, 1);
    this.virtualClock = this.realtime ? null : new VirtualClock(startMs);
    this.clock = this.virtualClock ?? systemClock;
    this.observer = new SessionObserver(this.clock);
    this.tickers = this.scenario.trader.tickers ?? markets.specs.map((m) => m.ticker);
    this.totalMs = this.scenario.duration + this.scenario.drain;
    this.sessionStartMs = this.clock.now();
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Reports progress at most every PROGRESS_EVERY_MS of wall time (or now, when forced). */
  private progress(force = false): void {
    if (!this.options.onProgress) return;
    const now = performance.now();
    if (!force && now - this.lastProgressWall < PROGRESS_EVERY_MS) return;
    this.lastProgressWall = now;
    this.options.onProgress({
      phase: this.phase,
      elapsedMs: Math.min(this.totalMs, Math.max(0, this.clock.now() - this.sessionStartMs)),
      totalMs: this.totalMs,
      state: this.observer.current,
      orders: this.sim ? this.sim.exchange.listOrders(this.userId).length : 0,
      fills: this.sim ? this.sim.exchange.listFills(this.userId).length : 0,
      faultsApplied: this.applied.length,
    });
  }

  /** The ledger, the simulator, the first trader, the P&L samples and the fault timeline. */
  async start(wallStartedAt: Date): Promise<void> {
    const { scenario, clock } = this;
    this.ledger = await this.store.beginRun({
      scenario: scenario.name,
      sha256: this.loaded.sha256,
      seed: scenario.seed,
      clock: this.realtime ? 'real' : 'virtual',
      startedMs: wallStartedAt.getTime(),
    });
    const simOptions = {
      clock,
      seed: scenario.seed,
      markets: this.markets.specs,
      ...(this.markets.replay ? { replay: this.markets.replay } : {}),
      activity: scenario.exchange.activity,
      ...(scenario.exchange.activity_step ? { activityStepMs: scenario.exchange.activity_step } : {}),
      ...(scenario.exchange.cash !== undefined ? { defaultCash: scenario.exchange.cash } : {}),
      ...(this.options.simulatorHistory ? { history: this.options.simulatorHistory } : {}),
    };
    const sim = this.realtime ? await startSimulator(simOptions) : startInProcessSimulator(simOptions);
    this.sim = sim;
    if (this.virtualClock) {
      const inProcess = sim as InProcessSimulator;
      this.driver = new VirtualDriver(this.virtualClock, this.tracker, { progressSources: [() => inProcess.transfers] });
    }
    await this.tracker.track(this.startGeneration(0));
    // on the wall clock the start took real time: the timeline counts from a running trader
    this.sessionStartMs = clock.now();
    const pnl = new PnlTracker(sim.exchange, this.userId);
    this.pnl = pnl;
    pnl.start();
    const sampleEvery = Math.max(1000, Math.round(scenario.duration / 300));
    const sampleTick = () => {
      pnl.sample(clock.now() - this.sessionStartMs);
      if (clock.now() - this.sessionStartMs < this.totalMs) this.timers.push(clock.setTimeout(sampleTick, sampleEvery));
    };
    this.timers.push(clock.setTimeout(sampleTick, sampleEvery));
    scenario.faults.forEach((fault, i) => this.timers.push(clock.setTimeout(() => this.applyFault(fault, i), fault.at)));
  }

  /** A trader process: the full runtime over tracked transports, on the run's ledger and simulator. */
  private async startGeneration(index: number): Promise<Generation> {
    const { scenario, clock, tracker } = this;
    const ledger = this.ledger!;
    const sim = this.sim!;
    const inProcess = this.realtime ? null : (sim as InProcessSimulator);
    const fetchT = trackFetch(inProcess ? inProcess.fetch : (globalThis.fetch as typeof fetch), tracker, clock, inProcess ? VIRTUAL_REST_TIMEOUT_MS : undefined);
    const socketsT = trackWebSockets(inProcess ? inProcess.WebSocketImpl : WebSocket, tracker);
    const poolT = trackPool(ledger.database.pool, tracker);
    const jitter = new Rng((scenario.seed * 7919 + index * 104_729) | 0);
    const runtime = await createRuntime({
      environment: 'sim',
      selection: { mode: 'config', tickers: this.tickers },
      strategy: scenario.trader.strategy,
      strategyFactories: this.factories,
      dataDir: this.options.dataDir ?? '.kalshiflow',
      clock,
      database: { ...ledger.database, pool: poolT.pool },
      simulator: sim,
      fetch: fetchT.fetch,
      WebSocketImpl: socketsT.WebSocketImpl,
      random: () => jitter.next(),
      // client_order_ids must not depend on wall time: the seed and the generation make them
      runNonce: `s${scenario.seed.toString(36)}g${index}`,
      riskLimits: riskLimitsFor(scenario),
      ...(scenario.trader.throttle !== undefined ? { throttleMs: scenario.trader.throttle } : {}),
      coordinator: {
        seed: (scenario.seed * 31 + index) | 0,
        cancelOrdersOnShutdown: scenario.trader.cancel_on_shutdown,
        ...(scenario.trader.sync_interval !== undefined ? { syncIntervalMs: scenario.trader.sync_interval } : {}),
      },
    });
    this.userId = runtime.credentials?.keyId ?? this.userId;
    const generation: Generation = { index, runtime, fetch: fetchT, sockets: socketsT, pool: poolT, detach: () => {} };
    generation.detach = this.observer.attach(runtime.system, index);
    this.generations.push(generation);
    this.current = generation;
    return generation;
  }

  private crash(): Generation | null {
    const gen = this.current;
    if (!gen) return null;
    this.current = null;
    this.finalCounters = killGeneration(gen, this.tracker);
    this.observer.markDown(`trader generation ${gen.index} killed`);
    return gen;
  }

  /** A trader crash kills the running generation and schedules the next one. */
  private crashTrader(restartAfterMs: number): string {
    const killed = this.crash();
    if (!killed) return 'no trader running (already down)';
    this.crashes++;
    const next = killed.index + 1;
    const restart = () => {
      this.observer.log('session', 'info', `starting trader generation ${next}`, -1);
      const started = this.startGeneration(next).then(
        () => this.log(`  ${formatDuration(this.clock.now() - this.sessionStartMs)}  trader generation ${next} started`),
        (e: unknown) => {
          this.error ??= e;
        },
      );
      void this.tracker.track(started);
    };
    this.timers.push(this.clock.setTimeout(restart, restartAfterMs));
    return `killed trader generation ${killed.index}; restart in ${formatDuration(restartAfterMs)}`;
  }

  private applyFault(fault: Fault, index: number): void {
    const atMs = this.clock.now() - this.sessionStartMs;
    const applied = fault.kind === 'trader_crash' ? this.crashTrader(fault.restart_after) : applySimulatorFault(this.sim!.faults, fault, this.tickers);
    const record: AppliedFault = { index, kind: fault.kind, atMs, params: describeFault(fault), applied };
    this.applied.push(record);
    this.observer.log('fault', 'warning', `fault ${fault.kind}: ${record.applied}`);
    this.log(`  ${formatDuration(record.atMs)}  ${fault.kind}: ${record.applied}`);
  }

  /** Lets the session's clock reach `untilMs` (virtual: as fast as the system settles); an error ends it. */
  private async wait(untilMs: number): Promise<void> {
    const tick = () => {
      this.observer.touch();
      this.progress();
    };
    if (this.driver) {
      await this.driver.runUntil(untilMs, tick, () => this.error !== null);
      if (this.error) throw this.error;
      return;
    }
    while (this.clock.now() < untilMs) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, untilMs - this.clock.now())));
      tick();
      if (this.error) throw this.error;
    }
  }

  /** The session, then the drain: no new market activity, no faults; the trader finishes and reconciles. */
  async runFor(): Promise<void> {
    const sim = this.sim!;
    this.phase = 'running';
    this.progress(true);
    await this.wait(this.sessionStartMs + this.scenario.duration);
    this.phase = 'draining';
    sim.activity?.stop();
    sim.replay?.stop();
    sim.faults.clear();
    this.observer.log('session', 'info', `session end: market activity stopped, faults cleared; draining ${formatDuration(this.scenario.drain)}`, -1);
    await this.wait(this.sessionStartMs + this.totalMs);
  }

  /** What the journal, the last trader and the exchange say at the end, and the expectations on it. */
  async observe(): Promise<void> {
    const { clock, observer, userId } = this;
    const sim = this.sim!;
    const pnl = this.pnl!;
    this.phase = 'checking';
    this.progress(true);
    observer.finish();
    const gen = this.current;
    const seen = this.seen;
    seen.finalState = gen ? SessionObserver.labelOf(gen.runtime.system) : null;
    const ledgerPool = this.ledger!.database.pool;
    seen.journalOrders = (await listRecentOrders(ledgerPool, { limit: 10_000_000 })).reverse();
    seen.journalFills = await listFills(ledgerPool, { limit: 10_000_000 });
    if (gen) {
      const ctx = gen.runtime.system.trader?.getSnapshot().context;
      seen.traderPositions = new Map(Object.values(ctx?.positions ?? {}).map((p) => [p.ticker, p.position] as [string, Count]));
      this.finalCounters = gen.runtime.system.status().counters;
      this.finalStatusLog = gen.runtime.system.status().statusLog.split('\n').filter(Boolean);
    }
    seen.exchangePositions = new Map(sim.exchange.listPositions(userId).map((p) => [p.ticker, p.position] as [string, Count]));
    seen.fees = pnl.fees();
    pnl.sample(clock.now() - this.sessionStartMs);
    const restingAtExchange = sim.exchange.listOrders(userId, { status: 'resting' });
    const managed = gen?.runtime.system.trader?.getSnapshot().context.orders ?? {};
    const unmanagedResting = restingAtExchange
      .filter((r) => !Object.hasOwn(managed, r.clientOrderId))
      .map((r) => ({ clientOrderId: r.clientOrderId, orderId: r.orderId }));
    seen.results = checkExpectations(this.scenario.expect, {
      finalState: seen.finalState,
      visited: observer.visited,
      exchangeOrders: sim.exchange.listOrders(userId).reverse(),
      journalOrders: seen.journalOrders,
      // the trader keys fills by trade_id (Kalshi documents fill_id = trade_id); match on it
      exchangeFills: sim.exchange.listFills(userId).reverse().map((f) => ({ fillId: f.tradeId })),
      journalFills: seen.journalFills,
      exchangeHistoryDroppedThroughMs: sim.exchange.historyDroppedThroughMs(userId),
      traderPositions: seen.traderPositions,
      exchangePositions: seen.exchangePositions,
      ...(gen ? {} : { traderViewMissing: 'no trader running at the end of the session' }),
      unmanagedResting,
      restingAtExchange: restingAtExchange.length,
      finalPnl: pnl.pnl(),
      maxDrawdown: pnl.maxDrawdown,
    });
    seen.simulatedMs = clock.now() - this.sessionStartMs;
    seen.stepsAtEnd = this.driver?.steps ?? null;
  }

  /** A graceful stop of the last trader, checked against `clean_shutdown` when the scenario asks. */
  async stopLastTrader(): Promise<void> {
    const gen = this.current;
    if (!gen) return;
    gen.detach();
    const closing = gen.runtime.close();
    const finished = this.driver ? await this.driver.runWhile(closing, SHUTDOWN_LIMIT_MS) : await closing.then(() => true, () => false);
    await closing.catch(() => undefined);
    const expected = this.scenario.expect.clean_shutdown;
    if (expected !== undefined) {
      this.seen.results.push(checkCleanShutdown(expected, this.sim!.exchange.listOrders(this.userId, { status: 'resting' }).reverse(), finished));
    }
  }

  /** After an error: a restart may still be starting a trader — let it finish, then kill whatever runs. */
  async abandon(): Promise<void> {
    await Promise.race([this.tracker.whenIdle(), new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (this.current) {
      this.finalCounters = killGeneration(this.current, this.tracker);
      this.current = null;
    }
  }

  /** Stops what is left of the run's timers and observers and builds its report. */
  report(wallStartedAt: Date, wallMs: number): { report: SessionReport; status: SessionOutcome['status']; failures: string[] } {
    const { error, observer, seen, ledger, sim, pnl } = this;
    observer.finish();
    for (const t of this.timers) this.clock.clearTimeout(t);
    for (const g of this.generations) if (g !== this.current) g.detach();
    const status: SessionOutcome['status'] = error ? 'error' : seen.results.every((r) => r.passed) ? 'passed' : 'failed';
    const failures = error ? [`session error: ${error instanceof Error ? error.message : String(error)}`] : describeFailures(seen.results);
    const report = buildReport({
      scenario: this.loaded,
      realtime: this.realtime,
      runId: ledger?.runId ?? null,
      schema: ledger?.schema ?? null,
      database: this.store.url,
      wallStartedAt,
      wallMs,
      virtualStartMs: this.sessionStartMs,
      simulatedMs: seen.simulatedMs ?? Math.max(0, this.clock.now() - this.sessionStartMs),
      driverSteps: seen.stepsAtEnd ?? this.driver?.steps ?? null,
      status,
      error: error ? (error instanceof Error ? error.message : String(error)) : null,
      expectations: seen.results,
      pnl: pnl ? { samples: pnl.samples, final: pnl.pnl(), maxDrawdown: pnl.maxDrawdown, fees: seen.fees } : null,
      finalState: seen.finalState,
      generations: this.generations.length,
      crashes: this.crashes,
      counters: this.finalCounters,
      statusLog: this.finalStatusLog,
      visited: observer.visited,
      timeline: observer.timeline,
      faults: faultReactions(this.applied, observer, this.scenario, this.sessionStartMs, seen.journalOrders),
      activity: observer.activity,
      journalOrders: seen.journalOrders,
      journalFills: seen.journalFills,
      exchangeOrders: sim ? sim.exchange.listOrders(this.userId).reverse() : [],
      traderPositions: seen.traderPositions,
      exchangePositions: seen.exchangePositions,
      markets: this.markets.specs,
      activityStats: sim?.activity?.stats() ?? [],
    });
    return { report, status, failures };
  }

  /** The report files and the stored run; what fails here is added to `failures`. Closes the simulator. */
  async record(report: SessionReport, status: SessionOutcome['status'], failures: string[]): Promise<string[]> {
    let files: string[] = [];
    try {
      if (this.options.outDir) files = await writeReportFiles(report, this.options.outDir);
    } catch (e) {
      failures.push(`could not write the report: ${e instanceof Error ? e.message : String(e)}`);
    }
    const results = this.seen.results;
    try {
      await this.ledger?.finish({
        status,
        endedMs: Date.now(),
        assertionsPassed: results.filter((r) => r.passed).length,
        assertionsFailed: results.filter((r) => !r.passed).length,
        report: report as unknown as Record<string, unknown>,
      });
    } catch (e) {
      failures.push(`could not store the run: ${e instanceof Error ? e.message : String(e)}`);
    }
    await this.sim?.close().catch(() => undefined);
    return files;
  }

  get runId(): number | null {
    return this.ledger?.runId ?? null;
  }
}

/** Runs a scenario; never throws for a failing system (that is a failed run), only for bad input. */
export async function runSession(loaded: LoadedScenario, options: RunSessionOptions = {}): Promise<SessionOutcome> {
  const wallStart = performance.now();
  const wallStartedAt = new Date();
  const factories = await scenarioStrategyFactories(loaded.scenario);
  const store = options.store ?? (await SessionStore.open({ ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}), ...(options.storeDataDir ? { dataDir: options.storeDataDir } : {}) }));
  const ownsStore = options.store === undefined;
  let markets: Awaited<ReturnType<typeof scenarioMarkets>>;
  try {
    markets = await scenarioMarkets(loaded.scenario, store);
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }
  const run = new SessionRun(loaded, options, factories, store, markets);

  // An error escaping the actor system would kill a real trader process: here it ends the session
  // as an error with its message, instead of taking the runner (and the report) down with it.
  const onEscapedError = (e: unknown) => {
    run.error ??= new Error(`the trader process crashed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  };
  process.on('uncaughtException', onEscapedError);
  process.on('unhandledRejection', onEscapedError);
  try {
    await run.start(wallStartedAt);
    await run.runFor();
    await run.observe();
    await run.stopLastTrader();
  } catch (e) {
    run.error ??= e;
  }
  if (run.error) await run.abandon();
  process.off('uncaughtException', onEscapedError);
  process.off('unhandledRejection', onEscapedError);

  const { report, status, failures } = run.report(wallStartedAt, performance.now() - wallStart);
  const files = await run.record(report, status, failures);
  if (ownsStore) await store.close().catch(() => undefined);
  return { status, exitCode: status === 'passed' ? 0 : 1, report, failures, runId: run.runId, files };
}
