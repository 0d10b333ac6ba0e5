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

  it('forgets keys whose interval has passed (every order ever placed), keeping the rate limit of recent ones', () => {
    const { clock, sent, c } = setup(250);
    // 20,000 orders, one new key per ms, each sent once (its closing update)
    for (let i = 0; i < 20_000; i++) {
      c.offer(`order-${i}`, i);
      clock.advance(1);
    }
    expect(sent).toHaveLength(20_000);
    // only about the last interval's keys are remembered, not all 20,000
    expect(c.trackedCount).toBeLessThanOrEqual(2 * 256 + 250);
    // a recent key is still limited: its next value waits for the interval
    c.offer('order-19999', -1);
    expect(sent).toHaveLength(20_000);
    clock.advance(250);
    expect(sent.at(-1)).toEqual({ at: 19_999 + 250, key: 'order-19999', value: -1 });
    // a forgotten key behaves as it did before: its interval has passed, so it goes out at once
    c.offer('order-0', -2);
    expect(sent.at(-1)).toEqual({ at: clock.now(), key: 'order-0', value: -2 });
  });
});
