/**
 * The wall clock's timers hold any delay: node's setTimeout fires at once beyond 2^31 − 1 ms
 * (~24.8 days), so `record --duration 30d` used to stop immediately. Driven by vitest's fake
 * timers, which keep node's overflow rule, so days pass in microseconds.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, systemClock } from '../../src/core/clock.ts';

const DAY = 86_400_000;

describe('systemClock timers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires a 30-day timer after 30 days, not before', () => {
    const fired: number[] = [];
    const start = Date.now();
    systemClock.setTimeout(() => fired.push(Date.now() - start), 30 * DAY);
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(30 * DAY - 1_001);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([30 * DAY]);
    vi.advanceTimersByTime(60 * DAY);
    expect(fired).toHaveLength(1);
  });

  it('cancels a long timer before and after its first link has passed', () => {
    const fired: string[] = [];
    const early = systemClock.setTimeout(() => fired.push('early'), 100 * DAY);
    const late = systemClock.setTimeout(() => fired.push('late'), 100 * DAY);
    systemClock.clearTimeout(early);
    vi.advanceTimersByTime(MAX_TIMER_MS + DAY);
    systemClock.clearTimeout(late);
    vi.advanceTimersByTime(200 * DAY);
    expect(fired).toEqual([]);
  });

  it('keeps short timers as they were', () => {
    const fired: number[] = [];
    systemClock.setTimeout(() => fired.push(1), 10);
    const cancelled = systemClock.setTimeout(() => fired.push(2), 20);
    systemClock.clearTimeout(cancelled);
    systemClock.setTimeout(() => fired.push(3), MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).toEqual([1, 3]);
  });
});
