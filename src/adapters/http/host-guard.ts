/**
 * Which browsers may talk to our loopback HTTP surfaces (the operator API and its WebSocket, the
 * simulator's `/_sim/` control API). Two checks, one rule:
 *  - DNS rebinding: a hostile page can make its own name resolve to 127.0.0.1, and the browser
 *    then sends `Host: evil.example`. So the Host must be on an allow-list: the loopback names,
 *    the host the server was told to listen on, and names the operator adds.
 *  - Cross-site requests: a page on another site sends its own `Origin`. A request carrying an
 *    Origin is accepted only when that Origin names exactly the (allowed) host and port it was
 *    sent to. Requests without Origin (curl, scripts, our own clients) are judged by Host alone.
 * `hostGuard` is the Hono middleware factory; `checkHostAndOrigin` is the same rule for a raw
 * node upgrade request. Part of src/adapters (used by src/server and src/sim alike).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { isIP } from 'node:net';
import { hostname as machineHostname } from 'node:os';
import { isLoopbackHost } from '../../core/hosts.ts';

/** The one loopback rule (src/core/hosts.ts), re-exported for the servers that import it from here. */
export { isLoopbackHost };

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

/** The host names a server bound to `bindHost` answers to (lower case, IPv6 without brackets). */
export interface HostAllowList {
  names: ReadonlySet<string>;
  /** Bound to every interface: any IP literal is the machine itself (no name to rebind). */
  anyAddress: boolean;
}

/**
 * Loopback names, `bindHost` itself, and `extra` (e.g. a name a reverse proxy forwards). Bound
 * to a wildcard address, the machine's host name and any IP literal are allowed too.
 */
export function hostAllowList(bindHost: string, extra: readonly string[] = []): HostAllowList {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1']);
  const anyAddress = WILDCARD_HOSTS.has(bindHost.trim());
  if (!anyAddress) names.add(bareHost(bindHost));
  else names.add(machineHostname().toLowerCase());
  for (const name of extra) if (name.trim()) names.add(bareHost(name.trim()));
  return { names, anyAddress };
}

/** `[::1]` → `::1`, lower case. */
function bareHost(name: string): string {
  return name.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Splits a Host header (`name`, `name:port`, `[v6]:port`) into its host name; null when malformed. */
export function hostNameOf(hostHeader: string): string | null {
  const h = hostHeader.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^\s:/@[\]]+)(?::(\d{1,5}))?$/.exec(h);
  return m ? bareHost(m[1]) : null;
}

export function hostAllowed(hostHeader: string | undefined, list: HostAllowList): boolean {
  if (!hostHeader) return false;
  const name = hostNameOf(hostHeader);
  if (name === null) return false;
  if (list.names.has(name) || isLoopbackHost(name)) return true;
  return list.anyAddress && isIP(name) !== 0;
}

export type HostRefusal = 'host' | 'origin';

/**
 * null when the request may proceed; otherwise which header failed. `origin` undefined means the
 * client sent none (not a browser page); the literal "null" origin (sandboxed frames, file://) is
 * refused.
 */
export function checkHostAndOrigin(host: string | undefined, origin: string | undefined, list: HostAllowList): HostRefusal | null {
  if (!hostAllowed(host, list)) return 'host';
  if (origin === undefined) return null;
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'origin';
    // the Host as the origin's scheme writes it (lower case, its default port dropped)
    return u.host === new URL(`${u.protocol}//${host!.trim()}`).host ? null : 'origin';
  } catch {
    return 'origin';
  }
}

export interface HostGuardOptions {
  allow: HostAllowList;
  /** The reply for a refused request (default: 403 `{error: "forbidden", message}`). */
  refuse?: (c: Context, message: string) => Response | Promise<Response>;
}

export const REFUSAL_MESSAGES: Record<HostRefusal, string> = {
  host: 'this server does not answer that Host name (DNS rebinding guard)',
  origin: 'cross-origin requests are refused',
};

/** Hono middleware: refuses requests whose Host is not allowed or whose Origin is foreign. */
export function hostGuard(options: HostGuardOptions): MiddlewareHandler {
  const refuse = options.refuse ?? ((c: Context, message: string) => c.json({ error: 'forbidden', message }, 403));
  return async (c, next) => {
    // app.request() in tests carries no Host header; node's server always sets one from the wire
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    const refusal = checkHostAndOrigin(host, c.req.header('origin'), options.allow);
    if (refusal) return refuse(c, REFUSAL_MESSAGES[refusal]);
    await next();
  };
}
