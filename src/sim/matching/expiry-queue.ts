/**
 * Deadlines of good-till-time orders, earliest first: a binary min-heap the exchange pops when the
 * clock passes a deadline. Entries are not removed when an order leaves the book some other way;
 * the exchange skips them when they come out (cheaper than deleting from the middle of a heap).
 * Ties come out in insertion order, so expiries are deterministic.
 */

interface Deadline<T> {
  atMs: number;
  seq: number;
  item: T;
}

export class ExpiryQueue<T> {
  private heap: Array<Deadline<T>> = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Earliest deadline, or undefined when empty. */
  peekTime(): number | undefined {
    return this.heap[0]?.atMs;
  }

  push(atMs: number, item: T): void {
    const h = this.heap;
    h.push({ atMs, seq: this.seq++, item });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  /** Removes and returns every item whose deadline is ≤ nowMs, earliest first. */
  popDue(nowMs: number): T[] {
    const out: T[] = [];
    while (this.heap.length > 0 && this.heap[0]!.atMs <= nowMs) out.push(this.popMin());
    return out;
  }

  private popMin(): T {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top.item;
  }
}

function before<T>(a: Deadline<T>, b: Deadline<T>): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
