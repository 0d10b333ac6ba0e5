/**
 * The coordinator: the root statechart that brings the system up, keeps it running and says what
 * is wrong. It sits at the top of src/machines; src/actors/coordinator.actors.ts supplies the named
 * actors (`initializeSystem`, `connectOrderbook`, `connectTradingClient`, `syncKalshiData`,
 * `watchOrderbookHealth`, `shutdownSystem`, the probes) and TradingSystem the `trader` logic, with
 * `coordinatorMachine.provide({ actors })`.
 *
 *   startup → initializing → orderbook_connect → trading_client_connect → kalshi_data_sync → ready ⇄ acting
 *                                 │ orderbook unavailable, trading configured                  │
 *                                 └──► (continue) … ready with orderbook region `degraded` ─────┘
 *   any stage ──failure/timeout/FATAL──► error ──backoff + jitter, forever──► the stage that failed
 *   any state ──SHUTDOWN──► shutdown ──shutdownSystem (or its timeout)──► stopped (final)
 *   any state ──SHUTDOWN_NOW──► stopped (shutdownSystem's order cancelling skipped, or cut short)
 *
 * `ready` is parallel: `activity` (idle ⇄ acting, reported as the `acting` state), `orderbook`
 * (normal ⇄ degraded, the degraded side re-invoking connectOrderbook with backoff), `journal`
 * (healthy ⇄ outage: a database failure stops all sending — journal first — and a `probeJournal`
 * with backoff brings it back), `tradingApi` (healthy ⇄ faulted: a streak of 429/5xx/network
 * failures, probed back by `probeTradingApi`) and `sync` (one periodic sync at a time; deferred
 * while a trader is acting, held while the journal is down, run at once when the journal or the
 * trading API recovers; periodic-sync failures while the API is faulted still count, so a burst
 * is `degraded` and a sustained outage becomes `error`). Entries need all of orderbook, journal and trading API: `canAct`, and the
 * trader's pause, both read the regions. Every wait is an XState delay, so the actor runs on the
 * clock it was created with (VirtualClock in tests).
 *
 * The trader is the coordinator's child (spawned from `input.trader`, `systemId: 'trader'`, its
 * parentRef the coordinator, which hears TRADER_ACTING/IDLE from it). Entering or leaving any
 * state that trading depends on (a stage, ready, error, a degraded/outage/faulted region) raises
 * REVIEW_TRADING, which pauses the trader with the first reason that holds — `system in error`,
 * `database_outage`, `trading_api_unavailable`, `order book degraded` — or resumes it in ready when
 * none does (only a pause the chart made: the trader's own risk halt stays). Shutdown's entry
 * pauses it for good and cancels its orders; leaving `faulted` asks it to resolve unknown orders.
 *
 * Bugs of the original this chart rules out (original-system.md §7): error has real recovery
 * edges and retries forever; every non-steady state has an enforced timeout; orderbook health is
 * any-message activity (the watcher), never snapshot age; one sync at a time; degraded is a state
 * in ready (operational), not an error.
 */
import { and, assign, enqueueActions, fromPromise, not, or, raise, setup, stateIn } from 'xstate';
import type { AnyActorLogic } from 'xstate';
import type {
  BackoffPolicy,
  DependencyHealth,
  ProbeInput,
  ConnectOrderbookInput,
  ConnectOrderbookOutput,
  ConnectTradingClientOutput,
  CoordinatorContext,
  CoordinatorEvent,
  CoordinatorInput,
  CoordinatorTimeouts,
  InitializeSystemOutput,
  RecoveryTarget,
  ShutdownSystemInput,
  SyncKalshiDataInput,
  SyncSummary,
  TransitionNote,
  WatchOrderbookHealthInput,
} from './coordinator.types.ts';
import { formatDuration, marketsPreview, readyReason, syncReason } from './coordinator.status.ts';
import { orderbookHealthMachine } from './orderbook-health.machine.ts';
import { traderMachine } from './trader.machine.ts';
import type { TraderEvent } from './trader.events.ts';

export const DEFAULT_TIMEOUTS: CoordinatorTimeouts = {
  initializingMs: 60_000,
  orderbookConnectMs: 30_000,
  tradingClientConnectMs: 30_000,
  kalshiDataSyncMs: 60_000,
  actingMs: 30_000,
  shutdownMs: 30_000,
  probeMs: 10_000,
};

export const DEFAULT_ERROR_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 60_000, jitter: 0.2 };
export const DEFAULT_ORDERBOOK_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 };
/** Probes of a down journal or trading API: soon at first, never more than 10 s apart (resume within seconds). */
export const DEFAULT_PROBE_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 10_000, jitter: 0.2 };
export const DEFAULT_TRADING_API_FAULT_THRESHOLD = 3;
export const DEFAULT_SYNC_INTERVAL_MS = 30_000;
export const DEFAULT_SYNC_RETRY_MS = 5_000;
export const DEFAULT_MAX_SYNC_FAILURES = 3;
export const DEFAULT_ORDERBOOK_SILENCE_MS = 30_000;
const DEFAULT_SEED = 0x5eed;

/** Pipeline order, used to keep the earliest stage when failures pile up in `error`. */
const STAGE_ORDER: readonly RecoveryTarget[] = [
  'initializing',
  'orderbook_connect',
  'trading_client_connect',
  'kalshi_data_sync',
  'ready',
];

/**
 * A uniform number in [0, 1) that depends only on (seed, n): the jitter of retry n. A pure hash
 * instead of a stateful PRNG, so the delay of a retry is a function of the context and the model
 * tests can traverse the chart without hidden state.
 */
