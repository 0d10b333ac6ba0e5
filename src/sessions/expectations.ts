/**
 * The end-of-session checks: each `expect` entry of the scenario against what was observed —
 * the final state, states visited, the journal against the exchange (no order placed twice,
 * every fill recorded once, positions equal), order and fill counts, drawdown and P&L. Every
 * result carries the observed value and, when it fails, a line saying what was wrong. Pure: the
 * runner gathers the observations. Part of src/sessions.
 */
import { formatCount, formatDollars } from '../core/money.ts';
import type { Count, Micros } from '../core/money.ts';
import type { Scenario } from './scenario.ts';
import { formatDuration } from './scenario.ts';

export interface OrderRecordView {
  clientOrderId: string;
  venueOrderId: string | null;
}

export interface FillRecordView {
  fillId: string;
}

export interface Observations {
  finalState: string | null;
  /** Label → entries and time spent. */
  visited: ReadonlyMap<string, { entries: number; totalMs: number }>;
  /** Orders the exchange holds for the trader's account. */
  exchangeOrders: ReadonlyArray<{ orderId: string; clientOrderId: string }>;
  /** Orders in the journal (every generation of the trader). */
  journalOrders: ReadonlyArray<OrderRecordView & { state: string }>;
  exchangeFills: ReadonlyArray<FillRecordView>;
  journalFills: ReadonlyArray<FillRecordView & { tsMs?: number }>;
  /**
   * The simulator keeps a window of history: fills up to this time may have been dropped from
   * `exchangeFills`, so older journal fills are not "unknown to the exchange" (absent: none dropped).
   */
  exchangeHistoryDroppedThroughMs?: number;
  /** Ticker → signed position (Count) in the trader's view and in the exchange's. */
  traderPositions: ReadonlyMap<string, Count>;
  exchangePositions: ReadonlyMap<string, Count>;
  /** Why the trader's view is missing, if it is (e.g. no trader running at the end). */
  traderViewMissing?: string;
  /** Orders resting at the exchange for the account that the running trader does not manage. */
  unmanagedResting?: ReadonlyArray<{ clientOrderId: string; orderId: string }>;
  restingAtExchange?: number;
  finalPnl: Micros;
  maxDrawdown: Micros;
}

export interface ExpectationResult {
  name: string;
  expected: unknown;
  observed: unknown;
  passed: boolean;
  /** What went wrong (failures) or a short summary (passes). */
  detail: string;
}

const MAX_LISTED = 5;

function listSome(items: string[]): string {
  return items.length <= MAX_LISTED ? items.join(', ') : `${items.slice(0, MAX_LISTED).join(', ')} … (+${items.length - MAX_LISTED})`;
}

