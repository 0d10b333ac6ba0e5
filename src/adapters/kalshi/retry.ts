/**
 * Exponential backoff with jitter, shared by the Kalshi REST client (retrying reads, 429s) and the
 * WebSocket client (reconnects). Kalshi's 429 carries no Retry-After header, so the client spaces
 * retries itself; jitter keeps many actors from retrying in lockstep.
 */
import { systemClock, type Clock } from '../../core/clock.ts';

export interface BackoffPolicy {
  /** Delay before the first retry (attempt 0), in ms. */
  initialMs: number;
  /** Upper bound of any delay, in ms. */
  maxMs: number;
  /** Growth per attempt (2 doubles the delay each time). */
  factor: number;
  /** 0..1: the share of each delay that is randomised away (0 = deterministic, 1 = anywhere in [0, delay]). */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, factor: 2, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (0-based): `min(maxMs, initialMs · factor^attempt)`, reduced
 * by up to `jitter` of itself. Always a non-negative integer number of ms.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  const initial = Math.max(0, policy.initialMs);
  const max = Math.max(initial, policy.maxMs);
  const factor = Math.max(1, policy.factor);
  // factor^n overflows to Infinity for large n; min() then caps it at maxMs
  const base = Math.min(max, initial * factor ** n);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(base * (1 - jitter * r));
}

/** Resolves after `ms` on `clock` (a VirtualClock makes retries instant in scripted sessions). */
export function sleep(ms: number, clock: Clock = systemClock): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    clock.setTimeout(resolve, ms);
  });
}