export function jitterUnit(seed: number, n: number): number {
  let x = (seed ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  x ^= x >>> 15;
  return (x >>> 0) / 4_294_967_296;
}

/**
 * Exponential backoff with subtractive jitter: attempt 0 waits about `baseMs`, each attempt
 * doubles, never above `maxMs`; jitter removes up to `jitter` of the delay. With jitter < 0.5 the
 * delays strictly grow until the cap (2·(1 − j) > 1).
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, unit: number): number {
  const raw = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, attempt), 52));
  return Math.max(1, Math.round(raw * (1 - policy.jitter * unit)));
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

function earlierStage(a: RecoveryTarget, b: RecoveryTarget): RecoveryTarget {
  return STAGE_ORDER.indexOf(a) <= STAGE_ORDER.indexOf(b) ? a : b;
}

/** A read-only configuration has no trading stages to resume at. */
function recoveryTargetFor(context: CoordinatorContext, target: RecoveryTarget): RecoveryTarget {
  if (!context.tradingEnabled && (target === 'trading_client_connect' || target === 'kalshi_data_sync')) {
    return 'orderbook_connect';
  }
  return target;
}

const notProvided = <TOutput, TInput>(name: string) =>
  fromPromise<TOutput, TInput>(async () => {
    throw new Error(`coordinator actor "${name}" not provided: supply it with coordinatorMachine.provide({ actors })`);
  });

const HEALTHY_DEPENDENCY: DependencyHealth = Object.freeze({ lastError: null, downSinceMs: null, probes: 0, failures: 0, outages: 0 });

function contextFromInput(input: CoordinatorInput): CoordinatorContext {
  return {
    tradingEnabled: input.tradingEnabled,
    timeouts: { ...DEFAULT_TIMEOUTS, ...input.timeouts },
    errorBackoff: { ...DEFAULT_ERROR_BACKOFF, ...input.errorBackoff },
    orderbookBackoff: { ...DEFAULT_ORDERBOOK_BACKOFF, ...input.orderbookBackoff },
    journalBackoff: { ...DEFAULT_PROBE_BACKOFF, ...input.journalBackoff },
    tradingApiBackoff: { ...DEFAULT_PROBE_BACKOFF, ...input.tradingApiBackoff },
    tradingApiFaultThreshold: Math.max(1, input.tradingApiFaultThreshold ?? DEFAULT_TRADING_API_FAULT_THRESHOLD),
    seed: input.seed ?? DEFAULT_SEED,
    syncIntervalMs: input.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS,
    syncRetryMs: input.syncRetryMs ?? DEFAULT_SYNC_RETRY_MS,
    maxSyncFailures: Math.max(1, input.maxSyncFailures ?? DEFAULT_MAX_SYNC_FAILURES),
    orderbookSilenceMs: input.orderbookSilenceMs ?? DEFAULT_ORDERBOOK_SILENCE_MS,
    cancelOrdersOnShutdown: input.cancelOrdersOnShutdown ?? true,
    markets: [],
    degraded: false,
    lastError: null,
    errorCount: 0,
    retryCount: 0,
    retryDelayMs: 0,
    resumeAt: 'initializing',
    stage: 'initializing',
    orderbookAttempts: 0,
    journal: HEALTHY_DEPENDENCY,
    tradingApi: HEALTHY_DEPENDENCY,
    lastSyncAtMs: null,
    lastSyncSummary: null,
    lastSyncError: null,
    syncCount: 0,
    consecutiveSyncFailures: 0,
    syncQueued: false,
    actingTraders: [],
    actingTimeouts: 0,
    actingRefused: 0,
    startedAtMs: input.startedAtMs ?? 0,
    traderPause: null,
    lastTransition: { reason: 'Created', metadata: {} },
  };
}

/** Context changes for entering `error`: counts, why, where to resume, and the jittered delay. */
function errorEntry(
  context: CoordinatorContext,
  resumeAt: RecoveryTarget,
  reason: string,
  metadata: Record<string, unknown> = {},
): Partial<CoordinatorContext> {
  const target = recoveryTargetFor(context, resumeAt);
  const retryDelayMs = backoffDelayMs(context.retryCount, context.errorBackoff, jitterUnit(context.seed, context.errorCount));
  const errorCount = context.errorCount + 1;
  return {
    lastError: reason,
    errorCount,
    retryCount: context.retryCount + 1,
    retryDelayMs,
    resumeAt: target,
    actingTraders: [],
    syncQueued: false,
    lastTransition: {
      reason,
      metadata: { ...metadata, resumeAt: target, errorCount, retryInMs: retryDelayMs, severity: 'error' },
    },
  };
}

const ACTING = '#coordinator.ready.activity.acting';
const ORDERBOOK_NORMAL = '#coordinator.ready.orderbook.normal';
const ORDERBOOK_DEGRADED = '#coordinator.ready.orderbook.degraded';
const JOURNAL_HEALTHY = '#coordinator.ready.journal.healthy';
const TRADING_API_HEALTHY = '#coordinator.ready.tradingApi.healthy';
const READY = '#coordinator.ready';
/** What the chart tells the trader (its child, systemId 'trader'). */
const traderEvent = (event: TraderEvent): TraderEvent => event;
const ERROR = '#coordinator.error';
const JOURNAL_OUTAGE = '#coordinator.ready.journal.outage';
const TRADING_API_FAULTED = '#coordinator.ready.tradingApi.faulted';

type Stage = Exclude<RecoveryTarget, 'ready'>;
const STAGE_TIMEOUTS: Record<Stage, keyof CoordinatorTimeouts> = {
  initializing: 'initializingMs',
  orderbook_connect: 'orderbookConnectMs',
  trading_client_connect: 'tradingClientConnectMs',
  kalshi_data_sync: 'kalshiDataSyncMs',
};

/** A start-up stage's actor failed: to error, retried at the same stage. */
function stageFailed(stage: Stage) {
  return {
    target: '#coordinator.error',
    actions: {
      type: 'fail' as const,
      params: ({ event }: { event: { error?: unknown } }) => ({ resumeAt: stage, reason: `${stage} failed: ${errorText(event.error)}` }),
    },
  };
}

/** A start-up stage outlived its enforced timeout: to error, retried at the same stage. */
function stageTimedOut(stage: Stage) {
  return {
    target: '#coordinator.error',
    actions: {
      type: 'fail' as const,
      params: ({ context }: { context: CoordinatorContext }) => ({
        resumeAt: stage,
        reason: `${stage} timed out after ${formatDuration(context.timeouts[STAGE_TIMEOUTS[stage]])}`,
        metadata: { timeout: true },
      }),
    },
  };
}

/** Context changes when a dependency goes down. */
function dependencyDown(health: DependencyHealth, reason: string, atMs: number): DependencyHealth {
  return { lastError: reason, downSinceMs: atMs, probes: 0, failures: health.failures + 1, outages: health.outages + 1 };
}

function dependencyRestored(health: DependencyHealth): DependencyHealth {
  return { ...health, downSinceMs: null, probes: 0, failures: 0 };
}

function probeDelayMs(health: DependencyHealth, policy: BackoffPolicy, seed: number): number {
  return backoffDelayMs(health.probes, policy, jitterUnit(seed, health.probes));
}

export const coordinatorMachine = setup({
  types: {} as {
    context: CoordinatorContext;
    events: CoordinatorEvent;
    input: CoordinatorInput;
  },
  actors: {
    initializeSystem: notProvided<InitializeSystemOutput, void>('initializeSystem'),
    connectOrderbook: notProvided<ConnectOrderbookOutput, ConnectOrderbookInput>('connectOrderbook'),
    connectTradingClient: notProvided<ConnectTradingClientOutput, void>('connectTradingClient'),
    syncKalshiData: notProvided<SyncSummary, SyncKalshiDataInput>('syncKalshiData'),
    /**
     * The orderbook health chart (orderbook-health.machine.ts), its source of activity provided;
     * typed as any logic that sends ORDERBOOK_DOWN/UP back (a test may supply a callback).
     */
    watchOrderbookHealth: orderbookHealthMachine as AnyActorLogic,
    shutdownSystem: notProvided<void, ShutdownSystemInput>('shutdownSystem'),
    /** Resolves when the database answers again (e.g. `SELECT 1`). */
    probeJournal: notProvided<void, ProbeInput>('probeJournal'),
    /** Resolves when the venue's trading API answers again (an authenticated read). */
    probeTradingApi: notProvided<void, ProbeInput>('probeTradingApi'),
    /** The trader (trader.machine.ts, its order actors provided), spawned as a child when trading. */
    trader: traderMachine,
  },
  guards: {
    tradingEnabled: ({ context }) => context.tradingEnabled,
    readOnly: ({ context }) => !context.tradingEnabled,
    orderbookUp: ({ context }) => !context.degraded,
    resumeAt: ({ context }, params: { target: RecoveryTarget }) => context.resumeAt === params.target,
    canAct: and(['tradingEnabled', stateIn(ORDERBOOK_NORMAL), stateIn(JOURNAL_HEALTHY), stateIn(TRADING_API_HEALTHY)]),
    /**
     * The journal is down: a sync now could only fail (it journals what it finds) and count against
     * ready. A faulted trading API does not hold syncs: their failures count as before, so an
     * outage that outlasts a burst ends in `error` (503, retried with backoff) rather than staying
     * degraded forever.
     */
    journalDown: not(stateIn(JOURNAL_HEALTHY)),
    tradingApiFaultThresholdReached: ({ context }) => context.tradingApi.failures + 1 >= context.tradingApiFaultThreshold,
    tradingApiFailuresCounted: ({ context }) => context.tradingApi.failures > 0,
    isActing: stateIn(ACTING),
    lastActingTrader: ({ context, event }) => {
      if (event.type !== 'TRADER_IDLE') return false;
      const id = event.traderId ?? 'trader';
      return context.actingTraders.every((t) => t === id);
    },
    syncQueued: ({ context }) => context.syncQueued,
    tooManySyncFailures: ({ context }) => context.consecutiveSyncFailures + 1 >= context.maxSyncFailures,
    /** No order book: the region says so in ready; before ready, the stage continued without one. */
    orderbookDegraded: or([stateIn(ORDERBOOK_DEGRADED), and([not(stateIn(READY)), not('orderbookUp')])]),
  },
  delays: {
    initializingTimeout: ({ context }) => context.timeouts.initializingMs,
    orderbookConnectTimeout: ({ context }) => context.timeouts.orderbookConnectMs,
    tradingClientConnectTimeout: ({ context }) => context.timeouts.tradingClientConnectMs,
    kalshiDataSyncTimeout: ({ context }) => context.timeouts.kalshiDataSyncMs,
    actingTimeout: ({ context }) => context.timeouts.actingMs,
    shutdownTimeout: ({ context }) => context.timeouts.shutdownMs,
    errorBackoff: ({ context }) => context.retryDelayMs,
    orderbookRetryDelay: ({ context }) =>
      backoffDelayMs(context.orderbookAttempts, context.orderbookBackoff, jitterUnit(context.seed + 1, context.orderbookAttempts)),
    journalProbeDelay: ({ context }) => probeDelayMs(context.journal, context.journalBackoff, context.seed + 2),
    tradingApiProbeDelay: ({ context }) => probeDelayMs(context.tradingApi, context.tradingApiBackoff, context.seed + 3),
    probeTimeout: ({ context }) => context.timeouts.probeMs,
    syncDelay: ({ context }) => (context.consecutiveSyncFailures > 0 ? context.syncRetryMs : context.syncIntervalMs),
  },
  actions: {
    enterStage: assign((_, params: { stage: RecoveryTarget }) => ({ stage: params.stage })),
    /** What trading depends on may have changed: REVIEW_TRADING decides, in the new configuration. */
    reviewTrading: raise({ type: 'REVIEW_TRADING' }),
    /** Pauses the trader with `reason` unless that is already why it is paused. */
    pauseTrader: enqueueActions(({ context, system, enqueue }, params: { reason: string }) => {
      if (context.traderPause === params.reason) return;
      enqueue.assign({ traderPause: params.reason });
      const trader = system.get('trader');
      if (trader) enqueue.sendTo(trader, traderEvent({ type: 'PAUSE', reason: params.reason }));
    }),
    /** Resumes the trader if the chart paused it (a pause of its own, e.g. a risk halt, stays). */
    resumeTrader: enqueueActions(({ context, system, enqueue }) => {
      if (context.traderPause === null) return;
      enqueue.assign({ traderPause: null });
      const trader = system.get('trader');
      if (trader) enqueue.sendTo(trader, traderEvent({ type: 'RESUME' }));
    }),
    /**
     * Shutdown with cancelling: pause first (an active trader re-quotes on the book changes its own
     * cancels cause, which left 4–6 orders resting after a "graceful" shutdown), then cancel all.
     */
    pauseForShutdown: enqueueActions(({ context, system, enqueue }) => {
      if (!context.cancelOrdersOnShutdown) return;
      const trader = system.get('trader');
      if (!trader) return;
      enqueue.assign({ traderPause: 'shutdown' });
      enqueue.sendTo(trader, traderEvent({ type: 'PAUSE', reason: 'shutdown' }));
      enqueue.sendTo(trader, traderEvent({ type: 'CANCEL_ALL', reason: 'shutdown' }));
    }),
    /** The venue answers again: orders left `unknown` by failed sends are looked up now. */
    resolveUnknownOrders: enqueueActions(({ system, enqueue }) => {
      const trader = system.get('trader');
      if (trader) enqueue.sendTo(trader, traderEvent({ type: 'RESOLVE_UNKNOWN', reason: 'trading API answering again' }));
    }),
    note: assign((_, params: TransitionNote) => ({ lastTransition: params })),

    fail: assign(({ context }, params: { resumeAt: RecoveryTarget; reason: string; metadata?: Record<string, unknown> }) =>
      errorEntry(context, params.resumeAt, params.reason, params.metadata),
    ),
    failOnFatal: assign(({ context, event }) => {
      if (event.type !== 'FATAL') return {};
      return errorEntry(context, event.resumeAt ?? context.stage, `Fatal: ${event.reason}`, { fatal: true });
    }),
    /** A further FATAL while already recovering: remember it, and resume at the earlier stage. */
    absorbFatal: assign(({ context, event }) => {
      if (event.type !== 'FATAL') return {};
      const resumeAt = recoveryTargetFor(context, earlierStage(context.resumeAt, event.resumeAt ?? context.stage));
      return { lastError: `Fatal: ${event.reason}`, errorCount: context.errorCount + 1, resumeAt };
    }),
    noteRetry: assign(({ context }) => ({
      lastTransition: {
        reason: `Retrying ${context.resumeAt} (attempt ${context.retryCount} after ${formatDuration(context.retryDelayMs)})`,
        metadata: { recovery: true, resumeAt: context.resumeAt, attempt: context.retryCount, lastError: context.lastError },
      },
    })),

    recordInitialized: assign((_, params: { markets: string[]; detail: Record<string, unknown> }) => ({
      markets: params.markets,
      lastTransition: {
        reason: `Initialized: ${params.markets.length} markets selected`,
        metadata: { ...params.detail, market_count: params.markets.length, markets: marketsPreview(params.markets) },
      },
    })),
    recordOrderbookConnected: assign(({ context }, params: { detail: Record<string, unknown> }) => ({
      degraded: false,
      orderbookAttempts: 0,
      lastTransition: {
        reason: `Connected to ${context.markets.length} markets`,
        metadata: { ...params.detail, market_count: context.markets.length, markets: marketsPreview(context.markets) },
      },
    })),
    continueDegraded: assign((_, params: { cause: string }) => ({
      degraded: true,
      lastTransition: {
        reason: `DEGRADED MODE: ${params.cause}; continuing without orderbook`,
        metadata: { degraded: true, cause: params.cause, severity: 'warning' },
      },
    })),
    recordTradingConnected: assign((_, params: { detail: Record<string, unknown> }) => ({
      lastTransition: { reason: 'Trading client connected', metadata: { ...params.detail } },
    })),
    recordSync: assign(({ context }, params: { summary: SyncSummary }) => ({
      lastSyncSummary: params.summary,
      lastSyncAtMs: params.summary.atMs,
      lastSyncError: null,
      syncCount: context.syncCount + 1,
      consecutiveSyncFailures: 0,
      lastTransition:
        params.summary.kind === 'initial'
          ? { reason: syncReason(params.summary), metadata: { sync_type: 'initial', ...params.summary } }
          : context.lastTransition,
    })),
    recordSyncFailure: assign(({ context }, params: { message: string }) => ({
      lastSyncError: params.message,
      consecutiveSyncFailures: context.consecutiveSyncFailures + 1,
    })),
    /** A sync that failed because the journal went down: not the sync's fault. */
    recordSyncInterrupted: assign((_, params: { message: string }) => ({ lastSyncError: params.message })),
    queueSync: assign({ syncQueued: true }),
    dequeueSync: assign({ syncQueued: false }),
    noteReady: assign(({ context }, params: { recovered?: boolean } | undefined) => ({
      retryCount: 0,
      lastTransition: {
        reason: params?.recovered ? `Recovered from error: ${readyReason(context)}` : readyReason(context),
        metadata: {
          markets_connected: context.markets.length,
          degraded: context.degraded,
          trading: context.tradingEnabled,
          ...(context.lastSyncSummary ? { balance: context.lastSyncSummary.balance } : {}),
          ...(params?.recovered ? { recovery: true, lastError: context.lastError } : {}),
        },
      },
    })),

    markOrderbookDown: assign((_, params: { reason: string }) => ({
      degraded: true,
      lastTransition: { reason: `Orderbook down: ${params.reason}`, metadata: { degraded: true, severity: 'warning' } },
    })),
    markOrderbookRestored: assign((_, params: { reason: string }) => ({
      degraded: false,
      orderbookAttempts: 0,
      lastTransition: { reason: `Orderbook restored: ${params.reason}`, metadata: { degraded: false, severity: 'success' } },
    })),
    countOrderbookAttempt: assign(({ context }, params: { message: string }) => ({
      orderbookAttempts: context.orderbookAttempts + 1,
      lastError: `orderbook reconnect failed: ${params.message}`,
    })),

    /** The journal and trading-API regions start healthy on every entry into ready: so does their context. */
    clearDependencyOutages: assign(({ context }) => ({
      journal: dependencyRestored(context.journal),
      tradingApi: dependencyRestored(context.tradingApi),
    })),
    markJournalDown: assign(({ context }, params: { reason: string; atMs: number }) => ({
      journal: dependencyDown(context.journal, params.reason, params.atMs),
      lastTransition: {
        reason: `Database outage: ${params.reason}; trading paused (nothing is sent while the journal is down)`,
        metadata: { component: 'journal', pause: 'database_outage', severity: 'error' },
      },
    })),
    noteJournalFailure: assign(({ context }, params: { reason: string }) => ({
      journal: { ...context.journal, lastError: params.reason, failures: context.journal.failures + 1 },
    })),
    countJournalProbe: assign(({ context }, params: { message: string }) => ({
      journal: { ...context.journal, probes: context.journal.probes + 1, lastError: `probe failed: ${params.message}` },
    })),
    markJournalRestored: assign(({ context }) => ({
      journal: dependencyRestored(context.journal),
      lastTransition: {
        reason: `Database available again after ${context.journal.probes + 1} probes; resuming`,
        metadata: { component: 'journal', recovery: true, severity: 'success' },
      },
    })),
    countTradingApiFailure: assign(({ context }, params: { reason: string }) => ({
      tradingApi: { ...context.tradingApi, lastError: params.reason, failures: context.tradingApi.failures + 1 },
    })),
    resetTradingApiFailures: assign(({ context }) => ({ tradingApi: { ...context.tradingApi, failures: 0 } })),
    markTradingApiDown: assign(({ context }, params: { reason: string; atMs: number }) => ({
      tradingApi: dependencyDown(context.tradingApi, params.reason, params.atMs),
      lastTransition: {
        reason: `Trading API faulted: ${params.reason} (${context.tradingApi.failures + 1} failed requests in a row); trading paused`,
        metadata: { component: 'trading_api', pause: 'trading_api_unavailable', severity: 'error' },
      },
    })),
    countTradingApiProbe: assign(({ context }, params: { message: string }) => ({
      tradingApi: { ...context.tradingApi, probes: context.tradingApi.probes + 1, lastError: `probe failed: ${params.message}` },
    })),
    markTradingApiRestored: assign(({ context }) => ({
      tradingApi: dependencyRestored(context.tradingApi),
      lastTransition: {
        reason: `Trading API answering again after ${context.tradingApi.probes + 1} probes; resolving unknown orders and syncing`,
        metadata: { component: 'trading_api', recovery: true, severity: 'success' },
      },
    })),

    startActing: assign(({ event }) => {
      const traderId = event.type === 'TRADER_ACTING' ? (event.traderId ?? 'trader') : 'trader';
      return {
        actingTraders: [traderId],
        lastTransition: { reason: `Trader ${traderId} started a decision cycle`, metadata: { traderId } },
      };
    }),
    joinActing: assign(({ context, event }) => {
      if (event.type !== 'TRADER_ACTING') return {};
      const id = event.traderId ?? 'trader';
      return context.actingTraders.includes(id) ? {} : { actingTraders: [...context.actingTraders, id] };
    }),
    leaveActing: assign(({ context, event }) => {
      if (event.type !== 'TRADER_IDLE') return {};
      const id = event.traderId ?? 'trader';
      return { actingTraders: context.actingTraders.filter((t) => t !== id) };
    }),
    finishActing: assign(() => ({
      actingTraders: [],
      lastTransition: { reason: 'Decision cycle complete', metadata: {} },
    })),
    actingTimedOut: assign(({ context }) => ({
      actingTraders: [],
      actingTimeouts: context.actingTimeouts + 1,
      lastTransition: {
        reason: `acting timed out after ${formatDuration(context.timeouts.actingMs)} (traders: ${context.actingTraders.join(', ') || 'none'})`,
        metadata: { acting_timeout: true, actingTimeouts: context.actingTimeouts + 1, severity: 'warning' },
      },
    })),
    refuseActing: assign(({ context }) => ({ actingRefused: context.actingRefused + 1 })),

    noteShutdown: assign(({ event }) => ({
      lastTransition: {
        reason: `Shutdown requested${event.type === 'SHUTDOWN' && event.reason ? `: ${event.reason}` : ''}`,
        metadata: {},
      },
    })),
    noteShutdownNow: assign(({ event }) => ({
      lastTransition: {
        reason: `Stopped at once, resting orders not cancelled${event.type === 'SHUTDOWN_NOW' && event.reason ? `: ${event.reason}` : ''}`,
        metadata: { skippedShutdownWork: true, severity: 'warning' },
      },
    })),
  },
}).createMachine({
  id: 'coordinator',
  context: ({ input, spawn, self }) => {
    if (input.trader) spawn('trader', { id: 'trader', systemId: 'trader', input: { ...input.trader, parentRef: self } });
    return contextFromInput(input);
  },
  initial: 'startup',
  on: {
    SHUTDOWN: { target: '.shutdown', actions: 'noteShutdown' },
    SHUTDOWN_NOW: { target: '.stopped', actions: 'noteShutdownNow' },
    FATAL: { target: '.error', actions: 'failOnFatal' },
    // Why entries must stop, first match wins; resumed once operational with nothing wrong.
    REVIEW_TRADING: [
      { guard: stateIn(ERROR), actions: { type: 'pauseTrader', params: ({ context }) => ({ reason: `system in error: ${context.lastError ?? 'unknown'}` }) } },
      { guard: stateIn(JOURNAL_OUTAGE), actions: { type: 'pauseTrader', params: { reason: 'database_outage' } } },
      { guard: stateIn(TRADING_API_FAULTED), actions: { type: 'pauseTrader', params: { reason: 'trading_api_unavailable' } } },
      { guard: 'orderbookDegraded', actions: { type: 'pauseTrader', params: { reason: 'order book degraded' } } },
      { guard: stateIn(READY), actions: 'resumeTrader' },
    ],
  },
  states: {
    startup: {
      description: 'Created, waiting for START (sent once observers are attached).',
      on: {
        START: {
          target: 'initializing',
          actions: { type: 'note', params: { reason: 'Starting state machine components', metadata: {} } },
        },
      },
    },

    initializing: {
      description: 'Select markets, open the store.',
      entry: [{ type: 'enterStage', params: { stage: 'initializing' } }, 'reviewTrading'],
      invoke: {
        id: 'initializeSystem',
        src: 'initializeSystem',
        onDone: {
          target: 'orderbook_connect',
          actions: {
            type: 'recordInitialized',
            params: ({ event }) => {
              const { markets, ...detail } = event.output;
              return { markets: [...markets], detail };
            },
          },
        },
        onError: stageFailed('initializing'),
      },
      after: {
        initializingTimeout: stageTimedOut('initializing'),
      },
    },

    orderbook_connect: {
      description: 'Connect the market-data stream and subscribe the markets. Non-critical when trading is configured.',
      entry: [{ type: 'enterStage', params: { stage: 'orderbook_connect' } }, 'reviewTrading'],
      invoke: {
        id: 'connectOrderbook',
        src: 'connectOrderbook',
        input: ({ context }) => ({ markets: context.markets, attempt: 0 }),
        onDone: [
          {
            guard: 'tradingEnabled',
            target: 'trading_client_connect',
            actions: { type: 'recordOrderbookConnected', params: ({ event }) => ({ detail: { ...event.output } }) },
          },
          {
            target: 'ready',
            actions: [
              { type: 'recordOrderbookConnected', params: ({ event }) => ({ detail: { ...event.output } }) },
              'noteReady',
            ],
          },
        ],
        onError: [
          {
            guard: 'tradingEnabled',
            target: 'trading_client_connect',
            actions: {
              type: 'continueDegraded',
              params: ({ event }) => ({ cause: `orderbook unavailable (${errorText(event.error)})` }),
            },
          },
          stageFailed('orderbook_connect'),
        ],
      },
      after: {
        orderbookConnectTimeout: [
          {
            guard: 'tradingEnabled',
            target: 'trading_client_connect',
            actions: {
              type: 'continueDegraded',
              params: ({ context }) => ({
                cause: `orderbook_connect timed out after ${formatDuration(context.timeouts.orderbookConnectMs)}`,
              }),
            },
          },
          stageTimedOut('orderbook_connect'),
        ],
      },
    },

    trading_client_connect: {
      description: 'Open the authenticated trading client (skipped in read-only mode).',
      entry: [{ type: 'enterStage', params: { stage: 'trading_client_connect' } }, 'reviewTrading'],
      invoke: {
        id: 'connectTradingClient',
        src: 'connectTradingClient',
        onDone: {
          target: 'kalshi_data_sync',
          actions: { type: 'recordTradingConnected', params: ({ event }) => ({ detail: { ...event.output } }) },
        },
        onError: stageFailed('trading_client_connect'),
      },
      after: {
        tradingClientConnectTimeout: stageTimedOut('trading_client_connect'),
      },
    },

    kalshi_data_sync: {
      description: 'Balance, positions, orders, fills; reconcile with the journal before trading.',
      entry: [{ type: 'enterStage', params: { stage: 'kalshi_data_sync' } }, 'reviewTrading'],
      invoke: {
        id: 'syncKalshiData',
        src: 'syncKalshiData',
        input: ({ context }) => ({ kind: 'initial' as const, markets: context.markets }),
        onDone: [
          {
            guard: 'orderbookUp',
            target: 'ready',
            actions: [{ type: 'recordSync', params: ({ event }) => ({ summary: event.output }) }, 'noteReady'],
          },
          {
            target: ORDERBOOK_DEGRADED,
            actions: [{ type: 'recordSync', params: ({ event }) => ({ summary: event.output }) }, 'noteReady'],
          },
        ],
        onError: stageFailed('kalshi_data_sync'),
      },
      after: {
        kalshiDataSyncTimeout: stageTimedOut('kalshi_data_sync'),
      },
    },

    ready: {
      description: 'Operational. Reported as `acting` while a trader runs a decision cycle.',
      type: 'parallel',
      entry: [{ type: 'enterStage', params: { stage: 'ready' } }, 'clearDependencyOutages', 'reviewTrading'],
      states: {
        activity: {
          initial: 'idle',
          states: {
            idle: {
              entry: raise({ type: 'ACTIVITY_IDLE' }),
              on: {
                TRADER_ACTING: [{ guard: 'canAct', target: 'acting', actions: 'startActing' }, { actions: 'refuseActing' }],
              },
            },
            acting: {
              on: {
                TRADER_ACTING: { actions: 'joinActing' },
                TRADER_IDLE: [{ guard: 'lastActingTrader', target: 'idle', actions: 'finishActing' }, { actions: 'leaveActing' }],
              },
              after: { actingTimeout: { target: 'idle', actions: 'actingTimedOut' } },
            },
          },
        },

        orderbook: {
          initial: 'normal',
          states: {
            normal: {
              invoke: {
                id: 'watchOrderbookHealth',
                src: 'watchOrderbookHealth',
                input: ({ context }: { context: CoordinatorContext }): WatchOrderbookHealthInput => ({ silenceMs: context.orderbookSilenceMs }),
                onError: {
                  target: 'degraded',
                  actions: {
                    type: 'markOrderbookDown',
                    params: ({ event }) => ({ reason: `health watcher failed (${errorText(event.error)})` }),
                  },
                },
              },
              on: {
                ORDERBOOK_DOWN: {
                  target: 'degraded',
                  actions: {
                    type: 'markOrderbookDown',
                    params: ({ event }) => ({
                      reason:
                        event.reason ??
                        (event.silentForMs !== undefined ? `no message for ${formatDuration(event.silentForMs)}` : 'stream lost'),
                    }),
                  },
                },
              },
            },
            degraded: {
              description: 'Trading-only: entries needing a book are blocked; reconnect with backoff.',
              entry: 'reviewTrading',
              exit: 'reviewTrading',
              initial: 'waiting',
              on: {
                ORDERBOOK_UP: {
                  target: 'normal',
                  actions: { type: 'markOrderbookRestored', params: ({ event }) => ({ reason: event.reason ?? 'stream active again' }) },
                },
              },
              states: {
                waiting: { after: { orderbookRetryDelay: 'reconnecting' } },
                reconnecting: {
                  invoke: {
                    id: 'reconnectOrderbook',
                    src: 'connectOrderbook',
                    input: ({ context }) => ({ markets: context.markets, attempt: context.orderbookAttempts + 1 }),
                    onDone: {
                      target: ORDERBOOK_NORMAL,
                      actions: { type: 'markOrderbookRestored', params: { reason: 'reconnected' } },
                    },
                    onError: {
                      target: 'waiting',
                      actions: { type: 'countOrderbookAttempt', params: ({ event }) => ({ message: errorText(event.error) }) },
                    },
                  },
                  after: {
                    orderbookConnectTimeout: {
                      target: 'waiting',
                      actions: {
                        type: 'countOrderbookAttempt',
                        params: ({ context }) => ({ message: `timed out after ${formatDuration(context.timeouts.orderbookConnectMs)}` }),
                      },
                    },
                  },
                },
              },
            },
          },
        },

        journal: {
          initial: 'healthy',
          states: {
            healthy: {
              on: {
                JOURNAL_FAILED: {
                  target: 'outage',
                  actions: { type: 'markJournalDown', params: ({ event }) => ({ reason: event.reason, atMs: event.atMs }) },
                },
              },
            },
            outage: {
              description: 'Database unavailable: nothing is sent (journal first), the trader is paused; probe with backoff.',
              entry: 'reviewTrading',
              exit: 'reviewTrading',
              initial: 'waiting',
              on: { JOURNAL_FAILED: { actions: { type: 'noteJournalFailure', params: ({ event }) => ({ reason: event.reason }) } } },
              states: {
                waiting: { after: { journalProbeDelay: 'probing' } },
                probing: {
                  invoke: {
                    id: 'probeJournal',
                    src: 'probeJournal',
                    input: ({ context }) => ({ attempt: context.journal.probes + 1 }),
                    onDone: { target: JOURNAL_HEALTHY, actions: ['markJournalRestored', raise({ type: 'DEPENDENCY_RESTORED' })] },
                    onError: {
                      target: 'waiting',
                      actions: { type: 'countJournalProbe', params: ({ event }) => ({ message: errorText(event.error) }) },
                    },
                  },
                  after: {
                    probeTimeout: {
                      target: 'waiting',
                      actions: {
                        type: 'countJournalProbe',
                        params: ({ context }) => ({ message: `timed out after ${formatDuration(context.timeouts.probeMs)}` }),
                      },
                    },
                  },
                },
              },
            },
          },
        },

        tradingApi: {
          initial: 'healthy',
          states: {
            healthy: {
              on: {
                TRADING_API_FAILED: [
                  {
                    guard: 'tradingApiFaultThresholdReached',
                    target: 'faulted',
                    actions: { type: 'markTradingApiDown', params: ({ event }) => ({ reason: event.reason, atMs: event.atMs }) },
                  },
                  { actions: { type: 'countTradingApiFailure', params: ({ event }) => ({ reason: event.reason }) } },
                ],
                TRADING_API_OK: { guard: 'tradingApiFailuresCounted', actions: 'resetTradingApiFailures' },
              },
            },
            faulted: {
              description: 'The venue answers 429/5xx or not at all: no new orders; probe with backoff.',
              entry: 'reviewTrading',
              exit: ['resolveUnknownOrders', 'reviewTrading'],
              initial: 'waiting',
              on: { TRADING_API_FAILED: { actions: { type: 'countTradingApiFailure', params: ({ event }) => ({ reason: event.reason }) } } },
              states: {
                waiting: { after: { tradingApiProbeDelay: 'probing' } },
                probing: {
                  invoke: {
                    id: 'probeTradingApi',
                    src: 'probeTradingApi',
                    input: ({ context }) => ({ attempt: context.tradingApi.probes + 1 }),
                    onDone: { target: TRADING_API_HEALTHY, actions: ['markTradingApiRestored', raise({ type: 'DEPENDENCY_RESTORED' })] },
                    onError: {
                      target: 'waiting',
                      actions: { type: 'countTradingApiProbe', params: ({ event }) => ({ message: errorText(event.error) }) },
                    },
                  },
                  after: {
                    probeTimeout: {
                      target: 'waiting',
                      actions: {
                        type: 'countTradingApiProbe',
                        params: ({ context }) => ({ message: `timed out after ${formatDuration(context.timeouts.probeMs)}` }),
                      },
                    },
                  },
                },
              },
            },
          },
        },

        sync: {
          initial: 'waiting',
          states: {
            waiting: {
              always: { guard: 'readOnly', target: 'off' },
              after: { syncDelay: [{ guard: 'isActing', target: 'due' }, { guard: 'journalDown', target: 'held' }, { target: 'syncing' }] },
              on: {
                SYNC_NOW: [{ guard: 'isActing', target: 'due' }, { guard: 'journalDown', target: 'held' }, { target: 'syncing' }],
                // what happened while the journal or the API was down is learned at once
                DEPENDENCY_RESTORED: [{ guard: 'isActing', target: 'due' }, { guard: 'journalDown', target: 'held' }, { target: 'syncing' }],
              },
            },
            due: {
              description: 'A sync is due but a trader is mid-cycle; runs when activity returns to idle.',
              on: { ACTIVITY_IDLE: [{ guard: 'journalDown', target: 'held' }, { target: 'syncing' }] },
            },
            held: {
              description: 'A sync is due but the journal is down; runs as soon as it is back.',
              on: { DEPENDENCY_RESTORED: [{ guard: 'journalDown' }, { guard: 'isActing', target: 'due' }, { target: 'syncing' }] },
            },
            syncing: {
              invoke: {
                id: 'periodicSync',
                src: 'syncKalshiData',
                input: ({ context }) => ({ kind: 'periodic' as const, markets: context.markets }),
                onDone: [
                  {
                    guard: 'syncQueued',
                    target: 'syncing',
                    reenter: true,
                    actions: [{ type: 'recordSync', params: ({ event }) => ({ summary: event.output }) }, 'dequeueSync'],
                  },
                  { target: 'waiting', actions: { type: 'recordSync', params: ({ event }) => ({ summary: event.output }) } },
                ],
                onError: [
                  {
                    guard: 'journalDown',
                    target: 'held',
                    actions: { type: 'recordSyncInterrupted', params: ({ event }) => ({ message: errorText(event.error) }) },
                  },
                  {
                    guard: 'tooManySyncFailures',
                    target: '#coordinator.error',
                    actions: {
                      type: 'fail',
                      params: ({ context, event }) => ({
                        resumeAt: 'kalshi_data_sync',
                        reason: `periodic sync failed ${context.consecutiveSyncFailures + 1} times in a row: ${errorText(event.error)}`,
                      }),
                    },
                  },
                  { target: 'waiting', actions: { type: 'recordSyncFailure', params: ({ event }) => ({ message: errorText(event.error) }) } },
                ],
              },
              after: {
                kalshiDataSyncTimeout: [
                  {
                    guard: 'journalDown',
                    target: 'held',
                    actions: {
                      type: 'recordSyncInterrupted',
                      params: ({ context }) => ({ message: `timed out after ${formatDuration(context.timeouts.kalshiDataSyncMs)}` }),
                    },
                  },
                  {
                    guard: 'tooManySyncFailures',
                    target: '#coordinator.error',
                    actions: {
                      type: 'fail',
                      params: ({ context }) => ({
                        resumeAt: 'kalshi_data_sync',
                        reason: `periodic sync failed ${context.consecutiveSyncFailures + 1} times in a row: timed out after ${formatDuration(context.timeouts.kalshiDataSyncMs)}`,
                        metadata: { timeout: true },
                      }),
                    },
                  },
                  {
                    target: 'waiting',
                    actions: {
                      type: 'recordSyncFailure',
                      params: ({ context }) => ({ message: `timed out after ${formatDuration(context.timeouts.kalshiDataSyncMs)}` }),
                    },
                  },
                ],
              },
              on: { SYNC_NOW: { actions: 'queueSync' }, DEPENDENCY_RESTORED: { actions: 'queueSync' } },
            },
            off: { description: 'Read-only configuration: nothing to sync.' },
          },
        },
      },
    },

    error: {
      description: 'Retries with exponential backoff and jitter, forever, at the stage that failed.',
      entry: 'reviewTrading',
      on: { FATAL: { actions: ['absorbFatal', 'reviewTrading'] } },
      after: {
        errorBackoff: [
          { guard: { type: 'resumeAt', params: { target: 'initializing' } }, target: 'initializing', actions: 'noteRetry' },
          { guard: { type: 'resumeAt', params: { target: 'orderbook_connect' } }, target: 'orderbook_connect', actions: 'noteRetry' },
          {
            guard: { type: 'resumeAt', params: { target: 'trading_client_connect' } },
            target: 'trading_client_connect',
            actions: 'noteRetry',
          },
          { guard: { type: 'resumeAt', params: { target: 'kalshi_data_sync' } }, target: 'kalshi_data_sync', actions: 'noteRetry' },
          { guard: 'orderbookUp', target: 'ready', actions: { type: 'noteReady', params: { recovered: true } } },
          { target: ORDERBOOK_DEGRADED, actions: { type: 'noteReady', params: { recovered: true } } },
        ],
      },
    },

    shutdown: {
      description: 'Cancel resting orders if configured, flush the store, close connections.',
      invoke: {
        id: 'shutdownSystem',
        src: 'shutdownSystem',
        input: ({ context, event }) => ({
          reason: event.type === 'SHUTDOWN' ? (event.reason ?? 'requested') : 'requested',
          cancelOrders: context.cancelOrdersOnShutdown,
        }),
        onDone: { target: 'stopped', actions: { type: 'note', params: { reason: 'Shutdown complete', metadata: {} } } },
        onError: {
          target: 'stopped',
          actions: {
            type: 'note',
            params: ({ event }) => ({
              reason: `Shutdown finished with an error: ${errorText(event.error)}`,
              metadata: { severity: 'error' },
            }),
          },
        },
      },
      after: {
        shutdownTimeout: {
          target: 'stopped',
          actions: {
            type: 'note',
            params: ({ context }) => ({
              reason: `shutdown timed out after ${formatDuration(context.timeouts.shutdownMs)}; stopping anyway`,
              metadata: { timeout: true, severity: 'warning' },
            }),
          },
        },
      },
      entry: 'pauseForShutdown',
      // the shutdown's pause is the last word
      on: { SHUTDOWN: {}, FATAL: {}, REVIEW_TRADING: {} },
    },

    stopped: { type: 'final' },
  },
});

export type CoordinatorMachine = typeof coordinatorMachine;
