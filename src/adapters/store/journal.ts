/**
 * The trading ledger — the source of truth for money (DESIGN §2, §6). Unlike market data these
 * writes are synchronous: an order intent is journaled (with its client_order_id) BEFORE the
 * order is sent, so after a crash every order that might exist at the venue is known; fills are
 * stored idempotently by fill id, so replays of the fill feed and REST re-syncs never double
 * count. Also: order events, sync runs with their findings and position/balance snapshots, and
 * trader decisions.
 *
 * Every write of an order's ledger — intent, send, answer, order event, fill, decision — is one op
 * of `journal_apply` (migration 0005, the one place their SQL lives): the single-row functions
 * below send one op, and journal-writer.ts sends many in one statement (group commit).
 *
 * Units: prices are YES-leg Price (1/10,000 $), counts Count (1/100 contract), money Micros,
 * times Unix ms.
 */
import type { Pool } from 'pg';
import type { Count, Micros, Price } from '../../core/money.ts';
import type { OutcomeSide } from '../../core/orderbook.ts';
import { StoreError, inTransaction, query } from './database.ts';
import type { Queryable } from './database.ts';
import { applyJournalOps, settleJournalWrites } from './journal-writer.ts';
import type { JournalOp, JournalOpResult } from './journal-writer.ts';
import { OPEN_ORDER_STATES } from './statuses.ts';
import type {
  DecisionAction,
  DecisionOutcome,
  FillSource,
  FindingSeverity,
  JournalOrderState,
  JournalTimeInForce,
  StoreEnvironment,
  SyncStatus,
  VenueOrderStatus,
} from './statuses.ts';
import type { OrderSide } from '../../core/order-state.ts';

/** The YES-leg book side (bid = buy YES, ask = sell YES): core's OrderSide, one declaration. */
export type BookSide = OrderSide;

export class DuplicateOrderError extends StoreError {
  override readonly name = 'DuplicateOrderError';
  constructor(readonly clientOrderId: string) {
    super(`order ${clientOrderId} is already in the journal`);
  }
}

export class UnknownOrderError extends StoreError {
  override readonly name = 'UnknownOrderError';
  constructor(readonly clientOrderId: string) {
    super(`order ${clientOrderId} is not in the journal`);
  }
}

// ---------------------------------------------------------------------------------------------
// Orders

export interface OrderIntent {
  clientOrderId: string;
  env: StoreEnvironment;
  ticker: string;
  /** YES-leg book side: bid = buy YES (or sell NO), ask = sell YES (or buy NO). */
  side: BookSide;
  /** YES-leg limit price. */
  price: Price;
  count: Count;
  tif: JournalTimeInForce;
  postOnly?: boolean;
  reduceOnly?: boolean;
  /** Unix seconds, as Kalshi takes it. */
  expirationS?: number | null;
  trader?: string | null;
  decisionId?: number | null;
  createdMs: number;
  /** 'denied' journals an intent that local risk refused (never sent). Default 'initialized'. */
  state?: Extract<JournalOrderState, 'initialized' | 'denied'>;
  /** Why it was denied, when it was. */
  error?: string | null;
}

export interface JournalOrder {
  clientOrderId: string;
  env: StoreEnvironment;
  trader: string | null;
  decisionId: number | null;
  ticker: string;
  side: BookSide;
  price: Price;
  count: Count;
  tif: JournalTimeInForce;
  postOnly: boolean;
  reduceOnly: boolean;
  expirationS: number | null;
  state: JournalOrderState;
  venueOrderId: string | null;
  venueStatus: VenueOrderStatus | null;
  fillCount: Count;
  remainingCount: Count | null;
  avgFillPrice: Price | null;
  fees: Micros;
  error: string | null;
  createdMs: number;
  sentMs: number | null;
  answeredMs: number | null;
  updatedMs: number;
}

interface OrderRow {
  client_order_id: string;
  env: StoreEnvironment;
  trader: string | null;
  decision_id: number | null;
  ticker: string;
  side: BookSide;
  price: number;
  count: number;
  tif: JournalTimeInForce;
  post_only: boolean;
  reduce_only: boolean;
  expiration_s: number | null;
  state: JournalOrderState;
  venue_order_id: string | null;
  venue_status: VenueOrderStatus | null;
  fill_count: number;
  remaining_count: number | null;
  avg_fill_price: number | null;
  fees: number;
  error: string | null;
  created_ms: number;
  sent_ms: number | null;
  answered_ms: number | null;
  updated_ms: number;
}

