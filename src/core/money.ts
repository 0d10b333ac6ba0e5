/**
 * Fixed-point money: the integer units every layer uses for prices, contract counts and dollar
 * amounts, and the exact conversions to and from Kalshi's `*_dollars` / `*_fp` strings.
 *
 * - Price:  integer 1/10,000 of a dollar  ("0.5600" → 5600; $1 = 10,000). Covers 0.1¢ ticks.
 * - Count:  integer 1/100 of a contract    ("10.00"  → 1000).
 * - Micros: integer 1/1,000,000 of a dollar, for balances, costs, fees and P&L.
 *           price × count is exactly Micros (1e-4 × 1e-2 = 1e-6), so notional never rounds.
 *
 * Parsing is string-based (never parseFloat): a value that cannot be represented exactly in the
 * target unit is an error, not a silent rounding.
 */

export type Price = number;
export type Count = number;
export type Micros = number;

export const PRICE_SCALE = 10_000;
export const COUNT_SCALE = 100;
export const MICROS_PER_DOLLAR = 1_000_000;
/** $1, the payout of one winning contract, as a Price. */
export const ONE_DOLLAR: Price = PRICE_SCALE;
/** One whole contract as a Count. */
export const ONE_CONTRACT: Count = COUNT_SCALE;

export class FixedPointError extends Error {
  override readonly name = 'FixedPointError';
}

const DECIMAL = /^(-)?(\d+)(?:\.(\d*))?$/;

/**
 * Parses a decimal string into an integer number of `10^-scaleDigits` units, exactly.
 * Extra fractional digits are allowed only when they are zeros ("0.560000" → 5600 at 4 digits).
 */
export function parseFixed(text: string, scaleDigits: number, what: string): number {
  const m = DECIMAL.exec(text.trim());
  if (!m) throw new FixedPointError(`${what}: not a decimal number: ${JSON.stringify(text)}`);
  const [, sign, whole, fracRaw = ''] = m;
  const significant = fracRaw.slice(0, scaleDigits);
  const rest = fracRaw.slice(scaleDigits);
  if (/[^0]/.test(rest)) {
    throw new FixedPointError(
      `${what}: ${JSON.stringify(text)} has more than ${scaleDigits} decimal places`,
    );
  }
  const frac = significant.padEnd(scaleDigits, '0');
  const value = Number(whole) * 10 ** scaleDigits + (scaleDigits > 0 ? Number(frac) : 0);
  if (!Number.isSafeInteger(value)) throw new FixedPointError(`${what}: ${text} is out of range`);
  return sign && value !== 0 ? -value : value;
}

/** Formats an integer number of `10^-scaleDigits` units with exactly `scaleDigits` decimals. */
export function formatFixed(units: number, scaleDigits: number): string {
  if (!Number.isSafeInteger(units)) throw new FixedPointError(`not an integer amount: ${units}`);
  const negative = units < 0;
  const abs = Math.abs(units);
  const divisor = 10 ** scaleDigits;
  const whole = Math.floor(abs / divisor);
  const frac = abs - whole * divisor;
  const body = scaleDigits > 0 ? `${whole}.${String(frac).padStart(scaleDigits, '0')}` : `${whole}`;
  return negative ? `-${body}` : body;
}

/** "0.5600" | "0.56" | "0.560" → 5600. Throws on sub-0.0001 precision. */
export function parsePrice(text: string): Price {
  return parseFixed(text, 4, 'price');
}

/** 5600 → "0.5600" (Kalshi's 4-decimal REST form). */
export function formatPrice(price: Price): string {
  return formatFixed(price, 4);
}

/** "10" | "10.0" | "10.00" | "-54.00" → 1000 | 1000 | 1000 | -5400. Throws on sub-0.01 precision. */
export function parseCount(text: string): Count {
  return parseFixed(text, 2, 'count');
}

/** 1000 → "10.00" (Kalshi's `*_fp` form: always 2 decimals). */
export function formatCount(count: Count): string {
  return formatFixed(count, 2);
}

/** A dollar string ("12.3456", "-0.18", up to 6 decimals) → Micros. */
export function parseDollars(text: string): Micros {
  return parseFixed(text, 6, 'dollars');
}

/**
 * Micros → dollar string with 4 decimals, or more (up to 6) only when the amount needs them,
 * so nothing is ever rounded away.
 */
export function formatDollars(amount: Micros): string {
  const full = formatFixed(amount, 6);
  return full.replace(/(\.\d{4}\d*?)0+$/, '$1');
}

/** Integer cents (Kalshi's legacy balance fields) → Micros. */
export function centsToMicros(cents: number): Micros {
  return cents * 10_000;
}

/** Micros → integer cents, truncated toward zero (Kalshi's legacy `balance` semantics). */
export function microsToCents(amount: Micros): number {
  return Math.trunc(amount / 10_000);
}

/** Cost of `count` contracts at `price`: exact, in Micros. */
export function notional(price: Price, count: Count): Micros {
  return price * count;
}

/** The complementary leg's price: a NO price for a YES price and vice versa ($1 − p). */
export function complement(price: Price): Price {
  return ONE_DOLLAR - price;
}

/** Whole dollars (e.g. from configuration) → Micros. */
export function dollarsToMicros(dollars: number): Micros {
  return Math.round(dollars * MICROS_PER_DOLLAR);
}

/** Micros → a float number of dollars, for display and RL features only — never for accounting. */
export function microsToDollarsFloat(amount: Micros): number {
  return amount / MICROS_PER_DOLLAR;
}
