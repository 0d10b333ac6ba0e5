/**
 * The 52-feature market-agnostic observation (`obs-v1`): one pure function, `writeFeatures`, used
 * by the live ONNX strategy, the RL environment, evaluation and the `features` table export, so a
 * policy sees exactly the same numbers in training and in trading. Pure core (no I/O).
 *
 * Indices and meanings are those of the Python original (original-system.md §4.5), with its
 * train/live skews fixed:
 * - one fixed index order (`FEATURE_NAMES`), also when the book is missing (the original's default
 *   block had a different key order);
 * - prices come from the fixed-point book (1/10,000 dollar), so 0.1¢ ticks are exact; the "cents"
 *   the formulas speak of are float cents derived from it (5650 → 56.5¢);
 * - the portfolio block always works in dollars (the original used cents in training and dollars
 *   live), and positions are valued at executable prices (YES at the YES bid, NO at the NO bid —
 *   the original valued NO positions at the YES mid);
 * - the order slots 47–51 are filled the same way everywhere (`FeatureState.openBidPrice` …);
 * - time of day uses the US Eastern hour (the original used the UTC hour against a 9–16 window).
 * Formulas that are constant on Kalshi's bids-only book (#15, #18, #19; #22 = #23, #24 = #25 and
 * #17 = −#16 because asks are the opposite leg's bids) keep their original meaning: a model trained
 * on them simply learns to ignore them.
 *
 * Cost: `FeatureState.observe` is O(1); `writeFeatures` walks the levels of both sides once (for
 * the liquidity concentration) and otherwise touches ≤ 11 history points. It allocates nothing
 * when the book provides `forEachLevelSize`, else one `depth()` array per side.
 */
import { COUNT_SCALE, MICROS_PER_DOLLAR, ONE_DOLLAR } from './money.ts';
import type { Count, Micros, Price } from './money.ts';
import type { Level, OutcomeSide } from './orderbook.ts';

export const OBS_VERSION = 'obs-v1';
export const FEATURE_COUNT = 52;

export const FEATURE_NAMES: readonly string[] = Object.freeze([
  // market (0–25)
  'best_yes_bid_norm',
  'best_yes_ask_norm',
  'best_no_bid_norm',
  'best_no_ask_norm',
  'yes_mid_price_norm',
  'no_mid_price_norm',
  'yes_spread_cents',
  'no_spread_cents',
  'yes_spread_pct',
  'no_spread_pct',
  'yes_spread_regime',
  'no_spread_regime',
  'yes_breakeven_move',
  'no_breakeven_move',
  'total_volume_norm',
  'volume_imbalance',
  'yes_side_imbalance',
  'no_side_imbalance',
  'bid_ask_depth_ratio',
  'yes_no_consistency',
  'yes_microprice_norm',
  'no_microprice_norm',
  'yes_book_depth_norm',
  'no_book_depth_norm',
  'yes_liquidity_concentration',
  'no_liquidity_concentration',
  // temporal (26–35)
  'time_since_last_update',
  'time_of_day_norm',
  'current_activity_score',
  'activity_change',
  'update_frequency',
  'activity_burst_indicator',
  'activity_trend',
  'price_momentum',
  'volatility_regime',
  'price_stability',
  // portfolio (36–46)
  'cash_ratio',
  'position_ratio',
  'position_count_norm',
  'average_position_size_norm',
  'long_position_ratio',
  'short_position_ratio',
  'net_position_bias',
  'position_concentration',
  'largest_position_norm',
  'unrealized_pnl_ratio',
  'leverage',
  // own orders (47–51)
  'has_open_buy',
  'has_open_sell',
  'buy_distance_from_mid',
  'sell_distance_from_mid',
  'time_since_order',
]);

/** Index of each feature by name (e.g. `FEATURE_INDEX.yes_spread_cents === 6`). */
export const FEATURE_INDEX: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, i])),
);

/**
 * What the features read of a book. `OrderBook` satisfies it; `forEachLevelSize` is an optional
 * allocation-free level walk (used when present, else `depth()`).
 */
export interface FeatureBook {
  bestYesBid(): Price | null;
  bestNoBid(): Price | null;
  totalSize(side: OutcomeSide): Count;
  levelCount(side: OutcomeSide): number;
  depth(side: OutcomeSide, maxLevels?: number): Level[];
  forEachLevelSize?(side: OutcomeSide, fn: (size: Count) => void): void;
}

/** Points of history kept: 10 before the current one, as the original's `history[-10:]`. */
const HISTORY = 11;
const CENTS_PER_PRICE = 100 / ONE_DOLLAR;
const LN_10001 = Math.log(10_001);
const DOLLARS_PER_MICRO = 1 / MICROS_PER_DOLLAR;