function toOrder(r: OrderRow): JournalOrder {
  return {
    clientOrderId: r.client_order_id,
    env: r.env,
    trader: r.trader,
    decisionId: r.decision_id,
    ticker: r.ticker,
    side: r.side,
    price: r.price,
    count: r.count,
    tif: r.tif,
    postOnly: r.post_only,
    reduceOnly: r.reduce_only,
    expirationS: r.expiration_s,
    state: r.state,
    venueOrderId: r.venue_order_id,
    venueStatus: r.venue_status,
    fillCount: r.fill_count,
    remainingCount: r.remaining_count,
    avgFillPrice: r.avg_fill_price,
    fees: r.fees,
    error: r.error,
    createdMs: r.created_ms,
    sentMs: r.sent_ms,
    answeredMs: r.answered_ms,
    updatedMs: r.updated_ms,
  };
}

/**
 * Journals an order before it is sent. A second intent with the same client_order_id is refused
 * with DuplicateOrderError — the guarantee that an order is never placed twice starts here.
 */
export async function journalOrderIntent(db: Queryable, intent: OrderIntent): Promise<JournalOrder> {
  return orderOf(await applyOne(db, intentOp(intent)), intent.clientOrderId);
}

/** Records that the request left (state `submitted`); only moves an `initialized` order. */
export async function markOrderSent(db: Queryable, clientOrderId: string, sentMs: number): Promise<void> {
  checked(await applyOne(db, { op: 'sent', clientOrderId, sentMs }), clientOrderId);
}

export interface VenueAnswer {
  answeredMs: number;
  /** The venue's order id (absent when the venue refused the order). */
  orderId?: string | null;
  status?: VenueOrderStatus | null;
  fillCount?: Count;
  remainingCount?: Count | null;
  avgFillPrice?: Price | null;
  /** Total fees on the fills so far, in micros. */
  fees?: Micros;
  /** Set when the venue refused the order (e.g. "409 order_already_exists"). */
  error?: string | null;
  /** Overrides the state derived from status/error (e.g. 'unknown' after a timeout). */
  state?: JournalOrderState;
  details?: Record<string, unknown>;
}

/** The journal state implied by a venue answer. */
export function stateForVenueAnswer(answer: VenueAnswer): JournalOrderState {
  if (answer.state) return answer.state;
  if (answer.error) return 'rejected';
  switch (answer.status) {
    case 'executed':
      return 'filled';
    case 'canceled':
      return 'canceled';
    case 'resting':
      return (answer.fillCount ?? 0) > 0 ? 'partially_filled' : 'accepted';
    default:
      return answer.orderId ? 'accepted' : 'unknown';
  }
}

/** Stores the venue's answer to the create request, with an order event, in one statement. */
export async function recordVenueAnswer(db: Queryable, clientOrderId: string, answer: VenueAnswer): Promise<JournalOrder> {
  return orderOf(await applyOne(db, answerOp(clientOrderId, answer)), clientOrderId);
}

export interface OrderEvent {
  clientOrderId: string;
  /** What happened: 'sent', 'venue_answer', 'fill', 'cancel_requested', 'canceled', 'reconciled', … */
  kind: string;
  atMs: number;
  /** When given, the order's journal state moves to it in the same transaction. */
  state?: JournalOrderState;
  venueOrderId?: string | null;
  venueStatus?: VenueOrderStatus | null;
  fillCount?: Count;
  remainingCount?: Count | null;
  details?: Record<string, unknown>;
}

export interface StoredOrderEvent {
  id: number;
  clientOrderId: string;
  kind: string;
  state: JournalOrderState | null;
  atMs: number;
  details: Record<string, unknown>;
}

/** Appends an order event; if it carries a state (or venue fields), updates the order too (one statement). */
export async function recordOrderEvent(db: Queryable, event: OrderEvent): Promise<number> {
  return idOf(await applyOne(db, { op: 'event', ...event }), event.clientOrderId);
}

