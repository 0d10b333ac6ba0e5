/**
 * Deterministic identifiers for the simulator's orders, fills and trades. Kalshi's ids are
 * UUID-shaped strings; ours have the same shape (version nibble 4, RFC 4122 variant) so client code
 * that validates them accepts ours, but they are a seeded prefix plus a counter: the same seed and
 * the same inputs give the same ids, and the counter in the last group makes every id of one
 * generator unique (random bits alone would only make collisions unlikely).
 */
import { Rng } from '../core/random.ts';

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, '0');
}

/** Kind tags keep the streams of one exchange apart: an order id can never equal a fill id. */
export const ID_KIND = { order: 0x0a1, fill: 0x0f1, trade: 0x7d1, orderGroup: 0x091 } as const;
export type IdKind = keyof typeof ID_KIND;

export class IdGenerator {
  private readonly prefix: string;
  private counter = 0;

  /** @param kindTag 12-bit tag written into the fourth group (see ID_KIND). */
  constructor(seed: number, kindTag: number) {
    if (!Number.isInteger(kindTag) || kindTag < 0 || kindTag > 0xfff) {
      throw new RangeError(`id kind tag must be a 12-bit integer, got ${kindTag}`);
    }
    const rng = new Rng((seed ^ Math.imul(kindTag, 0x9e3779b1)) | 0);
    const r1 = rng.nextUint32();
    const r2 = rng.nextUint32();
    // The random part is drawn once per generator: an id is then a shared prefix plus a counter,
    // which keeps the millions of ids a long simulation retains small (no per-id string pieces).
    this.prefix = `${hex(r1, 8)}-${hex(r2 >>> 16, 4)}-4${hex(r2 & 0xfff, 3)}-a${hex(kindTag, 3)}-`;
  }

  /** How many ids this generator has issued. */
  get issued(): number {
    return this.counter;
  }

  next(): string {
    // 48-bit counter in the last group: unique for 2.8e14 ids per generator
    return this.prefix + hex(++this.counter, 12);
  }
}

/** One id stream per kind, all derived from one seed. */
export class ExchangeIds {
  readonly order: IdGenerator;
  readonly fill: IdGenerator;
  readonly trade: IdGenerator;
  readonly orderGroup: IdGenerator;

  constructor(seed: number) {
    this.orderGroup = new IdGenerator(seed, ID_KIND.orderGroup);
    this.order = new IdGenerator(seed, ID_KIND.order);
    this.fill = new IdGenerator(seed, ID_KIND.fill);
    this.trade = new IdGenerator(seed, ID_KIND.trade);
  }
}
