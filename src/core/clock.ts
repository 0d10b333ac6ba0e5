/**
 * The injectable clock. Every timer in the system (XState delays, simulator activity, reconnect
 * backoff, write-queue flushes) goes through a Clock, so a scripted session can run on virtual
 * time and the same code runs on the wall clock live. Compatible with XState v5's `clock` option.
 */

export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the Unix epoch, on this clock. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Longest delay node's setTimeout holds (2^31 − 1 ms, ~24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A wall-clock timer longer than node can hold: a chain of shorter ones. */
class LongTimer {
  timer: ReturnType<typeof setTimeout>;

  constructor(fn: () => void, ms: number) {
    let left = ms;
    const arm = (): ReturnType<typeof setTimeout> => {
      if (left <= MAX_TIMER_MS) return setTimeout(fn, left);
      left -= MAX_TIMER_MS;
      return setTimeout(() => (this.timer = arm()), MAX_TIMER_MS);
    };
    this.timer = arm();
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => (ms > MAX_TIMER_MS ? new LongTimer(fn, ms) : setTimeout(fn, ms)),
  clearTimeout: (handle) => clearTimeout(handle instanceof LongTimer ? handle.timer : (handle as ReturnType<typeof setTimeout>)),
};

interface VirtualTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

function earlier(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * A clock that only moves when told to. Timers fire in (time, creation) order, so runs are
 * deterministic. `advance` fires everything due up to the target time, including timers that
 * callbacks schedule within the window.
 *
 * Timers sit in a binary min-heap; a cleared timer leaves the id map at once and its heap entry
 * is skipped when it surfaces (and swept when such entries outnumber live ones), so a scripted
 * session firing millions of timers pays O(log n) per timer instead of a scan of all of them.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private nextId = 1;
  private readonly timers = new Map<number, VirtualTimer>();
  private heap: VirtualTimer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    // NaN (e.g. an undefined delay) behaves like 0, as it does for node's setTimeout
    const delay = ms > 0 ? ms : 0;
    const timer: VirtualTimer = { id, at: this.current + delay, seq: this.seq++, fn };
    this.timers.set(id, timer);
    this.push(timer);
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (!this.timers.delete(handle as number)) return;
    if (this.heap.length > 64 && this.heap.length > 2 * this.timers.size) this.rebuild();
  }

  /** Number of timers still scheduled. */
  get pending(): number {
    return this.timers.size;
  }

  /** Time of the earliest scheduled timer, if any. */
  nextTimerAt(): number | undefined {
    return this.peekLive()?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      const due = this.peekLive();
      if (!due || due.at > target) break;
      this.pop();
      this.timers.delete(due.id);
      if (due.at > this.current) this.current = due.at;
      due.fn();
    }
    if (target > this.current) this.current = target;
  }

  // ---- heap ----

  private peekLive(): VirtualTimer | undefined {
    const heap = this.heap;
    while (heap.length > 0 && this.timers.get(heap[0].id) !== heap[0]) this.pop();
    return heap[0];
  }

  private push(timer: VirtualTimer): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(timer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(timer, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = timer;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && earlier(heap[r], heap[l]) ? r : l;
      if (!earlier(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }

  private rebuild(): void {
    const live = [...this.timers.values()];
    this.heap = [];
    for (const t of live) this.push(t);
  }
}
