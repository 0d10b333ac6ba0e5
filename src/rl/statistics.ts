/**
 * The evaluation's statistics: Sharpe ratio per episode (mean / sample standard deviation of the
 * episodes' net P&L; 0 when they do not vary) and its percentile-bootstrap 95 % interval
 * (episodes resampled with replacement, a seeded generator: the same seed gives the same
 * interval), and the collapse test on an action distribution.
 */
import { Rng } from '../core/random.ts';

export function sharpe(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2;
  const std = Math.sqrt(sq / (n - 1));
  return std > 1e-12 ? mean / std : 0;
}

export interface BootstrapOptions {
  /** Resamples (default 2,000). */
  samples?: number;
  seed?: number;
}

/**
 * Percentile-bootstrap 95 % interval of the Sharpe ratio of `values` (one value per episode).
 * Fewer than two values: [0, 0] (nothing to resample).
 */
export function bootstrapSharpeCi(values: ArrayLike<number>, options: BootstrapOptions = {}): [number, number] {
  const n = values.length;
  if (n < 2) return [0, 0];
  const samples = Math.max(1, options.samples ?? 2_000);
  const rng = new Rng(options.seed ?? 1);
  const draw = new Float64Array(n);
  const stats = new Float64Array(samples);
  for (let b = 0; b < samples; b++) {
    for (let i = 0; i < n; i++) draw[i] = values[rng.int(0, n - 1)];
    stats[b] = sharpe(draw);
  }
  stats.sort();
  const at = (q: number) => stats[Math.min(samples - 1, Math.max(0, Math.round(q * (samples - 1))))];
  return [at(0.025), at(0.975)];
}

/** Share of steps of the most frequent action; a policy at or above `threshold` (0.99) collapsed. */
export function dominantShare(counts: ArrayLike<number>): number {
  let total = 0;
  let top = 0;
  for (let i = 0; i < counts.length; i++) {
    total += counts[i];
    if (counts[i] > top) top = counts[i];
  }
  return total > 0 ? top / total : 0;
}

export const COLLAPSE_SHARE = 0.99;

export function isCollapsed(counts: ArrayLike<number>): boolean {
  return dominantShare(counts) >= COLLAPSE_SHARE;
}
