/**
 * The dashboard's state and how each input changes it: polled HTTP snapshots (`/v3/status`,
 * `/v3/machines`, `/v3/statecharts`) and the /v3/ws envelopes. A plain reducer, so the page
 * renders from one value and stale updates (older trading_state versions) are dropped here.
 */
import type { ActivityData, Envelope, Fill, Market, Order, PnlPoint, Position, Status, TraderStatus, Trading } from './types.ts';

export interface DashboardState {
  connected: boolean;
  /** When the feed was lost (null while connected, and before the first connection). */
  disconnectedSinceMs: number | null;
  everConnected: boolean;
  clientId: string | null;
  lastMessageMs: number | null;
  status: Status | null;
  state: string;
  degraded: boolean;
  traderStatus: TraderStatus | null;
  trading: Trading | null;
  markets: Record<string, Market>;
  orders: Record<string, Order>;
  positions: Record<string, Position>;
  fills: Fill[];
  /** Newest first. */
  console: ActivityData[];
  pnl: PnlPoint[];
  machines: Record<string, unknown>;
  charts: Record<string, unknown>;
  chartProblems: Array<{ file: string; problem: string }>;
}

export const initialState: DashboardState = {
  connected: false,
  disconnectedSinceMs: null,
  everConnected: false,
  clientId: null,
  lastMessageMs: null,
  status: null,
  state: 'startup',
  degraded: false,
  traderStatus: null,
  trading: null,
  markets: {},
  orders: {},
  positions: {},
  fills: [],
  console: [],
  pnl: [],
  machines: {},
  charts: {},
  chartProblems: [],
};

export type Action =
  | { kind: 'connected'; connected: boolean; atMs: number }
  | { kind: 'status'; status: Status }
  | { kind: 'machines'; machines: Record<string, unknown> }
  | { kind: 'charts'; charts: Record<string, unknown>; problems: Array<{ file: string; problem: string }> }
  | { kind: 'envelope'; envelope: Envelope; receivedMs: number };

const CONSOLE_LIMIT = 500;
const FILLS_LIMIT = 50;
const PNL_LIMIT = 720;
const CLOSED_ORDER_STATES = new Set(['filled', 'canceled', 'cancelled', 'rejected', 'expired', 'denied']);

const consoleKey = (a: ActivityData) => `${a.atMs}|${a.line}`;

function mergeConsole(existing: ActivityData[], incoming: ActivityData[]): ActivityData[] {
  const seen = new Set(existing.map(consoleKey));
  const fresh = incoming.filter((a) => !seen.has(consoleKey(a)));
  if (fresh.length === 0) return existing;
  return [...fresh, ...existing].sort((a, b) => b.atMs - a.atMs).slice(0, CONSOLE_LIMIT);
}

function byKey<T>(items: T[], key: (t: T) => string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const item of items) out[key(item)] = item;
  return out;
}

function withTrading(state: DashboardState, trading: Trading, atMs: number): DashboardState {
  if (state.trading && trading.version < state.trading.version) return state;
  const point: PnlPoint = {
    atMs,
    realized: trading.realizedPnl,
    unrealized: trading.unrealizedPnl,
    total: trading.totalPnl,
    raw: { realized: trading.raw.realizedPnl, unrealized: trading.raw.unrealizedPnl, total: trading.raw.realizedPnl + trading.raw.unrealizedPnl },
  };
  const last = state.pnl[state.pnl.length - 1];
  const pnl = last && atMs - last.atMs < 1000 ? [...state.pnl.slice(0, -1), { ...point, atMs: last.atMs }] : [...state.pnl, point].slice(-PNL_LIMIT);
  return {
    ...state,
    trading,
    orders: byKey(trading.openOrders, (o) => o.clientOrderId),
    positions: byKey(trading.positions, (p) => p.ticker),
    pnl,
  };
}

function mergeFills(existing: Fill[], incoming: Fill[]): Fill[] {
  const seen = new Set(existing.map((f) => f.fillId));
  const fresh = incoming.filter((f) => !seen.has(f.fillId));
  if (fresh.length === 0) return existing;
  return [...fresh, ...existing].sort((a, b) => b.tsMs - a.tsMs).slice(0, FILLS_LIMIT);
}

