/**
 * Types of the coordinator statechart (the root actor): its input (timeouts, backoff, mode), its
 * context (what /v3/status shows), the events it accepts, and the inputs/outputs of the actors it
 * invokes. The wiring layer (server/cli/sessions) implements those actors against the adapters
 * and passes them in with `coordinatorMachine.provide({ actors })`.
 */
import type { Micros } from '../core/money.ts';
import type { TraderInput } from './trader.types.ts';

/** The operators' state vocabulary (from the original system), as /v3/status reports it. */
export type CoordinatorStateName =
  | 'startup'
  | 'initializing'
  | 'orderbook_connect'
  | 'trading_client_connect'
  | 'kalshi_data_sync'
  | 'ready'
  | 'acting'
  | 'error'
  | 'shutdown';

/** Where `error` resumes once its backoff has elapsed: the stage that failed. */
export type RecoveryTarget =
  | 'initializing'
  | 'orderbook_connect'
  | 'trading_client_connect'
  | 'kalshi_data_sync'
  | 'ready';

export interface CoordinatorTimeouts {
  initializingMs: number;
  /** One probe of the journal (database) or the trading API while it is down. */
  probeMs: number;
  orderbookConnectMs: number;
  tradingClientConnectMs: number;
  kalshiDataSyncMs: number;
  actingMs: number;
  shutdownMs: number;
}

export interface BackoffPolicy {
  /** Delay of the first retry. */
  baseMs: number;
  /** Upper bound of any retry delay. */
  maxMs: number;
  /** Fraction (0..1) of the delay that jitter may remove: delay ∈ [(1 − jitter)·d, d]. */
  jitter: number;
}

export interface CoordinatorInput {
  /**
   * False for the read-only (recording, production) configuration: no trading client, so
   * trading_client_connect and kalshi_data_sync are skipped and the orderbook is critical.
   */
  tradingEnabled: boolean;
  timeouts?: Partial<CoordinatorTimeouts>;
  /** Backoff of `error` retries. */
  errorBackoff?: Partial<BackoffPolicy>;
  /** Backoff of orderbook reconnect attempts while degraded. */
  orderbookBackoff?: Partial<BackoffPolicy>;
  /** Backoff of the database probe while the journal is in outage. */
  journalBackoff?: Partial<BackoffPolicy>;
  /** Backoff of the trading-API probe while the API is faulted. */
  tradingApiBackoff?: Partial<BackoffPolicy>;
  /**
   * Consecutive failed REST requests (429, 5xx, network error, timeout) that mark the trading API
   * faulted (default 3: one call's retries exhausted, not a single transient answer).
   */
  tradingApiFaultThreshold?: number;
  /** Seed of the jitter sequence (deterministic: the same seed gives the same delays). */
  seed?: number;
  /** Period of the sync/reconcile in ready (default 30 s). */
  syncIntervalMs?: number;
  /** Delay before retrying a failed periodic sync (default 5 s). */
  syncRetryMs?: number;
  /** Consecutive periodic-sync failures that send ready to error (default 3). */
  maxSyncFailures?: number;
  /** Window for the orderbook health watcher: no message or heartbeat for this long = down. */
  orderbookSilenceMs?: number;
  /** Whether shutdownSystem cancels the trader's resting orders (passed to it; default true). */
  cancelOrdersOnShutdown?: boolean;
  /** "Now" at creation, from the injected clock. */
  startedAtMs?: number;
  /**
   * The trader to run as the coordinator's child (`systemId: 'trader'`; its parentRef is the
   * coordinator): paused and resumed by the chart. Absent in read-only configurations.
   */
  trader?: Omit<TraderInput, 'parentRef'>;
}

/** Outcome of one balance/positions/orders/fills fetch + reconcile. Produced by syncKalshiData. */
export interface SyncSummary {
  kind: 'initial' | 'periodic';
  /** Clock time at which the sync completed. */
  atMs: number;
  balance: Micros;
  portfolioValue?: Micros;
  positions: number;
  restingOrders: number;
  /** Fills newly recorded by this sync. */
  newFills: number;
  /** Local/exchange differences that the reconcile repaired (human-readable). */
  repairs?: string[];
}

export interface InitializeSystemOutput {
  markets: string[];
  [detail: string]: unknown;
}

export interface ConnectOrderbookOutput {
  marketsConnected: number;
  [detail: string]: unknown;
}

export interface ConnectTradingClientOutput {
  [detail: string]: unknown;
}

export interface ConnectOrderbookInput {
  markets: string[];
  attempt: number;
}

export interface SyncKalshiDataInput {
  kind: 'initial' | 'periodic';
  markets: string[];
}

/** Input of `probeJournal` / `probeTradingApi`: which probe of the current outage this is (1, 2, …). */
export interface ProbeInput {
  attempt: number;
}

