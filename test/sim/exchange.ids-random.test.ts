import { describe, expect, it } from 'vitest';
import { ExchangeIds, IdGenerator, ID_KIND } from '../../src/sim/ids.ts';
import { Rng } from '../../src/core/random.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('Rng', () => {
  it('replays the same stream for the same seed and differs for another seed', () => {
    const a = new Rng(123);
    const b = new Rng(123);
    const c = new Rng(124);
    const xs = Array.from({ length: 50 }, () => a.next());
    expect(Array.from({ length: 50 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 50 }, () => c.next())).not.toEqual(xs);
  });

  it('draws uniform floats in [0,1) and integers within inclusive bounds', () => {
    const r = new Rng(7);
    const seen = new Set<number>();
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < 20_000; i++) {
      const x = r.next();
      min = Math.min(min, x);
      max = Math.max(max, x);
      sum += x;
      seen.add(r.int(-2, 2));
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(seen).toEqual(new Set([-2, -1, 0, 1, 2]));
    expect(sum / 20_000).toBeCloseTo(0.5, 1);
    expect(() => r.int(3, 2)).toThrow(RangeError);
  });

  it('draws standard normals and picks elements', () => {
    const r = new Rng(99);
    const n = 20_000;
    const xs = Array.from({ length: n }, () => r.normal());
    const mean = xs.reduce((s, x) => s + x, 0) / n;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
    expect(mean).toBeCloseTo(0, 1);
    expect(variance).toBeCloseTo(1, 1);
    const items = ['a', 'b', 'c'];
    const picked = new Set(Array.from({ length: 100 }, () => r.pick(items)));
    expect(picked).toEqual(new Set(items));
    expect(() => r.pick([])).toThrow(RangeError);
  });
});

describe('ids', () => {
  it('are UUID-shaped, unique per generator and distinct across kinds', () => {
    const ids = new ExchangeIds(5);
    const all = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      for (const id of [ids.order.next(), ids.fill.next(), ids.trade.next()]) {
        expect(id).toMatch(UUID);
        all.add(id);
      }
    }
    expect(all.size).toBe(15_000);
  });

  it('are deterministic for a seed', () => {
    const a = new IdGenerator(11, ID_KIND.order);
    const b = new IdGenerator(11, ID_KIND.order);
    const c = new IdGenerator(12, ID_KIND.order);
    const xs = [a.next(), a.next(), a.next()];
    expect([b.next(), b.next(), b.next()]).toEqual(xs);
    expect(c.next()).not.toBe(xs[0]);
    expect(a.issued).toBe(3);
  });
});
