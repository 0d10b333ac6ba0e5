/** Shared helpers for benchmarks: timing loops and the one-JSON-line-per-figure output format. */

export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  goal?: string;
  [extra: string]: unknown;
}

export function report(figure: Figure): void {
  console.log(JSON.stringify(figure));
}

/** Runs `fn` repeatedly for about `ms` wall milliseconds; returns operations per second. */
export function opsPerSecond(fn: () => number, ms = 1000): number {
  // warm-up so the JIT has settled before measuring
  const warmEnd = performance.now() + Math.min(300, ms / 3);
  while (performance.now() < warmEnd) fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    ops += fn();
    now = performance.now();
  }
  return (ops * 1000) / (now - start);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}