/**
 * The rolling state the temporal, portfolio and order features need, updated incrementally:
 * `observe()` once per book update (env step / live decision), and the account/order fields set
 * by the owner before `writeFeatures`. Reusable across episodes through `reset()`.
 */
export class FeatureState {
  // ring of the last HISTORY points (the newest is the current one)
  private readonly ts = new Float64Array(HISTORY);
  private readonly mid = new Float64Array(HISTORY);
  private readonly act = new Float64Array(HISTORY);
  private head = -1;
  /** Points observed since reset (saturates at HISTORY for the ring, counted in full here). */
  observed = 0;

  /** Last known best bids per leg; marks positions when a side is momentarily empty. */
  lastYesBid: Price | null = null;
  lastNoBid: Price | null = null;

  /** Account, set by the owner (env or live strategy). */
  cash: Micros = 0;
  /** Signed contracts, +YES / −NO. */
  position: Count = 0;
  costBasis: Micros = 0;

  /** Own resting orders on the YES leg: best resting bid / ask price, 0 when none. */
  openBidPrice: Price = 0;
  openAskPrice: Price = 0;
  /** When the newest resting order was placed (ms), NaN when none rests. */
  lastOrderMs = Number.NaN;

  reset(): void {
    this.head = -1;
    this.observed = 0;
    this.lastYesBid = null;
    this.lastNoBid = null;
    this.cash = 0;
    this.position = 0;
    this.costBasis = 0;
    this.openBidPrice = 0;
    this.openAskPrice = 0;
    this.lastOrderMs = Number.NaN;
  }

  /** Records the book as one more point at `tsMs`. */
  observe(book: FeatureBook, tsMs: number): void {
    const yesBid = book.bestYesBid();
    const noBid = book.bestNoBid();
    if (yesBid !== null) this.lastYesBid = yesBid;
    if (noBid !== null) this.lastNoBid = noBid;
    let midCents: number;
    if (yesBid !== null && noBid !== null) {
      midCents = (yesBid + ONE_DOLLAR - noBid) * 0.5 * CENTS_PER_PRICE;
    } else {
      // one-sided or empty book: the price has not moved as far as we know
      midCents = this.observed > 0 ? this.mid[this.head] : 50;
    }
    const contracts = (2 * (book.totalSize('yes') + book.totalSize('no'))) / COUNT_SCALE;
    const activity = Math.min(1, Math.log1p(contracts) / 1000);
    const h = this.head + 1 === HISTORY ? 0 : this.head + 1;
    this.ts[h] = tsMs;
    this.mid[h] = midCents;
    this.act[h] = activity;
    this.head = h;
    this.observed++;
  }

  /** Number of points held (current included), at most 11. */
  get length(): number {
    return this.observed < HISTORY ? this.observed : HISTORY;
  }

  /** The point `back` steps before the current one (0 = current). */
  tsAt(back: number): number {
    return this.ts[(this.head - back + HISTORY) % HISTORY];
  }

  midAt(back: number): number {
    return this.mid[(this.head - back + HISTORY) % HISTORY];
  }

  activityAt(back: number): number {
    return this.act[(this.head - back + HISTORY) % HISTORY];
  }

  /** Copies the held points newest first (index 0 = current) into the arrays; returns how many. */
  copyHistory(ts: Float64Array, mid: Float64Array, act: Float64Array): number {
    const n = this.length;
    let h = this.head;
    for (let i = 0; i < n; i++) {
      ts[i] = this.ts[h];
      mid[i] = this.mid[h];
      act[i] = this.act[h];
      h = h === 0 ? HISTORY - 1 : h - 1;
    }
    return n;
  }

  /** Portfolio value in Micros: cash plus the position at executable (best bid) prices. */
  portfolioValue(): Micros {
    return this.cash + this.positionValue();
  }

  /** The position marked at the last known best bid of its leg (0 when never seen). */
  positionValue(): Micros {
    if (this.position > 0) return (this.lastYesBid ?? 0) * this.position;
    if (this.position < 0) return (this.lastNoBid ?? 0) * -this.position;
    return 0;
  }
}

