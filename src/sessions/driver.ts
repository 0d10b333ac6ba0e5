/**
 * Runs a VirtualClock "as fast as possible": let the system settle (no blocking work in flight,
 * an event-loop turn without progress), then jump the clock to its next timer, fire it, repeat.
 * Everything that takes time in a session — simulator activity, XState delays, WebSocket
 * heartbeats and backoffs, the trader throttle, fault durations — is a timer on that clock, so a
 * run is as deterministic as its seed and limited only by CPU.
 *
 * Part of src/sessions; the runner owns one driver per virtual session.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { VirtualClock } from '../core/clock.ts';
import type { ActivityTracker } from './quiescence.ts';

export class SessionStalledError extends Error {
  override readonly name = 'SessionStalledError';
}

export interface VirtualDriverOptions {
  /** Extra progress counters (e.g. the in-process transport's chunk count). */
  progressSources?: Array<() => number>;
  /** Event-loop turns without progress that count as settled (default 2). */
  idleTurns?: number;
  /** Wall-clock ms one blocking operation may take before the session is declared stuck. */
  stallMs?: number;
}

export class VirtualDriver {
  private readonly sources: Array<() => number>;
  private readonly idleTurns: number;
  private readonly stallMs: number;
  /** Timer firings so far (for benchmarks and the report). */
  steps = 0;
  /** Wall ms spent waiting for blocking work (database answers, restarts). */
  blockedMs = 0;
  /** Event-loop turns spent settling. */
  turns = 0;

  constructor(
    readonly clock: VirtualClock,
    private readonly tracker: ActivityTracker,
    options: VirtualDriverOptions = {},
  ) {
    this.sources = options.progressSources ?? [];
    this.idleTurns = options.idleTurns ?? 2;
    this.stallMs = options.stallMs ?? 60_000;
  }

  private progress(): number {
    let p = this.tracker.progress;
    for (const source of this.sources) p += source();
    return p;
  }

  /** Waits until nothing is in flight and nothing moved for `idleTurns` event-loop turns. */
  async settle(): Promise<void> {
    let quiet = 0;
    let last = this.progress();
    while (quiet < this.idleTurns) {
      if (this.tracker.inFlight > 0) {
        await this.waitForIdle();
        quiet = 0;
        last = this.progress();
        continue;
      }
      await nextTurn();
      this.turns++;
      const now = this.progress();
      if (now === last && this.tracker.inFlight === 0) quiet++;
      else quiet = 0;
      last = now;
    }
  }

  private async waitForIdle(): Promise<void> {
    const began = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new SessionStalledError(`${this.tracker.inFlight} operations still in flight after ${this.stallMs} ms of wall time`)),
        this.stallMs,
      );
    });
    try {
      await Promise.race([this.tracker.whenIdle(), stalled]);
    } finally {
      clearTimeout(timer);
      this.blockedMs += performance.now() - began;
    }
  }

  /**
   * Advances virtual time to `targetMs`, settling before every timer. `onTick` is called after
   * each step with the clock's time (the caller throttles its own output).
   */
  async runUntil(targetMs: number, onTick?: (nowMs: number) => void, shouldStop?: () => boolean): Promise<void> {
    for (;;) {
      await this.settle();
      if (shouldStop?.()) return;
      const next = this.clock.nextTimerAt();
      if (next === undefined || next > targetMs) {
        if (this.clock.now() < targetMs) this.clock.advanceTo(targetMs);
        await this.settle();
        onTick?.(this.clock.now());
        return;
      }
      this.clock.advanceTo(next);
      this.steps++;
      onTick?.(this.clock.now());
    }
  }

  /**
   * Runs the clock until `done` settles (or `limitMs` of virtual time passes), for work that
   * needs virtual time to finish, e.g. a graceful shutdown. Returns whether `done` settled.
   */
  async runWhile(done: Promise<unknown>, limitMs: number): Promise<boolean> {
    let finished = false;
    void done.then(
      () => (finished = true),
      () => (finished = true),
    );
    const limit = this.clock.now() + limitMs;
    while (!finished) {
      await this.settle();
      if (finished) break;
      const next = this.clock.nextTimerAt();
      if (next === undefined || next > limit) {
        // nothing scheduled within the limit: give real-time work (e.g. wall-clock waits) a moment
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (next === undefined || this.clock.now() >= limit) {
          if (!finished) await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 100))]);
          break;
        }
        this.clock.advanceTo(limit);
        continue;
      }
      this.clock.advanceTo(next);
      this.steps++;
    }
    return finished;
  }
}
