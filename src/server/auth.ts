/**
 * Access rules of the operator API: it listens on loopback unless told otherwise, and listening
 * anywhere else needs `V3_AUTH_TOKEN`, which then guards the WebSocket and every data or control
 * route (Bearer header or `?token=`). Which Host and Origin a browser may use is the host guard's
 * rule (src/adapters/http/host-guard.ts), applied to every route and the WebSocket upgrade.
 * Part of src/server.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { isLoopbackHost } from '../adapters/http/host-guard.ts';

export class BindRefusedError extends Error {
  override readonly name = 'BindRefusedError';
}

/** Throws unless `host` is loopback or a token is configured. */
export function assertBindAllowed(host: string, authToken: string | undefined): void {
  if (isLoopbackHost(host)) return;
  if (!authToken) {
    throw new BindRefusedError(
      `refusing to listen on ${host} without V3_AUTH_TOKEN: the operator API binds to 127.0.0.1 unless a token guards it`,
    );
  }
  if (authToken.length < 16) throw new BindRefusedError('V3_AUTH_TOKEN must be at least 16 characters when listening beyond loopback');
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Compares in constant time (on fixed-length digests, so the token's length does not leak). */
export function tokenMatches(expected: string, presented: string | null | undefined): boolean {
  if (!presented) return false;
  return timingSafeEqual(digest(expected), digest(presented));
}

/** The token a request presents: `Authorization: Bearer <t>` or `?token=<t>`. */
export function presentedToken(authorization: string | null | undefined, url: URL): string | null {
  if (authorization) {
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (m) return m[1].trim();
  }
  return url.searchParams.get('token');
}

/**
 * Hono middleware guarding routes with the token: without a configured token every request passes;
 * with one, a request that does not present it gets 401 and a Bearer challenge. Paths in `except`
 * pass unchecked (the health probe).
 */
export function requireToken(authToken: string | undefined, options: { except?: readonly string[] } = {}): MiddlewareHandler {
  const except = new Set(options.except ?? []);
  return async (c, next) => {
    if (authToken && !except.has(c.req.path) && !tokenMatches(authToken, presentedToken(c.req.header('authorization'), new URL(c.req.url)))) {
      c.header('WWW-Authenticate', 'Bearer realm="kalshiflow"');
      return c.json({ error: 'unauthorized', message: 'this route needs the V3_AUTH_TOKEN (Authorization: Bearer … or ?token=…)' }, 401);
    }
    await next();
  };
}