export function checkExpectations(expect: Scenario['expect'], o: Observations): ExpectationResult[] {
  const results: ExpectationResult[] = [];
  const add = (name: string, expected: unknown, observed: unknown, passed: boolean, detail: string) =>
    results.push({ name, expected, observed, passed, detail });

  if (expect.final_state !== undefined) {
    // `ready` is also met while acting on a decision: it is the same steady state
    const observed = o.finalState;
    const passed = observed === expect.final_state || (expect.final_state === 'ready' && observed === 'acting');
    add('final_state', expect.final_state, observed, passed, passed ? `ended in ${observed}` : `ended in ${observed ?? 'no state (trader not running)'}, expected ${expect.final_state}`);
  }

  if (expect.visited) {
    const missing = expect.visited.filter((label) => !o.visited.has(label));
    const observed = Object.fromEntries(expect.visited.map((label) => [label, o.visited.get(label)?.entries ?? 0]));
    add(
      'visited',
      expect.visited,
      observed,
      missing.length === 0,
      missing.length === 0
        ? expect.visited.map((l) => `${l} ×${o.visited.get(l)!.entries} (${formatDuration(o.visited.get(l)!.totalMs)})`).join(', ')
        : `never entered ${missing.join(', ')}; entered ${[...o.visited.keys()].join(', ')}`,
    );
  }

  if (expect.not_visited) {
    const entered = expect.not_visited.filter((label) => o.visited.has(label));
    const observed = Object.fromEntries(expect.not_visited.map((label) => [label, o.visited.get(label)?.entries ?? 0]));
    add(
      'not_visited',
      expect.not_visited,
      observed,
      entered.length === 0,
      entered.length === 0 ? 'none entered' : entered.map((l) => `entered ${l} ×${o.visited.get(l)!.entries}`).join(', '),
    );
  }

  if (expect.no_duplicate_orders !== undefined) {
    const byClientId = new Map<string, string[]>();
    for (const order of o.exchangeOrders) {
      const ids = byClientId.get(order.clientOrderId) ?? [];
      ids.push(order.orderId);
      byClientId.set(order.clientOrderId, ids);
    }
    const duplicated = [...byClientId].filter(([, ids]) => ids.length > 1).map(([id, ids]) => `${id} ×${ids.length}`);
    const journaled = new Set(o.journalOrders.map((j) => j.clientOrderId));
    const unjournaled = o.exchangeOrders.filter((e) => !journaled.has(e.clientOrderId)).map((e) => e.clientOrderId || e.orderId);
    const clean = duplicated.length === 0 && unjournaled.length === 0;
    const problems = [
      ...(duplicated.length ? [`placed twice: ${listSome(duplicated)}`] : []),
      ...(unjournaled.length ? [`at the exchange but not in the journal: ${listSome(unjournaled)}`] : []),
    ];
    add(
      'no_duplicate_orders',
      expect.no_duplicate_orders,
      { exchange_orders: o.exchangeOrders.length, duplicated: duplicated.length, unjournaled: unjournaled.length },
      clean === expect.no_duplicate_orders,
      clean ? `${o.exchangeOrders.length} exchange orders, each once and journaled` : problems.join('; '),
    );
  }

  if (expect.fills_recorded_once !== undefined) {
    const counts = new Map<string, number>();
    for (const f of o.journalFills) counts.set(f.fillId, (counts.get(f.fillId) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
    const missing = o.exchangeFills.filter((f) => !counts.has(f.fillId)).map((f) => f.fillId);
    const exchangeIds = new Set(o.exchangeFills.map((f) => f.fillId));
    const droppedThrough = o.exchangeHistoryDroppedThroughMs ?? -Infinity;
    const extra = [...new Set(o.journalFills.filter((f) => (f.tsMs ?? Infinity) > droppedThrough).map((f) => f.fillId))].filter((id) => !exchangeIds.has(id));
    const clean = twice.length === 0 && missing.length === 0 && extra.length === 0;
    const problems = [
      ...(missing.length ? [`${missing.length} exchange fills missing from the journal: ${listSome(missing)}`] : []),
      ...(twice.length ? [`recorded more than once: ${listSome(twice)}`] : []),
      ...(extra.length ? [`journal fills the exchange does not know: ${listSome(extra)}`] : []),
    ];
    add(
      'fills_recorded_once',
      expect.fills_recorded_once,
      { exchange_fills: o.exchangeFills.length, journal_fills: o.journalFills.length, missing: missing.length, duplicated: twice.length, extra: extra.length },
      clean === expect.fills_recorded_once,
      clean ? `${o.exchangeFills.length} fills, each recorded once` : problems.join('; '),
    );
  }

  if (expect.positions_match_exchange !== undefined) {
    const tickers = new Set([...o.traderPositions.keys(), ...o.exchangePositions.keys()]);
    const differences: string[] = [];
    for (const ticker of [...tickers].sort()) {
      const mine = o.traderPositions.get(ticker) ?? 0;
      const theirs = o.exchangePositions.get(ticker) ?? 0;
      if (mine !== theirs) differences.push(`${ticker}: trader ${formatCount(mine)}, exchange ${formatCount(theirs)}`);
    }
    const matched = o.traderViewMissing === undefined && differences.length === 0;
    add(
      'positions_match_exchange',
      expect.positions_match_exchange,
      Object.fromEntries([...tickers].sort().map((t) => [t, { trader: formatCount(o.traderPositions.get(t) ?? 0), exchange: formatCount(o.exchangePositions.get(t) ?? 0) }])),
      matched === expect.positions_match_exchange,
      o.traderViewMissing ?? (differences.length > 0 ? listSome(differences) : tickers.size === 0 ? 'no positions on either side' : `${tickers.size} markets agree`),
    );
  }

  if (expect.no_unmanaged_orders !== undefined) {
    const unmanaged = o.unmanagedResting ?? [];
    const resting = o.restingAtExchange ?? 0;
    const clean = o.traderViewMissing === undefined && unmanaged.length === 0;
    add(
      'no_unmanaged_orders',
      expect.no_unmanaged_orders,
      { resting, unmanaged: unmanaged.length },
      clean === expect.no_unmanaged_orders,
      o.traderViewMissing ??
        (unmanaged.length === 0
          ? `${resting} orders resting, all managed by the running trader`
          : `${unmanaged.length} resting orders nobody manages: ${listSome(unmanaged.map((r) => r.clientOrderId || r.orderId))}`),
    );
  }

  const placed = o.exchangeOrders.length;
  if (expect.min_orders !== undefined) {
    add('min_orders', expect.min_orders, placed, placed >= expect.min_orders, `${placed} orders reached the exchange${placed < expect.min_orders ? `, expected at least ${expect.min_orders}` : ''}`);
  }
  if (expect.max_orders !== undefined) {
    add('max_orders', expect.max_orders, placed, placed <= expect.max_orders, `${placed} orders reached the exchange${placed > expect.max_orders ? `, expected at most ${expect.max_orders}` : ''}`);
  }
  if (expect.min_fills !== undefined) {
    const fills = o.exchangeFills.length;
    add('min_fills', expect.min_fills, fills, fills >= expect.min_fills, `${fills} fills${fills < expect.min_fills ? `, expected at least ${expect.min_fills}` : ''}`);
  }
  if (expect.max_drawdown !== undefined) {
    const passed = o.maxDrawdown <= expect.max_drawdown;
    add(
      'max_drawdown',
      formatDollars(expect.max_drawdown),
      formatDollars(o.maxDrawdown),
      passed,
      `largest drawdown $${formatDollars(o.maxDrawdown)}${passed ? '' : `, limit $${formatDollars(expect.max_drawdown)}`}`,
    );
  }
  if (expect.min_pnl !== undefined) {
    const passed = o.finalPnl >= expect.min_pnl;
    add('min_pnl', formatDollars(expect.min_pnl), formatDollars(o.finalPnl), passed, `final P&L $${formatDollars(o.finalPnl)}${passed ? '' : `, expected at least $${formatDollars(expect.min_pnl)}`}`);
  }
  return results;
}

/** One line per failure, as the CLI prints them: `✗ final_state: ended in error, expected ready (observed: "error")`. */
export function describeFailures(results: ExpectationResult[]): string[] {
  return results.filter((r) => !r.passed).map((r) => `✗ ${r.name}: ${r.detail} (observed: ${JSON.stringify(r.observed)})`);
}

/** Checked after the final graceful shutdown: with cancel_on_shutdown nothing may be left resting. */
export function checkCleanShutdown(expected: boolean, restingAfter: ReadonlyArray<{ clientOrderId: string }>, shutdownFinished: boolean): ExpectationResult {
  const clean = shutdownFinished && restingAfter.length === 0;
  const problems = [
    ...(shutdownFinished ? [] : ['the shutdown did not finish']),
    ...(restingAfter.length ? [`${restingAfter.length} orders still resting: ${listSome(restingAfter.map((o) => o.clientOrderId))}`] : []),
  ];
  return {
    name: 'clean_shutdown',
    expected,
    observed: { resting_after_shutdown: restingAfter.length, shutdown_finished: shutdownFinished },
    passed: clean === expected,
    detail: clean ? 'shut down with nothing resting' : problems.join('; '),
  };
}
