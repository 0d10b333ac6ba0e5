/**
 * Synthetic market definitions for the simulator: the `MarketSpec` a scenario or the CLI gives
 * (ticker, fair probability and how it moves, optional jumps and settlement, tick structure,
 * the makers' spread range), its zod schema for configuration files, and `generateMarkets`,
 * which makes a varied, seeded set (Kalshi-like tickers grouped in events, some 0.1¢ markets).
 * Part of src/sim/activity; the simulator turns specs into exchange markets and drives them.
 */
import { z } from 'zod';
import type { Price } from '../../core/money.ts';
import { marketTickerSchema } from '../../core/tickers.ts';
import type { PriceLevelStructure, SimMarketDefinition } from '../exchange.types.ts';
import { Rng } from '../../core/random.ts';

export interface MarketSpec {
  ticker: string;
  /** Starting fair probability of YES, strictly inside (0, 1). */
  fair: number;
  /** Standard deviation of the fair value's log-odds per √hour of clock time (e.g. 0.2–2). */
  volatility: number;
  /** Drift of the log-odds per hour of clock time. */
  drift?: number;
  /** Fair value jumps; `atMs` counts clock milliseconds from the start of the activity. */
  jumps?: Array<{ atMs: number; to: number }>;
  /** Settles the market `atMs` after the activity starts; without `result` it is drawn from the fair value. */
  settle?: { atMs: number; result?: 'yes' | 'no' };
  eventTicker?: string;
  title?: string;
  priceLevelStructure?: PriceLevelStructure;
  feeType?: 'quadratic' | 'quadratic_with_maker_fees';
  /** The makers' quoted spread (best ask − best bid), in Price units (100 = 1¢). */
  spread?: { min: Price; max: Price };
  /** Number of market makers quoting this market (1–5). */
  makers?: number;
  /** Expected taker orders per second of clock time. */
  takerRate?: number;
  /**
   * Informed flow: a taker who sees the fair value `leadMs` ahead (the next scheduled jump, or
   * where the drift takes it) and, at `rate` orders per second, trades toward it at the touch
   * when that beats the price it pays — the flow that picks off quotes ahead of news and trends.
   */
  informed?: { rate: number; leadMs: number };
}

const probability = z.number().gt(0).lt(1);

export const marketSpecSchema = z
  .object({
    ticker: marketTickerSchema,
    fair: probability,
    volatility: z.number().min(0).max(50),
    drift: z.number().min(-100).max(100).optional(),
    jumps: z.array(z.object({ atMs: z.number().min(0), to: probability })).max(1000).optional(),
    settle: z.object({ atMs: z.number().min(0), result: z.enum(['yes', 'no']).optional() }).optional(),
    eventTicker: z.string().min(1).max(100).optional(),
    title: z.string().min(1).max(500).optional(),
    priceLevelStructure: z.enum(['linear_cent', 'tapered_deci_cent', 'deci_cent']).optional(),
    feeType: z.enum(['quadratic', 'quadratic_with_maker_fees']).optional(),
    spread: z
      .object({ min: z.number().int().min(1).max(5000), max: z.number().int().min(1).max(5000) })
      .refine((s) => s.min <= s.max, 'spread.min must not exceed spread.max')
      .optional(),
    makers: z.number().int().min(1).max(5).optional(),
    takerRate: z.number().min(0).max(100).optional(),
    informed: z.object({ rate: z.number().min(0).max(100), leadMs: z.number().min(0).max(86_400_000) }).strict().optional(),
  })
  .superRefine((spec, ctx) => {
    // a 1¢ grid cannot show a spread narrower than 1¢
    const coarse = spec.priceLevelStructure === undefined || spec.priceLevelStructure !== 'deci_cent';
    if (coarse && spec.spread && spec.spread.max < 100) {
      ctx.addIssue({ code: 'custom', path: ['spread', 'max'], message: 'must be at least 100 (1¢) on a 1¢ grid' });
    }
  });

export const DAY_MS = 24 * 60 * 60 * 1000;

/** Spread range used when a spec gives none: 1¢ (0.1¢ on deci-cent markets) up to 20¢. */
export function defaultSpread(structure: PriceLevelStructure): { min: Price; max: Price } {
  return { min: structure === 'deci_cent' ? 10 : 100, max: 2000 };
}

