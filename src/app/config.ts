/**
 * Configuration from the environment (DESIGN §5), validated with zod at the boundary. A bad value
 * becomes one clear line naming the variable; the CLI prints it and exits non-zero.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { isSecretName, redactUrl } from '../core/secrets.ts';
import { marketTickerSchema } from '../core/tickers.ts';
import type { MarketSelection } from '../actors/markets.ts';
import { parseDollars } from '../core/money.ts';
import type { RiskLimits } from '../core/risk.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const port = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535');

/** Whole contracts, as a user counts them → 1/100-contract units. */
const wholeContracts = z
  .string()
  .regex(/^\s*\d+\s*$/, 'must be a whole number of contracts')
  .transform((s) => Number(s) * 100)
  .refine((n) => n >= 100, 'must be at least 1 contract')
  .refine((n) => Number.isSafeInteger(n) && n <= 100_000_000, 'must be at most 1000000 contracts');

/** Dollars ("50", "12.50") → micro-dollars. */
const dollars = z.string().transform((s, ctx) => {
  try {
    const micros = parseDollars(s);
    if (micros >= 0) return micros;
    ctx.addIssue({ code: 'custom', message: 'must not be negative' });
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a dollar amount such as 50 or 12.50' });
  }
  return z.NEVER;
});

const tickerList = z
  .string()
  .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
  .pipe(z.array(marketTickerSchema));

export const envSchema = z.object({
  ENVIRONMENT: z.enum(['sim', 'paper', 'production']).default('sim'),
  RL_MODE: z.enum(['discovery', 'config']).default('discovery'),
  RL_MARKET_TICKERS: tickerList.optional(),
  /** Discovery only among these series / events (comma-separated tickers). */
  RL_SERIES_TICKERS: tickerList.optional(),
  RL_EVENT_TICKERS: tickerList.optional(),
  RL_ORDERBOOK_MARKET_LIMIT: z.coerce.number().int().min(1, 'must be at least 1').max(10_000).default(10),
  V3_PORT: port.default(8005),
  V3_HOST: z.string().min(1).default('127.0.0.1'),
  V3_AUTH_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  V3_ALLOWED_HOSTS: z
    .string()
    .transform((s) => s.split(',').map((h) => h.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[\w.:[\]-]{1,253}$/, 'host names are letters, digits, dots, dashes (or IP addresses)')))
    .optional(),
  DATABASE_URL: z
    .string()
    .url('must be a postgres:// URL')
    .refine((u) => /^postgres(ql)?:\/\//i.test(u), 'must be a postgres:// URL')
    .optional(),
  KALSHIFLOW_DATA_DIR: z.string().min(1).default('.kalshiflow'),
  KALSHI_API_KEY_ID: z.string().min(1).optional(),
  KALSHI_PRIVATE_KEY_PATH: z.string().min(1).optional(),
  KALSHI_PRIVATE_KEY: z.string().min(1).optional(),
  KALSHI_API_BASE_URL: z.string().url().optional(),
  KALSHI_WS_URL: z.string().url().optional(),
  /** How long one REST request may take (also how long an order create may take to land: see README). */
  KALSHI_REST_TIMEOUT_MS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number of milliseconds').min(1_000, 'must be at least 1000').max(120_000, 'must be at most 120000 (two minutes)').optional(),
  /** Non-loopback hosts of test exchanges that `sim` may trade on (never a Kalshi host). */
  KALSHIFLOW_TEST_EXCHANGE_HOSTS: z
    .string()
    .transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z0-9.:-]+$/, 'host names only (no scheme, port or path), comma-separated')))
    .default([]),
  TRADER_STRATEGY: z.string().min(1).default('spread-quoter'),
  // Risk limits of the trader (src/core/risk.ts); unset = the default limit.
  TRADER_MAX_OPEN_ORDERS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000').optional(),
  TRADER_MAX_POSITION: wholeContracts.optional(),
  TRADER_MAX_ORDER_SIZE: wholeContracts.optional(),
  TRADER_MAX_NOTIONAL: dollars.refine((m) => m > 0, 'must be more than 0').optional(),
  TRADER_CASH_RESERVE: dollars.optional(),
  TRADER_THROTTLE_MS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number of milliseconds').min(0, 'must not be negative').max(3_600_000, 'must be at most 3600000 (an hour)').optional(),
});

export type EnvConfig = z.infer<typeof envSchema>;

/** The risk limits the configuration sets (the rest stay at DEFAULT_RISK_LIMITS). */
export function riskLimitsFromConfig(cfg: EnvConfig): Partial<RiskLimits> {
  const limits: Partial<RiskLimits> = {};
  if (cfg.TRADER_MAX_OPEN_ORDERS !== undefined) limits.maxOpenOrders = cfg.TRADER_MAX_OPEN_ORDERS;
  if (cfg.TRADER_MAX_POSITION !== undefined) limits.maxPositionPerMarket = cfg.TRADER_MAX_POSITION;
  if (cfg.TRADER_MAX_ORDER_SIZE !== undefined) limits.maxOrderSize = cfg.TRADER_MAX_ORDER_SIZE;
  if (cfg.TRADER_MAX_NOTIONAL !== undefined) limits.maxNotional = cfg.TRADER_MAX_NOTIONAL;
  if (cfg.TRADER_CASH_RESERVE !== undefined) limits.cashReserve = cfg.TRADER_CASH_RESERVE;
  if (cfg.TRADER_THROTTLE_MS !== undefined) limits.throttleMs = cfg.TRADER_THROTTLE_MS;
  return limits;
}

/**
 * How a bad value is echoed: never for a secret variable (V3_AUTH_TOKEN, KALSHI_PRIVATE_KEY, …),
 * with any password masked for the rest (DATABASE_URL=postgres://u:***@host/db).
 */
