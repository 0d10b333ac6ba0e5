/**
 * Where each environment lives: Kalshi's demo exchange ("paper"), production (market data only —
 * this system never trades real money) and the embedded simulator ("sim", loopback URLs known
 * only once it has started). The caller applies `KALSHI_API_BASE_URL` / `KALSHI_WS_URL` through
 * `overrides`.
 */

export type KalshiEnvironment = 'sim' | 'paper' | 'production';

export const KALSHI_ENVIRONMENTS: readonly KalshiEnvironment[] = ['sim', 'paper', 'production'];

export interface KalshiEndpoints {
  /** REST base including `/trade-api/v2`, no trailing slash. */
  restBaseUrl: string;
  /** WebSocket URL, e.g. `wss://…/trade-api/ws/v2`. */
  wsUrl: string;
  environment: KalshiEnvironment;
  /** True for production: every order-writing call is refused before any I/O. */
  readOnly: boolean;
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

export function isKalshiEnvironment(value: string): value is KalshiEnvironment {
  return (KALSHI_ENVIRONMENTS as readonly string[]).includes(value);
}

function checkedUrl(value: string, protocols: string[], what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${what} is not a URL: ${JSON.stringify(value)}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new Error(`${what} must use ${protocols.map((p) => p.replace(':', '')).join(' or ')}, got ${JSON.stringify(value)}`);
  }
  if (url.search || url.hash) throw new Error(`${what} must not carry a query or fragment: ${JSON.stringify(value)}`);
  if (url.username || url.password) throw new Error(`${what} must not carry credentials`);
  return url.toString().replace(/\/+$/, '');
}

export function endpointsFor(
  env: KalshiEnvironment,
  overrides: { restBaseUrl?: string; wsUrl?: string } = {},
): KalshiEndpoints {
  if (!isKalshiEnvironment(env)) throw new Error(`unknown Kalshi environment ${JSON.stringify(env)} (sim, paper or production)`);
  const published = env === 'sim' ? undefined : PUBLISHED[env];
  const rest = overrides.restBaseUrl ?? published?.restBaseUrl;
  const ws = overrides.wsUrl ?? published?.wsUrl;
  if (rest === undefined || ws === undefined) {
    throw new Error('the sim environment has no fixed address: give the simulator\'s restBaseUrl and wsUrl as overrides');
  }
  return {
    restBaseUrl: checkedUrl(rest, ['http:', 'https:'], 'Kalshi REST base URL'),
    wsUrl: checkedUrl(ws, ['ws:', 'wss:'], 'Kalshi WebSocket URL'),
    environment: env,
    readOnly: env === 'production',
  };
}
