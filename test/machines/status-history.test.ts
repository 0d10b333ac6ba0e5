/** StatusHistory (bounded, newest first), the copy-paste line format, observeTransitions, and StateVisits. */
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup } from 'xstate';
import { VirtualClock } from '../../src/core/clock.ts';
import { StateVisits, StatusHistory, formatStatusLine, observeTransitions, topLevelState } from '../../src/machines/status-history.ts';
import { coordinatorVisitLabels } from '../../src/machines/coordinator.status.ts';

const T0 = Date.UTC(2026, 2, 14, 15, 45, 2);

describe('formatStatusLine', () => {
  it('HH:MM:SS [from → to] message (1.2s), UTC, one line', () => {
    expect(
      formatStatusLine({ atMs: T0, from: 'kalshi_data_sync', to: 'ready', reason: 'System ready', metadata: {}, durationMs: 1_234 }),
    ).toBe('15:45:02 [kalshi_data_sync → ready] System ready (1.2s)');
    expect(formatStatusLine({ atMs: T0, from: 'a', to: 'b', reason: 'two\n  lines', metadata: {}, durationMs: 65_000 })).toBe(
      '15:45:02 [a → b] two lines (65.0s)',
    );
  });
});

describe('StatusHistory', () => {
  it('keeps the last `limit` records, newest first, and renders the log newest first', () => {
    const history = new StatusHistory(3);
    for (let i = 0; i < 5; i++) {
      history.record({ atMs: T0 + i * 1_000, from: `s${i}`, to: `s${i + 1}`, reason: `step ${i}`, metadata: { i }, durationMs: 500 });
    }
    expect(history.size).toBe(3);
    expect(history.recent().map((r) => r.reason)).toEqual(['step 4', 'step 3', 'step 2']);
    expect(history.recent(1)[0].metadata).toEqual({ i: 4 });
    expect(history.statusLog()).toBe(
      ['15:45:06 [s4 → s5] step 4 (0.5s)', '15:45:05 [s3 → s4] step 3 (0.5s)', '15:45:04 [s2 → s3] step 2 (0.5s)'].join('\n'),
    );
  });

  it('copies records so later mutation by the caller does not change history', () => {
    const history = new StatusHistory();
    const metadata: Record<string, unknown> = { a: 1 };
    history.record({ atMs: T0, from: 'a', to: 'b', reason: 'r', metadata, durationMs: 0 });
    metadata.a = 2;
    expect(history.recent()[0].metadata).toEqual({ a: 1 });
  });

  it('rejects a nonsensical limit', () => {
    expect(() => new StatusHistory(0)).toThrow(RangeError);
  });
});

describe('observeTransitions', () => {
  const machine = setup({
    types: {} as {
      context: { lastTransition: { reason: string; metadata: Record<string, unknown> } };
      events: { type: 'GO'; why: string } | { type: 'INNER' };
    },
  }).createMachine({
    context: { lastTransition: { reason: 'created', metadata: {} } },
    initial: 'first',
    states: {
      first: {
        on: { GO: { target: 'second', actions: assign(({ event }) => ({ lastTransition: { reason: event.why, metadata: { n: 1 } } })) } },
      },
      second: {
        initial: 'a',
        states: { a: { on: { INNER: 'b' } }, b: {} },
        on: { GO: { target: 'first', actions: assign(({ event }) => ({ lastTransition: { reason: event.why, metadata: {} } })) } },
      },
    },
  });

  it('records each top-level state change with its reason and the time spent in the old state', () => {
    const clock = new VirtualClock(T0);
    const actor = createActor(machine, { clock });
    const history = new StatusHistory();
    const stop = observeTransitions(actor, history, clock);
    actor.start();
    clock.advance(1_500);
    actor.send({ type: 'GO', why: 'went to second' });
    clock.advance(200);
    actor.send({ type: 'INNER' }); // not top-level: not recorded
    clock.advance(300);
    actor.send({ type: 'GO', why: 'back to first' });
    expect(history.recent()).toEqual([
      { atMs: T0 + 2_000, from: 'second', to: 'first', reason: 'back to first', metadata: {}, durationMs: 500 },
      { atMs: T0 + 1_500, from: 'first', to: 'second', reason: 'went to second', metadata: { n: 1 }, durationMs: 1_500 },
    ]);
    stop();
    actor.send({ type: 'GO', why: 'unobserved' });
    expect(history.size).toBe(2);
    actor.stop();
  });

  it('accepts a custom label (e.g. the coordinator status label)', () => {
    const clock = new VirtualClock(T0);
    const actor = createActor(machine, { clock });
    const history = new StatusHistory();
    observeTransitions(actor, history, clock, { label: (s) => JSON.stringify(s.value) });
    actor.start();
    actor.send({ type: 'GO', why: 'x' });
    actor.send({ type: 'INNER' });
    expect(history.recent().map((r) => r.to)).toEqual(['{"second":"b"}', '{"second":"a"}']);
    actor.stop();
  });

  it('topLevelState reads string and nested values', () => {
    expect(topLevelState('ready')).toBe('ready');
    expect(topLevelState({ ready: { sync: 'waiting' } })).toBe('ready');
  });
});

describe('StateVisits', () => {
  it('counts every coordinator state entered while degraded, and degraded once for the whole period', () => {
    // the exchange-outage sequence: ready → ready (degraded) → error (degraded) → kalshi_data_sync (degraded) → … → ready
    const visits = new StateVisits();
    const steps: Array<[number, string, boolean]> = [
      [0, 'ready', false],
      [40_000, 'ready', true],
      [73_000, 'error', true],
      [74_000, 'kalshi_data_sync', true],
      [75_000, 'error', true],
      [77_000, 'kalshi_data_sync', true],
      [78_000, 'ready', true],
      [120_000, 'ready', false],
    ];
    for (const [at, state, degraded] of steps) visits.update(coordinatorVisitLabels({ state, degraded }), at);
    visits.settle(200_000);
    expect(Object.fromEntries(visits.visited)).toEqual({
      ready: { entries: 2, totalMs: 73_000 + 122_000 },
      degraded: { entries: 1, totalMs: 80_000 },
      error: { entries: 2, totalMs: 1_000 + 2_000 },
      kalshi_data_sync: { entries: 2, totalMs: 1_000 + 1_000 },
    });
  });

  it('settle() adds the time so far without counting a new entry', () => {
    const visits = new StateVisits();
    visits.update(['ready'], 0);
    visits.settle(10);
    visits.settle(25);
    visits.update(['ready'], 30);
    visits.update(['error'], 40);
    expect(Object.fromEntries(visits.visited)).toEqual({ ready: { entries: 1, totalMs: 40 }, error: { entries: 1, totalMs: 0 } });
  });
});
