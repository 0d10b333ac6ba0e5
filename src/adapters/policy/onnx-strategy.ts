/**
 * `onnx:<path>` — the trader strategy that runs a trained policy: for each market event it
 * computes the same 52 `obs-v1` features as the training environment (`writeFeatures`, with
 * per-market rolling state), masks the actions exactly as the environment does, takes the
 * greedy action and turns it into order decisions.
 *
 * Hot reload: the model file's folder is watched; a changed file is read, validated against the
 * policy contract and test-run, and only then swapped in, atomically (a decision in flight keeps
 * the model it started with; the old one is released when the last such decision ends). A bad
 * file never replaces a good model: the error is recorded in `status()` and the running model
 * stays. The pipeline is inference-only: nothing here trains or reads recorded data.
 *
 * Mapping of actions to orders (YES-leg V2 intents; see src/core/features/actions.ts):
 * - take: immediate-or-cancel at the price of the deepest level the size needs (it executes at
 *   each level's own price, as the environment's level walk); BUY_YES / SELL_NO are bids, SELL_YES /
 *   BUY_NO asks; sells are capped at the position held, buys at the position limit;
 * - join: a post-only GTC order at the own leg's best bid, replacing ours on that side unless it
 *   already rests there.
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { systemClock } from '../../core/clock.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { FEATURE_COUNT, FeatureState, writeFeatures } from '../../core/features.ts';
import type { FeatureBook } from '../../core/features.ts';
import { BUY_NO, BUY_YES, HOLD, SELL_NO, SELL_YES, actionMask, decodeAction, greedyAction } from '../../core/features/actions.ts';
import { ONE_DOLLAR } from '../../core/money.ts';
import type { Count, Micros, Price } from '../../core/money.ts';
import type { Level, OutcomeSide } from '../../core/orderbook.ts';
import type { BookView, Decision, MarketView, OwnOrder, Strategy } from '../../core/strategy/types.ts';
import { OnnxPolicy, PolicyModelError } from './onnx-policy.ts';
import type { PolicyLoadOptions } from './onnx-policy.ts';

export const onnxStrategyOptionsSchema = z
  .object({
    /** Cash assumed for the portfolio features when no account provider is given (Micros; the env's default $100). */
    startingCash: z.number().int().positive().default(100_000_000),
    /** Largest |position| (Count); the environment's default 100 contracts. */
    maxPosition: z.number().int().positive().default(10_000),
    /** Sizes (Count) for models without `sizes` metadata. */
    defaultSizes: z.array(z.number().int().positive()).min(1).default([100]),
    /** Watch the file and hot-reload it. */
    watch: z.boolean().default(true),
    /** Quiet time after a file change before reloading (ms). */
    debounceMs: z.number().int().min(0).default(200),
  })
  .strict();

export type OnnxStrategyConfig = z.infer<typeof onnxStrategyOptionsSchema>;

export interface OnnxStrategyOptions extends Partial<OnnxStrategyConfig> {
  /** Cash and cost basis of the market's position, for the portfolio features (default: startingCash, cost = mark). */
  account?: (ticker: string) => { cash: Micros; costBasis: Micros };
  clock?: Clock;
  /** Called after every reload attempt with the new status. */
  onReload?: (status: PolicyStatus) => void;
}

export interface PolicyStatus {
  modelPath: string;
  /** When the running model was loaded (ms, the strategy's clock); null before the first load. */
  loadedAt: number | null;
  /** The running model's version (metadata model_version, else a SHA-256 prefix). */
  version: string | null;
  obsVersion: string | null;
  actions: string[];
  /** The last load failure (the running model, if any, was kept), cleared by a good load. */
  lastError: string | null;
  lastErrorAt: number | null;
  /** Successful loads, the first included. */
  loads: number;
}

export interface OnnxStrategy extends Strategy {
  status(): PolicyStatus;
  /** The last observation computed for `ticker` (a copy), for inspection; null before its first decision. */
  observation(ticker: string): Float32Array | null;
  /** Resolves once the first model is loaded; rejects with PolicyModelError if it was refused. */
  ready(): Promise<void>;
  /** Reloads the file now; true if a new model was swapped in. */
  reload(): Promise<boolean>;
  close(): Promise<void>;
}

interface ModelSlot {
  policy: OnnxPolicy;
  inFlight: number;
  retired: boolean;
}

