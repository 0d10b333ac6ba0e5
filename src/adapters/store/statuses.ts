/**
 * Every enumerated value the store writes, in one place. The SQL CHECK constraints in
 * `migrations/` list the same values; `test/store` writes each of these to prove the two agree
 * (the original system crashed closing a session with a status its CHECK refused).
 */

export const ENVIRONMENTS = ['sim', 'paper', 'production', 'test'] as const;
export type StoreEnvironment = (typeof ENVIRONMENTS)[number];

export const RECORDING_MODES = ['record', 'trade', 'scripted', 'synthetic'] as const;
export type RecordingMode = (typeof RECORDING_MODES)[number];

export const RECORDING_STATUSES = ['active', 'closed', 'error', 'health_failure', 'interrupted'] as const;
export type RecordingStatus = (typeof RECORDING_STATUSES)[number];
/** The statuses a session may be closed with. */
export type RecordingEndStatus = Exclude<RecordingStatus, 'active'>;

export const GAP_KINDS = ['seq_gap', 'reconnect', 'resubscribe', 'disconnect', 'stale'] as const;
export type GapKind = (typeof GAP_KINDS)[number];

/** Journal states: the order actor's states (DESIGN §4.3). */
export const ORDER_STATES = [
  'initialized',
  'denied',
  'submitted',
  'accepted',
  'partially_filled',
  'filled',
  'pending_cancel',
  'canceled',
  'rejected',
  'expired',
  'unknown',
] as const;
export type JournalOrderState = (typeof ORDER_STATES)[number];
/** States in which an order may still rest at, or be unknown to, the venue. */
export const OPEN_ORDER_STATES: readonly JournalOrderState[] = [
  'initialized',
  'submitted',
  'accepted',
  'partially_filled',
  'pending_cancel',
  'unknown',
];

export const VENUE_ORDER_STATUSES = ['resting', 'canceled', 'executed'] as const;
export type VenueOrderStatus = (typeof VENUE_ORDER_STATUSES)[number];

export const TIME_IN_FORCE = ['good_till_canceled', 'immediate_or_cancel', 'fill_or_kill'] as const;
export type JournalTimeInForce = (typeof TIME_IN_FORCE)[number];

export const FILL_SOURCES = ['ws', 'rest', 'order_response', 'sync', 'sim'] as const;
export type FillSource = (typeof FILL_SOURCES)[number];

export const SYNC_STATUSES = ['running', 'agreed', 'mismatch', 'failed'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export const FINDING_SEVERITIES = ['info', 'warning', 'error'] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

export const DECISION_ACTIONS = ['hold', 'buy_yes', 'sell_yes', 'buy_no', 'sell_no', 'cancel'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

export const DECISION_OUTCOMES = ['proposed', 'submitted', 'denied', 'skipped', 'failed'] as const;
export type DecisionOutcome = (typeof DECISION_OUTCOMES)[number];

export const MODEL_STATUSES = ['training', 'candidate', 'active', 'retired', 'failed'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export const EPISODE_KINDS = ['training', 'evaluation'] as const;
export type EpisodeKind = (typeof EPISODE_KINDS)[number];

export const SESSION_RUN_STATUSES = ['running', 'passed', 'failed', 'error', 'aborted'] as const;
export type SessionRunStatus = (typeof SESSION_RUN_STATUSES)[number];
