/**
 * The scenario file of a scripted paper-trading session (YAML or JSON): the exchange it runs
 * against (markets with fair values, jumps and settlements, generated markets, or a recorded
 * session to replay), the trader (strategy, limits), a timeline of faults and the expectations
 * checked at the end. Validated with zod at the boundary; a bad file becomes a ScenarioError
 * naming the path of the bad field (`faults[2].for: …`), and the CLI exits 2 with it.
 *
 * Units as a user writes them — durations `30m`/`40s`/`500ms`, probabilities `0.55`, contracts
 * `100`, dollars `50.00` — converted here, exactly, to the integers the system uses (ms, Count,
 * Micros, Price). Part of src/sessions; docs/scenario.schema.json is generated from this schema.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../core/duration.ts';
import { parseCount, parseDollars, parsePrice } from '../core/money.ts';
import type { Count, Micros, Price } from '../core/money.ts';
import { marketTickerSchema } from '../core/tickers.ts';

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    /** Path of the offending field, e.g. `faults[2].for` (empty for the file as a whole). */
    readonly field: string,
    readonly reason: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}${field ? `${field}: ` : ''}${reason}`);
  }
}

// ---- units ---------------------------------------------------------------------------------

// durations are parsed in src/core/duration.ts; re-exported for the readers of scenarios
export { formatDuration, parseDuration };

const duration = z
  .union([z.string().meta({ pattern: DURATION_PATTERN.source }), z.number().min(0)])
  .transform((value, ctx) => {
    try {
      return parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  })
  .meta({ description: 'A duration: 500ms, 40s, 5m, 1h30m (a bare number counts seconds).' });

const positiveDuration = duration.refine((ms) => ms > 0, 'must be longer than 0');

function fixed<T extends number>(parse: (text: string) => T, what: string, check?: (v: T) => string | null) {
  return z
    .union([z.number(), z.string().meta({ pattern: '^-?\\d+(\\.\\d+)?$' })])
    .transform((value, ctx) => {
      try {
        const parsed = parse(String(value));
        const problem = check?.(parsed) ?? null;
        if (problem) {
          ctx.addIssue({ code: 'custom', message: problem });
          return z.NEVER;
        }
        return parsed;
      } catch {
        ctx.addIssue({ code: 'custom', message: `not a ${what}: ${JSON.stringify(value)}` });
        return z.NEVER;
      }
    });
}

/** Dollars (number or decimal string, up to 6 decimals) → Micros. */
const dollars = fixed<Micros>(parseDollars, 'dollar amount').meta({ description: 'Dollars, e.g. 50 or "12.50".' });
const nonNegativeDollars = fixed<Micros>(parseDollars, 'dollar amount', (v) => (v < 0 ? 'must not be negative' : null)).meta({
  description: 'Dollars, e.g. 50 or "12.50".',
});
/** Contracts (up to 2 decimals) → Count. */
const contracts = fixed<Count>(parseCount, 'number of contracts', (v) => (v <= 0 ? 'must be more than 0' : null)).meta({
  description: 'Contracts, e.g. 10 (fractions down to 0.01).',
});
/** A price in dollars strictly between 0 and 1 → Price. */
const priceDollars = fixed<Price>(parsePrice, 'price', (v) => (v <= 0 || v >= 10_000 ? 'must be between 0 and 1 dollar' : null));

const probability = z.number().gt(0, 'must be above 0').lt(1, 'must be below 1');
const ticker = marketTickerSchema;

// ---- exchange ------------------------------------------------------------------------------

const explicitMarket = z.strictObject({
  ticker,
  fair: probability.meta({ description: 'Starting probability of YES.' }),
  volatility: z.number().min(0).max(50).default(0.5).meta({ description: 'Std. dev. of the log-odds per √hour.' }),
  drift: z.number().min(-100).max(100).optional(),
  jumps: z.array(z.strictObject({ at: duration, to: probability })).max(1000).optional(),
  settle: z.strictObject({ at: positiveDuration, result: z.enum(['yes', 'no']).optional() }).optional(),
  tick: z.enum(['linear_cent', 'tapered_deci_cent', 'deci_cent']).optional(),
  spread: z.strictObject({ min: priceDollars, max: priceDollars }).optional().meta({ description: 'Makers\' quoted spread range in dollars, e.g. { min: 0.01, max: 0.05 }.' }),
  makers: z.number().int().min(1).max(5).optional(),
  taker_rate: z.number().min(0).max(100).optional().meta({ description: 'Taker orders per second.' }),
  title: z.string().min(1).max(500).optional(),
});

const generatedMarkets = z.strictObject({
  count: z.number().int().min(1).max(1000).meta({ description: 'Generated, seeded markets (varied tickers, ticks, volatilities).' }),
});

const marketEntry = z.union([explicitMarket, generatedMarkets]);

const exchange = z
  .strictObject({
    markets: z.array(marketEntry).min(1, 'needs at least one market').optional(),
    replay: z
      .strictObject({
        session: z.number().int().positive().meta({ description: 'Id of a recorded session in the database (--db).' }),
        tickers: z.array(ticker).min(1).optional(),
      })
      .optional(),
    activity: z.boolean().default(true).meta({ description: 'Synthetic makers and takers trade the markets.' }),
    activity_step: z.strictObject({ min: positiveDuration, max: positiveDuration }).optional(),
    cash: nonNegativeDollars.optional().meta({ description: 'Starting cash of the trader\'s account (default $10,000).' }),
  })
  .superRefine((value, ctx) => {
    if (!value.markets && !value.replay) ctx.addIssue({ code: 'custom', message: 'give markets or replay', path: ['markets'] });
    if (value.markets && value.replay) ctx.addIssue({ code: 'custom', message: 'give markets or replay, not both', path: ['replay'] });
    if (value.activity_step && value.activity_step.min > value.activity_step.max) {
      ctx.addIssue({ code: 'custom', message: 'min must not exceed max', path: ['activity_step', 'min'] });
    }
  });

// ---- trader --------------------------------------------------------------------------------

const trader = z.strictObject({
  strategy: z.string().min(1).default('spread-quoter').meta({ description: 'hold | spread-quoter | imbalance | onnx:<path>' }),
  options: z.record(z.string(), z.unknown()).optional().meta({ description: 'Strategy options (e.g. the spread quoter\'s).' }),
  limits: z
    .strictObject({
      max_position: contracts.optional(),
      max_order: contracts.optional(),
      max_notional: nonNegativeDollars.optional(),
      cash_reserve: nonNegativeDollars.optional(),
      max_open_orders: z.number().int().min(1).max(10_000).optional(),
    })
    .default({}),
  throttle: duration.optional().meta({ description: 'Minimum time between two decisions in one market (default 250ms).' }),
  sync_interval: positiveDuration.optional().meta({ description: 'Period of the reconcile with the exchange (default 30s).' }),
  tickers: z.array(ticker).min(1).optional().meta({ description: 'Markets to trade (default: every market of the scenario).' }),
  cancel_on_shutdown: z.boolean().default(true),
});

// ---- faults --------------------------------------------------------------------------------

const at = duration.meta({ description: 'When, from the start of the session.' });

const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ws_drop'), at }).meta({ description: 'Cut every WebSocket connection without a close handshake.' }),
  z.strictObject({ kind: z.literal('ws_refuse'), at, for: positiveDuration }).meta({ description: 'Answer WebSocket upgrades with 503 for a while (drops the current connections first).' }),
  z
    .strictObject({ kind: z.literal('rest_error'), at, status: z.union([z.literal(429), z.literal(500), z.literal(503)]), for: positiveDuration, path: z.string().startsWith('/').default('/') })
    .meta({ description: 'Answer REST requests under `path` with `status` for a while.' }),
  z.strictObject({ kind: z.literal('seq_gap'), at, ticker: ticker.optional() }).meta({ description: 'Skip one orderbook sequence number on a market (default: the first).' }),
  z.strictObject({ kind: z.literal('malformed_frame'), at }).meta({ description: 'Send a frame that is not JSON on every connection.' }),
  z.strictObject({ kind: z.literal('trader_crash'), at, restart_after: duration.default(2000) }).meta({ description: 'Kill the trader (no graceful shutdown) and start a new one on the same database.' }),
  z.strictObject({ kind: z.literal('reject_orders'), at, count: z.number().int().min(1).max(10_000), status: z.union([z.literal(400), z.literal(503)]).default(400) }).meta({ description: 'Refuse the next `count` order creations.' }),
  z.strictObject({ kind: z.literal('latency'), at, ms: z.number().int().min(1).max(600_000), for: positiveDuration }).meta({ description: 'Delay REST answers and WebSocket frames by `ms` for a while.' }),
  z
    .strictObject({ kind: z.literal('create_delay'), at, ms: z.number().int().min(1).max(600_000), for: positiveDuration })
    .meta({ description: 'For a while, hold every order create `ms` before the exchange takes it (the order lands late; other requests are not slowed).' }),
  z.strictObject({ kind: z.literal('settle'), at, ticker, result: z.enum(['yes', 'no']) }).meta({ description: 'Settle a market now.' }),
]);

export type Fault = z.infer<typeof faultSchema>;
export type FaultKind = Fault['kind'];

// ---- expectations --------------------------------------------------------------------------

/** The state labels a session can observe: the coordinator's states, `degraded`, and `down` (trader killed, not yet restarted). */
export const STATE_LABELS = [
  'startup',
  'initializing',
  'orderbook_connect',
  'trading_client_connect',
  'kalshi_data_sync',
  'ready',
  'acting',
  'degraded',
  'error',
  'shutdown',
  'down',
] as const;
export type StateLabel = (typeof STATE_LABELS)[number];
const stateLabel = z.enum(STATE_LABELS);

const expect = z
  .strictObject({
    final_state: stateLabel.optional().meta({ description: 'State at the end (after the drain).' }),
    visited: z.array(stateLabel).optional().meta({ description: 'States that must have been entered at least once.' }),
    not_visited: z.array(stateLabel).optional().meta({ description: 'States that must never have been entered.' }),
    no_duplicate_orders: z.boolean().optional().meta({ description: 'No client_order_id placed twice; every exchange order is journaled.' }),
    positions_match_exchange: z.boolean().optional().meta({ description: 'The trader\'s positions equal the exchange\'s at the end.' }),
    fills_recorded_once: z.boolean().optional().meta({ description: 'Every exchange fill is in the journal exactly once, none extra.' }),
    min_orders: z.number().int().min(0).optional().meta({ description: 'Orders that reached the exchange, at least.' }),
    max_orders: z.number().int().min(0).optional(),
    min_fills: z.number().int().min(0).optional(),
    max_drawdown: nonNegativeDollars.optional().meta({ description: 'Largest peak-to-trough fall of the P&L, in dollars.' }),
    min_pnl: dollars.optional().meta({ description: 'Final P&L (after fees), in dollars; may be negative.' }),
    clean_shutdown: z.boolean().optional().meta({ description: 'After the final graceful shutdown (with cancel_on_shutdown) no order of the trader rests at the exchange.' }),
    no_unmanaged_orders: z.boolean().optional().meta({ description: 'At the end, every order resting at the exchange for the account is managed by the running trader (a crashed run\'s orders adopted or cancelled, none left behind).' }),
  })
  .default({});

// ---- the file ------------------------------------------------------------------------------

export const scenarioSchema = z
  .strictObject({
    name: z.string().min(1).max(200),
    description: z.string().max(5000).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    clock: z.enum(['virtual', 'realtime']).default('virtual').meta({ description: 'virtual: as fast as possible, deterministic; realtime: loopback sockets, wall clock.' }),
    start: z.iso.datetime().optional().meta({ description: 'Virtual clock start (default 2026-01-01T00:00:00Z).' }),
    duration: positiveDuration,
    drain: duration.default(35_000).meta({ description: 'After `duration`: activity stops, faults end, the trader settles and reconciles; expectations are checked after it.' }),
    exchange,
    trader: trader.default({ strategy: 'spread-quoter', limits: {}, cancel_on_shutdown: true }),
    faults: z.array(faultSchema).max(10_000).default([]),
    expect,
  })
  .superRefine((s, ctx) => {
    s.faults.forEach((fault, i) => {
      if (fault.at >= s.duration) ctx.addIssue({ code: 'custom', message: `must be before the end of the session (duration ${formatDuration(s.duration)})`, path: ['faults', i, 'at'] });
    });
    const known = new Set((s.exchange.markets ?? []).flatMap((m) => ('ticker' in m ? [m.ticker] : [])));
    const hasGenerated = (s.exchange.markets ?? []).some((m) => 'count' in m) || s.exchange.replay !== undefined;
    if (!hasGenerated) {
      s.faults.forEach((fault, i) => {
        if ((fault.kind === 'seq_gap' || fault.kind === 'settle') && fault.ticker && !known.has(fault.ticker)) {
          ctx.addIssue({ code: 'custom', message: `unknown market ${fault.ticker}`, path: ['faults', i, 'ticker'] });
        }
      });
      s.trader.tickers?.forEach((t, i) => {
        if (!known.has(t)) ctx.addIssue({ code: 'custom', message: `unknown market ${t}`, path: ['trader', 'tickers', i] });
      });
    }
    const seen = new Set<string>();
    (s.exchange.markets ?? []).forEach((m, i) => {
      if (!('ticker' in m)) return;
      if (seen.has(m.ticker)) ctx.addIssue({ code: 'custom', message: `duplicate ticker ${m.ticker}`, path: ['exchange', 'markets', i, 'ticker'] });
      seen.add(m.ticker);
      m.jumps?.forEach((j, k) => {
        if (j.at >= s.duration) ctx.addIssue({ code: 'custom', message: 'must be before the end of the session', path: ['exchange', 'markets', i, 'jumps', k, 'at'] });
      });
      if (m.spread && m.spread.min > m.spread.max) ctx.addIssue({ code: 'custom', message: 'min must not exceed max', path: ['exchange', 'markets', i, 'spread', 'min'] });
    });
    if (s.expect.visited && s.expect.not_visited) {
      const both = s.expect.visited.filter((v) => s.expect.not_visited!.includes(v));
      if (both.length) ctx.addIssue({ code: 'custom', message: `${both.join(', ')} both visited and not_visited`, path: ['expect', 'not_visited'] });
    }
  });

export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ExplicitMarket = z.output<typeof explicitMarket>;

export interface LoadedScenario {
  scenario: Scenario;
  /** The file's text, as given (stored with the run). */
  source: string;
  sha256: string;
  file?: string;
}

/** `faults[2].for` from zod's path segments. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

/** Validates an already-parsed document (e.g. from a test). */
export function validateScenario(document: unknown, file?: string): Scenario {
  const parsed = scenarioSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  const issue = pickIssue(parsed.error.issues);
  throw new ScenarioError(formatPath(issue.path), issue.message, file);
}

/** The most useful issue to show: an unknown field (likely a typo) first; inside a union, the closest branch. */
function pickIssue(issues: z.core.$ZodIssue[]): { path: PropertyKey[]; message: string } {
  const first = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
  if (first.code === 'invalid_union' && first.errors.length > 0) {
    // the branch with the fewest complaints is the one the author meant (ties: the deeper one)
    let best: { path: PropertyKey[]; message: string; count: number } | null = null;
    for (const branch of first.errors) {
      if (branch.length === 0) continue;
      const inner = pickIssue(branch);
      if (!best || branch.length < best.count || (branch.length === best.count && inner.path.length > best.path.length)) {
        best = { ...inner, count: branch.length };
      }
    }
    if (best) return { path: [...first.path, ...best.path], message: best.message };
  }
  if (first.code === 'unrecognized_keys') {
    return { path: [...first.path, first.keys[0]], message: 'unknown field (docs/scenario.schema.json lists the fields)' };
  }
  const message = /received undefined$/.test(first.message) ? 'required' : first.message;
  return { path: [...first.path], message };
}

/** Parses YAML or JSON text (by extension, YAML otherwise) and validates it. */
export function parseScenario(text: string, file?: string): LoadedScenario {
  let document: unknown;
  try {
    document = file && extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ScenarioError('', `not valid ${file?.endsWith('.json') ? 'JSON' : 'YAML'}: ${message}`, file);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ScenarioError('', 'a scenario is a mapping with name, duration, exchange, …', file);
  }
  const scenario = validateScenario(document, file);
  return { scenario, source: text, sha256: createHash('sha256').update(text).digest('hex'), ...(file ? { file } : {}) };
}

export async function loadScenario(file: string): Promise<LoadedScenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ScenarioError('', code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? String(error)}`, file);
  }
  return parseScenario(text, file);
}

/** JSON Schema (draft 2020-12) of the scenario file as users write it. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $id: 'https://kalshiflow.dev/schemas/scenario.schema.json',
    title: 'kalshiflow scripted session scenario',
    ...schema,
  };
}