interface MarketState {
  features: FeatureState;
  lastObs: Float32Array | null;
  /** When we first saw each of our orders (OwnOrder carries no placement time). */
  firstSeen: Map<string, number>;
}

/** A FeatureBook over any BookView (the live book is an OrderBook and is used directly). */
function featureBookOf(book: BookView): FeatureBook {
  const candidate = book as Partial<FeatureBook>;
  if (typeof candidate.bestNoBid === 'function' && typeof candidate.totalSize === 'function' && typeof candidate.levelCount === 'function') {
    return book as unknown as FeatureBook;
  }
  const levels: Record<OutcomeSide, Level[]> = { yes: book.depth('yes'), no: book.depth('no') };
  const total = (side: OutcomeSide) => levels[side].reduce((s, l) => s + l.size, 0);
  return {
    bestYesBid: () => levels.yes[0]?.price ?? null,
    bestNoBid: () => levels.no[0]?.price ?? null,
    totalSize: total,
    levelCount: (side) => levels[side].length,
    depth: (side, max = Infinity) => levels[side].slice(0, max),
  };
}

/** Leg price of the deepest level a marketable order of `count` needs (best-first levels). */
function walkLimit(levels: Level[], count: Count): Price | null {
  let need = count;
  let price: Price | null = null;
  for (const level of levels) {
    price = level.price;
    need -= level.size;
    if (need <= 0) break;
  }
  return price;
}

/**
 * The hot-reloaded model: the file is loaded, validated and test-run, then swapped in atomically;
 * `run` holds the model it started with until it ends (a retired model is released when the last
 * such run ends). A bad file is recorded in `status()` and the running model stays.
 */
class HotReloadedPolicy {
  readonly status: PolicyStatus;
  /** Resolves once the first model is loaded; rejects with PolicyModelError if it was refused. */
  readonly ready: Promise<void>;
  private current: ModelSlot | null = null;
  private currentSha: string | null = null;
  private closed = false;
  private watcher: FSWatcher | null = null;
  private debounce: TimerHandle | null = null;
  private reloading: Promise<boolean> | null = null;
  private reloadAgain = false;

  constructor(
    private readonly modelPath: string,
    private readonly loadOptions: PolicyLoadOptions,
    private readonly clock: Clock,
    private readonly onReload?: (status: PolicyStatus) => void,
  ) {
    this.status = { modelPath, loadedAt: null, version: null, obsVersion: null, actions: [], lastError: null, lastErrorAt: null, loads: 0 };
    this.ready = this.loadOnce().then(
      () => undefined,
      (error: unknown) => {
        this.recordError(error);
        throw error;
      },
    );
    this.ready.catch(() => undefined);
  }

  /** The running model's contract; null before the first load. */
  get contract(): OnnxPolicy['contract'] | null {
    return this.current?.policy.contract ?? null;
  }

  /** Logits of the model running now, for one observation. */
  async run(obs: Float32Array): Promise<Float32Array> {
    const slot = this.current;
    if (!slot) throw new PolicyModelError(`no policy model loaded from ${this.modelPath}`);
    slot.inFlight++;
    try {
      return (await slot.policy.run(obs, 1)).logits;
    } finally {
      slot.inFlight--;
      this.releaseIfIdle(slot);
    }
  }

  /** Watches the file's folder (atomic replacement — write + rename — changes the file's inode). */
  watch(debounceMs: number): void {
    const file = basename(this.modelPath);
    try {
      this.watcher = watch(dirname(this.modelPath), (_event, filename) => {
        if (this.closed || (filename !== null && filename !== file)) return;
        if (this.debounce !== null) this.clock.clearTimeout(this.debounce);
        this.debounce = this.clock.setTimeout(() => {
          this.debounce = null;
          void this.reload();
        }, debounceMs);
      });
      this.watcher.on('error', (error) => this.recordError(new Error(`watching ${this.modelPath} failed: ${error.message}`)));
    } catch (error) {
      this.recordError(new Error(`watching ${this.modelPath} failed: ${(error as Error).message}`));
    }
  }

