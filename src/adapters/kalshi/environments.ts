/**
 * Where orders may go — decided here, from the resolved host, and nowhere else (DESIGN §5).
 *
 * Environments: Kalshi's demo exchange ("paper"), production (market data only — this system
 * never trades real money) and a simulator ("sim": the embedded one, a `kalshiflow sim` on
 * loopback, or a test exchange the operator names explicitly). The caller applies
 * `KALSHI_API_BASE_URL` / `KALSHI_WS_URL` through `overrides`.
 *
 * The rule, by host (never by the environment's name alone):
 * - a Kalshi production host (kalshi.com and its subdomains, and any kalshi.co host that is not
 *   the demo exchange) is read-only whatever ENVIRONMENT says;
 * - `paper` runs only on the demo exchange's hosts; `sim` only on loopback or a named test
 *   exchange; `production` is read-only wherever it points;
 * - `http:`/`ws:` only on loopback, `https:`/`wss:` everywhere else;
 * - a host that is none of these is refused unless named in `testExchangeHosts`
 *   (`KALSHIFLOW_TEST_EXCHANGE_HOSTS`); a Kalshi host can never be named so.
 * `orderWriteRefusal` applies the same rule to one request URL; the REST client calls it before
 * every non-GET request, so an endpoints object built by hand cannot open a way around it.
 */
import { isLoopbackHost } from '../../core/hosts.ts';

export type KalshiEnvironment = 'sim' | 'paper' | 'production';

export const KALSHI_ENVIRONMENTS: readonly KalshiEnvironment[] = ['sim', 'paper', 'production'];

/** What a host is, for deciding whether orders may go there. */
export type VenueKind = 'loopback' | 'kalshi-demo' | 'kalshi-production' | 'test-exchange' | 'unknown';

export interface KalshiEndpoints {
  /** REST base including `/trade-api/v2`, no trailing slash. */
  restBaseUrl: string;
  /** WebSocket URL, e.g. `wss://…/trade-api/ws/v2`. */
  wsUrl: string;
  environment: KalshiEnvironment;
  /** True when orders may not be written: production, or any Kalshi production host. */
  readOnly: boolean;
  /** Hosts the operator named as test exchanges (lower case); the REST client re-checks against them. */
  testExchangeHosts: readonly string[];
}

export interface EndpointOptions {
  /** Hosts (names or addresses, no port) of test exchanges that may take orders under `sim`. */
  testExchangeHosts?: readonly string[];
}

/** The endpoints as configured would send orders where this system must not. */
export class UnsafeEndpointError extends Error {
  override readonly name = 'UnsafeEndpointError';
}

const PUBLISHED: Record<Exclude<KalshiEnvironment, 'sim'>, { restBaseUrl: string; wsUrl: string }> = {
  paper: {
    restBaseUrl: 'https://external-api.demo.kalshi.co/trade-api/v2',
    wsUrl: 'wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2',
  },
  production: {
    restBaseUrl: 'https://external-api.kalshi.com/trade-api/v2',
    wsUrl: 'wss://external-api-ws.kalshi.com/trade-api/ws/v2',
  },
};

/** The demo exchange's published hosts (kalshi-api.md §1). */
const DEMO_HOSTS = new Set(['external-api.demo.kalshi.co', 'external-api-ws.demo.kalshi.co', 'demo-api.kalshi.co']);

export function isKalshiEnvironment(value: string): value is KalshiEnvironment {
  return (KALSHI_ENVIRONMENTS as readonly string[]).includes(value);
}

/** A URL's host as compared here: lower case, no IPv6 brackets, no trailing dot. */
function normalHost(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

function isKalshiHost(host: string): boolean {
  return host === 'kalshi.com' || host.endsWith('.kalshi.com') || host === 'kalshi.co' || host.endsWith('.kalshi.co');
}

/** What `hostname` (as `URL#hostname` gives it) is. */
export function classifyHost(hostname: string, testExchangeHosts: readonly string[] = []): VenueKind {
  const host = normalHost(hostname);
  if (isLoopbackHost(host)) return 'loopback';
  if (isKalshiHost(host)) return DEMO_HOSTS.has(host) || host.endsWith('.demo.kalshi.co') ? 'kalshi-demo' : 'kalshi-production';
  if (testExchangeHosts.some((named) => normalHost(named) === host)) return 'test-exchange';
  return 'unknown';
}

const KIND_NAME: Record<VenueKind, string> = {
  loopback: 'loopback',
  'kalshi-demo': "Kalshi's demo exchange",
  'kalshi-production': 'Kalshi production (read-only)',
  'test-exchange': 'a named test exchange',
  unknown: 'an unknown host',
};

/** Which hosts each environment may point at. */
const ALLOWED_KINDS: Record<KalshiEnvironment, readonly VenueKind[]> = {
  sim: ['loopback', 'test-exchange'],
  paper: ['kalshi-demo'],
  production: ['kalshi-production', 'kalshi-demo', 'loopback', 'test-exchange', 'unknown'],
};

const WRITABLE_KINDS: ReadonlySet<VenueKind> = new Set(['loopback', 'kalshi-demo', 'test-exchange']);

function checkedTestExchangeHosts(hosts: readonly string[]): string[] {
  return hosts.map((raw) => {
    const host = normalHost(raw.trim());
    if (!/^[a-z0-9.:-]+$/.test(host)) {
      throw new UnsafeEndpointError(`KALSHIFLOW_TEST_EXCHANGE_HOSTS: ${JSON.stringify(raw)} is not a host name (no scheme, port or path)`);
    }
    if (isKalshiHost(host)) throw new UnsafeEndpointError(`KALSHIFLOW_TEST_EXCHANGE_HOSTS: ${host} is a Kalshi host and cannot be named a test exchange`);
    return host;
  });
}

function parsedUrl(value: string, what: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new UnsafeEndpointError(`${what} is not a URL: ${JSON.stringify(value)}`);
  }
}

