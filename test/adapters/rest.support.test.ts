/**
 * The pieces around the REST client: backoff, environments and the error classes (both of
 * Kalshi's error body shapes).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VirtualClock } from '../../src/core/clock.ts';
import { DEFAULT_BACKOFF, backoffDelay, sleep, type BackoffPolicy } from '../../src/adapters/kalshi/retry.ts';
import { endpointsFor, isKalshiEnvironment } from '../../src/adapters/kalshi/environments.ts';
import {
  KalshiApiError,
  KalshiNetworkError,
  KalshiOrderOutcomeUnknownError,
  KalshiTimeoutError,
  KalshiValidationError,
  ReadOnlyEnvironmentError,
  isRetryableError,
  parseKalshiErrorBody,
} from '../../src/adapters/kalshi/errors.ts';

describe('backoffDelay', () => {
  const policy: BackoffPolicy = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };

  it('grows exponentially and is capped at maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 50, 5000].map((a) => backoffDelay(a, policy))).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('jitter takes away up to its share of the delay', () => {
    const half = { ...policy, jitter: 0.5 };
    expect(backoffDelay(2, half, () => 0)).toBe(400);
    expect(backoffDelay(2, half, () => 1)).toBe(200);
    expect(backoffDelay(2, half, () => 0.5)).toBe(300);
    expect(backoffDelay(2, { ...policy, jitter: 1 }, () => 1)).toBe(0);
  });

  it('is always an integer within [ (1 − jitter)·base, base ] for any input', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, jitter, r) => {
          const p = { initialMs: 50, maxMs: 30_000, factor: 3, jitter };
          const d = backoffDelay(attempt, p, () => r);
          const base = Math.min(30_000, 50 * 3 ** Math.max(0, attempt));
          return Number.isInteger(d) && d <= base && d >= Math.floor((1 - jitter) * base) - 1;
        },
      ),
    );
  });

  it('has sane defaults', () => {
    expect(DEFAULT_BACKOFF.initialMs).toBeGreaterThan(0);
    expect(DEFAULT_BACKOFF.maxMs).toBeGreaterThanOrEqual(DEFAULT_BACKOFF.initialMs);
    expect(DEFAULT_BACKOFF.jitter).toBeGreaterThan(0);
    expect(DEFAULT_BACKOFF.jitter).toBeLessThanOrEqual(1);
  });

  it('sleep waits on the given clock', async () => {
    const clock = new VirtualClock(0);
    let done = false;
    const waiting = sleep(500, clock).then(() => {
      done = true;
    });
    clock.advance(499);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await waiting;
    expect(done).toBe(true);
  });
});

describe('endpointsFor', () => {
  it('paper is the demo exchange and may trade', () => {
    expect(endpointsFor('paper')).toEqual({
      restBaseUrl: 'https://external-api.demo.kalshi.co/trade-api/v2',
      wsUrl: 'wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2',
      environment: 'paper',
      readOnly: false,
      testExchangeHosts: [],
    });
  });

  it('production is read-only, even with overridden hosts', () => {
    expect(endpointsFor('production')).toEqual({
      restBaseUrl: 'https://external-api.kalshi.com/trade-api/v2',
      wsUrl: 'wss://external-api-ws.kalshi.com/trade-api/ws/v2',
      environment: 'production',
      readOnly: true,
      testExchangeHosts: [],
    });
    const legacyHost = endpointsFor('production', { restBaseUrl: 'https://api.elections.kalshi.com/trade-api/v2/' });
    expect(legacyHost.restBaseUrl).toBe('https://api.elections.kalshi.com/trade-api/v2');
    expect(legacyHost.readOnly).toBe(true);
  });

  it('sim needs both loopback URLs', () => {
    expect(() => endpointsFor('sim')).toThrow(/sim environment has no fixed address/);
    expect(() => endpointsFor('sim', { restBaseUrl: 'http://127.0.0.1:8081/trade-api/v2' })).toThrow(/no fixed address/);
    expect(endpointsFor('sim', { restBaseUrl: 'http://127.0.0.1:8081/trade-api/v2', wsUrl: 'ws://127.0.0.1:8081/trade-api/ws/v2' })).toEqual({
      restBaseUrl: 'http://127.0.0.1:8081/trade-api/v2',
      wsUrl: 'ws://127.0.0.1:8081/trade-api/ws/v2',
      environment: 'sim',
      readOnly: false,
      testExchangeHosts: [],
    });
  });

  it('rejects malformed overrides and unknown environments', () => {
    expect(() => endpointsFor('paper', { restBaseUrl: 'not a url' })).toThrow(/not a URL/);
    expect(() => endpointsFor('paper', { wsUrl: 'https://x/trade-api/ws/v2' })).toThrow(/must use wss \(or ws on loopback\)/);
    expect(() => endpointsFor('paper', { restBaseUrl: 'https://x/trade-api/v2?x=1' })).toThrow(/query/);
    expect(() => endpointsFor('staging' as 'paper')).toThrow(/unknown Kalshi environment/);
    expect(isKalshiEnvironment('paper')).toBe(true);
    expect(isKalshiEnvironment('demo')).toBe(false);
  });
});

describe('Kalshi error bodies and classes', () => {
  it('reads the wrapped error object', () => {
    expect(parseKalshiErrorBody('{"error":{"code":"order_already_exists","message":"order already exists","service":"exchange"}}')).toEqual({
      code: 'order_already_exists',
      message: 'order already exists',
    });
  });

  it("reads the rate limiter's string error and unwrapped batch errors", () => {
    expect(parseKalshiErrorBody('{"error": "too many requests"}')).toEqual({ code: null, message: 'too many requests' });
    expect(parseKalshiErrorBody('{"code":"invalid_price","message":"invalid price","details":"x"}')).toEqual({
      code: 'invalid_price',
      message: 'invalid price',
    });
  });

  it('keeps only a short quote of non-JSON bodies', () => {
    const html = `<html>${'x'.repeat(1000)}</html>`;
    const parsed = parseKalshiErrorBody(html);
    expect(parsed.code).toBeNull();
    expect(parsed.message!.length).toBeLessThanOrEqual(201);
    expect(parseKalshiErrorBody('')).toEqual({ code: null, message: null });
    expect(parseKalshiErrorBody('{"unexpected":true}')).toEqual({ code: null, message: '{"unexpected":true}' });
  });

  it('KalshiApiError says status, code and message, and which statuses are retryable', () => {
    const e = KalshiApiError.fromResponse(
      409,
      '{"error":{"code":"order_already_exists","message":"order already exists"}}',
      'POST',
      '/trade-api/v2/portfolio/events/orders',
    );
    expect(e.message).toBe('Kalshi POST /trade-api/v2/portfolio/events/orders → HTTP 409 order_already_exists: order already exists');
    expect(e).toMatchObject({ status: 409, code: 'order_already_exists', kalshiMessage: 'order already exists', retryable: false });
    const retryable = [400, 401, 403, 404, 409, 429, 500, 502, 503, 504].filter((s) => KalshiApiError.fromResponse(s, '', 'GET', '/p').retryable);
    expect(retryable).toEqual([429, 500, 502, 503, 504]);
  });

  it('classifies transport failures as retryable and the rest as not', () => {
    expect(isRetryableError(new KalshiTimeoutError('GET', '/p', 10))).toBe(true);
    expect(isRetryableError(new KalshiNetworkError('GET', '/p', new Error('boom')))).toBe(true);
    expect(isRetryableError(new KalshiValidationError('GET', '/p', []))).toBe(false);
    expect(isRetryableError(new ReadOnlyEnvironmentError('createOrder', 'production'))).toBe(false);
    expect(isRetryableError(new Error('other'))).toBe(false);
  });

  it('network errors surface the low-level code hidden under "fetch failed"', () => {
    const cause = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    const e = new KalshiNetworkError('GET', '/trade-api/v2/markets', cause);
    expect(e.message).toBe('Kalshi GET /trade-api/v2/markets: network error: fetch failed: ECONNREFUSED');
    expect(e.cause).toBe(cause);
  });

  it('validation errors list at most five field paths', () => {
    const issues = Array.from({ length: 8 }, (_, i) => ({ path: `markets.${i}.yes_bid_dollars`, message: 'bad' }));
    const e = new KalshiValidationError('GET', '/trade-api/v2/markets', issues);
    expect(e.message).toContain('markets.4.yes_bid_dollars: bad');
    expect(e.message).not.toContain('markets.5.');
    expect(e.message).toContain('(+3 more)');
    expect(e.issues).toHaveLength(8);
  });

  it('an unknown order outcome names the client_order_id and keeps the cause', () => {
    const cause = new KalshiTimeoutError('GET', '/trade-api/v2/portfolio/orders', 50);
    const e = new KalshiOrderOutcomeUnknownError('cid-7', 'T', cause);
    expect(e.message).toMatch(/order cid-7 on T: outcome unknown/);
    expect(e.cause).toBe(cause);
    expect(e.clientOrderId).toBe('cid-7');
  });
});
