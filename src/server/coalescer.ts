/**
 * Latest-value-wins rate limiting per key: at most one emission per key every `intervalMs`; what
 * arrives in between replaces the pending value and goes out when the interval has passed. The
 * /v3/ws feed uses it so a busy order book sends each browser ≤ 4 market updates per ticker per
 * second however many deltas arrive, while the last value always gets through. Runs on a Clock
 * with a single timer however many keys are pending. Keys whose interval has passed are
 * forgotten in batches (they behave like new keys anyway), so a stream of ever-new keys — every
 * order the trader ever placed — holds memory only for the keys of the last interval.
 * Part of src/server.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';

export class Coalescer<T> {
  private readonly lastSentAt = new Map<string, number>();
  private readonly pending = new Map<string, T>();
  private timer: TimerHandle | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Values replaced before they were sent. */
  replaced = 0;
  /** lastSentAt size that triggers the next sweep of expired keys. */
  private sweepAt = 256;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly emit: (key: string, value: T) => void,
  ) {
    if (!(intervalMs >= 0)) throw new RangeError(`coalescing interval must be ≥ 0, got ${intervalMs}`);
  }

  offer(key: string, value: T): void {
    const now = this.clock.now();
    const last = this.lastSentAt.get(key);
    if (!this.pending.has(key) && (last === undefined || now - last >= this.intervalMs)) {
      this.lastSentAt.set(key, now);
      if (this.lastSentAt.size >= this.sweepAt) this.forgetExpired(now);
      this.emit(key, value);
      return;
    }
    if (this.pending.has(key)) this.replaced++;
    this.pending.set(key, value);
    this.schedule((last ?? now) + this.intervalMs);
  }

  /** Keys waiting for their interval to pass. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Drops everything pending and the timer (no emissions after this). */
  clear(): void {
    this.pending.clear();
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Keys remembered (sent within about the last interval, or pending). */
  get trackedCount(): number {
    return this.lastSentAt.size;
  }

  /** Drops the send times that no longer limit anything (older than the interval, nothing pending). */
  private forgetExpired(now: number): void {
    for (const [key, at] of this.lastSentAt) {
      if (now - at >= this.intervalMs && !this.pending.has(key)) this.lastSentAt.delete(key);
    }
    // amortized: the next sweep waits until the map has doubled
    this.sweepAt = Math.max(256, 2 * this.lastSentAt.size);
  }

  /** Forgets a key (e.g. a market that was unsubscribed), pending value included. */
  forget(key: string): void {
    this.pending.delete(key);
    this.lastSentAt.delete(key);
  }

  private schedule(at: number): void {
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.flushDue(), Math.max(0, at - this.clock.now()));
  }

  private flushDue(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const [key, value] of [...this.pending]) {
      const due = (this.lastSentAt.get(key) ?? now) + this.intervalMs;
      if (due <= now) {
        this.pending.delete(key);
        this.lastSentAt.set(key, now);
        this.emit(key, value);
      } else if (due < nextDue) {
        nextDue = due;
      }
    }
    if (this.pending.size > 0) this.schedule(Number.isFinite(nextDue) ? nextDue : now + this.intervalMs);
  }
}
