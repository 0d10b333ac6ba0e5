/**
 * Kalshi trading fees (kalshi-api.md §6.3), exactly, in integer Micros. Pure core; the simulator
 * charges them, the trader and risk checks estimate them, the RL reward subtracts them.
 *
 * Trade fee = ceil_to_$0.0001(rate × multiplier × C × P × (1 − P)), C contracts, P dollars:
 * taker rate 0.07; maker rate 0 (`quadratic`), 0.0175 (`quadratic_with_maker_fees`) or 0.035
 * (`quadratic_with_combo_maker_fees`). Rates are kept as rationals over 400 so nothing is a float.
 *
 * `FeeRounding` implements Kalshi's official per-order balance rounding: the balance moves by
 * floor(revenue − fee) to the account precision, and the rounding residue accumulated over an
 * order's fills comes back as whole-cent rebates, so many small fills cost what one fill costs.
 */
import { ONE_DOLLAR, parseFixed } from './money.ts';
import type { Count, Micros, Price } from './money.ts';

export type FeeType = 'quadratic' | 'quadratic_with_maker_fees' | 'quadratic_with_combo_maker_fees' | 'flat';

/** `multiplier` is the series' `fee_multiplier` (default 1); it scales the whole formula. */
export interface FeeSchedule {
  feeType: FeeType;
  multiplier?: number;
}

export const DEFAULT_FEE_SCHEDULE: FeeSchedule = Object.freeze({ feeType: 'quadratic', multiplier: 1 });

/** For display only; the arithmetic uses the rationals below. */
export const TAKER_FEE_RATE = 0.07;
export const MAKER_FEE_RATE = 0.0175;
export const COMBO_MAKER_FEE_RATE = 0.035;

export class FeeError extends Error {
  override readonly name = 'FeeError';
}

/** Rates as numerators over RATE_DENOMINATOR: 0.07 = 28/400, 0.0175 = 7/400, 0.035 = 14/400. */
const RATE_DENOMINATOR = 400;
const TAKER_RATE_NUM = 28;
const MAKER_RATE_NUM = 7;
const COMBO_MAKER_RATE_NUM = 14;

/** Trade fees are rounded up to $0.0001 = 100 micros. */
const FEE_GRANULARITY: Micros = 100;
/** fee_micros = rate × C×P×(1−P) in our units / 10^4 (Count 1e-2 × Price² 1e-8 → 1e-10 $ = 1e-4 µ$). */
const UNIT_DIVISOR = 10_000;
const MULTIPLIER_SCALE = 1_000_000;

let cachedMultiplier = 1;
let cachedMultiplierMicros = MULTIPLIER_SCALE;

/** The multiplier as an exact integer number of millionths. */
function multiplierMicros(multiplier: number | undefined): number {
  if (multiplier === undefined || multiplier === 1) return MULTIPLIER_SCALE;
  if (multiplier === cachedMultiplier) return cachedMultiplierMicros;
  if (!Number.isFinite(multiplier) || multiplier < 0) throw new FeeError(`invalid fee multiplier ${multiplier}`);
  let scaled: number;
  try {
    scaled = parseFixed(String(multiplier), 6, 'fee multiplier');
  } catch {
    throw new FeeError(`fee multiplier ${multiplier} has more than 6 decimal places`);
  }
  cachedMultiplier = multiplier;
  cachedMultiplierMicros = scaled;
  return scaled;
}

/** ceil(a × b × c × d / den) for non-negative safe integers, exactly (BigInt when the product is large). */
function ceilDiv4(a: number, b: number, c: number, d: number, den: number): number {
  const ab = a * b;
  const abc = ab * c;
  if (abc <= Number.MAX_SAFE_INTEGER && (d === 0 || abc <= Number.MAX_SAFE_INTEGER / d)) {
    const num = abc * d;
    const rem = num % den;
    return (num - rem) / den + (rem > 0 ? 1 : 0);
  }
  const num = BigInt(a) * BigInt(b) * BigInt(c) * BigInt(d);
  const bden = BigInt(den);
  const q = num / bden;
  const result = num % bden > 0n ? q + 1n : q;
  if (result > BigInt(Number.MAX_SAFE_INTEGER)) throw new FeeError('fee out of range');
  return Number(result);
}

function checkInputs(price: Price, count: Count): void {
  if (!Number.isInteger(price) || price < 0 || price > ONE_DOLLAR) {
    throw new FeeError(`fee: price must be an integer in 0..${ONE_DOLLAR}, got ${price}`);
  }
  if (!Number.isSafeInteger(count) || count < 0) throw new FeeError(`fee: count must be a non-negative integer, got ${count}`);
}

