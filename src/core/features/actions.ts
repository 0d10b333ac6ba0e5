/**
 * The policy's discrete action space — with the observation (`../features.ts`), the contract
 * between a trained policy and whoever runs it. Pure core, shared by the RL environment, the
 * trainer, the ONNX metadata and the live policy strategy: HOLD, then BUY_YES, SELL_YES, BUY_NO, SELL_NO × sizes × order styles.
 *
 * With one style the layout is the original's (`Discrete(1 + 4·n_sizes)`, base = (a−1)//n + 1,
 * size = (a−1)%n), so an SB3 model exported with the documented 5 actions maps 1:1. A second
 * style nests inside the size: inner = (a−1) % (n·s), size = inner % n, style = inner // n.
 *
 * Styles: `take` = marketable (immediate-or-cancel at the opposite best, walking levels);
 * `join` = passive (rests at the own leg's best bid, behind the queue already there).
 * SELL_YES / SELL_NO close a held position only; opening the other leg is BUY_NO / BUY_YES.
 */
import { z } from 'zod';
import { COUNT_SCALE, formatCount, parseCount } from '../money.ts';
import type { Count } from '../money.ts';

export const BASE_ACTIONS = ['HOLD', 'BUY_YES', 'SELL_YES', 'BUY_NO', 'SELL_NO'] as const;
export type BaseAction = (typeof BASE_ACTIONS)[number];
export type OrderStyle = 'take' | 'join';

export const HOLD = 0;
export const BUY_YES = 1;
export const SELL_YES = 2;
export const BUY_NO = 3;
export const SELL_NO = 4;

export interface ActionSpaceConfig {
  /** Order sizes in Count (1/100 contract), e.g. [500] = 5 contracts. */
  sizes: Count[];
  styles: OrderStyle[];
}

export const actionSpaceConfigSchema = z
  .object({
    sizes: z.array(z.number().int().positive()).min(1),
    styles: z.array(z.enum(['take', 'join'])).min(1),
  })
  .strict()
  .refine((c) => new Set(c.styles).size === c.styles.length, 'styles must not repeat');

export const DEFAULT_ACTION_SPACE: ActionSpaceConfig = Object.freeze({ sizes: [5 * COUNT_SCALE], styles: ['take'] }) as ActionSpaceConfig;

export interface DecodedAction {
  base: number;
  /** Count; 0 for HOLD. */
  size: Count;
  style: OrderStyle;
}

export function actionCount(space: ActionSpaceConfig): number {
  return 1 + 4 * space.sizes.length * space.styles.length;
}

/** Decodes into `out` (allocation-free on the hot path). Throws RangeError when out of range. */
export function decodeAction(space: ActionSpaceConfig, action: number, out: DecodedAction = { base: 0, size: 0, style: 'take' }): DecodedAction {
  const n = space.sizes.length;
  const per = n * space.styles.length;
  if (!Number.isInteger(action) || action < 0 || action > 4 * per) {
    throw new RangeError(`action ${action} is outside 0..${4 * per}`);
  }
  if (action === 0) {
    out.base = HOLD;
    out.size = 0;
    out.style = space.styles[0];
    return out;
  }
  const i = action - 1;
  const inner = i % per;
  out.base = Math.floor(i / per) + 1;
  out.size = space.sizes[inner % n];
  out.style = space.styles[Math.floor(inner / n)];
  return out;
}

export function encodeAction(space: ActionSpaceConfig, base: number, sizeIndex = 0, styleIndex = 0): number {
  if (base === HOLD) return 0;
  const n = space.sizes.length;
  return 1 + (base - 1) * n * space.styles.length + styleIndex * n + sizeIndex;
}

/** Names for metadata and reports: `BUY_YES`, or `BUY_YES_10` / `BUY_YES_10_join` when ambiguous. */
export function actionNames(space: ActionSpaceConfig): string[] {
  const names: string[] = [];
  const decoded: DecodedAction = { base: 0, size: 0, style: 'take' };
  for (let a = 0; a < actionCount(space); a++) {
    decodeAction(space, a, decoded);
    let name: string = BASE_ACTIONS[decoded.base];
    if (a > 0 && space.sizes.length > 1) name += `_${formatCount(decoded.size).replace(/\.00$/, '')}`;
    if (a > 0 && space.styles.length > 1) name += `_${decoded.style}`;
    names.push(name);
  }
  return names;
}