export async function getJournalOrder(db: Queryable, clientOrderId: string): Promise<JournalOrder | null> {
  await settleJournalWrites(db); // a read sees every write queued before it
  const rows = await query<OrderRow>(db, 'SELECT * FROM orders WHERE client_order_id = $1', [clientOrderId]);
  return rows.length ? toOrder(rows[0]) : null;
}

export async function getJournalOrderByVenueId(db: Queryable, venueOrderId: string): Promise<JournalOrder | null> {
  await settleJournalWrites(db); // a read sees every write queued before it
  const rows = await query<OrderRow>(db, 'SELECT * FROM orders WHERE venue_order_id = $1', [venueOrderId]);
  return rows.length ? toOrder(rows[0]) : null;
}

/**
 * Orders journaled but never answered by the venue (crash or timeout between journal and
 * answer). Each may or may not exist at the venue: resolve by querying it by client_order_id.
 */
export async function listUnansweredOrders(db: Queryable, options: { env?: StoreEnvironment } = {}): Promise<JournalOrder[]> {
  await settleJournalWrites(db); // a read sees every write queued before it
  const rows = await query<OrderRow>(
    db,
    `SELECT * FROM orders
      WHERE answered_ms IS NULL AND state IN ('initialized', 'submitted', 'unknown')
        AND ($1::text IS NULL OR env = $1)
      ORDER BY created_ms, client_order_id`,
    [options.env ?? null],
  );
  return rows.map(toOrder);
}

/** Orders that may still rest at (or be unknown to) the venue. */
export async function listOpenJournalOrders(
  db: Queryable,
  options: { env?: StoreEnvironment; ticker?: string; trader?: string } = {},
): Promise<JournalOrder[]> {
  await settleJournalWrites(db); // a read sees every write queued before it
  const rows = await query<OrderRow>(
    db,
    `SELECT * FROM orders
      WHERE state = ANY($1::text[]) AND ($2::text IS NULL OR env = $2) AND ($3::text IS NULL OR ticker = $3)
        AND ($4::text IS NULL OR trader = $4)
      ORDER BY created_ms, client_order_id`,
    [OPEN_ORDER_STATES, options.env ?? null, options.ticker ?? null, options.trader ?? null],
  );
  return rows.map(toOrder);
}

/** Which of `clientOrderIds` this journal holds (for `env`): venue orders the account placed. */
export async function journaledClientOrderIds(db: Queryable, env: StoreEnvironment, clientOrderIds: readonly string[]): Promise<Set<string>> {
  await settleJournalWrites(db); // a read sees every write queued before it
  if (clientOrderIds.length === 0) return new Set();
  const rows = await query<{ client_order_id: string }>(
    db,
    'SELECT client_order_id FROM orders WHERE env = $1 AND client_order_id = ANY($2::text[])',
    [env, [...clientOrderIds]],
  );
  return new Set(rows.map((r) => r.client_order_id));
}

/**
 * Brings an open journal order to the final state the venue reports (reconciliation): filled,
 * canceled, or rejected when it never reached the venue. Only moves an order that is still open,
 * so a close the live trader journals meanwhile is never overwritten. True if it moved.
 */
export async function settleJournalOrder(
  pool: Pool,
  clientOrderId: string,
  settled: {
    atMs: number;
    state: Extract<JournalOrderState, 'filled' | 'canceled' | 'rejected'>;
    venueOrderId?: string | null;
    venueStatus?: VenueOrderStatus | null;
    fillCount?: Count;
    error?: string | null;
    details?: Record<string, unknown>;
  },
): Promise<boolean> {
  await settleJournalWrites(pool); // after every write queued before it
  return inTransaction(pool, async (client) => {
    const rows = await query(
      client,
      `UPDATE orders SET state = $2, venue_order_id = COALESCE($3, venue_order_id), venue_status = COALESCE($4, venue_status),
              fill_count = GREATEST(fill_count, COALESCE($5, fill_count)), remaining_count = 0,
              error = COALESCE(error, $6), answered_ms = COALESCE(answered_ms, $7), updated_ms = GREATEST(updated_ms, $7)
        WHERE client_order_id = $1 AND state = ANY($8::text[]) RETURNING client_order_id`,
      [
        clientOrderId,
        settled.state,
        settled.venueOrderId ?? null,
        settled.venueStatus ?? null,
        settled.fillCount ?? null,
        settled.error ?? null,
        settled.atMs,
        OPEN_ORDER_STATES,
      ],
    );
    if (rows.length === 0) return false;
    await query(
      client,
      `INSERT INTO order_events (client_order_id, kind, state, at_ms, details) VALUES ($1, 'reconciled', $2, $3, $4)`,
      [clientOrderId, settled.state, settled.atMs, settled.details ?? {}],
    );
    return true;
  });
}