/** The exchange market for a spec, opening at `startMs`; it closes at settlement or after 30 days. */
export function marketDefinitionFor(spec: MarketSpec, startMs: number): SimMarketDefinition {
  // Kalshi market tickers extend their event's ticker by one dash-separated part
  const cut = spec.ticker.lastIndexOf('-');
  return {
    ticker: spec.ticker,
    eventTicker: spec.eventTicker ?? (cut > 0 ? spec.ticker.slice(0, cut) : spec.ticker),
    title: spec.title ?? `Simulated market ${spec.ticker}`,
    priceLevelStructure: spec.priceLevelStructure ?? 'linear_cent',
    openTimeMs: startMs,
    closeTimeMs: startMs + (spec.settle ? Math.max(1, spec.settle.atMs) : 30 * DAY_MS),
    feeType: spec.feeType ?? 'quadratic',
  };
}

const SERIES = ['RAIN', 'FED', 'CPI', 'BTC', 'NBA', 'GDP', 'ETH', 'SNOW', 'OIL', 'GOLD', 'NFL', 'TEMP'];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const TOPICS: Record<string, string> = {
  RAIN: 'rainfall in NYC exceeds',
  FED: 'the Fed upper bound exceeds',
  CPI: 'CPI year-over-year exceeds',
  BTC: 'Bitcoin closes above',
  NBA: 'the home team scores more than',
  GDP: 'GDP growth exceeds',
  ETH: 'Ether closes above',
  SNOW: 'snowfall in Denver exceeds',
  OIL: 'WTI crude closes above',
  GOLD: 'gold closes above',
  NFL: 'total points exceed',
  TEMP: 'the high in Chicago exceeds',
};

/**
 * `count` varied markets, the same for the same seed: events of 1–4 strike markets whose fair
 * values decrease with the strike, mostly 1¢ grids with some deci-cent and tapered markets,
 * different volatilities, some drift and jumps, spreads from 1¢ (0.1¢) up to 5–30¢.
 */
export function generateMarkets(count: number, seed: number): MarketSpec[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`market count must be a non-negative integer, got ${count}`);
  const rng = new Rng(seed ^ 0x5eed_3a7c);
  const specs: MarketSpec[] = [];
  for (let e = 0; specs.length < count; e++) {
    const series = SERIES[e % SERIES.length];
    const date = `${26 + Math.floor(e / 336)}${MONTHS[Math.floor(e / 28) % 12]}${String(1 + (e % 28)).padStart(2, '0')}`;
    const eventTicker = `KX${series}-${date}`;
    const strikes = Math.min(count - specs.length, rng.int(1, 4));
    const structureDraw = rng.next();
    const structure: PriceLevelStructure = structureDraw < 0.7 ? 'linear_cent' : structureDraw < 0.85 ? 'deci_cent' : 'tapered_deci_cent';
    let strike = rng.int(10, 90);
    let fair = 0.55 + rng.next() * 0.4;
    for (let k = 0; k < strikes; k++) {
      if (k > 0) strike += rng.int(1, 5);
      const spec: MarketSpec = {
        ticker: `${eventTicker}-T${strike}`,
        eventTicker,
        title: `${TOPICS[series]} ${strike}`,
        fair: Math.min(0.97, Math.max(0.03, fair)),
        volatility: Math.round((0.2 + rng.next() * 1.8) * 100) / 100,
        priceLevelStructure: structure,
        feeType: rng.chance(0.2) ? 'quadratic_with_maker_fees' : 'quadratic',
        spread: {
          min: structure === 'deci_cent' ? 10 : 100,
          max: rng.int(5, 30) * 100,
        },
        makers: rng.int(1, 3),
        takerRate: Math.round((0.1 + rng.next() * 1.4) * 100) / 100,
      };
      if (rng.chance(0.3)) spec.drift = Math.round((rng.next() - 0.5) * 100) / 100;
      if (rng.chance(0.1)) spec.jumps = [{ atMs: rng.int(60_000, 1_800_000), to: 0.05 + rng.next() * 0.9 }];
      specs.push(spec);
      fair -= 0.05 + rng.next() * 0.2;
    }
  }
  return specs;
}