function quadraticFee(rateNum: number, price: Price, count: Count, multiplier: number | undefined): Micros {
  checkInputs(price, count);
  if (rateNum === 0 || count === 0) return 0;
  const pq = price * (ONE_DOLLAR - price);
  const m = multiplierMicros(multiplier);
  if (m === MULTIPLIER_SCALE) {
    const units = ceilDiv4(rateNum, pq, count, 1, RATE_DENOMINATOR * UNIT_DIVISOR * FEE_GRANULARITY);
    return units * FEE_GRANULARITY;
  }
  const units = ceilDiv4(rateNum, pq, count, m, RATE_DENOMINATOR * UNIT_DIVISOR * FEE_GRANULARITY * MULTIPLIER_SCALE);
  return units * FEE_GRANULARITY;
}

function flatUnsupported(): never {
  // Kalshi's flat fee table is not published in any source we could read (kalshi-api.md §6.3).
  throw new FeeError("fee type 'flat' is not supported: Kalshi's flat fee table is not published");
}

/** Taker fee for one fill of `count` at `price` (the price of the contract bought), in Micros. */
export function takerFee(price: Price, count: Count, schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE): Micros {
  if (schedule.feeType === 'flat') flatUnsupported();
  return quadraticFee(TAKER_RATE_NUM, price, count, schedule.multiplier);
}

/** Maker fee: 0 for 'quadratic'; 0.0175 rate with maker fees; 0.035 with combo maker fees. */
export function makerFee(price: Price, count: Count, schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE): Micros {
  switch (schedule.feeType) {
    case 'quadratic':
      checkInputs(price, count);
      return 0;
    case 'quadratic_with_maker_fees':
      return quadraticFee(MAKER_RATE_NUM, price, count, schedule.multiplier);
    case 'quadratic_with_combo_maker_fees':
      return quadraticFee(COMBO_MAKER_RATE_NUM, price, count, schedule.multiplier);
    case 'flat':
      return flatUnsupported();
    default:
      throw new FeeError(`unknown fee type ${JSON.stringify((schedule as FeeSchedule).feeType)}`);
  }
}

export function tradeFee(price: Price, count: Count, isTaker: boolean, schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE): Micros {
  return isTaker ? takerFee(price, count, schedule) : makerFee(price, count, schedule);
}

/** Account balance precisions: $0.01 for normal users, $0.0001 for direct members. */
export const CENT_PRECISION: Micros = 10_000;
export const CENTICENT_PRECISION: Micros = 100;
/** Rebates are always whole cents. */
const REBATE_UNIT: Micros = 10_000;

export interface RoundedFill {
  /** What the balance actually moves by: floor(cashChange − fee) to the precision, plus any rebate. */
  balanceChange: Micros;
  /** floor residue charged on this fill, in [0, precision). */
  roundingFee: Micros;
  /** Whole-cent refund issued on this fill from the order's accumulated rounding. */
  rebate: Micros;
}

/**
 * Per-order rounding accumulator (one instance per order, across its taker and maker fills).
 * Kalshi's prose says a rebate is issued once the accumulated rounding "exceeds $0.01"; we issue
 * it when the accumulator reaches $0.01, which is what makes n fills whose exact amounts add up to
 * one fill's cost the same as that fill (the stated purpose). The 1¢-boundary case is unconfirmed.
 */
export class FeeRounding {
  readonly precision: Micros;
  private accumulated: Micros = 0;

  constructor(precision: Micros = CENT_PRECISION) {
    if (!Number.isSafeInteger(precision) || precision <= 0 || REBATE_UNIT % precision !== 0) {
      throw new FeeError(`balance precision must be a positive divisor of $0.01 in micros, got ${precision}`);
    }
    this.precision = precision;
  }

  /** Rounding not yet rebated, in [0, $0.01). */
  get accumulatedRounding(): Micros {
    return this.accumulated;
  }

  /** `cashChange` = the fill's revenue (negative for buyers), fee excluded; `fee` = its trade fee. */
  settleFill(cashChange: Micros, fee: Micros): RoundedFill {
    if (!Number.isSafeInteger(cashChange)) throw new FeeError(`cash change must be an integer, got ${cashChange}`);
    if (!Number.isSafeInteger(fee) || fee < 0) throw new FeeError(`fee must be a non-negative integer, got ${fee}`);
    const exact = cashChange - fee;
    const residue = ((exact % this.precision) + this.precision) % this.precision;
    this.accumulated += residue;
    let rebate = 0;
    while (this.accumulated >= REBATE_UNIT) {
      this.accumulated -= REBATE_UNIT;
      rebate += REBATE_UNIT;
    }
    return { balanceChange: exact - residue + rebate, roundingFee: residue, rebate };
  }
}