export async function listRecentOrders(db: Queryable, options: { limit?: number; env?: StoreEnvironment } = {}): Promise<JournalOrder[]> {
  await settleJournalWrites(db); // a read sees every write queued before it
  const rows = await query<OrderRow>(
    db,
    `SELECT * FROM orders WHERE ($2::text IS NULL OR env = $2) ORDER BY created_ms DESC, client_order_id LIMIT $1`,
    [options.limit ?? 100, options.env ?? null],
  );
  return rows.map(toOrder);
}

export async function listOrderEvents(db: Queryable, clientOrderId: string): Promise<StoredOrderEvent[]> {
  await settleJournalWrites(db); // a read sees every write queued before it
  const rows = await query<{
    id: number;
    client_order_id: string;
    kind: string;
    state: JournalOrderState | null;
    at_ms: number;
    details: Record<string, unknown>;
  }>(db, 'SELECT * FROM order_events WHERE client_order_id = $1 ORDER BY id', [clientOrderId]);
  return rows.map((r) => ({
    id: r.id,
    clientOrderId: r.client_order_id,
    kind: r.kind,
    state: r.state,
    atMs: r.at_ms,
    details: r.details,
  }));
}

// ---------------------------------------------------------------------------------------------
// Fills

export interface FillRecord {
  fillId: string;
  venueOrderId: string;
  /** Optional: looked up from the journal by venue order id when absent. */
  clientOrderId?: string | null;
  env: StoreEnvironment;
  ticker: string;
  side: BookSide;
  outcomeSide?: OutcomeSide | null;
  yesPrice: Price;
  count: Count;
  fee: Micros;
  isTaker: boolean;
  tsMs: number;
  recordedMs: number;
  source: FillSource;
}

/**
 * Stores a fill once. Returns true if it was new, false if that fill id was already stored
 * (the caller applies a fill to positions only when this returns true).
 */
export async function recordFill(db: Queryable, fill: FillRecord): Promise<boolean> {
  return isNewFill(await applyOne(db, { op: 'fill', ...fill }));
}

export interface StoredFill extends FillRecord {
  clientOrderId: string | null;
  outcomeSide: OutcomeSide | null;
}

export interface FillQuery {
  env?: StoreEnvironment;
  ticker?: string;
  venueOrderId?: string;
  clientOrderId?: string;
  sinceMs?: number;
  limit?: number;
}

/** Fills, oldest first (by exchange time, then id). */
export async function listFills(db: Queryable, filter: FillQuery = {}): Promise<StoredFill[]> {
  await settleJournalWrites(db); // a read sees every write queued before it
  const rows = await query<{
    fill_id: string;
    venue_order_id: string;
    client_order_id: string | null;
    env: StoreEnvironment;
    ticker: string;
    side: BookSide;
    outcome_side: OutcomeSide | null;
    yes_price: number;
    count: number;
    fee: number;
    is_taker: boolean;
    ts_ms: number;
    recorded_ms: number;
    source: FillSource;
  }>(
    db,
    `SELECT * FROM fills
      WHERE ($1::text IS NULL OR env = $1) AND ($2::text IS NULL OR ticker = $2)
        AND ($3::text IS NULL OR venue_order_id = $3) AND ($4::text IS NULL OR client_order_id = $4)
        AND ($5::bigint IS NULL OR ts_ms >= $5)
      ORDER BY ts_ms, fill_id
      LIMIT $6`,
    [
      filter.env ?? null,
      filter.ticker ?? null,
      filter.venueOrderId ?? null,
      filter.clientOrderId ?? null,
      filter.sinceMs ?? null,
      filter.limit ?? 10_000,
    ],
  );
  return rows.map((r) => ({
    fillId: r.fill_id,
    venueOrderId: r.venue_order_id,
    clientOrderId: r.client_order_id,
    env: r.env,
    ticker: r.ticker,
    side: r.side,
    outcomeSide: r.outcome_side,
    yesPrice: r.yes_price,
    count: r.count,
    fee: r.fee,
    isTaker: r.is_taker,
    tsMs: r.ts_ms,
    recordedMs: r.recorded_ms,
    source: r.source,
  }));
}

