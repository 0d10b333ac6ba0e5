/**
 * Kalshi price grids (tick structures): which prices an order may carry in a market, and moving
 * between neighbouring ticks. Pure core; used by the simulator's order validation, the trader's
 * price selection and the RL action mapping. Prices are `Price` integers (1/10,000 dollar).
 *
 * A market's grid is a list of inclusive ranges `{start, end, step}` (Kalshi's `price_ranges`);
 * a price is valid when it lies strictly inside ($0, $1) and on the step grid of some range.
 * Kalshi publishes ranges spanning $0.00–$1.00; the endpoints themselves are never tradable.
 */
import { z } from 'zod';
import { FixedPointError, ONE_DOLLAR, parsePrice, formatPrice } from './money.ts';
import type { Price } from './money.ts';

export type PriceLevelStructure = 'linear_cent' | 'tapered_deci_cent' | 'deci_cent';

/** Inclusive bounds; valid prices are `start + k × step` within [start, end]. */
export interface PriceRange {
  start: Price;
  end: Price;
  step: Price;
}

export class TickError extends Error {
  override readonly name = 'TickError';
}

const CENT: Price = 100;
const DECI_CENT: Price = 10;

const STRUCTURES: Record<PriceLevelStructure, readonly PriceRange[]> = {
  linear_cent: [{ start: CENT, end: ONE_DOLLAR - CENT, step: CENT }],
  tapered_deci_cent: [
    { start: DECI_CENT, end: 1_000, step: DECI_CENT },
    { start: 1_000, end: 9_000, step: CENT },
    { start: 9_000, end: ONE_DOLLAR - DECI_CENT, step: DECI_CENT },
  ],
  deci_cent: [{ start: DECI_CENT, end: ONE_DOLLAR - DECI_CENT, step: DECI_CENT }],
};

/** The grid of a named structure, with tradable bounds (e.g. linear_cent: $0.01..$0.99 by $0.01). */
export function priceRangesFor(structure: PriceLevelStructure): PriceRange[] {
  const ranges = STRUCTURES[structure];
  if (!ranges) throw new TickError(`unknown price level structure: ${JSON.stringify(structure)}`);
  return ranges.map((r) => ({ ...r }));
}

const wireRangesSchema = z
  .array(z.object({ start: z.string(), end: z.string(), step: z.string() }))
  .min(1, 'price_ranges must not be empty');

/** Kalshi's `price_ranges` (dollar strings) → validated `PriceRange[]`. Throws TickError. */
export function parsePriceRanges(wire: Array<{ start: string; end: string; step: string }>): PriceRange[] {
  const parsed = wireRangesSchema.safeParse(wire);
  if (!parsed.success) throw new TickError(`invalid price_ranges: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  return parsed.data.map((w, i) => {
    let range: PriceRange;
    try {
      range = { start: parsePrice(w.start), end: parsePrice(w.end), step: parsePrice(w.step) };
    } catch (err) {
      if (err instanceof FixedPointError) throw new TickError(`price_ranges[${i}]: ${err.message}`);
      throw err;
    }
    if (range.step <= 0) throw new TickError(`price_ranges[${i}]: step must be positive, got ${w.step}`);
    if (range.start < 0 || range.end > ONE_DOLLAR || range.start > range.end) {
      throw new TickError(`price_ranges[${i}]: bounds ${w.start}..${w.end} are not within $0..$1`);
    }
    return range;
  });
}

/** `PriceRange[]` → Kalshi's wire form (4-decimal dollar strings). */
export function priceRangesToWire(ranges: readonly PriceRange[]): Array<{ start: string; end: string; step: string }> {
  return ranges.map((r) => ({ start: formatPrice(r.start), end: formatPrice(r.end), step: formatPrice(r.step) }));
}

// The tradable part of a range: grid points strictly inside (0, $1). Ranges on the wire include
// $0 and $1 as bounds, so the first/last grid points are clipped here rather than trusted.
function firstTick(r: PriceRange): Price {
  const from = r.start > 0 ? r.start : 1;
  return r.start + Math.ceil((from - r.start) / r.step) * r.step;
}

function lastTick(r: PriceRange): Price {
  const to = r.end < ONE_DOLLAR ? r.end : ONE_DOLLAR - 1;
  return r.start + Math.floor((to - r.start) / r.step) * r.step;
}

/** True when `price` is an integer strictly inside ($0, $1) that lies on a tick of `ranges`. */
export function isValidPrice(price: Price, ranges: readonly PriceRange[]): boolean {
  if (!Number.isInteger(price) || price <= 0 || price >= ONE_DOLLAR) return false;
  for (const r of ranges) {
    if (price >= firstTick(r) && price <= lastTick(r) && (price - r.start) % r.step === 0) return true;
  }
  return false;
}

/** The smallest valid price strictly above `price`, or null at the top of the grid. */
export function nextTickUp(price: Price, ranges: readonly PriceRange[]): Price | null {
  if (!Number.isFinite(price)) return null;
  let best: Price | null = null;
  for (const r of ranges) {
    const first = firstTick(r);
    const last = lastTick(r);
    if (first > last) continue;
    const candidate = price < first ? first : r.start + (Math.floor((price - r.start) / r.step) + 1) * r.step;
    if (candidate <= last && (best === null || candidate < best)) best = candidate;
  }
  return best;
}

/** The largest valid price strictly below `price`, or null at the bottom of the grid. */
export function nextTickDown(price: Price, ranges: readonly PriceRange[]): Price | null {
  if (!Number.isFinite(price)) return null;
  let best: Price | null = null;
  for (const r of ranges) {
    const first = firstTick(r);
    const last = lastTick(r);
    if (first > last) continue;
    const candidate = price > last ? last : r.start + (Math.ceil((price - r.start) / r.step) - 1) * r.step;
    if (candidate >= first && (best === null || candidate > best)) best = candidate;
  }
  return best;
}

/** `price` itself when valid, else the nearest valid price in `direction`; null if none exists. */
export function roundToTick(price: Price, ranges: readonly PriceRange[], direction: 'up' | 'down'): Price | null {
  if (isValidPrice(price, ranges)) return price;
  return direction === 'up' ? nextTickUp(price, ranges) : nextTickDown(price, ranges);
}

/** Every valid price of a grid, ascending (at most 9,999 entries). */
export function allTicks(ranges: readonly PriceRange[]): Price[] {
  const out: Price[] = [];
  for (let p = nextTickUp(0, ranges); p !== null; p = nextTickUp(p, ranges)) out.push(p);
  return out;
}
