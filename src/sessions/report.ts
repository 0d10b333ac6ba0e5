/**
 * The report of a scripted run (report.json, and the data report.html draws): the scenario, the
 * outcome, every expectation with its observed value, P&L and fees, the states visited with
 * their durations and a timeline, each fault with what was done and how the trader reacted,
 * the orders and fills. Times are ms from the session start; money is given as exact dollar
 * strings (and micros where a chart needs numbers). Part of src/sessions.
 */
import { formatCount, formatDollars, formatPrice } from '../core/money.ts';
import type { Count, Micros } from '../core/money.ts';
import type { JournalOrder, StoredFill } from '../adapters/store/index.ts';
import type { MarketSpec } from '../sim/activity/markets.ts';
import type { MarketActivityStats } from '../sim/activity/activity.ts';
import type { SimOrder } from '../sim/exchange.types.ts';
import type { ExpectationResult } from './expectations.ts';
import type { ActivityEntry, LabelVisit, SessionObserver, TimelineSegment } from './observer.ts';
import { DOWN_LABEL } from './observer.ts';
import type { PnlSample } from './pnl.ts';
import type { LoadedScenario, Scenario } from './scenario.ts';
import { formatDuration } from './scenario.ts';
import type { OrderSide } from '../core/order-state.ts';

export interface AppliedFault {
  index: number;
  kind: string;
  /** Ms from the session start. */
  atMs: number;
  params: Record<string, unknown>;
  /** What the simulator/runner did. */
  applied: string;
}

export interface FaultReaction extends AppliedFault {
  reaction: {
    /** First state the coordinator left healthy `ready` for (`degraded`, `error (degraded)`, …), and when (ms after the fault). */
    left: { state: string; afterMs: number } | null;
    /** Back in `ready` (not degraded) this long after the fault; null if it never left or never came back. */
    recoveredAfterMs: number | null;
    summary: string;
    /** Orders created in the window: how many, and how many the exchange rejected. */
    orders: { created: number; rejected: number; filled: number };
    /** The system's activity lines in the window after the fault. */
    events: Array<{ afterMs: number; severity: string; message: string }>;
  };
}

export interface ReportOrder {
  client_order_id: string;
  venue_order_id: string | null;
  ticker: string;
  side: OrderSide;
  price: string;
  count: string;
  state: string;
  filled: string;
  fees: string;
  created_ms: number;
  error: string | null;
}

export interface ReportFill {
  fill_id: string;
  client_order_id: string | null;
  ticker: string;
  side: OrderSide;
  price: string;
  count: string;
  fee: string;
  is_taker: boolean;
  ts_ms: number;
  source: string;
}

export interface SessionReport {
  kalshiflow_session_report: 1;
  scenario: {
    name: string;
    description: string | null;
    file: string | null;
    sha256: string;
    seed: number;
    clock: 'virtual' | 'realtime';
    duration_ms: number;
    drain_ms: number;
    strategy: string;
    markets: Array<{ ticker: string; fair: number; volatility: number; settle_ms: number | null; jumps: number }>;
  };
  run: {
    id: number | null;
    database: string;
    ledger_schema: string | null;
    started_at: string;
    wall_ms: number;
    simulated_ms: number;
    /** Simulated seconds per wall second. */
    speed: number;
    driver_steps: number | null;
    trader_generations: number;
    crashes: number;
  };
  result: 'passed' | 'failed' | 'error';
  error: string | null;
  expectations: ExpectationResult[];
  pnl: {
    final: string;
    fees: string;
    max_drawdown: string;
    /** [ms from start, P&L in micros] */
    series: Array<[number, number]>;
  } | null;
  trader: {
    final_state: string | null;
    counters: Record<string, number>;
    status_log: string[];
    positions: Array<{ ticker: string; trader: string; exchange: string }>;
  };
  states: {
    visited: Record<string, { entries: number; total_ms: number }>;
    /** `label` is the coordinator's state (acting shown as ready) or `down`; `degraded` while a component was. */
    timeline: Array<{ label: string; degraded: boolean; from_ms: number; to_ms: number; generation: number }>;
  };
  faults: FaultReaction[];
  orders: ReportOrder[];
  /** Exchange orders of the trader's account without a journal row (should be none). */
  unjournaled_exchange_orders: string[];
  fills: ReportFill[];
  markets: Array<MarketActivityStats>;
  activity: Array<{ at_ms: number; generation: number; type: string; severity: string; message: string }>;
}

