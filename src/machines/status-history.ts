/**
 * State-transition history and the "copy-paste" status log that operators paste into bug reports
 * (DESIGN.md §5): newest first, one line per transition, `HH:MM:SS [from → to] message (1.2s)`.
 * Pure bookkeeping plus `observeTransitions`, which feeds a history from any actor's snapshots;
 * the server layer reads `recent()` / `statusLog()` for /v3/status and the dashboard.
 */
import type { Clock } from '../core/clock.ts';

export interface TransitionRecord {
  /** Clock time of the transition (ms since the epoch). */
  atMs: number;
  from: string;
  to: string;
  reason: string;
  metadata: Record<string, unknown>;
  /** Time spent in `from`. */
  durationMs: number;
}

/** "14:03:22 [orderbook_connect → ready] System fully operational (1.2s)"; time is UTC. */
export function formatStatusLine(record: TransitionRecord): string {
  const time = new Date(record.atMs).toISOString().slice(11, 19);
  const seconds = (Math.max(0, record.durationMs) / 1000).toFixed(1);
  const message = record.reason.replace(/\s*\n\s*/g, ' ');
  return `${time} [${record.from} → ${record.to}] ${message} (${seconds}s)`;
}

/** The last `limit` transitions, oldest dropped first. */
export class StatusHistory {
  private readonly records: TransitionRecord[] = [];
  readonly limit: number;

  constructor(limit = 50) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`StatusHistory limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  record(entry: TransitionRecord): void {
    this.records.push({ ...entry, metadata: { ...entry.metadata } });
    if (this.records.length > this.limit) this.records.splice(0, this.records.length - this.limit);
  }

  /** Newest first. */
  recent(count = this.limit): TransitionRecord[] {
    return this.records.slice(-count).reverse();
  }

  get size(): number {
    return this.records.length;
  }

  /** The copy-paste log: newest first, one line per transition. */
  statusLog(count = this.limit): string {
    return this.recent(count).map(formatStatusLine).join('\n');
  }
}

export interface LabelVisit {
  entries: number;
  totalMs: number;
}

/**
 * The state labels an actor entered, how often and for how long. Several labels may be active at
 * once (a coordinator state and, from its parallel regions, `degraded`): each is counted when it
 * becomes active and timed while it stays active, whatever the others do.
 */
export class StateVisits {
  readonly visited = new Map<string, LabelVisit>();
  private readonly activeSince = new Map<string, number>();

  /** The labels active from `nowMs` on. */
  update(labels: readonly string[], nowMs: number): void {
    for (const [label, since] of this.activeSince) {
      if (labels.includes(label)) continue;
      this.visited.get(label)!.totalMs += nowMs - since;
      this.activeSince.delete(label);
    }
    for (const label of labels) {
      if (this.activeSince.has(label)) continue;
      this.visit(label).entries++;
      this.activeSince.set(label, nowMs);
    }
  }

  /** Adds visits counted elsewhere (without making the label active). */
  add(label: string, entries: number, totalMs: number): void {
    if (entries <= 0) return;
    const visit = this.visit(label);
    visit.entries += entries;
    visit.totalMs += totalMs;
  }

  /** Adds the time the active labels have spent up to `nowMs` (they stay active). */
  settle(nowMs: number): void {
    for (const [label, since] of this.activeSince) {
      this.visited.get(label)!.totalMs += nowMs - since;
      this.activeSince.set(label, nowMs);
    }
  }

  private visit(label: string): LabelVisit {
    let visit = this.visited.get(label);
    if (!visit) this.visited.set(label, (visit = { entries: 0, totalMs: 0 }));
    return visit;
  }
}

interface ObservableActor<TSnapshot> {
  getSnapshot(): TSnapshot;
  subscribe(observer: { next: (snapshot: TSnapshot) => void; error?: (err: unknown) => void }): { unsubscribe(): void };
}

interface NotedSnapshot {
  value: unknown;
  context?: unknown;
}

export interface ObserveOptions<TSnapshot> {
  /** The state label to track (default: the top-level state name). */
  label?: (snapshot: TSnapshot) => string;
  /** Why the last transition happened (default: `context.lastTransition`). */
  note?: (snapshot: TSnapshot) => { reason: string; metadata?: Record<string, unknown> } | undefined;
}

/** Top-level state name of a machine snapshot value. */
export function topLevelState(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return Object.keys(value)[0] ?? '';
  return String(value);
}

function defaultNote(snapshot: NotedSnapshot): { reason: string; metadata?: Record<string, unknown> } | undefined {
  const note = (snapshot.context as { lastTransition?: { reason?: unknown; metadata?: unknown } } | undefined)?.lastTransition;
  if (typeof note?.reason !== 'string') return undefined;
  return { reason: note.reason, metadata: note.metadata && typeof note.metadata === 'object' ? (note.metadata as Record<string, unknown>) : {} };
}

/**
 * Records every change of the actor's state label (top-level state by default) in `history`,
 * with the reason the machine put in `context.lastTransition`, timed on `clock`. Returns the
 * unsubscribe function.
 */
export function observeTransitions<TSnapshot extends NotedSnapshot>(
  actor: ObservableActor<TSnapshot>,
  history: StatusHistory,
  clock: Clock,
  options: ObserveOptions<TSnapshot> = {},
): () => void {
  const label = options.label ?? ((s: TSnapshot) => topLevelState(s.value));
  const note = options.note ?? defaultNote;
  let current = label(actor.getSnapshot());
  let enteredAtMs = clock.now();
  const subscription = actor.subscribe({
    next: (snapshot) => {
      const next = label(snapshot);
      if (next === current) return;
      const atMs = clock.now();
      const why = note(snapshot);
      history.record({
        atMs,
        from: current,
        to: next,
        reason: why?.reason ?? `${current} → ${next}`,
        metadata: why?.metadata ?? {},
        durationMs: atMs - enteredAtMs,
      });
      current = next;
      enteredAtMs = atMs;
    },
    // An actor error ends its snapshots; the error itself is reported by whoever owns the actor.
    error: () => {},
  });
  return () => subscription.unsubscribe();
}
