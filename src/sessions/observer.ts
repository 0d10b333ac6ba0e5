/**
 * What a session watches while it runs: the coordinator's state (with `degraded`) of every
 * trader generation — each label entered, how often and for how long, and a timeline for the
 * report (ready ⇄ acting folded into `ready`, `down` while a crashed trader is being restarted) —
 * and the system's activity log, stamped with clock time, from which each fault's reaction is
 * read. Part of src/sessions.
 */
import type { Clock } from '../core/clock.ts';
import { describeState } from '../machines/coordinator.machine.ts';
import type { TradingSystem } from '../actors/trading-system.ts';

export interface TimelineSegment {
  label: string;
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

export interface LabelVisit {
  entries: number;
  totalMs: number;
}

/** Label of the trader process not running (between a crash and its restart). */
export const DOWN_LABEL = 'down';
const MAX_ACTIVITY = 20_000;

export class SessionObserver {
  readonly visited = new Map<string, LabelVisit>();
  readonly timeline: TimelineSegment[] = [];
  readonly activity: ActivityEntry[] = [];
  activityDropped = 0;
  private rawLabel: string | null = null;
  private rawSinceMs = 0;
  private generation = 0;
  private finished = false;

  constructor(private readonly clock: Clock) {}

  /** Label of the coordinator now: its state, or `degraded` in ready's degraded mode. */
  static labelOf(system: TradingSystem): string {
    const { state, degraded } = describeState(system.coordinator.getSnapshot());
    return degraded ? 'degraded' : state;
  }

  /** Follows a (new) trader generation; returns the function that stops following it. */
  attach(system: TradingSystem, generation: number): () => void {
    this.generation = generation;
    const onChange = () => {
      if (this.generation === generation) this.enter(SessionObserver.labelOf(system));
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

  /** The trader process is gone until the next attach(). */
  markDown(reason: string): void {
    this.generation = -1;
    this.enter(DOWN_LABEL);
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

  private enter(label: string): void {
    if (this.finished || label === this.rawLabel) return;
    const now = this.clock.now();
    this.closeRaw(now);
    const visit = this.visited.get(label) ?? { entries: 0, totalMs: 0 };
    visit.entries++;
    this.visited.set(label, visit);
    this.rawLabel = label;
    this.rawSinceMs = now;
    const shown = label === 'acting' ? 'ready' : label;
    const last = this.timeline[this.timeline.length - 1];
    const generation = label === DOWN_LABEL ? -1 : this.generation;
    if (last && last.label === shown && last.generation === generation) return;
    if (last) last.toMs = now;
    this.timeline.push({ label: shown, fromMs: now, toMs: now, generation });
  }

  private closeRaw(now: number): void {
    if (this.rawLabel === null) return;
    const visit = this.visited.get(this.rawLabel);
    if (visit) visit.totalMs += now - this.rawSinceMs;
    this.rawSinceMs = now;
  }

  /** Current label (null before the first trader started). */
  get current(): string | null {
    return this.rawLabel;
  }

  /** Closes the open segment at the current time; later changes are ignored. */
  finish(): void {
    if (this.finished) return;
    const now = this.clock.now();
    this.closeRaw(now);
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