function shownValue(name: string, value: string): string {
  if (isSecretName(name) || value.includes('PRIVATE KEY')) return '';
  return ` (got ${JSON.stringify(redactUrl(value))})`;
}

/** Reads the variables this program understands; empty strings count as unset. */
/** The market selection a configuration asks for (`start` and `record` alike). */
export function marketSelectionOf(config: EnvConfig): MarketSelection {
  if (config.RL_MODE === 'config') return { mode: 'config', tickers: config.RL_MARKET_TICKERS ?? [] };
  return {
    mode: 'discovery',
    limit: config.RL_ORDERBOOK_MARKET_LIMIT,
    ...(config.RL_SERIES_TICKERS?.length ? { seriesTickers: config.RL_SERIES_TICKERS } : {}),
    ...(config.RL_EVENT_TICKERS?.length ? { eventTickers: config.RL_EVENT_TICKERS } : {}),
  };
}

/**
 * Every variable has a `KALSHIFLOW_` name; the earlier names stay accepted as aliases (the
 * `KALSHIFLOW_` name wins when both are set). Keys: the alias the code reads; values: the name.
 */
export const ENV_NAMES: Readonly<Record<string, string>> = {
  ENVIRONMENT: 'KALSHIFLOW_ENVIRONMENT',
  RL_MODE: 'KALSHIFLOW_MODE',
  RL_MARKET_TICKERS: 'KALSHIFLOW_TICKERS',
  RL_SERIES_TICKERS: 'KALSHIFLOW_SERIES',
  RL_EVENT_TICKERS: 'KALSHIFLOW_EVENTS',
  RL_ORDERBOOK_MARKET_LIMIT: 'KALSHIFLOW_MARKETS',
  V3_PORT: 'KALSHIFLOW_PORT',
  V3_HOST: 'KALSHIFLOW_HOST',
  V3_AUTH_TOKEN: 'KALSHIFLOW_AUTH_TOKEN',
  V3_ALLOWED_HOSTS: 'KALSHIFLOW_ALLOWED_HOSTS',
  DATABASE_URL: 'KALSHIFLOW_DATABASE_URL',
  KALSHI_API_KEY_ID: 'KALSHIFLOW_API_KEY_ID',
  KALSHI_PRIVATE_KEY_PATH: 'KALSHIFLOW_PRIVATE_KEY_PATH',
  KALSHI_PRIVATE_KEY: 'KALSHIFLOW_PRIVATE_KEY',
  KALSHI_API_BASE_URL: 'KALSHIFLOW_API_BASE_URL',
  KALSHI_WS_URL: 'KALSHIFLOW_WS_URL',
  KALSHI_REST_TIMEOUT_MS: 'KALSHIFLOW_REST_TIMEOUT_MS',
  TRADER_STRATEGY: 'KALSHIFLOW_STRATEGY',
  TRADER_MAX_OPEN_ORDERS: 'KALSHIFLOW_MAX_OPEN_ORDERS',
  TRADER_MAX_POSITION: 'KALSHIFLOW_MAX_POSITION',
  TRADER_MAX_ORDER_SIZE: 'KALSHIFLOW_MAX_ORDER_SIZE',
  TRADER_MAX_NOTIONAL: 'KALSHIFLOW_MAX_NOTIONAL',
  TRADER_CASH_RESERVE: 'KALSHIFLOW_CASH_RESERVE',
  TRADER_THROTTLE_MS: 'KALSHIFLOW_THROTTLE_MS',
  LOG_LEVEL: 'KALSHIFLOW_LOG_LEVEL',
};

/**
 * Copies each `KALSHIFLOW_` variable onto the alias the code reads (so the prefixed name wins).
 * Applied to process.env at start (main.ts) and by
 * loadEnvConfig on the environment it is given.
 */
export function applyEnvNames(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  for (const [alias, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') env[alias] = value;
  }
  return env;
}

/** Sets a variable under both its names (a command-line flag then wins over either being set). */
export function setVariable(env: NodeJS.ProcessEnv, alias: string, value: string): void {
  env[alias] = value;
  const name = ENV_NAMES[alias];
  if (name) env[name] = value;
}

/** The variable to name in a message about `alias`: the one the user set in `env`. */
export function variableName(alias: string, env: NodeJS.ProcessEnv): string {
  const name = ENV_NAMES[alias];
  return name && env[name] !== undefined && env[name]!.trim() !== '' ? name : alias;
}

/** Reads a `.env` file (KEY=value lines) into process.env at start; variables already set win. */
export function loadDotEnv(path = '.env'): boolean {
  if (!existsSync(path) || typeof process.loadEnvFile !== 'function') return false;
  process.loadEnvFile(path);
  return true;
}

export function loadEnvConfig(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const given = env;
  env = applyEnvNames({ ...env });
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') relevant[key] = value;
  }
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`${variableName(name, given)}: ${issue.message}${shownValue(name, relevant[name] ?? '')}`);
  }
  const cfg = parsed.data;
  if (cfg.RL_MODE === 'config' && (!cfg.RL_MARKET_TICKERS || cfg.RL_MARKET_TICKERS.length === 0)) {
    throw new ConfigError('RL_MARKET_TICKERS: required when RL_MODE=config (comma-separated tickers)');
  }
  if (cfg.V3_HOST !== '127.0.0.1' && cfg.V3_HOST !== 'localhost' && cfg.V3_HOST !== '::1' && !cfg.V3_AUTH_TOKEN) {
    throw new ConfigError(`V3_AUTH_TOKEN: required when V3_HOST is not loopback (got V3_HOST=${cfg.V3_HOST})`);
  }
  return cfg;
}
