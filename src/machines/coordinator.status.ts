/**
 * What the coordinator's state means to people: the operators' state name and degraded
 * components (`describeState`), the status-log label, the labels a state counts as visited, the
 * trader's pause reason, the current problems, and the reason texts the chart writes into
 * `lastTransition`. Pure functions of a snapshot (value + context); none of them decides a
 * transition — the chart in coordinator.machine.ts does.
 */
import type { StateValue } from 'xstate';
import type {
  CoordinatorContext,
  CoordinatorStateName,
  CurrentProblem,
  DegradedComponent,
  StateDescription,
  SyncSummary,
} from './coordinator.types.ts';

/** "30s", "1.5s", "250ms": how durations read in reasons. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
}

export function marketsPreview(markets: string[]): string[] {
  return markets.length <= 3 ? markets : [...markets.slice(0, 2), `...and ${markets.length - 2} more`];
}

export function syncReason(summary: SyncSummary): string {
  const base = `Synced: ${summary.positions} positions, ${summary.restingOrders} orders, ${summary.newFills} new fills`;
  return summary.repairs && summary.repairs.length > 0 ? `${base}; reconciled ${summary.repairs.length}` : base;
}

export function readyReason(context: CoordinatorContext): string {
  const n = context.markets.length;
  if (!context.tradingEnabled) return `Recording ${n} markets (read-only, no trading client)`;
  if (context.degraded) return `DEGRADED MODE: trading enabled without orderbook (${n} markets, retrying)`;
  return `System fully operational with ${n} markets and trading enabled`;
}

/** Every active leaf of a state value, dot-separated, sorted. */
export function leafPaths(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  const out: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const child = value[key];
    const path = prefix ? `${prefix}.${key}` : key;
    if (child === undefined || (typeof child === 'object' && Object.keys(child).length === 0)) out.push(path);
    else out.push(...leafPaths(child as StateValue, path));
  }
  return out;
}

interface DescribableSnapshot {
  value: StateValue;
  context: Pick<CoordinatorContext, 'degraded'>;
}

/** Which region state makes which component degraded (in `ready`). */
const DEGRADED_REGIONS: ReadonlyArray<[prefix: string, component: DegradedComponent]> = [
  ['ready.orderbook.degraded', 'orderbook'],
  ['ready.journal.outage', 'journal'],
  ['ready.tradingApi.faulted', 'trading_api'],
];

/** What /v3/status reports: the operators' state name, the degraded components, and the full path. */
export function describeState(snapshot: DescribableSnapshot): StateDescription {
  const path = leafPaths(snapshot.value);
  const top = typeof snapshot.value === 'string' ? snapshot.value : Object.keys(snapshot.value)[0];
  let state: CoordinatorStateName;
  if (top === 'ready') state = path.includes('ready.activity.acting') ? 'acting' : 'ready';
  else if (top === 'stopped') state = 'shutdown';
  else state = top as CoordinatorStateName;
  let degradedComponents: DegradedComponent[];
  if (top === 'ready') {
    degradedComponents = DEGRADED_REGIONS.filter(([prefix]) => path.some((p) => p.startsWith(prefix))).map(([, c]) => c);
  } else {
    // continuing without an orderbook before ready is reached
    degradedComponents = snapshot.context.degraded && state !== 'shutdown' ? ['orderbook'] : [];
  }
  return { state, degraded: degradedComponents.length > 0, degradedComponents, path };
}

/**
 * Label for the status log: the state, "(degraded)" when trading without an order book, and the
 * components by name when the journal or the trading API is down ("ready (degraded: journal)").
 */
export function coordinatorStatusLabel(snapshot: DescribableSnapshot): string {
  const d = describeState(snapshot);
  if (!d.degraded) return d.state;
  if (d.degradedComponents.length === 1 && d.degradedComponents[0] === 'orderbook') return `${d.state} (degraded)`;
  return `${d.state} (degraded: ${d.degradedComponents.join(', ')})`;
}

interface ProblemSnapshot {
  value: StateValue;
  context: Pick<CoordinatorContext, 'degraded' | 'lastError' | 'journal' | 'tradingApi' | 'lastSyncError' | 'consecutiveSyncFailures'>;
}

/**
 * Why the trader must not open positions now, or null: the system in error, the journal down
 * (`database_outage`: journal first — nothing may be sent), the trading API faulted
 * (`trading_api_unavailable`), or no order book. The wiring pauses the trader with this reason
 * and resumes it when it is null again in ready.
 */
export function tradingPauseReason(snapshot: ProblemSnapshot): string | null {
  const d = describeState(snapshot);
  if (d.state === 'error') return `system in error: ${snapshot.context.lastError ?? 'unknown'}`;
  if (d.degradedComponents.includes('journal')) return 'database_outage';
  if (d.degradedComponents.includes('trading_api')) return 'trading_api_unavailable';
  if (d.degradedComponents.includes('orderbook')) return 'order book degraded';
  return null;
}

/** The coordinator's current problems (empty when all is well): cleared as each one recovers. */
export function currentProblems(snapshot: ProblemSnapshot): CurrentProblem[] {
  const d = describeState(snapshot);
  const c = snapshot.context;
  const out: CurrentProblem[] = [];
  if (d.state === 'error') out.push({ component: 'coordinator', message: `in error, retrying: ${c.lastError ?? 'unknown'}`, sinceMs: null });
  if (d.degradedComponents.includes('journal')) {
    out.push({ component: 'journal', message: `database unavailable: ${c.journal.lastError ?? 'unknown'}; trading paused`, sinceMs: c.journal.downSinceMs });
  }
  if (d.degradedComponents.includes('trading_api')) {
    out.push({ component: 'trading_api', message: `trading API failing: ${c.tradingApi.lastError ?? 'unknown'}; trading paused`, sinceMs: c.tradingApi.downSinceMs });
  }
  if (d.degradedComponents.includes('orderbook')) out.push({ component: 'orderbook', message: 'order book unavailable; reconnecting', sinceMs: null });
  if (d.state !== 'error' && c.consecutiveSyncFailures > 0 && c.lastSyncError !== null) {
    out.push({ component: 'sync', message: `${c.consecutiveSyncFailures} periodic syncs failed in a row: ${c.lastSyncError}`, sinceMs: null });
  }
  return out;
}

/**
 * The labels a coordinator state counts as entered (see describeState): its own state, always
 * (error included, whatever the parallel regions do), and `degraded` alongside it while a
 * component is degraded.
 */
export function coordinatorVisitLabels({
  state,
  degraded,
  degradedComponents = [],
}: {
  state: string;
  degraded: boolean;
  degradedComponents?: readonly DegradedComponent[];
}): string[] {
  const labels = degraded ? [state, 'degraded'] : [state];
  // the outages that pause trading are counted by name too
  if (degradedComponents.includes('journal')) labels.push('database_outage');
  if (degradedComponents.includes('trading_api')) labels.push('trading_api_faulted');
  return labels;
}