export interface ReportInput {
  scenario: LoadedScenario;
  realtime: boolean;
  runId: number | null;
  schema: string | null;
  database: string;
  wallStartedAt: Date;
  wallMs: number;
  virtualStartMs: number;
  simulatedMs: number;
  driverSteps: number | null;
  status: 'passed' | 'failed' | 'error';
  error: string | null;
  expectations: ExpectationResult[];
  pnl: { samples: PnlSample[]; final: Micros; maxDrawdown: Micros; fees: Micros } | null;
  finalState: string | null;
  generations: number;
  crashes: number;
  counters: Record<string, number>;
  statusLog: string[];
  visited: ReadonlyMap<string, LabelVisit>;
  timeline: TimelineSegment[];
  faults: FaultReaction[];
  activity: ActivityEntry[];
  journalOrders: JournalOrder[];
  journalFills: StoredFill[];
  exchangeOrders: SimOrder[];
  traderPositions: ReadonlyMap<string, Count>;
  exchangePositions: ReadonlyMap<string, Count>;
  markets: MarketSpec[];
  activityStats: MarketActivityStats[];
}

/** Activity lines kept in report.json (the full log can be long). */
const MAX_ACTIVITY_LINES = 2000;
const REACTION_WINDOW_MS = 120_000;
const REACTION_EVENTS = 12;

const rel = (atMs: number, startMs: number) => Math.max(0, atMs - startMs);

/** A segment as the reactions name it: `ready`, `degraded` (ready, degraded), `error (degraded)`, `down`, … */
export function segmentName(segment: { label: string; degraded: boolean }): string {
  if (!segment.degraded) return segment.label;
  return segment.label === 'ready' ? 'degraded' : `${segment.label} (degraded)`;
}

/** Reads each fault's reaction out of the timeline and the activity log. */
export function faultReactions(
  applied: AppliedFault[],
  observer: SessionObserver,
  scenario: Scenario,
  startMs: number,
  orders: ReadonlyArray<Pick<JournalOrder, 'createdMs' | 'state' | 'fillCount'>> = [],
): FaultReaction[] {
  const sorted = [...applied].sort((a, b) => a.atMs - b.atMs || a.index - b.index);
  const endMs = scenario.duration + scenario.drain;
  return sorted.map((fault, i) => {
    const next = sorted.slice(i + 1).find((f) => f.atMs > fault.atMs);
    // up to the next fault (exclusive: what happens then is that fault's reaction)
    const windowEnd = Math.min(next ? next.atMs - 1 : endMs, fault.atMs + REACTION_WINDOW_MS, endMs);
    const segments = observer.timeline.map((s) => ({ ...s, name: segmentName(s), from: rel(s.fromMs, startMs), to: rel(s.toMs, startMs) }));
    // the segment in force when the fault hit, then the first one that is not a healthy `ready`
    let left: FaultReaction['reaction']['left'] = null;
    let recoveredAfterMs: number | null = null;
    const inForce = segments.filter((s) => s.from <= fault.atMs).at(-1);
    if (inForce && inForce.name !== 'ready' && inForce.to > fault.atMs) {
      left = { state: inForce.name, afterMs: 0 };
    } else {
      const leaving = segments.find((s) => s.from >= fault.atMs && s.from <= windowEnd && s.name !== 'ready');
      if (leaving) left = { state: leaving.name, afterMs: leaving.from - fault.atMs };
    }
    if (left) {
      const back = segments.find((s) => s.from >= fault.atMs + left!.afterMs && s.name === 'ready' && s.from > fault.atMs);
      if (back) recoveredAfterMs = back.from - fault.atMs;
    }
    const events = observer.activity
      .filter((e) => {
        const at = rel(e.atMs, startMs);
        return at >= fault.atMs && at <= windowEnd && e.type !== 'fault';
      })
      .slice(0, REACTION_EVENTS)
      .map((e) => ({ afterMs: rel(e.atMs, startMs) - fault.atMs, severity: e.severity, message: e.message }));
    const inWindow = orders.filter((o) => {
      const at = rel(o.createdMs, startMs);
      return at >= fault.atMs && at <= windowEnd;
    });
    const orderCounts = {
      created: inWindow.length,
      rejected: inWindow.filter((o) => o.state === 'rejected').length,
      filled: inWindow.filter((o) => o.fillCount > 0).length,
    };
    let summary: string;
    if (!left) summary = events.length ? `stayed ready (${events.length} activity lines)` : 'no visible reaction; stayed ready';
    else if (recoveredAfterMs === null) summary = `left ready for ${left.state} after ${formatDuration(left.afterMs)}; not back in ready within the window`;
    else summary = `${left.state === DOWN_LABEL ? 'trader down' : `left ready for ${left.state}`} after ${formatDuration(left.afterMs)}; back in ready after ${formatDuration(recoveredAfterMs)}`;
    if (orderCounts.rejected > 0) summary += `; ${orderCounts.rejected} of ${orderCounts.created} new orders rejected`;
    return { ...fault, reaction: { left, recoveredAfterMs, summary, orders: orderCounts, events } };
  });
}