// ---------------------------------------------------------------------------------------------
// Sync runs, findings, position and balance snapshots

export async function startSyncRun(
  db: Queryable,
  run: { env: StoreEnvironment; reason: string; startedMs: number },
): Promise<number> {
  const rows = await query<{ id: number }>(
    db,
    'INSERT INTO sync_runs (env, reason, started_ms) VALUES ($1, $2, $3) RETURNING id',
    [run.env, run.reason, run.startedMs],
  );
  return rows[0].id;
}

/**
 * Sync runs a killed process left `running` are closed as failed (interrupted); called when a new
 * process starts syncing. Returns how many.
 */
export async function closeInterruptedSyncRuns(db: Queryable, env: StoreEnvironment, endedMs: number): Promise<number> {
  const rows = await query(
    db,
    `UPDATE sync_runs SET status = 'failed', ended_ms = GREATEST($2::bigint, started_ms),
            error = 'interrupted: the process ended during the sync'
      WHERE status = 'running' AND env = $1 RETURNING id`,
    [env, endedMs],
  );
  return rows.length;
}

export interface SyncOutcome {
  status: Exclude<SyncStatus, 'running'>;
  endedMs: number;
  ordersChecked?: number;
  fillsImported?: number;
  error?: string | null;
}

export async function finishSyncRun(db: Queryable, syncId: number, outcome: SyncOutcome): Promise<void> {
  const rows = await query(
    db,
    `UPDATE sync_runs SET status = $2, ended_ms = GREATEST($3::bigint, started_ms), orders_checked = $4,
            fills_imported = $5, error = $6
      WHERE id = $1 AND status = 'running' RETURNING id`,
    [syncId, outcome.status, outcome.endedMs, outcome.ordersChecked ?? 0, outcome.fillsImported ?? 0, outcome.error ?? null],
  );
  if (rows.length === 0) throw new StoreError(`sync run ${syncId} is not running (unknown or already finished)`);
}

export interface SyncFinding {
  kind: string;
  severity: FindingSeverity;
  message: string;
  ticker?: string | null;
  clientOrderId?: string | null;
  details?: Record<string, unknown>;
}

