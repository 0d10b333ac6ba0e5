/**
 * The hidden "true" probability of a synthetic market: a random walk in log-odds space (so it
 * stays inside (0, 1) without clipping artefacts), with drift, volatility per √hour of clock time
 * and scheduled jumps. Participants quote and trade around it. A probability is not money, so
 * floats are fine here; prices are derived from it on the tick grid by the participants.
 * Part of src/sim/activity.
 */
import type { Rng } from '../../core/random.ts';

const HOUR_MS = 3_600_000;
/** Keeps the walk away from certainty, where a 1¢ grid has nothing left to quote. */
const MIN_P = 0.01;
const MAX_P = 0.99;

const logit = (p: number) => Math.log(p / (1 - p));
const logistic = (x: number) => 1 / (1 + Math.exp(-x));

export class FairValue {
  private logOdds: number;
  private readonly lo = logit(MIN_P);
  private readonly hi = logit(MAX_P);

  constructor(
    probability: number,
    private readonly volatilityPerSqrtHour: number,
    private readonly driftPerHour = 0,
  ) {
    this.logOdds = logit(clampProbability(probability));
  }

  get probability(): number {
    return logistic(this.logOdds);
  }

  /** Moves the walk forward by `dtMs` of clock time. */
  advance(dtMs: number, rng: Rng): void {
    if (dtMs <= 0) return;
    const hours = dtMs / HOUR_MS;
    const step = this.driftPerHour * hours + this.volatilityPerSqrtHour * Math.sqrt(hours) * rng.normal();
    this.logOdds = Math.min(this.hi, Math.max(this.lo, this.logOdds + step));
  }

  /** Where the drift alone takes the fair value in `dtMs` (no noise): what an informed trader expects. */
  drifted(dtMs: number): number {
    const x = this.logOdds + this.driftPerHour * (Math.max(0, dtMs) / HOUR_MS);
    return logistic(Math.min(this.hi, Math.max(this.lo, x)));
  }

  jumpTo(probability: number): void {
    this.logOdds = logit(clampProbability(probability));
  }
}

function clampProbability(p: number): number {
  if (!Number.isFinite(p)) throw new RangeError(`fair probability must be a number, got ${p}`);
  return Math.min(MAX_P, Math.max(MIN_P, p));
}
