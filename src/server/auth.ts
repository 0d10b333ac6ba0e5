/**
 * Access rules of the operator API: it listens on loopback unless told otherwise, and listening
 * anywhere else needs `V3_AUTH_TOKEN`, which then guards the WebSocket and every data or control
 * route (Bearer header or `?token=`). Browsers are also kept from reading the feed cross-site:
 * a WebSocket upgrade whose Origin names another host is refused. Part of src/server.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export class BindRefusedError extends Error {
  override readonly name = 'BindRefusedError';
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
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
 * A browser upgrade from a page on another host (cross-site WebSocket hijacking) is refused;
 * clients that send no Origin (scripts, curl, tests) are judged by the token alone.
 */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (!origin) return true;
  if (!host) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
