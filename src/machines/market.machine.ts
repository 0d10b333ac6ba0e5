/**
 * The market subscription statechart: one actor per ticker, owned by the MarketRegistry
 * (src/actors/market-registry.ts), which keeps them as root actors and owns the order books.
 *
 *   idle → subscribing → awaiting_snapshot → live ⇄ stale → resyncing → live
 *   any ──MARKET_SETTLED | UNSUBSCRIBE──► closed (final)      any ──RESUBSCRIBE──► subscribing
 *
 * The machine tracks what is KNOWN about the book, not the book itself: copying a book through
 * `assign` per delta is far too slow, so the registry applies deltas directly while the market is
 * live or stale and sends this machine only lifecycle events (SUBSCRIBED, SNAPSHOT, GAP, a DELTA
 * that arrived before any snapshot) plus MESSAGE activity throttled to one per
 * `activityResolutionMs`. A delta before the snapshot → `resyncing` (book state: a delta is never
 * applied to a book of unknown state); so does a GAP, which the WS client reports (it alone owns
 * the per-sid sequence). `resyncing`
 * asks for a fresh snapshot through the named action `requestSnapshot` (supplied by the registry
 * via `.provide({ actions })`) and asks again every `resyncTimeoutMs` until one arrives.
 */
import { assign, setup } from 'xstate';

export type MarketStateName = 'idle' | 'subscribing' | 'awaiting_snapshot' | 'live' | 'stale' | 'resyncing' | 'closed';

export interface MarketTimings {
  /** Waiting for the subscription ack before asking for a snapshot directly. */
  subscribeTimeoutMs: number;
  /** Waiting for the first snapshot after the ack. */
  snapshotTimeoutMs: number;
  /** No message for this long → stale (book still valid, but nothing confirms it). */
  staleAfterMs: number;
  /** The registry forwards at most one MESSAGE per this period; added to the stale window. */
  activityResolutionMs: number;
  /** Silent this long in stale → verify the book with a fresh snapshot. */
  staleResyncAfterMs: number;
  /** A requested snapshot that has not arrived after this long is requested again. */
  resyncTimeoutMs: number;
}

export const DEFAULT_MARKET_TIMINGS: MarketTimings = {
  subscribeTimeoutMs: 10_000,
  snapshotTimeoutMs: 10_000,
  staleAfterMs: 30_000,
  activityResolutionMs: 1_000,
  staleResyncAfterMs: 120_000,
  resyncTimeoutMs: 10_000,
};

export interface MarketInput {
  ticker: string;
  timings?: Partial<MarketTimings>;
}

export interface MarketContext {
  ticker: string;
  timings: MarketTimings;
  /** Subscription id the book's sequence belongs to. */
  sid: number | null;
  /** Seq of the snapshot the book was last rebuilt from. */
  snapshotSeq: number | null;
  snapshots: number;
  gaps: number;
  /** Snapshot requests made (each entry into resyncing). */
  resyncRequests: number;
  lastTransition: { reason: string; metadata: Record<string, unknown> };
}

export type MarketEvent =
  | { type: 'SUBSCRIBE' }
  | { type: 'SUBSCRIBED'; sid: number }
  | { type: 'SNAPSHOT'; seq: number; sid?: number }
  | { type: 'DELTA'; seq: number }
  | { type: 'GAP'; reason: string }
  | { type: 'MESSAGE' }
  /** The connection was lost or replaced: every book is unknown until resubscribed. */
  | { type: 'RESUBSCRIBE'; reason?: string }
  | { type: 'MARKET_SETTLED' }
  | { type: 'UNSUBSCRIBE' };

function note(reason: string, metadata: Record<string, unknown> = {}) {
  return { lastTransition: { reason, metadata } };
}