export function buildReport(input: ReportInput): SessionReport {
  const s = input.scenario.scenario;
  const start = input.virtualStartMs;
  const journaled = new Set(input.journalOrders.map((o) => o.clientOrderId));
  const tickers = new Set([...input.traderPositions.keys(), ...input.exchangePositions.keys()]);
  return {
    kalshiflow_session_report: 1,
    scenario: {
      name: s.name,
      description: s.description ?? null,
      file: input.scenario.file ?? null,
      sha256: input.scenario.sha256,
      seed: s.seed,
      clock: input.realtime ? 'realtime' : 'virtual',
      duration_ms: s.duration,
      drain_ms: s.drain,
      strategy: s.trader.strategy,
      markets: input.markets.map((m) => ({ ticker: m.ticker, fair: m.fair, volatility: m.volatility, settle_ms: m.settle?.atMs ?? null, jumps: m.jumps?.length ?? 0 })),
    },
    run: {
      id: input.runId,
      database: input.database,
      ledger_schema: input.schema,
      started_at: input.wallStartedAt.toISOString(),
      wall_ms: Math.round(input.wallMs),
      simulated_ms: input.simulatedMs,
      speed: input.wallMs > 0 ? Math.round((input.simulatedMs / input.wallMs) * 10) / 10 : 0,
      driver_steps: input.driverSteps,
      trader_generations: input.generations,
      crashes: input.crashes,
    },
    result: input.status,
    error: input.error,
    expectations: input.expectations,
    pnl: input.pnl
      ? {
          final: formatDollars(input.pnl.final),
          fees: formatDollars(input.pnl.fees),
          max_drawdown: formatDollars(input.pnl.maxDrawdown),
          series: input.pnl.samples.map((p) => [p.tMs, p.pnl]),
        }
      : null,
    trader: {
      final_state: input.finalState,
      counters: input.counters,
      status_log: input.statusLog,
      positions: [...tickers].sort().map((t) => ({
        ticker: t,
        trader: formatCount(input.traderPositions.get(t) ?? 0),
        exchange: formatCount(input.exchangePositions.get(t) ?? 0),
      })),
    },
    states: {
      visited: Object.fromEntries([...input.visited].map(([label, v]) => [label, { entries: v.entries, total_ms: v.totalMs }])),
      timeline: input.timeline.map((seg) => ({ label: seg.label, degraded: seg.degraded, from_ms: rel(seg.fromMs, start), to_ms: rel(seg.toMs, start), generation: seg.generation })),
    },
    faults: input.faults,
    orders: input.journalOrders.map((o) => ({
      client_order_id: o.clientOrderId,
      venue_order_id: o.venueOrderId,
      ticker: o.ticker,
      side: o.side,
      price: formatPrice(o.price),
      count: formatCount(o.count),
      state: o.state,
      filled: formatCount(o.fillCount),
      fees: formatDollars(o.fees),
      created_ms: rel(o.createdMs, start),
      error: o.error,
    })),
    unjournaled_exchange_orders: input.exchangeOrders.filter((o) => !journaled.has(o.clientOrderId)).map((o) => o.clientOrderId || o.orderId),
    fills: input.journalFills.map((f) => ({
      fill_id: f.fillId,
      client_order_id: f.clientOrderId,
      ticker: f.ticker,
      side: f.side,
      price: formatPrice(f.yesPrice),
      count: formatCount(f.count),
      fee: formatDollars(f.fee),
      is_taker: f.isTaker,
      ts_ms: rel(f.tsMs, start),
      source: f.source,
    })),
    markets: input.activityStats,
    activity: input.activity.slice(0, MAX_ACTIVITY_LINES).map((a) => ({
      at_ms: rel(a.atMs, start),
      generation: a.generation,
      type: a.type,
      severity: a.severity,
      message: a.message,
    })),
  };
}

/**
 * The run's order and fill log in a form that must be identical for two runs of the same seed
 * (the determinism check): everything the exchange and the journal agreed on, no wall times.
 */
export function orderFillLog(report: SessionReport): { orders: string[]; fills: string[] } {
  return {
    orders: report.orders.map((o) => [o.client_order_id, o.venue_order_id, o.ticker, o.side, o.price, o.count, o.state, o.filled, o.created_ms].join(' ')),
    fills: report.fills.map((f) => [f.fill_id, f.client_order_id, f.ticker, f.side, f.price, f.count, f.fee, f.ts_ms].join(' ')),
  };
}
