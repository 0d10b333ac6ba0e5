/**
 * The simulator's rate limiter: each account's read and write token buckets at one usage tier,
 * charged by core's cost rule (src/core/rate-limits.ts) on the simulator's clock. `off` charges
 * nothing (the in-process default: scripted sessions and tests on a virtual clock send bursts in
 * no simulated time) and reports an unlimited tier. Part of src/sim/server; the REST app charges
 * every authenticated request here and answers 429 with Kalshi's body when a bucket is empty.
 */
import type { Clock } from '../../core/clock.ts';
import { TokenBucket, USAGE_TIERS, requestCost, type AccountLimits, type UsageTier } from '../../core/rate-limits.ts';

export type SimRateTier = UsageTier | 'off';
export const SIM_RATE_TIERS: readonly SimRateTier[] = ['off', 'basic', 'advanced', 'premier', 'paragon', 'prime'];

/** What `/account/limits` reports when nothing is limited (not one of Kalshi's tiers, on purpose). */
const UNLIMITED: AccountLimits = {
  usageTier: 'unlimited',
  read: { refillRate: 1_000_000_000, bucketCapacity: 1_000_000_000 },
  write: { refillRate: 1_000_000_000, bucketCapacity: 1_000_000_000 },
};

export class SimRateLimits {
  private readonly buckets = new Map<string, { read: TokenBucket; write: TokenBucket }>();
  readonly limits: AccountLimits;

  constructor(
    private readonly clock: Clock,
    readonly tier: SimRateTier,
  ) {
    this.limits = tier === 'off' ? UNLIMITED : USAGE_TIERS[tier];
  }

  /** Charges one request; false when its bucket has too few tokens (nothing is taken then). */
  charge(userId: string, method: string, path: string, items = 1): boolean {
    if (this.tier === 'off') return true;
    const now = this.clock.now();
    let b = this.buckets.get(userId);
    if (!b) {
      b = { read: new TokenBucket(this.limits.read, now), write: new TokenBucket(this.limits.write, now) };
      this.buckets.set(userId, b);
    }
    const { bucket, cost } = requestCost(method, path, items);
    return b[bucket].tryTake(cost, now);
  }
}