export const marketMachine = setup({
  types: {} as {
    context: MarketContext;
    events: MarketEvent;
    input: MarketInput;
  },
  actions: {
    requestSnapshot: () => {
      throw new Error('market action "requestSnapshot" not provided: supply it with marketMachine.provide({ actions })');
    },
    countResync: assign(({ context }) => ({ resyncRequests: context.resyncRequests + 1 })),
    recordSubscribed: assign(({ event }) => (event.type === 'SUBSCRIBED' ? { sid: event.sid, ...note(`subscribed (sid ${event.sid})`) } : {})),
    recordSnapshot: assign(({ context, event }) => {
      if (event.type !== 'SNAPSHOT') return {};
      return {
        sid: event.sid ?? context.sid,
        snapshotSeq: event.seq,
        snapshots: context.snapshots + 1,
        ...note(`snapshot seq ${event.seq}`),
      };
    }),
    recordGap: assign(({ context, event }) => ({
      gaps: context.gaps + 1,
      ...note(event.type === 'GAP' ? `gap: ${event.reason}` : `delta seq ${event.type === 'DELTA' ? event.seq : '?'} before any snapshot`),
    })),
    note: assign((_, params: { reason: string }) => note(params.reason)),
  },
  delays: {
    subscribeTimeout: ({ context }) => context.timings.subscribeTimeoutMs,
    snapshotTimeout: ({ context }) => context.timings.snapshotTimeoutMs,
    staleAfter: ({ context }) => context.timings.staleAfterMs + context.timings.activityResolutionMs,
    staleResyncAfter: ({ context }) => context.timings.staleResyncAfterMs,
    resyncTimeout: ({ context }) => context.timings.resyncTimeoutMs,
  },
}).createMachine({
  id: 'market',
  context: ({ input }) => ({
    ticker: input.ticker,
    timings: { ...DEFAULT_MARKET_TIMINGS, ...input.timings },
    sid: null,
    snapshotSeq: null,
    snapshots: 0,
    gaps: 0,
    resyncRequests: 0,
    lastTransition: { reason: 'created', metadata: {} },
  }),
  initial: 'idle',
  on: {
    MARKET_SETTLED: { target: '.closed', actions: { type: 'note', params: { reason: 'market settled' } } },
    UNSUBSCRIBE: { target: '.closed', actions: { type: 'note', params: { reason: 'unsubscribed' } } },
    RESUBSCRIBE: {
      target: '.subscribing',
      actions: { type: 'note', params: ({ event }) => ({ reason: `resubscribing: ${event.reason ?? 'connection replaced'}` }) },
    },
  },
  states: {
    idle: {
      on: { SUBSCRIBE: { target: 'subscribing', actions: { type: 'note', params: { reason: 'subscribe requested' } } } },
    },
    subscribing: {
      on: {
        SUBSCRIBED: { target: 'awaiting_snapshot', actions: 'recordSubscribed' },
        // Kalshi acks before the snapshot, but a snapshot alone fully defines the book.
        SNAPSHOT: { target: 'live', actions: 'recordSnapshot' },
        DELTA: { target: 'resyncing', actions: 'recordGap' },
      },
      after: {
        subscribeTimeout: {
          target: 'resyncing',
          actions: { type: 'note', params: ({ context }) => ({ reason: `no subscription ack after ${context.timings.subscribeTimeoutMs}ms` }) },
        },
      },
    },
    awaiting_snapshot: {
      on: {
        SNAPSHOT: { target: 'live', actions: 'recordSnapshot' },
        DELTA: { target: 'resyncing', actions: 'recordGap' },
        GAP: { target: 'resyncing', actions: 'recordGap' },
      },
      after: {
        snapshotTimeout: {
          target: 'resyncing',
          actions: { type: 'note', params: ({ context }) => ({ reason: `no snapshot after ${context.timings.snapshotTimeoutMs}ms` }) },
        },
      },
    },
    live: {
      on: {
        // Re-entering restarts the stale timer: activity proves the stream is alive.
        MESSAGE: { target: 'live', reenter: true },
        DELTA: { target: 'live', reenter: true },
        SNAPSHOT: { target: 'live', reenter: true, actions: 'recordSnapshot' },
        GAP: { target: 'resyncing', actions: 'recordGap' },
      },
      after: {
        staleAfter: {
          target: 'stale',
          actions: { type: 'note', params: ({ context }) => ({ reason: `no message for ${context.timings.staleAfterMs}ms` }) },
        },
      },
    },
    stale: {
      on: {
        MESSAGE: { target: 'live', actions: { type: 'note', params: { reason: 'activity resumed' } } },
        DELTA: { target: 'live', actions: { type: 'note', params: { reason: 'activity resumed' } } },
        SNAPSHOT: { target: 'live', actions: 'recordSnapshot' },
        GAP: { target: 'resyncing', actions: 'recordGap' },
      },
      after: {
        staleResyncAfter: {
          target: 'resyncing',
          actions: { type: 'note', params: ({ context }) => ({ reason: `silent for ${context.timings.staleResyncAfterMs}ms: verifying with a snapshot` }) },
        },
      },
    },
    resyncing: {
      entry: ['countResync', 'requestSnapshot'],
      on: { SNAPSHOT: { target: 'live', actions: 'recordSnapshot' } },
      after: {
        resyncTimeout: {
          target: 'resyncing',
          reenter: true,
          actions: { type: 'note', params: ({ context }) => ({ reason: `snapshot not received after ${context.timings.resyncTimeoutMs}ms: asking again` }) },
        },
      },
    },
    closed: { type: 'final' },
  },
});

export type MarketMachine = typeof marketMachine;
