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
    system.trader?.stop();
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

/** Runs a scenario; never throws for a failing system (that is a failed run), only for bad input. */
export async function runSession(loaded: LoadedScenario, options: RunSessionOptions = {}): Promise<SessionOutcome> {
  const scenario = loaded.scenario;
  const realtime = options.realtime === true || scenario.clock === 'realtime';
  const log = options.log ?? (() => {});
  const wallStart = performance.now();
  const wallStartedAt = new Date();

  const factories = await scenarioStrategyFactories(scenario);
  const store = options.store ?? (await SessionStore.open({ ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}), ...(options.storeDataDir ? { dataDir: options.storeDataDir } : {}) }));
  const ownsStore = options.store === undefined;

  // markets first: a replay reads the recording from the store's main schema
  let specs: MarketSpec[];
  let replay: ReplayMarket[] | undefined;
  try {
    if (scenario.exchange.replay) {
      ({ specs, replay } = await replayMarkets(store.pool, scenario.exchange.replay.session, scenario.exchange.replay.tickers ? { tickers: scenario.exchange.replay.tickers } : {}));
    } else {
      specs = marketSpecsFor(scenario);
    }
  } catch (error) {
    if (ownsStore) await store.close();
    throw error;
  }
  const tickers = scenario.trader.tickers ?? specs.map((s) => s.ticker);

  const startMs = scenario.start ? Date.parse(scenario.start) : Date.UTC(2026, 0, 1);
  const virtualClock = realtime ? null : new VirtualClock(startMs);
  const clock: Clock = virtualClock ?? systemClock;
  const tracker = new ActivityTracker();

  let ledger: RunLedger | null = null;
  let sim: RunningSimulator | InProcessSimulator | null = null;
  let driver: VirtualDriver | null = null;
  const generations: Generation[] = [];
  let current: Generation | null = null;
  const observer = new SessionObserver(clock);
  const applied: AppliedFault[] = [];
  const timers: TimerHandle[] = [];
  let pnl: PnlTracker | null = null;
  // reset once the first trader runs; until then a run that fails counts from here, not from the epoch
  let sessionStartMs = clock.now();
  let error: unknown = null;
  let results: ExpectationResult[] = [];
  let journalOrders: JournalOrder[] = [];
  let journalFills: StoredFill[] = [];
  let userId = '';
  let finalCounters: Record<string, number> = {};
  let finalStatusLog: string[] = [];
  let traderPositions = new Map<string, Count>();
  let exchangePositions = new Map<string, Count>();
  let finalState: string | null = null;
  let fees: Micros = 0;
  let crashes = 0;
  let simulatedMs: number | null = null;
  let stepsAtEnd: number | null = null;
  const totalMs = scenario.duration + scenario.drain;

  let lastProgressWall = 0;
  let phase: SessionProgress['phase'] = 'starting';
  const progress = (force = false) => {
    if (!options.onProgress) return;
    const now = performance.now();
    if (!force && now - lastProgressWall < PROGRESS_EVERY_MS) return;
    lastProgressWall = now;
    options.onProgress({
      phase,
      elapsedMs: Math.min(totalMs, Math.max(0, clock.now() - sessionStartMs)),
      totalMs,
      state: observer.current,
      orders: sim ? sim.exchange.listOrders(userId).length : 0,
      fills: sim ? sim.exchange.listFills(userId).length : 0,
      faultsApplied: applied.length,
    });
  };

  // An error escaping the actor system would kill a real trader process: here it ends the session
  // as an error with its message, instead of taking the runner (and the report) down with it.
  const onEscapedError = (e: unknown) => {
    error ??= new Error(`the trader process crashed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  };
  process.on('uncaughtException', onEscapedError);
  process.on('unhandledRejection', onEscapedError);

  try {
    ledger = await store.beginRun({
      scenario: scenario.name,
      sha256: loaded.sha256,
      seed: scenario.seed,
      clock: realtime ? 'real' : 'virtual',
      startedMs: wallStartedAt.getTime(),
    });
    const simOptions = {
      clock,
      seed: scenario.seed,
      markets: specs,
      ...(replay ? { replay } : {}),
      activity: scenario.exchange.activity,
      ...(scenario.exchange.activity_step ? { activityStepMs: scenario.exchange.activity_step } : {}),
      ...(scenario.exchange.cash !== undefined ? { defaultCash: scenario.exchange.cash } : {}),
      ...(options.simulatorHistory ? { history: options.simulatorHistory } : {}),
    };
    sim = realtime ? await startSimulator(simOptions) : startInProcessSimulator(simOptions);
    const inProcess = realtime ? null : (sim as InProcessSimulator);
    if (virtualClock) {
      driver = new VirtualDriver(virtualClock, tracker, { progressSources: [() => inProcess!.transfers] });
    }
    const riskLimits = riskLimitsFor(scenario);
    const activeLedger = ledger;
    const activeSim = sim;

    const startGeneration = async (index: number): Promise<Generation> => {
      const fetchT = trackFetch(inProcess ? inProcess.fetch : (globalThis.fetch as typeof fetch), tracker, clock, inProcess ? VIRTUAL_REST_TIMEOUT_MS : undefined);
      const socketsT = trackWebSockets(inProcess ? inProcess.WebSocketImpl : WebSocket, tracker);
      const poolT = trackPool(activeLedger.database.pool, tracker);
      const jitter = new Rng((scenario.seed * 7919 + index * 104_729) | 0);
      const runtime = await createRuntime({
        environment: 'sim',
        selection: { mode: 'config', tickers },
        strategy: scenario.trader.strategy,
        strategyFactories: factories,
        dataDir: options.dataDir ?? '.kalshiflow',
        clock,
        database: { ...activeLedger.database, pool: poolT.pool },
        simulator: activeSim,
        fetch: fetchT.fetch,
        WebSocketImpl: socketsT.WebSocketImpl,
        random: () => jitter.next(),
        // client_order_ids must not depend on wall time: the seed and the generation make them
        runNonce: `s${scenario.seed.toString(36)}g${index}`,
        riskLimits,
        ...(scenario.trader.throttle !== undefined ? { throttleMs: scenario.trader.throttle } : {}),
        coordinator: {
          seed: (scenario.seed * 31 + index) | 0,
          cancelOrdersOnShutdown: scenario.trader.cancel_on_shutdown,
          ...(scenario.trader.sync_interval !== undefined ? { syncIntervalMs: scenario.trader.sync_interval } : {}),
        },
      });
      userId = runtime.credentials?.keyId ?? userId;
      const generation: Generation = { index, runtime, fetch: fetchT, sockets: socketsT, pool: poolT, detach: () => {} };
      generation.detach = observer.attach(runtime.system, index);
      generations.push(generation);
      current = generation;
      return generation;
    };

    const crash = (): Generation | null => {
      const gen = current;
      if (!gen) return null;
      current = null;
      finalCounters = killGeneration(gen, tracker);
      observer.markDown(`trader generation ${gen.index} killed`);
      return gen;
    };

    const applyFault = (fault: Fault, index: number): void => {
      const faults = activeSim.faults;
      const record: AppliedFault = { index, kind: fault.kind, atMs: clock.now() - sessionStartMs, params: describeFault(fault), applied: '' };
      switch (fault.kind) {
        case 'ws_drop':
          record.applied = `cut ${faults.dropWebSockets()} WebSocket connections`;
          break;
        case 'ws_refuse': {
          faults.refuseWebSocketUpgrades(fault.for);
          record.applied = `cut ${faults.dropWebSockets()} connections; upgrades refused (503) for ${formatDuration(fault.for)}`;
          break;
        }
        case 'rest_error':
          faults.failRest(fault.status, fault.path, fault.for);
          record.applied = `REST ${fault.path} answers ${fault.status} for ${formatDuration(fault.for)}`;
          break;
        case 'seq_gap': {
          const ticker = fault.ticker ?? tickers[0];
          faults.skipSeq(ticker);
          record.applied = `next orderbook delta of ${ticker} skips a sequence number`;
          break;
        }
        case 'malformed_frame':
          record.applied = `sent a malformed frame on ${faults.sendMalformedFrame()} connections`;
          break;
        case 'reject_orders':
          faults.rejectNextOrders(fault.count, fault.status);
          record.applied = `next ${fault.count} order creations refused with ${fault.status}`;
          break;
        case 'latency':
          faults.addLatency(fault.ms, fault.for);
          record.applied = `REST answers and frames delayed ${fault.ms} ms for ${formatDuration(fault.for)}`;
          break;
        case 'settle': {
          const outcome = faults.settleMarket(fault.ticker, fault.result);
          record.applied = outcome.ok ? `${fault.ticker} settled ${fault.result}` : `could not settle ${fault.ticker}: ${outcome.error.message}`;
          break;
        }
        case 'trader_crash': {
          const killed = crash();
          if (!killed) {
            record.applied = 'no trader running (already down)';
            break;
          }
          crashes++;
          record.applied = `killed trader generation ${killed.index}; restart in ${formatDuration(fault.restart_after)}`;
          const next = killed.index + 1;
          const restart = () => {
            observer.log('session', 'info', `starting trader generation ${next}`, -1);
            const started = startGeneration(next).then(
              () => log(`  ${formatDuration(clock.now() - sessionStartMs)}  trader generation ${next} started`),
              (e: unknown) => {
                error ??= e;
              },
            );
            void tracker.track(started);
          };
          timers.push(clock.setTimeout(restart, fault.restart_after));
          break;
        }
      }
      applied.push(record);
      observer.log('fault', 'warning', `fault ${fault.kind}: ${record.applied}`);
      log(`  ${formatDuration(record.atMs)}  ${fault.kind}: ${record.applied}`);
    };

    // ---- start ----
    await tracker.track(startGeneration(0));
    // on the wall clock the start took real time: the timeline counts from a running trader
    sessionStartMs = clock.now();
    pnl = new PnlTracker(sim.exchange, userId);
    pnl.start();
    const activePnl = pnl;
    const sampleEvery = Math.max(1000, Math.round(scenario.duration / 300));
    const sampleTick = () => {
      activePnl.sample(clock.now() - sessionStartMs);
      if (clock.now() - sessionStartMs < totalMs) timers.push(clock.setTimeout(sampleTick, sampleEvery));
    };
    timers.push(clock.setTimeout(sampleTick, sampleEvery));
    scenario.faults.forEach((fault, i) => {
      timers.push(clock.setTimeout(() => applyFault(fault, i), fault.at));
    });

    const wait = async (untilMs: number) => {
      if (driver) {
        await driver.runUntil(
          untilMs,
          () => {
            observer.touch();
            progress();
          },
          () => error !== null,
        );
        if (error) throw error;
        return;
      }
      while (clock.now() < untilMs) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(250, untilMs - clock.now())));
        observer.touch();
        progress();
        if (error) throw error;
      }
    };

    phase = 'running';
    progress(true);
    await wait(sessionStartMs + scenario.duration);

    // ---- drain: no new market activity, no faults; the trader finishes and reconciles ----
    phase = 'draining';
    sim.activity?.stop();
    sim.replay?.stop();
    sim.faults.clear();
    observer.log('session', 'info', `session end: market activity stopped, faults cleared; draining ${formatDuration(scenario.drain)}`, -1);
    await wait(sessionStartMs + totalMs);

    // ---- observations ----
    phase = 'checking';
    progress(true);
    observer.finish();
    finalState = current ? SessionObserver.labelOf((current as Generation).runtime.system) : null;
    const ledgerPool = activeLedger.database.pool;
    journalOrders = (await listRecentOrders(ledgerPool, { limit: 10_000_000 })).reverse();
    journalFills = await listFills(ledgerPool, { limit: 10_000_000 });
    const gen = current as Generation | null;
    if (gen) {
      const ctx = gen.runtime.system.trader?.getSnapshot().context;
      traderPositions = new Map(Object.values(ctx?.positions ?? {}).map((p) => [p.ticker, p.position] as [string, Count]));
      finalCounters = gen.runtime.system.status().counters;
      finalStatusLog = gen.runtime.system.status().statusLog.split('\n').filter(Boolean);
    }
    exchangePositions = new Map(sim.exchange.listPositions(userId).map((p) => [p.ticker, p.position] as [string, Count]));
    fees = pnl.fees();
    pnl.sample(clock.now() - sessionStartMs);
    const exchangeOrders = sim.exchange.listOrders(userId).reverse();
    const restingAtExchange = sim.exchange.listOrders(userId, { status: 'resting' });
    const managed = gen?.runtime.system.trader?.getSnapshot().context.orders ?? {};
    const unmanagedResting = restingAtExchange
      .filter((r) => !Object.hasOwn(managed, r.clientOrderId))
      .map((r) => ({ clientOrderId: r.clientOrderId, orderId: r.orderId }));
    // the trader keys fills by trade_id (Kalshi documents fill_id = trade_id); match on it
    const exchangeFills = sim.exchange.listFills(userId).reverse().map((f) => ({ fillId: f.tradeId }));
    results = checkExpectations(scenario.expect, {
      finalState,
      visited: observer.visited,
      exchangeOrders,
      journalOrders,
      exchangeFills,
      journalFills,
      exchangeHistoryDroppedThroughMs: sim.exchange.historyDroppedThroughMs(userId),
      traderPositions,
      exchangePositions,
      ...(gen ? {} : { traderViewMissing: 'no trader running at the end of the session' }),
      unmanagedResting,
      restingAtExchange: restingAtExchange.length,
      finalPnl: pnl.pnl(),
      maxDrawdown: pnl.maxDrawdown,
    });

    simulatedMs = clock.now() - sessionStartMs;
    stepsAtEnd = driver?.steps ?? null;

    // ---- graceful stop of the last trader ----
    if (gen) {
      gen.detach();
      const closing = gen.runtime.close();
      const finished = driver ? await driver.runWhile(closing, SHUTDOWN_LIMIT_MS) : await closing.then(() => true, () => false);
      await closing.catch(() => undefined);
      if (scenario.expect.clean_shutdown !== undefined) {
        results.push(checkCleanShutdown(scenario.expect.clean_shutdown, sim.exchange.listOrders(userId, { status: 'resting' }).reverse(), finished));
      }
    }
  } catch (e) {
    error ??= e;
  }
  if (error) {
    // a restart may still be starting a trader: let it finish, then kill whatever is running
    await Promise.race([tracker.whenIdle(), new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (current) {
      finalCounters = killGeneration(current, tracker);
      current = null;
    }
  }

  process.off('uncaughtException', onEscapedError);
  process.off('unhandledRejection', onEscapedError);

  // ---- report ----
  observer.finish();
  for (const t of timers) clock.clearTimeout(t);
  for (const g of generations) if (g !== current) g.detach();
  const status: SessionOutcome['status'] = error ? 'error' : results.every((r) => r.passed) ? 'passed' : 'failed';
  const failures = error ? [`session error: ${error instanceof Error ? error.message : String(error)}`] : describeFailures(results);
  const wallMs = performance.now() - wallStart;
  const exchange = sim?.exchange;
  const report = buildReport({
    scenario: loaded,
    realtime,
    runId: ledger?.runId ?? null,
    schema: ledger?.schema ?? null,
    database: store.url,
    wallStartedAt,
    wallMs,
    virtualStartMs: sessionStartMs,
    simulatedMs: simulatedMs ?? Math.max(0, clock.now() - sessionStartMs),
    driverSteps: stepsAtEnd ?? driver?.steps ?? null,
    status,
    error: error ? (error instanceof Error ? error.message : String(error)) : null,
    expectations: results,
    pnl: pnl ? { samples: pnl.samples, final: pnl.pnl(), maxDrawdown: pnl.maxDrawdown, fees } : null,
    finalState,
    generations: generations.length,
    crashes,
    counters: finalCounters,
    statusLog: finalStatusLog,
    visited: observer.visited,
    timeline: observer.timeline,
    faults: faultReactions(applied, observer, scenario, sessionStartMs, journalOrders),
    activity: observer.activity,
    journalOrders,
    journalFills,
    exchangeOrders: exchange ? exchange.listOrders(userId).reverse() : [],
    traderPositions,
    exchangePositions,
    markets: specs,
    activityStats: sim?.activity?.stats() ?? [],
  });

  let files: string[] = [];
  try {
    if (options.outDir) files = await writeReportFiles(report, options.outDir);
  } catch (e) {
    failures.push(`could not write the report: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    await ledger?.finish({
      status,
      endedMs: Date.now(),
      assertionsPassed: results.filter((r) => r.passed).length,
      assertionsFailed: results.filter((r) => !r.passed).length,
      report: report as unknown as Record<string, unknown>,
    });
  } catch (e) {
    failures.push(`could not store the run: ${e instanceof Error ? e.message : String(e)}`);
  }
  await sim?.close().catch(() => undefined);
  if (ownsStore) await store.close().catch(() => undefined);
  return {
    status,
    exitCode: status === 'passed' ? 0 : 1,
    report,
    failures,
    runId: ledger?.runId ?? null,
    files,
  };
}
