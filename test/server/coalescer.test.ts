import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { Coalescer } from '../../src/server/coalescer.ts';

function setup(intervalMs = 250) {
  const clock = new VirtualClock(0);
  const sent: Array<{ at: number; key: string; value: number }> = [];
  const c = new Coalescer<number>(clock, intervalMs, (key, value) => sent.push({ at: clock.now(), key, value }));
  return { clock, sent, c };
}

describe('Coalescer', () => {
  it('sends the first value at once and the latest of a burst when the interval has passed', () => {
    const { clock, sent, c } = setup();
    for (let i = 1; i <= 100; i++) c.offer('A', i);
    expect(sent).toEqual([{ at: 0, key: 'A', value: 1 }]);
    expect(c.replaced).toBe(98);
    clock.advance(249);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    expect(sent).toEqual([{ at: 0, key: 'A', value: 1 }, { at: 250, key: 'A', value: 100 }]);
    clock.advance(10_000);
    expect(sent).toHaveLength(2);
    expect(clock.pending).toBe(0);
  });

  it('limits each key separately with one timer', () => {
    const { clock, sent, c } = setup();
    c.offer('A', 1);
    clock.advance(100);
    c.offer('B', 1);
    c.offer('A', 2);
    c.offer('B', 2);
    expect(clock.pending).toBe(1);
    clock.advance(150); // t=250: A due
    expect(sent.map((s) => `${s.at}:${s.key}=${s.value}`)).toEqual(['0:A=1', '100:B=1', '250:A=2']);
    clock.advance(100); // t=350: B due
    expect(sent.map((s) => `${s.at}:${s.key}=${s.value}`)).toEqual(['0:A=1', '100:B=1', '250:A=2', '350:B=2']);
  });

  it('never sends a key more often than the interval under a steady stream', () => {
    const { clock, sent, c } = setup();
    for (let t = 0; t < 2_000; t++) {
      c.offer('A', t);
      clock.advance(1);
    }
    clock.advance(250);
    for (let i = 1; i < sent.length; i++) expect(sent[i].at - sent[i - 1].at).toBeGreaterThanOrEqual(250);
    expect(sent.length).toBeLessThanOrEqual(9);
    expect(sent.at(-1)!.value).toBe(1_999);
  });

  it('sends nothing after clear, and forgets keys', () => {
    const { clock, sent, c } = setup();
    c.offer('A', 1);
    c.offer('A', 2);
    c.clear();
    clock.advance(1_000);
    expect(sent).toHaveLength(1);
    c.offer('B', 1);
    c.offer('B', 2);
    c.forget('B');
    clock.advance(1_000);
    expect(sent.map((s) => s.value)).toEqual([1, 1]);
    c.offer('B', 3); // forgotten: goes out at once
    expect(sent.map((s) => s.value)).toEqual([1, 1, 3]);
  });
});