function clampUnit(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function spreadRegime(spreadCents: number): number {
  if (spreadCents < 2) return 0;
  if (spreadCents < 5) return 0.25;
  if (spreadCents < 10) return 0.5;
  if (spreadCents < 20) return 0.75;
  return 1;
}

// --- US Eastern hour (for time_of_day_norm), without Intl: DST from the second Sunday of March
// 02:00 EST (07:00 UTC) to the first Sunday of November 02:00 EDT (06:00 UTC), the rule since 2007.
const dstCache = new Map<number, readonly [number, number]>();

function nthSundayUtc(year: number, month: number, n: number): number {
  const firstDow = new Date(Date.UTC(year, month, 1)).getUTCDay();
  const firstSunday = 1 + ((7 - firstDow) % 7);
  return Date.UTC(year, month, firstSunday + 7 * (n - 1));
}

function dstBounds(year: number): readonly [number, number] {
  let bounds = dstCache.get(year);
  if (!bounds) {
    bounds = [nthSundayUtc(year, 2, 2) + 7 * 3_600_000, nthSundayUtc(year, 10, 1) + 6 * 3_600_000];
    dstCache.set(year, bounds);
  }
  return bounds;
}

// the year of the last call, so consecutive timestamps need no Date object
let cachedYearStart = 0;
let cachedYearEnd = -1;
let cachedDst: readonly [number, number] = [0, 0];

/** Hour of day (fractional, 0 ≤ h < 24) in America/New_York for a Unix ms timestamp. */
export function easternHour(tsMs: number): number {
  if (tsMs < cachedYearStart || tsMs >= cachedYearEnd) {
    const year = new Date(tsMs).getUTCFullYear();
    cachedYearStart = Date.UTC(year, 0, 1);
    cachedYearEnd = Date.UTC(year + 1, 0, 1);
    cachedDst = dstBounds(year);
  }
  const offsetHours = tsMs >= cachedDst[0] && tsMs < cachedDst[1] ? -4 : -5;
  const local = tsMs + offsetHours * 3_600_000;
  const dayMs = ((local % 86_400_000) + 86_400_000) % 86_400_000;
  return dayMs / 3_600_000;
}

const levelScratch = { top1: 0, top2: 0, top3: 0, sum: 0 };
const histTs = new Float64Array(HISTORY);
const histMid = new Float64Array(HISTORY);
const histAct = new Float64Array(HISTORY);
const collectLevel = (size: number): void => {
  const s = levelScratch;
  s.sum += size;
  if (size > s.top1) {
    s.top3 = s.top2;
    s.top2 = s.top1;
    s.top1 = size;
  } else if (size > s.top2) {
    s.top3 = s.top2;
    s.top2 = size;
  } else if (size > s.top3) {
    s.top3 = size;
  }
};

function scanLevels(book: FeatureBook, side: OutcomeSide): void {
  if (book.forEachLevelSize) {
    book.forEachLevelSize(side, collectLevel);
    return;
  }
  const levels = book.depth(side);
  for (let i = 0; i < levels.length; i++) collectLevel(levels[i].size);
}

/**
 * Share of the 3 largest levels among all levels of one leg's book (its bids and its asks). A leg's
 * asks are the other leg's bids, so both legs see the same levels and the same value.
 */
function liquidityConcentration(book: FeatureBook): number {
  const s = levelScratch;
  s.top1 = s.top2 = s.top3 = s.sum = 0;
  scanLevels(book, 'yes');
  scanLevels(book, 'no');
  return s.sum > 0 ? (s.top1 + s.top2 + s.top3) / s.sum : 0.5;
}

/**
 * Writes the 52 features of `book` + `state` (as of `nowMs`) into `out[offset..offset+52)`.
 * `state.observe(book, tsMs)` must have been called for the current point first. Values are finite
 * and within [−2, 2] (NaN → 0, ±∞ → ±1, then clipped, as the original).
 */
export function writeFeatures(
  book: FeatureBook | null,
  state: FeatureState,
  nowMs: number,
  out: Float32Array,
  offset = 0,
): Float32Array {
  const o = offset;
  // ---------------- market (0–25)
  const yesBidP = book ? book.bestYesBid() : null;
  const noBidP = book ? book.bestNoBid() : null;
  // cents as floats, from the fixed-point book
  const yesBid = yesBidP === null ? NaN : yesBidP * CENTS_PER_PRICE;
  const noBid = noBidP === null ? NaN : noBidP * CENTS_PER_PRICE;
  const yesAsk = noBidP === null ? NaN : 100 - noBid;
  const noAsk = yesBidP === null ? NaN : 100 - yesBid;
  out[o + 0] = yesBidP === null ? 0.5 : yesBid / 100;
  out[o + 1] = noBidP === null ? 0.5 : yesAsk / 100;
  out[o + 2] = noBidP === null ? 0.5 : noBid / 100;
  out[o + 3] = yesBidP === null ? 0.5 : noAsk / 100;
  const twoSided = yesBidP !== null && noBidP !== null;
  const yesMid = twoSided ? clampUnit((yesBid + yesAsk) / 200, 0.01, 0.99) : 0.5;
  const noMid = twoSided ? clampUnit((noBid + noAsk) / 200, 0.01, 0.99) : 0.5;
  out[o + 4] = yesMid;
  out[o + 5] = noMid;
  const yesSpread = twoSided ? yesAsk - yesBid : 10;
  const noSpread = twoSided ? noAsk - noBid : 10;
  out[o + 6] = yesSpread / 100;
  out[o + 7] = noSpread / 100;
  out[o + 8] = yesSpread / (yesMid * 100);
  out[o + 9] = noSpread / (noMid * 100);
  out[o + 10] = spreadRegime(yesSpread);
  out[o + 11] = spreadRegime(noSpread);
  out[o + 12] = yesSpread / 100;
  out[o + 13] = noSpread / 100;

  // Whole-side volumes in contracts; asks are derived from the other leg's bids.
  const vYesBid = book ? book.totalSize('yes') / COUNT_SCALE : 0;
  const vNoBid = book ? book.totalSize('no') / COUNT_SCALE : 0;
  const vYesAsk = vNoBid;
  const vNoAsk = vYesBid;
  const vYes = vYesBid + vYesAsk;
  const vNo = vNoBid + vNoAsk;
  const vAll = vYes + vNo;
  out[o + 14] = Math.min(Math.log1p(vAll) / LN_10001, 1);
  out[o + 15] = vAll > 0 ? (vYes - vNo) / vAll : 0;
  out[o + 16] = vYes > 0 ? (vYesBid - vYesAsk) / vYes : 0;
  out[o + 17] = vNo > 0 ? (vNoBid - vNoAsk) / vNo : 0;
  out[o + 18] = Math.tanh(0.5 * (Math.log1p(vYesBid + vNoBid) - Math.log1p(vYesAsk + vNoAsk)));
  out[o + 19] = yesBidP !== null ? Math.abs(yesBid + noAsk - 100) / 100 : 0.5;
  out[o + 20] = twoSided && vYes > 0 ? (yesBid * vYesAsk + yesAsk * vYesBid) / vYes / 100 : yesMid;
  out[o + 21] = twoSided && vNo > 0 ? (noBid * vNoAsk + noAsk * vNoBid) / vNo / 100 : noMid;
  const levelsAll = book ? book.levelCount('yes') + book.levelCount('no') : 0;
  out[o + 22] = Math.min(levelsAll / 20, 1);
  out[o + 23] = Math.min(levelsAll / 20, 1);
  const concentration = book ? liquidityConcentration(book) : 0.5;
  out[o + 24] = concentration;
  out[o + 25] = concentration;

  // ---------------- temporal (26–35)
  // newest first: index 0 is the current point
  const n = state.copyHistory(histTs, histMid, histAct);
  if (n >= 2) {
    const gapS = (histTs[0] - histTs[1]) / 1000;
    out[o + 26] = clampUnit(gapS / 300, 0, 1);
  } else {
    out[o + 26] = 0;
  }
  out[o + 27] = timeOfDay(nowMs);
  const actNow = n >= 1 ? histAct[0] : 0;
  out[o + 28] = actNow;
  out[o + 29] = n >= 2 ? Math.tanh(actNow - histAct[1]) : 0;
  // update frequency over the last ≤5 history points (the current one excluded)
  const hist = n - 1;
  if (hist >= 2) {
    const k = Math.min(5, hist);
    const spanS = (histTs[1] - histTs[k]) / 1000;
    out[o + 30] = Math.min(k / Math.max(spanS, 1) / 2, 1);
  } else {
    out[o + 30] = 0.1;
  }
  // activity statistics over the last ≤10 history points + the current one
  if (n >= 3) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += histAct[i];
    const mean = sum / n;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const d = histAct[i] - mean;
      sq += d * d;
    }
    const std = Math.sqrt(sq / n);
    out[o + 31] = actNow > mean + 1.5 * std ? 1 : 0;
    if (n >= 5) {
      // least-squares slope against the point index, oldest = 0
      const xMean = (n - 1) / 2;
      let sxy = 0;
      let sxx = 0;
      for (let i = 0; i < n; i++) {
        const x = n - 1 - i - xMean;
        sxy += x * (histAct[i] - mean);
        sxx += x * x;
      }
      out[o + 32] = Math.tanh((10 * sxy) / sxx);
    } else {
      out[o + 32] = 0;
    }
  } else {
    out[o + 31] = 0;
    out[o + 32] = 0;
  }
  // momentum: change of the YES-mid change, relative
  if (n >= 3) {
    const d1 = histMid[0] - histMid[1];
    const d0 = histMid[1] - histMid[2];
    out[o + 33] = Math.abs(d0) <= 0.001 ? 0 : Math.tanh((d1 - d0) / Math.abs(d0));
  } else {
    out[o + 33] = 0;
  }
  // volatility: std of |Δ mid¢| over the last 5 history points + current
  if (n >= 5) {
    const m = Math.min(6, n);
    let s = 0;
    for (let i = 0; i < m - 1; i++) s += Math.abs(histMid[i] - histMid[i + 1]);
    const mean = s / (m - 1);
    let sq = 0;
    for (let i = 0; i < m - 1; i++) {
      const d = Math.abs(histMid[i] - histMid[i + 1]) - mean;
      sq += d * d;
    }
    out[o + 34] = Math.min(Math.sqrt(sq / (m - 1)) / 5, 1);
  } else {
    out[o + 34] = 0.1;
  }
  // stability: mean |Δ mid¢| over the last ≤3 pairs
  if (n >= 2) {
    const pairs = Math.min(3, n - 1);
    let s = 0;
    for (let i = 0; i < pairs; i++) s += Math.abs(histMid[i] - histMid[i + 1]);
    out[o + 35] = Math.max(0, 1 - s / pairs / 5);
  } else {
    out[o + 35] = 0.5;
  }

  // ---------------- portfolio (36–46), in dollars
  const cash = state.cash * DOLLARS_PER_MICRO;
  const posValue = state.positionValue() * DOLLARS_PER_MICRO;
  const pv = cash + posValue;
  const contracts = state.position / COUNT_SCALE;
  if (pv <= 0.01) {
    out[o + 36] = 1;
    for (let i = 37; i <= 46; i++) out[o + i] = 0;
  } else {
    const open = contracts !== 0;
    out[o + 36] = clampUnit(cash / pv, 0, 1);
    out[o + 37] = clampUnit((pv - cash) / pv, 0, 1);
    out[o + 38] = open ? 0.1 : 0;
    out[o + 39] = Math.min(Math.abs(contracts) / 1000, 1);
    out[o + 40] = contracts > 0 ? 1 : 0;
    out[o + 41] = contracts < 0 ? 1 : 0;
    out[o + 42] = open ? Math.tanh(contracts > 0 ? 1 : -1) : 0;
    out[o + 43] = Math.min(posValue / pv, 1);
    out[o + 44] = clampUnit(contracts / 1000, -1, 1);
    out[o + 45] = Math.tanh((posValue - state.costBasis * DOLLARS_PER_MICRO) / pv);
    out[o + 46] = Math.min(posValue / pv, 2) / 2;
  }

  // ---------------- own orders (47–51): YES-leg bid = "buy", ask = "sell"
  const midPrice = twoSided ? (yesBidP + ONE_DOLLAR - noBidP) / 2 : n > 0 ? histMid[0] / CENTS_PER_PRICE : ONE_DOLLAR / 2;
  out[o + 47] = state.openBidPrice > 0 ? 1 : 0;
  out[o + 48] = state.openAskPrice > 0 ? 1 : 0;
  out[o + 49] = state.openBidPrice > 0 ? (midPrice - state.openBidPrice) / ONE_DOLLAR : 0;
  out[o + 50] = state.openAskPrice > 0 ? (state.openAskPrice - midPrice) / ONE_DOLLAR : 0;
  out[o + 51] = Number.isNaN(state.lastOrderMs) ? 0 : clampUnit((nowMs - state.lastOrderMs) / 300_000, 0, 1);

  // nan_to_num then clip(−2, 2), as the original
  for (let i = o; i < o + FEATURE_COUNT; i++) {
    const v = out[i];
    if (v !== v) out[i] = 0;
    else if (v > 2) out[i] = 2;
    else if (v < -2) out[i] = -2;
  }
  return out;
}

function timeOfDay(tsMs: number): number {
  if (!Number.isFinite(tsMs)) return 0;
  const hour = easternHour(tsMs);
  return hour >= 9 && hour <= 16 ? (hour - 9) / 7 : 0;
}

/** Convenience for one-off use (tests, tables): a fresh 52-vector. */
export function computeFeatures(book: FeatureBook | null, state: FeatureState, nowMs: number): Float32Array {
  return writeFeatures(book, state, nowMs, new Float32Array(FEATURE_COUNT));
}