/** Sizes as ONNX metadata: contracts, comma-separated ("5" or "5,10.5"). */
export function formatSizes(sizes: readonly Count[]): string {
  return sizes.map((s) => formatCount(s).replace(/\.00$/, '')).join(',');
}

export function parseSizes(text: string): Count[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const c = parseCount(s);
      if (c <= 0) throw new RangeError(`size must be positive, got ${s}`);
      return c;
    });
}

/** Worst-case taker fee per Count unit ($0.07 × ¼ per contract = 175 µ$ per 1/100) and one fee rounding step. */
export const FEE_BOUND_PER_UNIT = 175;
export const FEE_ROUNDING = 100;

/** What the action mask depends on. Prices are each leg's best bid (null when that side is empty). */
export interface MaskInputs {
  /** False when the book is unknown (gap, not yet snapshotted): only HOLD is valid. */
  bookValid: boolean;
  yesBid: number | null;
  noBid: number | null;
  /** Signed Count, +YES / −NO. */
  position: Count;
  /** Micros. */
  cash: number;
  maxPosition: Count;
}

/**
 * Which base actions can do something now, for one order style (out[HOLD..SELL_NO]): a buy needs
 * the liquidity it takes or joins, room under the position limit and cash for one contract unit
 * with fees; a sell needs a position of that leg to close. Shared by the environment and the live
 * strategy, so a policy is masked the same way in both.
 */
export function baseActionMask(style: OrderStyle, m: MaskInputs, out: Uint8Array): Uint8Array {
  out[HOLD] = 1;
  if (!m.bookValid) {
    out[BUY_YES] = out[SELL_YES] = out[BUY_NO] = out[SELL_NO] = 0;
    return out;
  }
  const roomYes = m.maxPosition - m.position > 0;
  const roomNo = m.maxPosition + m.position > 0;
  const { yesBid, noBid } = m;
  // cash for one unit at `price` with the worst-case fee
  const budget = m.cash - FEE_BOUND_PER_UNIT - FEE_ROUNDING;
  const dollar = 10_000;
  if (style === 'take') {
    // taking buys YES at $1 − best NO bid and NO at $1 − best YES bid
    out[BUY_YES] = noBid !== null && roomYes && budget > dollar - noBid ? 1 : 0;
    out[SELL_NO] = noBid !== null && m.position < 0 ? 1 : 0;
    out[SELL_YES] = yesBid !== null && m.position > 0 ? 1 : 0;
    out[BUY_NO] = yesBid !== null && roomNo && budget > dollar - yesBid ? 1 : 0;
  } else {
    // joining rests at the own leg's best bid
    out[BUY_YES] = yesBid !== null && roomYes && budget > yesBid ? 1 : 0;
    out[SELL_NO] = yesBid !== null && m.position < 0 ? 1 : 0;
    out[SELL_YES] = noBid !== null && m.position > 0 ? 1 : 0;
    out[BUY_NO] = noBid !== null && roomNo && budget > noBid ? 1 : 0;
  }
  return out;
}

/**
 * The greedy choice of a policy: the unmasked action with the highest logit, HOLD when none is
 * allowed. The live ONNX strategy and evaluation both decide with it, so they pick alike.
 */
export function greedyAction(logits: ArrayLike<number>, mask: ArrayLike<number>): number {
  let action = HOLD;
  let best = -Infinity;
  for (let a = 0; a < logits.length; a++) {
    if (mask[a] && logits[a] > best) {
      best = logits[a];
      action = a;
    }
  }
  return action;
}

/** The full mask (length actionCount) from the per-style base masks. */
export function actionMask(space: ActionSpaceConfig, m: MaskInputs, out: Uint8Array = new Uint8Array(actionCount(space))): Uint8Array {
  const take = baseActionMask('take', m, new Uint8Array(5));
  const join = space.styles.includes('join') ? baseActionMask('join', m, new Uint8Array(5)) : take;
  const decoded: DecodedAction = { base: 0, size: 0, style: 'take' };
  out[0] = 1;
  for (let a = 1; a < actionCount(space); a++) {
    decodeAction(space, a, decoded);
    out[a] = (decoded.style === 'take' ? take : join)[decoded.base];
  }
  return out;
}