/** What the chart knows about a dependency that fails by itself (the journal, the trading API). */
export interface DependencyHealth {
  /** The last failure reported (kept after recovery, for the history; `downSinceMs` says if current). */
  lastError: string | null;
  /** Clock time the current outage began; null while healthy. */
  downSinceMs: number | null;
  /** Probes made in the current outage (drives the probe backoff). */
  probes: number;
  /** Failures counted: while healthy, the current streak (trading API); while down, all of them. */
  failures: number;
  /** Outages so far. */
  outages: number;
}

export interface WatchOrderbookHealthInput {
  silenceMs: number;
}

export interface ShutdownSystemInput {
  reason: string;
  cancelOrders: boolean;
}

export interface TransitionNote {
  reason: string;
  metadata: Record<string, unknown>;
}

export interface CoordinatorContext {
  tradingEnabled: boolean;
  timeouts: CoordinatorTimeouts;
  errorBackoff: BackoffPolicy;
  orderbookBackoff: BackoffPolicy;
  journalBackoff: BackoffPolicy;
  tradingApiBackoff: BackoffPolicy;
  tradingApiFaultThreshold: number;
  seed: number;
  syncIntervalMs: number;
  syncRetryMs: number;
  maxSyncFailures: number;
  orderbookSilenceMs: number;
  cancelOrdersOnShutdown: boolean;

  markets: string[];
  /** True while the orderbook is unavailable (trading-only); mirrors the `degraded` sub-state. */
  degraded: boolean;
  lastError: string | null;
  /** Every entry into `error`, ever. */
  errorCount: number;
  /** Consecutive entries into `error` since the last successful recovery: drives the backoff. */
  retryCount: number;
  /** The delay `error` waits before its next retry (computed on entry, shown in status). */
  retryDelayMs: number;
  resumeAt: RecoveryTarget;
  /** The last pipeline stage entered; where a FATAL without an explicit target resumes. */
  stage: RecoveryTarget;
  orderbookAttempts: number;
  /** The journal (database): mirrors the `ready.journal` region. */
  journal: DependencyHealth;
  /** The venue's trading REST API: mirrors the `ready.tradingApi` region. */
  tradingApi: DependencyHealth;
  lastSyncAtMs: number | null;
  lastSyncSummary: SyncSummary | null;
  lastSyncError: string | null;
  syncCount: number;
  consecutiveSyncFailures: number;
  /** A SYNC_NOW that arrived while a sync was running: runs once right after it. */
  syncQueued: boolean;
  actingTraders: string[];
  actingTimeouts: number;
  actingRefused: number;
  startedAtMs: number;
  /** Why the chart last paused the trader (null: it has not, or resumed it); 'shutdown' is final. */
  traderPause: string | null;
  lastTransition: TransitionNote;
}

export type CoordinatorEvent =
  /** Leave `startup` (sent by the wiring once observers are attached). */
  | { type: 'START' }
  | { type: 'SHUTDOWN'; reason?: string }
  /** Stop at once, skipping shutdownSystem's work (cancelling resting orders): a second Ctrl-C. */
  | { type: 'SHUTDOWN_NOW'; reason?: string }
  /** A component reports an unrecoverable failure; resumes at `resumeAt` (default: current stage). */
  | { type: 'FATAL'; reason: string; resumeAt?: RecoveryTarget }
  | { type: 'ORDERBOOK_DOWN'; reason?: string; silentForMs?: number }
  | { type: 'ORDERBOOK_UP'; reason?: string }
  /** A journal read or write failed because the database is unavailable (nothing is sent meanwhile). */
  | { type: 'JOURNAL_FAILED'; reason: string; atMs: number }
  /** A REST request to the venue failed with 429, 5xx, a network error or a timeout. */
  | { type: 'TRADING_API_FAILED'; reason: string; atMs: number }
  /** A REST request to the venue succeeded (ends a streak of failures below the threshold). */
  | { type: 'TRADING_API_OK' }
  | { type: 'SYNC_NOW' }
  | { type: 'TRADER_ACTING'; traderId?: string }
  | { type: 'TRADER_IDLE'; traderId?: string }
  /** Internal: raised when the activity region returns to idle (releases a deferred sync). */
  | { type: 'ACTIVITY_IDLE' }
  /** Internal: raised when the journal or the trading API recovers (releases a held sync). */
  | { type: 'DEPENDENCY_RESTORED' }
  /** Internal: raised whenever what trading depends on may have changed: pause or resume the trader. */
  | { type: 'REVIEW_TRADING' };

/** A part of the system whose failure leaves `ready` operational but degraded. */
export type DegradedComponent = 'orderbook' | 'journal' | 'trading_api';

/** A problem that exists now (cleared when it is resolved), as /v3/status `problems` shows it. */
export interface CurrentProblem {
  component: string;
  message: string;
  /** Clock time it began, when known. */
  sinceMs: number | null;
}

export interface StateDescription {
  state: CoordinatorStateName;
  /** Some component is degraded (see `degradedComponents`) while the system stays operational. */
  degraded: boolean;
  degradedComponents: DegradedComponent[];
  /** Every active leaf, dot-separated ("ready.orderbook.degraded.waiting"). */
  path: string[];
}