export async function recordSyncFinding(db: Queryable, syncId: number, finding: SyncFinding): Promise<void> {
  await query(
    db,
    `INSERT INTO sync_findings (sync_id, kind, severity, ticker, client_order_id, message, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      syncId,
      finding.kind,
      finding.severity,
      finding.ticker ?? null,
      finding.clientOrderId ?? null,
      finding.message,
      finding.details ?? {},
    ],
  );
}

export async function listSyncFindings(db: Queryable, syncId: number): Promise<Array<SyncFinding & { id: number }>> {
  const rows = await query<{
    id: number;
    kind: string;
    severity: FindingSeverity;
    ticker: string | null;
    client_order_id: string | null;
    message: string;
    details: Record<string, unknown>;
  }>(db, 'SELECT * FROM sync_findings WHERE sync_id = $1 ORDER BY id', [syncId]);
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    severity: r.severity,
    ticker: r.ticker,
    clientOrderId: r.client_order_id,
    message: r.message,
    details: r.details,
  }));
}

export interface PositionSnapshot {
  ticker: string;
  /** Signed: > 0 YES contracts, < 0 NO contracts. */
  position: Count;
  exposure: Micros;
  realizedPnl: Micros;
  feesPaid: Micros;
  totalTraded: Micros;
}

/** Stores the venue's positions as seen by one sync run (one multi-row insert). */
export async function recordPositionSnapshots(
  db: Queryable,
  syncId: number,
  atMs: number,
  positions: readonly PositionSnapshot[],
): Promise<void> {
  if (positions.length === 0) return;
  await query(
    db,
    `INSERT INTO position_snapshots (sync_id, ticker, at_ms, position, exposure, realized_pnl, fees_paid, total_traded)
     SELECT $1, u.ticker, $2, u.position, u.exposure, u.realized_pnl, u.fees_paid, u.total_traded
       FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
         AS u(ticker, position, exposure, realized_pnl, fees_paid, total_traded)`,
    [
      syncId,
      atMs,
      positions.map((p) => p.ticker),
      positions.map((p) => p.position),
      positions.map((p) => p.exposure),
      positions.map((p) => p.realizedPnl),
      positions.map((p) => p.feesPaid),
      positions.map((p) => p.totalTraded),
    ],
  );
}

export async function recordBalanceSnapshot(
  db: Queryable,
  syncId: number,
  balance: { atMs: number; balance: Micros; portfolioValue?: Micros | null },
): Promise<void> {
  await query(db, 'INSERT INTO balance_snapshots (sync_id, at_ms, balance, portfolio_value) VALUES ($1, $2, $3, $4)', [
    syncId,
    balance.atMs,
    balance.balance,
    balance.portfolioValue ?? null,
  ]);
}

export interface AccountSnapshot {
  syncId: number;
  atMs: number;
  balance: Micros | null;
  portfolioValue: Micros | null;
  positions: PositionSnapshot[];
}

/** Positions and balance from the most recent sync run that finished without failing. */
export async function latestAccountSnapshot(db: Queryable, options: { env?: StoreEnvironment } = {}): Promise<AccountSnapshot | null> {
  const runs = await query<{ id: number; ended_ms: number; balance: number | null; portfolio_value: number | null }>(
    db,
    `SELECT r.id, r.ended_ms, b.balance, b.portfolio_value
       FROM sync_runs r LEFT JOIN balance_snapshots b ON b.sync_id = r.id
      WHERE r.status IN ('agreed', 'mismatch') AND ($1::text IS NULL OR r.env = $1)
      ORDER BY r.started_ms DESC, r.id DESC LIMIT 1`,
    [options.env ?? null],
  );
  if (runs.length === 0) return null;
  const run = runs[0];
  const positions = await query<{
    ticker: string;
    position: number;
    exposure: number;
    realized_pnl: number;
    fees_paid: number;
    total_traded: number;
  }>(db, 'SELECT * FROM position_snapshots WHERE sync_id = $1 ORDER BY ticker', [run.id]);
  return {
    syncId: run.id,
    atMs: run.ended_ms,
    balance: run.balance,
    portfolioValue: run.portfolio_value,
    positions: positions.map((p) => ({
      ticker: p.ticker,
      position: p.position,
      exposure: p.exposure,
      realizedPnl: p.realized_pnl,
      feesPaid: p.fees_paid,
      totalTraded: p.total_traded,
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Trader decisions

export interface TraderDecision {
  trader: string;
  strategy: string;
  env: StoreEnvironment;
  ticker: string;
  atMs: number;
  action: DecisionAction;
  price?: Price | null;
  count?: Count | null;
  outcome: DecisionOutcome;
  reason?: string | null;
  modelId?: number | null;
  recordingSessionId?: number | null;
  details?: Record<string, unknown>;
}

export async function recordDecision(db: Queryable, decision: TraderDecision): Promise<number> {
  return idOf(await applyOne(db, { op: 'decision', ...decision }), null);
}

/** Updates what became of a decision (e.g. proposed → submitted or denied, with the reason). */
export async function setDecisionOutcome(db: Queryable, id: number, outcome: DecisionOutcome, reason?: string): Promise<void> {
  await query(db, 'UPDATE trader_decisions SET outcome = $2, reason = COALESCE($3, reason) WHERE id = $1', [
    id,
    outcome,
    reason ?? null,
  ]);
}

export async function listRecentDecisions(
  db: Queryable,
  options: { limit?: number; trader?: string } = {},
): Promise<Array<TraderDecision & { id: number }>> {
  const rows = await query<{
    id: number;
    trader: string;
    strategy: string;
    env: StoreEnvironment;
    ticker: string;
    at_ms: number;
    action: DecisionAction;
    price: number | null;
    count: number | null;
    outcome: DecisionOutcome;
    reason: string | null;
    model_id: number | null;
    recording_session_id: number | null;
    details: Record<string, unknown>;
  }>(
    db,
    `SELECT * FROM trader_decisions WHERE ($2::text IS NULL OR trader = $2) ORDER BY at_ms DESC, id DESC LIMIT $1`,
    [options.limit ?? 100, options.trader ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    trader: r.trader,
    strategy: r.strategy,
    env: r.env,
    ticker: r.ticker,
    atMs: r.at_ms,
    action: r.action,
    price: r.price,
    count: r.count,
    outcome: r.outcome,
    reason: r.reason,
    modelId: r.model_id,
    recordingSessionId: r.recording_session_id,
    details: r.details,
  }));
}

export type OperatorActionName = 'pause' | 'resume' | 'cancel-all' | 'flatten';

export interface OperatorAction {
  trader: string;
  env: StoreEnvironment;
  atMs: number;
  action: OperatorActionName;
  ticker: string | null;
  outcome: 'applied' | 'refused';
  message: string;
  details?: Record<string, unknown>;
}

/** One operator control request and its outcome (`operator_actions`). */
export async function recordOperatorAction(db: Queryable, action: OperatorAction): Promise<number> {
  const rows = await query<{ id: number }>(
    db,
    `INSERT INTO operator_actions (trader, env, at_ms, action, ticker, outcome, message, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [action.trader, action.env, action.atMs, action.action, action.ticker, action.outcome, action.message, action.details ?? {}],
  );
  return Number(rows[0].id);
}

/** The newest operator actions, newest first. */
export async function recentOperatorActions(db: Queryable, limit = 50): Promise<OperatorAction[]> {
  const rows = await query<{ trader: string; env: StoreEnvironment; at_ms: string; action: OperatorActionName; ticker: string | null; outcome: 'applied' | 'refused'; message: string; details: Record<string, unknown> }>(
    db,
    'SELECT trader, env, at_ms, action, ticker, outcome, message, details FROM operator_actions ORDER BY at_ms DESC, id DESC LIMIT $1',
    [limit],
  );
  return rows.map((r) => ({ trader: r.trader, env: r.env, atMs: Number(r.at_ms), action: r.action, ticker: r.ticker, outcome: r.outcome, message: r.message, details: r.details }));
}

// ---------------------------------------------------------------------------------------------
// journal_apply: the ops, their results, and what a result means

/** The intent op (refused with DuplicateOrderError when the id is journaled already). */
export function intentOp(intent: OrderIntent): JournalOp {
  if (!intent.clientOrderId) throw new StoreError('an order intent needs a client_order_id');
  return { op: 'intent', ...intent, state: intent.state ?? 'initialized' };
}

/** The answer op: the state the answer implies, and what the venue said kept in the event's details. */
export function answerOp(clientOrderId: string, answer: VenueAnswer): JournalOp {
  return {
    op: 'answer',
    ...answer,
    clientOrderId,
    state: stateForVenueAnswer(answer),
    details: { ...(answer.details ?? {}), orderId: answer.orderId ?? null, status: answer.status ?? null, error: answer.error ?? null },
  };
}

/** One op on its own, after every write queued on `db`'s journal writer (queue order holds). */
async function applyOne(db: Queryable, op: JournalOp): Promise<JournalOpResult> {
  await settleJournalWrites(db);
  return (await applyJournalOps(db, [op]))[0];
}

/** Throws the error a result names (for `clientOrderId`); returns the result otherwise. */
export function checked(result: JournalOpResult, clientOrderId: string | null): JournalOpResult {
  if (result.error === 'duplicate') throw new DuplicateOrderError(clientOrderId ?? '?');
  if (result.error === 'unknown_order') throw new UnknownOrderError(clientOrderId ?? '?');
  return result;
}

export function orderOf(result: JournalOpResult, clientOrderId: string): JournalOrder {
  return toOrder(checked(result, clientOrderId).row as unknown as OrderRow);
}

export function idOf(result: JournalOpResult, clientOrderId: string | null): number {
  return checked(result, clientOrderId).id as number;
}

export function isNewFill(result: JournalOpResult): boolean {
  return result.new === true;
}
