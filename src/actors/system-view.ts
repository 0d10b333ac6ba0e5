/**
 * What the HTTP/WebSocket surface may see of a running trading system: a read-only view plus an
 * event stream. The actor system (./trading-system.ts) implements it, so the port lives here,
 * beside it; the Hono app, the WebSocket broadcaster, /metrics and the dashboard (src/server)
 * consume it. Money fields are integers (Price 1/10,000 $, Count 1/100 contract, Micros 1e-6 $)
 * — the server formats them for JSON.
 */
import type { Count, Micros, Price } from '../core/money.ts';
import type { CoordinatorStateName, CurrentProblem, DegradedComponent } from '../machines/coordinator.types.ts';
import type { TransitionRecord } from '../machines/status-history.ts';
import type { OrderSide } from '../core/order-state.ts';

export type { CoordinatorStateName, CurrentProblem, DegradedComponent, TransitionRecord };

export interface HealthReport {
  /** Operational: ready or acting (degraded included). */
  healthy: boolean;
  status: 'healthy' | 'degraded' | 'unhealthy';
  state: CoordinatorStateName;
  degraded: boolean;
  /** What is degraded while operational: `orderbook`, `journal` (database outage), `trading_api`. */
  degradedComponents: DegradedComponent[];
  /** Seconds since start. */
  uptime: number;
}

export interface ComponentHealth {
  name: 'orderbook' | 'journal' | 'trading_api' | 'trading_client' | 'store' | 'trader' | 'policy' | string;
  healthy: boolean;
  detail: string;
  lastActivityMs: number | null;
}

export interface MarketStatus {
  ticker: string;
  subscription: string; // market actor state: subscribing | awaiting_snapshot | live | stale | resyncing | closed
  bestYesBid: Price | null;
  bestYesAsk: Price | null;
  spread: Price | null;
  yesDepth: Count;
  noDepth: Count;
  lastUpdateMs: number | null;
  deltas: number;
}

export interface PositionStatus {
  ticker: string;
  position: Count;
  costBasis: Micros;
  realizedPnl: Micros;
  unrealizedPnl: Micros;
  feesPaid: Micros;
  /** Valued at the last prices a book showed (no usable book now), or at cost before any book. */
  markStale: boolean;
  /** When the valuation's prices were the book's (null: no book seen yet, valued at cost). */
  markAtMs: number | null;
}

export interface OrderStatusView {
  clientOrderId: string;
  orderId: string | null;
  ticker: string;
  side: OrderSide;
  price: Price;
  count: Count;
  filled: Count;
  state: string; // order actor state (submitted, accepted, partially_filled, ...)
  external: boolean;
  updatedMs: number;
}

export interface FillView {
  fillId: string;
  clientOrderId: string | null;
  ticker: string;
  side: OrderSide;
  price: Price;
  count: Count;
  fee: Micros;
  isTaker: boolean;
  tsMs: number;
}

export interface TradingState {
  /** Increments on every change, so clients can drop stale updates. */
  version: number;
  balance: Micros;
  portfolioValue: Micros;
  realizedPnl: Micros;
  unrealizedPnl: Micros;
  feesPaid: Micros;
  positions: PositionStatus[];
  openOrders: OrderStatusView[];
  lastSyncMs: number | null;
  /** Positions valued at stale marks (no usable book now), and the oldest such mark's time. */
  staleMarks: number;
  oldestStaleMarkMs: number | null;
}

export interface StatusReport {
  state: CoordinatorStateName;
  degraded: boolean;
  degradedComponents: DegradedComponent[];
  environment: 'sim' | 'paper' | 'production';
  strategy: string;
  startedAtMs: number;
  uptime: number;
  stateHistory: TransitionRecord[]; // newest first, at most 50
  statusLog: string; // copy-paste format, newest first
  components: ComponentHealth[];
  /** What is wrong now; empty when all is well (each entry disappears when it recovers). */
  problems: CurrentProblem[];
  markets: MarketStatus[];
  trading: TradingState;
  recentFills: FillView[];
  sync: { lastSyncMs: number | null; syncCount: number; lastSummary: unknown };
  /** History: the last errors ever recorded, newest first; they stay after recovery (see `problems`). */
  errors: Array<{ atMs: number; message: string }>;
  trader: { state: string; reason: string | null; decisions: number; ordersPlaced: number; denied: number };
  counters: Record<string, number>;
}

export type Severity = 'info' | 'success' | 'warning' | 'error';

/** Events pushed to /v3/ws clients (wrapped there in `{type, data, timestamp}` envelopes). */
export type SystemEvent =
  | { type: 'system_activity'; data: { activity_type: string; message: string; severity: Severity; metadata?: Record<string, unknown> } }
  | { type: 'trading_state'; data: TradingState }
  | { type: 'market_update'; data: MarketStatus }
  | { type: 'order_update'; data: OrderStatusView }
  | { type: 'fill'; data: FillView }
  | { type: 'position_update'; data: PositionStatus }
  | { type: 'actor_snapshot'; data: { actor: string; state: unknown } };

/** The operator's controls (`POST /v3/control/<action>`, `kalshiflow ctl`, the dashboard's buttons). */
export type ControlAction = 'pause' | 'resume' | 'cancel-all' | 'flatten';
export const CONTROL_ACTIONS: readonly ControlAction[] = ['pause', 'resume', 'cancel-all', 'flatten'];

export interface ControlCommand {
  action: ControlAction;
  /** cancel-all and flatten: one market only. */
  ticker?: string;
}

/** Whether a control can be used now, and why not. */
export interface ControlAvailability {
  allowed: boolean;
  reason: string | null;
}

export interface ControlResult {
  /** False when the state did not allow it (`message` says why); nothing was done then. */
  applied: boolean;
  action: ControlAction;
  ticker: string | null;
  /** One line: what it did. */
  message: string;
  trader: { state: string; reason: string | null };
  /** Cancel requests sent to the venue. */
  cancelsSent: number;
  ordersPlaced: Array<{ clientOrderId: string; ticker: string; side: OrderSide; price: Price; count: Count }>;
  ordersDenied: Array<{ ticker: string; rule: string; reason: string }>;
  /** flatten: per market, the closing order sent or why none. */
  positions: Array<{ ticker: string; sent: boolean; detail: string }>;
  /** Written to `operator_actions` before the answer (false during a database outage: the action still applied). */
  journaled: boolean;
}

/** A latency the operator's /metrics histograms count (wall time, seconds). */
export type LatencySample =
  /** A book update of a market to the order it made the trader place (synchronous strategies). */
  | { kind: 'tick_to_order'; seconds: number }
  /** One REST request to the venue; `endpoint` is its path with ids replaced (`/portfolio/orders/:id`). */
  | { kind: 'rest'; method: string; endpoint: string; seconds: number }
  /** One group-committed batch of journal writes (intents, sends, answers, fills). */
  | { kind: 'journal_write'; seconds: number };

export interface SystemView {
  health(): HealthReport;
  status(): StatusReport;
  /** Snapshot-style value of a machine's current state for the live statechart view. */
  machineStates(): Record<string, unknown>;
  subscribe(listener: (event: SystemEvent) => void): () => void;
  /** Latency samples as they happen (absent: no histograms). */
  onLatency?(listener: (sample: LatencySample) => void): () => void;
  /** Which controls the state allows now (absent: a read-only view, no controls). */
  controls?(): Record<ControlAction, ControlAvailability>;
  /** Applies an operator control; answers with what it did (or why it could not). */
  control?(command: ControlCommand): Promise<ControlResult>;
}
