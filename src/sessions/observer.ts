/**
 * What a session watches while it runs: the coordinator's state and whether it is degraded, of
 * every trader generation — each label entered (every coordinator state, whatever the parallel
 * regions do, and `degraded` alongside it), how often and for how long, and a timeline for the
 * report (ready ⇄ acting folded into `ready`, `down` while a crashed trader is being restarted,
 * degraded periods marked on each segment) — and the system's activity log, stamped with clock
 * time, from which each fault's reaction is read. Part of src/sessions.
 */
import type { Clock } from '../core/clock.ts';
import { coordinatorVisitLabels, describeState } from '../machines/coordinator.status.ts';
import { StateVisits } from '../machines/status-history.ts';
import type { LabelVisit } from '../machines/status-history.ts';
import type { TradingSystem } from '../actors/trading-system.ts';

export type { LabelVisit };

export interface TimelineSegment {
  /** The coordinator's state (acting shown as ready), or `down`. */
  label: string;
  /** A component (order book, journal, trading API) was degraded throughout the segment. */
  degraded: boolean;
  fromMs: number;
  toMs: number;
  generation: number;
}

export interface ActivityEntry {
  atMs: number;
  generation: number;
  type: string;
  severity: string;
  message: string;
}

/** Label of the trader process not running (between a crash and its restart). */
export const DOWN_LABEL = 'down';
const MAX_ACTIVITY = 20_000;

export class SessionObserver {
  private readonly visits = new StateVisits();
  readonly visited: ReadonlyMap<string, LabelVisit> = this.visits.visited;
  readonly timeline: TimelineSegment[] = [];
  readonly activity: ActivityEntry[] = [];
  activityDropped = 0;
  private currentLabel: string | null = null;
  private generation = 0;
  private finished = false;

  constructor(private readonly clock: Clock) {}

  /**
   * Label of the coordinator now: its state, or `degraded` for ready/acting in degraded mode (an
   * `error` stays `error`, degraded or not).
   */
  static labelOf(system: TradingSystem): string {
    return SessionObserver.labelFor(describeState(system.coordinator.getSnapshot()));
  }

  private static labelFor({ state, degraded }: { state: string; degraded: boolean }): string {
    return degraded && (state === 'ready' || state === 'acting') ? 'degraded' : state;
  }

  /** Follows a (new) trader generation; returns the function that stops following it. */
  attach(system: TradingSystem, generation: number): () => void {
    this.generation = generation;
    this.catchUp(system);
    const onChange = () => {
      if (this.generation !== generation) return;
      const described = describeState(system.coordinator.getSnapshot());
      this.enter(coordinatorVisitLabels(described), described.degraded, SessionObserver.labelFor(described));
    };
    const sub = system.coordinator.subscribe({ next: onChange, error: () => undefined });
    onChange();
    const off = system.subscribe((event) => {
      if (event.type !== 'system_activity' || this.generation !== generation) return;
      const data = event.data as { activity_type?: string; severity?: string; message?: string };
      this.log(data.activity_type ?? 'activity', data.severity ?? 'info', data.message ?? '');
    });
    return () => {
      sub.unsubscribe();
      off();
    };
  }

  /**
   * The states a new generation went through before it was handed over (startup at least, as it
   * starts inside createRuntime): counted from the system's own tally, drawn at this instant.
   */
  private catchUp(system: TradingSystem): void {
    if (this.finished) return;
    const active = coordinatorVisitLabels(describeState(system.coordinator.getSnapshot()));
    for (const [label, visit] of system.visited) {
      const earlier = visit.entries - (active.includes(label) ? 1 : 0);
      if (earlier <= 0) continue;
      this.visits.add(label, earlier, visit.totalMs);
      if (label !== 'degraded') this.segment(label === 'acting' ? 'ready' : label, false);
    }
  }

  /** The trader process is gone until the next attach(). */
  markDown(reason: string): void {
    this.generation = -1;
    this.enter([DOWN_LABEL], false, DOWN_LABEL);
    this.log('session', 'warning', reason, -1);
  }

  /** A session-level line (faults, restarts), in the same log as the system's. */
  log(type: string, severity: string, message: string, generation = this.generation): void {
    if (this.activity.length >= MAX_ACTIVITY) {
      this.activityDropped++;
      return;
    }
    this.activity.push({ atMs: this.clock.now(), generation, type, severity, message });
  }

  /** `labels` are active from now on (the state first); a new segment when what is drawn changes. */
  private enter(labels: readonly string[], degraded: boolean, current: string): void {
    if (this.finished) return;
    const now = this.clock.now();
    this.visits.update(labels, now);
    this.currentLabel = current;
    this.segment(labels[0] === 'acting' ? 'ready' : labels[0], degraded);
  }

  /** A new timeline segment from now, unless the open one already shows the same. */
  private segment(shown: string, degraded: boolean): void {
    const now = this.clock.now();
    const last = this.timeline[this.timeline.length - 1];
    const generation = shown === DOWN_LABEL ? -1 : this.generation;
    if (last && last.label === shown && last.degraded === degraded && last.generation === generation) return;
    if (last) last.toMs = now;
    this.timeline.push({ label: shown, degraded, fromMs: now, toMs: now, generation });
  }

  /** Current label (null before the first trader started). */
  get current(): string | null {
    return this.currentLabel;
  }

  /** Closes the open segment at the current time; later changes are ignored. */
  finish(): void {
    if (this.finished) return;
    const now = this.clock.now();
    this.visits.settle(now);
    const last = this.timeline[this.timeline.length - 1];
    if (last) last.toMs = now;
    this.finished = true;
  }

  /** Keeps the open segment's end current (for progress output while running). */
  touch(): void {
    const last = this.timeline[this.timeline.length - 1];
    if (last && !this.finished) last.toMs = this.clock.now();
  }
}
