/**
 * The orderbook health watcher: the coordinator invokes it as `watchOrderbookHealth` while the
 * orderbook region is `normal` (coordinator.machine.ts); src/actors/coordinator.actors.ts builds
 * it with `orderbookActivityWatcher(source)`, which supplies the one provided action.
 *
 *   flowing ──checkEvery, silent ≥ silenceMs──► silent   (ORDERBOOK_DOWN to the parent)
 *   silent  ──checkEvery, activity again─────► flowing  (ORDERBOOK_UP to the parent)
 *
 * Health is activity (any message or heartbeat on the stream), never snapshot age: Kalshi sends
 * snapshots only on (re)subscribe, and the original flipped to ERROR 90 s after start because of
 * that. The window starts when the watcher starts, so a stream that has not spoken yet gets a full
 * window. Each look is the named delay `checkEvery` (a fifth of the window unless configured), so
 * the watcher runs on its actor system's clock. `measureSilence` (provided) reads the stream's
 * last activity into context; the guards and messages are pure.
 */
import { assign, not, sendParent, setup } from 'xstate';
import type { Clock } from '../core/clock.ts';
import { formatDuration } from './coordinator.status.ts';
import type { WatchOrderbookHealthInput } from './coordinator.types.ts';

export interface OrderbookHealthContext {
  silenceMs: number;
  checkEveryMs: number;
  /** Clock time the watcher started (the window's earliest start); set by `measureSilence`. */
  startedAtMs: number | null;
  /** How long the stream has been silent, as of the last look. */
  silentForMs: number;
}

export interface OrderbookHealthInput extends WatchOrderbookHealthInput {
  /** How often to look (default: a fifth of the silence window). */
  checkEveryMs?: number;
}

export const orderbookHealthMachine = setup({
  types: {} as { context: OrderbookHealthContext; input: OrderbookHealthInput },
  actions: {
    measureSilence: () => {
      throw new Error('orderbook health action "measureSilence" not provided: build the watcher with orderbookActivityWatcher(source)');
    },
    reportDown: sendParent(({ context }) => ({
      type: 'ORDERBOOK_DOWN' as const,
      reason: `no message for ${formatDuration(context.silentForMs)}`,
      silentForMs: context.silentForMs,
    })),
    reportUp: sendParent({ type: 'ORDERBOOK_UP', reason: 'messages flowing again' }),
  },
  guards: {
    silent: ({ context }) => context.silentForMs >= context.silenceMs,
  },
  delays: {
    checkEvery: ({ context }) => context.checkEveryMs,
  },
}).createMachine({
  id: 'orderbookHealth',
  context: ({ input }) => ({
    silenceMs: input.silenceMs,
    checkEveryMs: Math.max(1, input.checkEveryMs ?? Math.floor(input.silenceMs / 5)),
    startedAtMs: null,
    silentForMs: 0,
  }),
  entry: 'measureSilence',
  initial: 'flowing',
  states: {
    flowing: {
      after: { checkEvery: { target: 'flowing', reenter: true, actions: 'measureSilence' } },
      always: { guard: 'silent', target: 'silent', actions: 'reportDown' },
    },
    silent: {
      after: { checkEvery: { target: 'silent', reenter: true, actions: 'measureSilence' } },
      always: { guard: not('silent'), target: 'flowing', actions: 'reportUp' },
    },
  },
});

export interface ActivitySource {
  clock: Clock;
  /** Clock time of the last message or heartbeat of ANY kind on the stream; null if none yet. */
  lastActivityAtMs(): number | null;
  /** How often to look (default: a fifth of the silence window). */
  checkEveryMs?: number;
}

/** A `watchOrderbookHealth` implementation reading `source`: ORDERBOOK_DOWN on silence, ORDERBOOK_UP when activity resumes. */
export function orderbookActivityWatcher(source: ActivitySource) {
  return orderbookHealthMachine.provide({
    actions: {
      measureSilence: assign(({ context }) => {
        const now = source.clock.now();
        const startedAtMs = context.startedAtMs ?? now;
        const last = Math.max(source.lastActivityAtMs() ?? startedAtMs, startedAtMs);
        return {
          startedAtMs,
          silentForMs: now - last,
          ...(source.checkEveryMs !== undefined ? { checkEveryMs: Math.max(1, source.checkEveryMs) } : {}),
        };
      }),
    },
  });
}