function applyEnvelope(state: DashboardState, envelope: Envelope, receivedMs: number): DashboardState {
  const next = { ...state, lastMessageMs: receivedMs };
  const at = envelope.timestamp ?? receivedMs;
  switch (envelope.type) {
    case 'connection':
      return { ...next, clientId: (envelope.data as { client_id?: string }).client_id ?? null };
    case 'history_replay': {
      const data = envelope.data as { transitions?: ActivityData[]; activities?: ActivityData[] };
      return { ...next, console: mergeConsole(next.console, [...(data.transitions ?? []), ...(data.activities ?? [])]) };
    }
    case 'pnl_history': {
      const points = (envelope.data as { points?: PnlPoint[] }).points ?? [];
      const after = next.pnl.filter((p) => p.atMs > (points[points.length - 1]?.atMs ?? 0));
      return { ...next, pnl: [...points, ...after].slice(-PNL_LIMIT) };
    }
    case 'system_activity': {
      const a = envelope.data as ActivityData;
      // transition labels may be qualified: "ready (degraded)"
      const moved = a.activity_type === 'state_transition' && a.to_state ? { state: a.to_state.split(' ')[0], degraded: a.to_state.includes('degraded') } : {};
      return { ...next, ...moved, console: mergeConsole(next.console, [a]) };
    }
    case 'trader_status': {
      const t = envelope.data as TraderStatus;
      return { ...next, traderStatus: t, state: t.state, degraded: t.degraded };
    }
    case 'trading_state':
      return withTrading(next, envelope.data as Trading, at);
    case 'market_update': {
      const m = envelope.data as Market;
      return { ...next, markets: { ...next.markets, [m.ticker]: m } };
    }
    case 'order_update': {
      const o = envelope.data as Order;
      const orders = { ...next.orders };
      if (CLOSED_ORDER_STATES.has(o.state)) delete orders[o.clientOrderId];
      else orders[o.clientOrderId] = o;
      return { ...next, orders };
    }
    case 'position_update': {
      const p = envelope.data as Position;
      return { ...next, positions: { ...next.positions, [p.ticker]: p } };
    }
    case 'fill':
      return { ...next, fills: mergeFills(next.fills, [envelope.data as Fill]) };
    case 'actor_snapshot': {
      const a = envelope.data as { actor: string; state: unknown };
      return { ...next, machines: { ...next.machines, [a.actor]: a.state } };
    }
    default:
      return next; // ping, pong and types this page does not show
  }
}

export function reduce(state: DashboardState, action: Action): DashboardState {
  switch (action.kind) {
    case 'connected':
      return action.connected
        ? { ...state, connected: true, everConnected: true, disconnectedSinceMs: null }
        : { ...state, connected: false, disconnectedSinceMs: state.everConnected ? (state.disconnectedSinceMs ?? action.atMs) : null };
    case 'status': {
      const s = action.status;
      const markets = { ...state.markets };
      for (const m of s.markets) {
        const known = markets[m.ticker];
        if (!known || (m.lastUpdateMs ?? 0) >= (known.lastUpdateMs ?? 0)) markets[m.ticker] = m;
      }
      const withStatus: DashboardState = {
        ...state,
        status: s,
        state: s.state,
        degraded: s.degraded,
        markets,
        fills: mergeFills(state.fills, s.recentFills),
        console: mergeConsole(
          state.console,
          s.stateHistory.map((t) => ({
            timestamp: t.time,
            atMs: t.atMs,
            activity_type: 'state_transition',
            message: `${t.from} → ${t.to}: ${t.reason}`,
            severity: t.to.startsWith('error') ? 'error' : t.to.includes('degraded') ? 'warning' : t.to.startsWith('ready') || t.to.startsWith('acting') ? 'success' : 'info',
            metadata: { ...(t.metadata as Record<string, unknown>), from_state: t.from, to_state: t.to, durationMs: t.durationMs },
            state: t.to,
            from_state: t.from,
            to_state: t.to,
            line: t.line,
          })),
        ),
      };
      // server time, like the feed's timestamps (the browser's clock may disagree)
      return withTrading(withStatus, s.trading, Math.round(s.startedAtMs + s.uptime * 1000));
    }
    case 'machines':
      return { ...state, machines: { ...state.machines, ...action.machines } };
    case 'charts':
      return { ...state, charts: action.charts, chartProblems: action.problems };
    case 'envelope':
      return applyEnvelope(state, action.envelope, action.receivedMs);
    default:
      return state;
  }
}