  /** One reload at a time; a change during a reload triggers one more afterwards. */
  reload(): Promise<boolean> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      let swapped = false;
      do {
        this.reloadAgain = false;
        try {
          swapped = (await this.loadOnce()) || swapped;
        } catch (error) {
          this.recordError(error);
        }
        this.onReload?.(this.snapshot());
      } while (this.reloadAgain && !this.closed);
      this.reloading = null;
      return swapped;
    })();
    return this.reloading;
  }

  snapshot(): PolicyStatus {
    return { ...this.status, actions: [...this.status.actions] };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.debounce !== null) this.clock.clearTimeout(this.debounce);
    this.debounce = null;
    if (this.reloading) await this.reloading;
    if (this.current) this.retire(this.current);
  }

  private async loadOnce(): Promise<boolean> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.modelPath);
    } catch (error) {
      throw new PolicyModelError(`cannot read policy model ${this.modelPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha === this.currentSha) {
      // the file is (again) the running model: nothing to swap, and nothing wrong any more
      this.status.lastError = null;
      this.status.lastErrorAt = null;
      return false;
    }
    const policy = await OnnxPolicy.fromBytes(bytes, this.loadOptions);
    if (this.closed) {
      await policy.release();
      return false;
    }
    const previous = this.current;
    this.current = { policy, inFlight: 0, retired: false };
    this.currentSha = sha;
    Object.assign(this.status, {
      loadedAt: this.clock.now(),
      version: policy.contract.version,
      obsVersion: policy.contract.obsVersion,
      actions: [...policy.contract.actions],
      lastError: null,
      lastErrorAt: null,
      loads: this.status.loads + 1,
    });
    if (previous) this.retire(previous);
    return true;
  }

  private retire(slot: ModelSlot): void {
    slot.retired = true;
    this.releaseIfIdle(slot);
  }

  private releaseIfIdle(slot: ModelSlot): void {
    if (slot.retired && slot.inFlight === 0) void slot.policy.release();
  }

  private recordError(error: unknown): void {
    this.status.lastError = error instanceof Error ? error.message : String(error);
    this.status.lastErrorAt = this.clock.now();
  }
}

/** Our live orders (cancel pending left out), the placement times we saw, and the features they set. */
function observeOwnOrders(state: MarketState, view: MarketView): OwnOrder[] {
  let openBid = 0;
  let openAsk = ONE_DOLLAR;
  let lastPlaced = Number.NaN;
  const live: OwnOrder[] = [];
  const seen = new Set<string>();
  for (const o of view.openOrders) {
    seen.add(o.clientOrderId);
    if (!state.firstSeen.has(o.clientOrderId)) state.firstSeen.set(o.clientOrderId, view.nowMs);
    if (o.cancelPending) continue;
    live.push(o);
    if (o.side === 'bid' && o.price > openBid) openBid = o.price;
    if (o.side === 'ask' && o.price < openAsk) openAsk = o.price;
    const placed = state.firstSeen.get(o.clientOrderId)!;
    if (Number.isNaN(lastPlaced) || placed > lastPlaced) lastPlaced = placed;
  }
  for (const id of state.firstSeen.keys()) if (!seen.has(id)) state.firstSeen.delete(id);
  state.features.openBidPrice = openBid;
  state.features.openAskPrice = openAsk === ONE_DOLLAR ? 0 : openAsk;
  state.features.lastOrderMs = lastPlaced;
  return live;
}

/** The action's size, capped: sells at the position held, buys at the position limit. */
function cappedCount(base: number, size: Count, position: Count, maxPosition: Count): Count {
  switch (base) {
    case BUY_YES:
      return Math.min(size, maxPosition - position);
    case SELL_YES:
      return Math.min(size, Math.max(0, position));
    case BUY_NO:
      return Math.min(size, maxPosition + position);
    case SELL_NO:
      return Math.min(size, Math.max(0, -position));
    default:
      return 0;
  }
}

/**
 * Action → orders (the mapping in this module's header): a take walks the book as it is now, a
 * join re-quotes at the best bids the policy saw (`yesBid`, `noBid`).
 */
function ordersForAction(
  decoded: ReturnType<typeof decodeAction>,
  view: MarketView,
  book: FeatureBook,
  seen: { yesBid: Price | null; noBid: Price | null; live: readonly OwnOrder[] },
  maxPosition: Count,
): Decision[] {
  if (decoded.base === HOLD) return [];
  const count = cappedCount(decoded.base, decoded.size, view.position, maxPosition);
  if (count <= 0) return [];
  const yesLegBid = decoded.base === BUY_YES || decoded.base === SELL_NO;
  const side = yesLegBid ? 'bid' : 'ask';
  if (decoded.style === 'take') {
    // a YES-leg bid takes NO bids (YES asks at $1 − n); an ask takes YES bids
    const limit = walkLimit(book.depth(yesLegBid ? 'no' : 'yes'), count);
    if (limit === null) return [];
    const price = yesLegBid ? ONE_DOLLAR - limit : limit;
    return [{ kind: 'place', intent: { ticker: view.ticker, side, price, count, timeInForce: 'immediate_or_cancel' } }];
  }
  const { yesBid, noBid } = seen;
  const price = yesLegBid ? yesBid : noBid === null ? null : ONE_DOLLAR - noBid;
  if (price === null) return [];
  const sameSide = seen.live.filter((o) => o.side === side);
  if (sameSide.length === 1 && sameSide[0].price === price) return [];
  const decisions: Decision[] = sameSide.map((o) => ({ kind: 'cancel', clientOrderId: o.clientOrderId, reason: `policy re-quotes ${side} at ${price}` }));
  decisions.push({ kind: 'place', intent: { ticker: view.ticker, side, price, count, timeInForce: 'good_till_canceled', postOnly: true } });
  return decisions;
}

export function createOnnxStrategy(path: string, rawOptions: OnnxStrategyOptions = {}): OnnxStrategy {
  const { account, clock: givenClock, onReload, ...configInput } = rawOptions;
  const parsed = onnxStrategyOptionsSchema.safeParse(configInput);
  if (!parsed.success) {
    throw new Error(`onnx strategy options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const config = parsed.data;
  const modelPath = resolve(path);
  const model = new HotReloadedPolicy(modelPath, { defaultSizes: config.defaultSizes, source: modelPath }, givenClock ?? systemClock, onReload);
  if (config.watch) model.watch(config.debounceMs);
  const markets = new Map<string, MarketState>();
  const obs = new Float32Array(FEATURE_COUNT);

  const marketState = (ticker: string): MarketState => {
    let state = markets.get(ticker);
    if (!state) {
      state = { features: new FeatureState(), lastObs: null, firstSeen: new Map() };
      markets.set(ticker, state);
    }
    return state;
  };

  const decide = async (view: MarketView): Promise<Decision[]> => {
    const contract = model.contract;
    if (!contract || view.book === null) return [];
    const book = featureBookOf(view.book);
    const state = marketState(view.ticker);
    const f = state.features;
    f.observe(book, view.nowMs);
    // account and own orders, set exactly as the environment sets them
    const acct = account?.(view.ticker);
    f.position = view.position;
    // The policy manages a per-market budget of `startingCash`, as in training: handing it the
    // account's whole balance ($10,000 on the simulator vs $100 in the environment) would put the
    // portfolio ratio features (36–46) on a scale it never saw.
    f.cash = acct ? Math.min(acct.cash, config.startingCash) : config.startingCash;
    f.costBasis = acct ? acct.costBasis : f.positionValue();
    const live = observeOwnOrders(state, view);
    writeFeatures(book, f, view.nowMs, obs);
    state.lastObs = Float32Array.from(obs);
    const yesBid = book.bestYesBid();
    const noBid = book.bestNoBid();
    const mask = actionMask(contract.actionSpace, { bookValid: true, yesBid, noBid, position: view.position, cash: f.cash, maxPosition: config.maxPosition });
    const action = greedyAction(await model.run(obs), mask);
    return ordersForAction(decodeAction(contract.actionSpace, action), view, book, { yesBid, noBid, live }, config.maxPosition);
  };

  return {
    name: 'onnx',
    needsBook: true,
    decide,
    status: () => model.snapshot(),
    observation: (ticker) => {
      const o = markets.get(ticker)?.lastObs;
      return o ? Float32Array.from(o) : null;
    },
    ready: () => model.ready,
    reload: () => model.reload(),
    close: () => model.close(),
  };
}

/** Creates the strategy and waits for its first model (rejects with PolicyModelError, watcher closed, if refused). */
export async function loadOnnxStrategy(path: string, options: OnnxStrategyOptions = {}): Promise<OnnxStrategy> {
  const strategy = createOnnxStrategy(path, options);
  try {
    await strategy.ready();
  } catch (error) {
    await strategy.close();
    throw error;
  }
  return strategy;
}

/** Factory for `createStrategy('onnx:<path>', options, { onnx: onnxStrategyFactory })`. */
export function onnxStrategyFactory(argument: string, options: unknown): Strategy {
  if (argument.trim() === '') throw new Error('onnx strategy needs a model path: onnx:<path>');
  return createOnnxStrategy(argument.trim(), (options ?? {}) as OnnxStrategyOptions);
}
