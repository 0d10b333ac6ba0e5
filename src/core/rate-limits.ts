/**
 * Kalshi's rate limits (kalshi-api.md §4.2), the one owner of the rule for both sides: the
 * simulator charges requests with it and answers 429 when a bucket is empty, the REST adapter
 * waits with it so a trader stays under its budget. Pure: time is passed in.
 *
 * Two token buckets per account, read and write, refilled continuously at `refillRate` tokens per
 * second up to `bucketCapacity`. A request costs 10 tokens unless listed cheaper: cancelling an
 * order and reading one order cost 2; batch items are billed one by one. Writes are order
 * placement, amends, decreases, cancels and order groups; everything else is a read.
 */

export type RateBucketName = 'read' | 'write';

export interface BucketLimit {
  /** Tokens added per second. */
  refillRate: number;
  /** Most tokens the bucket holds (the burst). */
  bucketCapacity: number;
}

export interface AccountLimits {
  usageTier: string;
  read: BucketLimit;
  write: BucketLimit;
}

export type UsageTier = 'basic' | 'advanced' | 'premier' | 'paragon' | 'prime';

/** Per-second budgets Read/Write; the write bucket holds 2 s of budget, except Basic's 1 s (kalshi-api.md §4.2). */
export const USAGE_TIERS: Record<UsageTier, AccountLimits> = {
  basic: { usageTier: 'basic', read: { refillRate: 200, bucketCapacity: 200 }, write: { refillRate: 100, bucketCapacity: 100 } },
  advanced: { usageTier: 'advanced', read: { refillRate: 300, bucketCapacity: 300 }, write: { refillRate: 300, bucketCapacity: 600 } },
  premier: { usageTier: 'premier', read: { refillRate: 1000, bucketCapacity: 1000 }, write: { refillRate: 1000, bucketCapacity: 2000 } },
  paragon: { usageTier: 'paragon', read: { refillRate: 2000, bucketCapacity: 2000 }, write: { refillRate: 2000, bucketCapacity: 4000 } },
  prime: { usageTier: 'prime', read: { refillRate: 4000, bucketCapacity: 4000 }, write: { refillRate: 4000, bucketCapacity: 8000 } },
};

export const DEFAULT_REQUEST_COST = 10;
export const CHEAP_REQUEST_COST = 2;

/** The endpoints that cost other than the default, as `GET /account/endpoint_costs` lists them. */
export const ENDPOINT_COSTS: ReadonlyArray<{ method: string; path: string; cost: number }> = [
  { method: 'DELETE', path: '/portfolio/events/orders/{order_id}', cost: CHEAP_REQUEST_COST },
  { method: 'DELETE', path: '/portfolio/events/orders/batched', cost: CHEAP_REQUEST_COST },
  { method: 'GET', path: '/portfolio/orders/{order_id}', cost: CHEAP_REQUEST_COST },
];

const WRITE_PREFIXES = ['/portfolio/events/orders', '/portfolio/orders', '/portfolio/order_groups'];
const ORDER_READ = /^\/portfolio\/orders\/[^/]+$/;
const CANCEL_ONE = /^\/portfolio\/events\/orders\/[^/]+$/;

/**
 * Which bucket a request draws from and what it costs. `path` is relative to `/trade-api/v2`,
 * without the query; `items` is the number of orders in a batch body (each is billed).
 */
export function requestCost(method: string, path: string, items = 1): { bucket: RateBucketName; cost: number } {
  const m = method.toUpperCase();
  const write = m !== 'GET' && WRITE_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
  if (!write) {
    const cheap = m === 'GET' && ORDER_READ.test(path) && path !== '/portfolio/orders/queue_positions';
    return { bucket: 'read', cost: cheap ? CHEAP_REQUEST_COST : DEFAULT_REQUEST_COST };
  }
  const n = Math.max(1, Math.floor(items));
  if (path === '/portfolio/events/orders/batched') return { bucket: 'write', cost: (m === 'DELETE' ? CHEAP_REQUEST_COST : DEFAULT_REQUEST_COST) * n };
  if (m === 'DELETE' && CANCEL_ONE.test(path)) return { bucket: 'write', cost: CHEAP_REQUEST_COST };
  return { bucket: 'write', cost: DEFAULT_REQUEST_COST };
}

/** One token bucket; starts full. */
export class TokenBucket {
  private tokens: number;
  private atMs: number;

  constructor(
    private limit: BucketLimit,
    nowMs: number,
  ) {
    if (!(limit.refillRate > 0) || !(limit.bucketCapacity > 0)) throw new RangeError('a bucket needs a positive refill rate and capacity');
    this.tokens = limit.bucketCapacity;
    this.atMs = nowMs;
  }

  /** Tokens available at `nowMs`. */
  available(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  /** Takes `cost` tokens if there are that many; false (nothing taken) otherwise. */
  tryTake(cost: number, nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }

  /**
   * How long until `cost` tokens are there (0: now). A cost above the capacity is waited for as
   * if the bucket were empty and full again: it can never be paid at once.
   */
  waitMs(cost: number, nowMs: number): number {
    this.refill(nowMs);
    const need = Math.min(cost, this.limit.bucketCapacity) - this.tokens;
    return need <= 0 ? 0 : Math.ceil((need * 1000) / this.limit.refillRate);
  }

  /** Takes `cost` tokens now, even into debt (a client that waited for them). */
  take(cost: number, nowMs: number): void {
    this.refill(nowMs);
    this.tokens -= Math.min(cost, this.limit.bucketCapacity);
  }

  /** Empties the bucket (the server said 429: we were wrong about what is left). */
  drain(nowMs: number): void {
    this.refill(nowMs);
    this.tokens = Math.min(this.tokens, 0);
  }

  private refill(nowMs: number): void {
    const elapsed = nowMs - this.atMs;
    if (elapsed > 0) this.tokens = Math.min(this.limit.bucketCapacity, this.tokens + (elapsed * this.limit.refillRate) / 1000);
    this.atMs = Math.max(this.atMs, nowMs);
  }
}
