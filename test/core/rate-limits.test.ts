/** Kalshi's token-bucket rule (src/core/rate-limits.ts): which bucket, what cost, refill and waits. */
import { describe, expect, it } from 'vitest';
import { TokenBucket, USAGE_TIERS, requestCost } from '../../src/core/rate-limits.ts';

describe('requestCost', () => {
  it('bills order writes to the write bucket and the rest to read, with the cheap exceptions', () => {
    expect(requestCost('POST', '/portfolio/events/orders')).toEqual({ bucket: 'write', cost: 10 });
    expect(requestCost('DELETE', '/portfolio/events/orders/abc')).toEqual({ bucket: 'write', cost: 2 });
    expect(requestCost('POST', '/portfolio/events/orders/abc/amend')).toEqual({ bucket: 'write', cost: 10 });
    expect(requestCost('POST', '/portfolio/events/orders/batched', 5)).toEqual({ bucket: 'write', cost: 50 });
    expect(requestCost('DELETE', '/portfolio/events/orders/batched', 5)).toEqual({ bucket: 'write', cost: 10 });
    expect(requestCost('PUT', '/portfolio/order_groups/g/reset')).toEqual({ bucket: 'write', cost: 10 });
    expect(requestCost('GET', '/portfolio/orders/abc')).toEqual({ bucket: 'read', cost: 2 });
    expect(requestCost('GET', '/portfolio/orders/queue_positions')).toEqual({ bucket: 'read', cost: 10 });
    expect(requestCost('GET', '/portfolio/order_groups')).toEqual({ bucket: 'read', cost: 10 });
    expect(requestCost('GET', '/markets')).toEqual({ bucket: 'read', cost: 10 });
  });
});

describe('TokenBucket', () => {
  it('starts full, refuses what it does not hold, refills at its rate up to its capacity', () => {
    const b = new TokenBucket(USAGE_TIERS.basic.write, 0); // 100 tokens, 100 per second
    for (let i = 0; i < 10; i++) expect(b.tryTake(10, 0)).toBe(true);
    expect(b.tryTake(10, 0)).toBe(false);
    expect(b.waitMs(10, 0)).toBe(100);
    expect(b.tryTake(10, 99)).toBe(false);
    expect(b.tryTake(10, 100)).toBe(true);
    expect(b.available(60_000)).toBe(100);
  });

  it('lets a waiting client take into debt, which later waits pay for; a 429 drains it', () => {
    const b = new TokenBucket({ refillRate: 10, bucketCapacity: 20 }, 0);
    b.take(20, 0);
    b.take(10, 0);
    expect(b.waitMs(10, 0)).toBe(2000);
    const c = new TokenBucket({ refillRate: 10, bucketCapacity: 20 }, 0);
    c.drain(0);
    expect(c.waitMs(5, 0)).toBe(500);
  });
});