function checkedUrl(
  value: string,
  secure: 'https:' | 'wss:',
  plain: 'http:' | 'ws:',
  what: string,
  env: KalshiEnvironment,
  testExchangeHosts: readonly string[],
): { url: string; kind: VenueKind } {
  const url = parsedUrl(value, what);
  if (url.protocol !== secure && url.protocol !== plain) {
    throw new UnsafeEndpointError(`${what} must use ${secure.slice(0, -1)} (or ${plain.slice(0, -1)} on loopback), got ${JSON.stringify(value)}`);
  }
  if (url.search || url.hash) throw new UnsafeEndpointError(`${what} must not carry a query or fragment: ${JSON.stringify(value)}`);
  if (url.username || url.password) throw new UnsafeEndpointError(`${what} must not carry credentials`);
  const kind = classifyHost(url.hostname, testExchangeHosts);
  if (url.protocol === plain && kind !== 'loopback') {
    throw new UnsafeEndpointError(`${what}: ${plain.slice(0, -1)} is allowed on loopback only; ${url.hostname} needs ${secure.slice(0, -1)}`);
  }
  if (!ALLOWED_KINDS[env].includes(kind)) {
    const where =
      env === 'paper'
        ? "ENVIRONMENT=paper trades on Kalshi's demo exchange only"
        : 'ENVIRONMENT=sim trades on loopback only (or on a host named in KALSHIFLOW_TEST_EXCHANGE_HOSTS)';
    throw new UnsafeEndpointError(`${what} points at ${url.hostname}, ${KIND_NAME[kind]}: ${where}`);
  }
  return { url: url.toString().replace(/\/+$/, ''), kind };
}

export function endpointsFor(
  env: KalshiEnvironment,
  overrides: { restBaseUrl?: string; wsUrl?: string } = {},
  options: EndpointOptions = {},
): KalshiEndpoints {
  if (!isKalshiEnvironment(env)) throw new Error(`unknown Kalshi environment ${JSON.stringify(env)} (sim, paper or production)`);
  const testExchangeHosts = checkedTestExchangeHosts(options.testExchangeHosts ?? []);
  const published = env === 'sim' ? undefined : PUBLISHED[env];
  const rest = overrides.restBaseUrl ?? published?.restBaseUrl;
  const ws = overrides.wsUrl ?? published?.wsUrl;
  if (rest === undefined || ws === undefined) {
    throw new Error('the sim environment has no fixed address: give the simulator\'s restBaseUrl and wsUrl as overrides');
  }
  const restUrl = checkedUrl(rest, 'https:', 'http:', 'Kalshi REST base URL (KALSHI_API_BASE_URL)', env, testExchangeHosts);
  const wsUrl = checkedUrl(ws, 'wss:', 'ws:', 'Kalshi WebSocket URL (KALSHI_WS_URL)', env, testExchangeHosts);
  return {
    restBaseUrl: restUrl.url,
    wsUrl: wsUrl.url,
    environment: env,
    readOnly: env === 'production' || !WRITABLE_KINDS.has(restUrl.kind) || !WRITABLE_KINDS.has(wsUrl.kind),
    testExchangeHosts,
  };
}

/**
 * Why an order-writing request to `url` must not leave, or null when it may. The same rule as
 * `endpointsFor`, applied to the one URL a request is about to use.
 */
export function orderWriteRefusal(url: URL, endpoints: Pick<KalshiEndpoints, 'environment' | 'readOnly' | 'testExchangeHosts'>): string | null {
  if (endpoints.environment === 'production' || endpoints.readOnly) return `the ${endpoints.environment} environment is read-only`;
  // classifyHost ranks Kalshi hosts before named test exchanges, so a hand-built list naming one changes nothing
  const kind = classifyHost(url.hostname, endpoints.testExchangeHosts);
  if (!WRITABLE_KINDS.has(kind)) return `${url.hostname} is ${KIND_NAME[kind]}`;
  if (!ALLOWED_KINDS[endpoints.environment].includes(kind)) return `${url.hostname} is ${KIND_NAME[kind]}, not a ${endpoints.environment} venue`;
  if ((url.protocol === 'http:' || url.protocol === 'ws:') && kind !== 'loopback') return `${url.protocol.slice(0, -1)} to ${url.hostname} is not loopback`;
  return null;
}
