/**
 * The market subscription chart and the MarketRegistry that drives it: lifecycle, gaps and
 * resyncs, deltas before snapshots, staleness on a virtual clock, settlement, and 1,000 markets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { VirtualClock } from '../../src/core/clock.ts';
import { MarketRegistry } from '../../src/actors/market-registry.ts';
import type { BookUpdate } from '../../src/actors/market-registry.ts';
import { DEFAULT_MARKET_TIMINGS, marketMachine } from '../../src/machines/market.machine.ts';

const YES: [number, number][] = [
  [4_000, 10_000],
  [3_900, 5_000],
];
const NO: [number, number][] = [[5_500, 2_000]];

function setupRegistry() {
  const clock = new VirtualClock(0);
  const requested: string[] = [];
  const registry = new MarketRegistry({ clock, requestSnapshot: (t) => requested.push(t) });
  const updates: BookUpdate[] = [];
  registry.onBookUpdate((u) => updates.push(u));
  return { clock, requested, registry, updates };
}

let current: MarketRegistry | null = null;
afterEach(() => {
  current?.stopAll();
  current = null;
});

function live(ticker = 'KXA-1', sid = 1, seq = 1) {
  const env = setupRegistry();
  current = env.registry;
  env.registry.add(ticker);
  env.registry.markSubscribed(ticker, sid);
  env.registry.applySnapshot(ticker, sid, seq, YES, NO);
  return env;
}

describe('market machine (direct)', () => {
  it('idle → subscribing → awaiting_snapshot → live, recording sid and snapshot seq', () => {
    const requested: string[] = [];
    const machine = marketMachine.provide({ actions: { requestSnapshot: ({ context }) => requested.push(context.ticker) } });
    const actor = createActor(machine, { input: { ticker: 'KXA-1' }, clock: new VirtualClock(0) });
    actor.start();
    expect(actor.getSnapshot().value).toBe('idle');
    actor.send({ type: 'SUBSCRIBE' });
    expect(actor.getSnapshot().value).toBe('subscribing');
    actor.send({ type: 'SUBSCRIBED', sid: 7 });
    expect(actor.getSnapshot().value).toBe('awaiting_snapshot');
    actor.send({ type: 'SNAPSHOT', seq: 1 });
    expect(actor.getSnapshot().value).toBe('live');
    expect(actor.getSnapshot().context).toMatchObject({ sid: 7, snapshotSeq: 1, snapshots: 1, gaps: 0 });
    expect(requested).toEqual([]);
    actor.stop();
  });

  it('without a requestSnapshot implementation, resyncing fails loudly', () => {
    const actor = createActor(marketMachine, { input: { ticker: 'X' }, clock: new VirtualClock(0) });
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    actor.send({ type: 'SUBSCRIBE' });
    actor.send({ type: 'DELTA', seq: 3 });
    expect(String(errors[0])).toMatch(/requestSnapshot" not provided/);
  });
});

describe('MarketRegistry', () => {
  it('happy path: add → subscribing → awaiting_snapshot → live; deltas update the book and notify', () => {
    const { registry, updates } = setupRegistry();
    current = registry;
    registry.add('KXA-1');
    expect(registry.state('KXA-1')).toBe('subscribing');
    expect(registry.book('KXA-1')).toBeUndefined();
    registry.markSubscribed('KXA-1', 1);
    expect(registry.state('KXA-1')).toBe('awaiting_snapshot');
    expect(registry.applySnapshot('KXA-1', 1, 1, YES, NO)).toBe('applied');
    expect(registry.state('KXA-1')).toBe('live');
    expect(registry.applyDelta('KXA-1', 1, 2, 'yes', 4_000, -2_500)).toBe('applied');
    expect(registry.applyDelta('KXA-1', 1, 3, 'no', 5_600, 300)).toBe('applied');
    const book = registry.book('KXA-1')!;
    expect(book.bestBid('yes')).toEqual({ price: 4_000, size: 7_500 });
    expect(book.bestBid('no')).toEqual({ price: 5_600, size: 300 });
    expect(updates.map((u) => [u.kind, u.seq])).toEqual([
      ['snapshot', 1],
      ['delta', 2],
      ['delta', 3],
    ]);
    expect(updates[1]).toMatchObject({ ticker: 'KXA-1', sid: 1, side: 'yes', price: 4_000, delta: -2_500 });
    expect(registry.stats()).toMatchObject({ deltasApplied: 2, snapshots: 1, gaps: 0 });
  });

  it("the WS client's gap (every market of the sid) sends them to resyncing and asks for snapshots; a snapshot → live", () => {
    const { registry, requested } = setupRegistry();
    current = registry;
    for (const t of ['A', 'B', 'C']) {
      registry.add(t);
      registry.markSubscribed(t, 5);
    }
    registry.applySnapshot('A', 5, 1, YES, NO);
    registry.applySnapshot('B', 5, 2, YES, NO);
    registry.applySnapshot('C', 5, 3, YES, NO);
    registry.add('OTHER');
    registry.applySnapshot('OTHER', 9, 1, YES, NO);
    expect(registry.applyDelta('A', 5, 4, 'yes', 4_000, 100)).toBe('applied');
    const before = registry.book('B')!.bestBid('yes');
    // seq 5 is lost: the WS client owns the sequence and reports the sid's tickers
    for (const t of ['A', 'B', 'C']) registry.markGap(t, 'seq_gap: expected seq 5, got 6');
    expect(['A', 'B', 'C'].map((t) => registry.state(t))).toEqual(['resyncing', 'resyncing', 'resyncing']);
    expect(registry.state('OTHER')).toBe('live');
    expect(requested.sort()).toEqual(['A', 'B', 'C']);
    expect(registry.book('B')).toBeUndefined();
    // deltas for a resyncing market are dropped, never applied to a book of unknown state
    expect(registry.applyDelta('B', 5, 7, 'yes', 4_000, 100)).toBe('dropped');
    expect(registry.applySnapshot('B', 5, 8, YES, NO)).toBe('applied');
    expect(registry.state('B')).toBe('live');
    expect(registry.book('B')!.bestBid('yes')).toEqual(before);
    expect(registry.actorSnapshot('B')!.context).toMatchObject({ gaps: 1, resyncRequests: 1, snapshotSeq: 8 });
  });

  it('a delta before the snapshot → resyncing (snapshot requested), not applied', () => {
    const { registry, requested, updates } = setupRegistry();
    current = registry;
    registry.add('KXA-1');
    registry.markSubscribed('KXA-1', 1);
    expect(registry.applyDelta('KXA-1', 1, 1, 'yes', 4_000, 100)).toBe('dropped');
    expect(registry.state('KXA-1')).toBe('resyncing');
    expect(requested).toEqual(['KXA-1']);
    expect(updates).toEqual([]);
    registry.applySnapshot('KXA-1', 1, 2, YES, NO);
    expect(registry.state('KXA-1')).toBe('live');
  });

  it('a delta that would make a level negative (BookError) is a gap for that market', () => {
    const { registry, requested } = live();
    expect(registry.applyDelta('KXA-1', 1, 2, 'yes', 4_100, -1)).toBe('gap');
    expect(registry.state('KXA-1')).toBe('resyncing');
    expect(requested).toEqual(['KXA-1']);
  });

  it('trusts the sequence the WS client passed on: no second seq check (duplicates and gaps are withheld upstream)', () => {
    const { registry } = live();
    expect(registry.applyDelta('KXA-1', 1, 2, 'yes', 4_000, 100)).toBe('applied');
    // a seq jump here is one the client already judged (e.g. after a get_snapshot re-base)
    expect(registry.applyDelta('KXA-1', 1, 9, 'yes', 4_000, 100)).toBe('applied');
    expect(registry.book('KXA-1')!.bestBid('yes')).toEqual({ price: 4_000, size: 10_200 });
    expect(registry.state('KXA-1')).toBe('live');
    expect(registry.stats().gaps).toBe(0);
  });

  it('stale after silence, back to live on any message; long silence → verified by a snapshot', () => {
    const { registry, clock, requested } = live();
    const { staleAfterMs, activityResolutionMs, staleResyncAfterMs } = DEFAULT_MARKET_TIMINGS;
    clock.advance(staleAfterMs - 1);
    expect(registry.state('KXA-1')).toBe('live');
    clock.advance(activityResolutionMs + 1);
    expect(registry.state('KXA-1')).toBe('stale');
    // the book is still valid while stale
    expect(registry.book('KXA-1')).toBeDefined();
    expect(registry.applyDelta('KXA-1', 1, 2, 'yes', 4_000, 100)).toBe('applied');
    expect(registry.state('KXA-1')).toBe('live');
    // steady activity keeps it live
    for (let i = 0; i < 100; i++) {
      clock.advance(5_000);
      registry.applyDelta('KXA-1', 1, 3 + i, 'yes', 4_000, i % 2 === 0 ? 1 : -1);
    }
    expect(registry.state('KXA-1')).toBe('live');
    clock.advance(staleAfterMs + activityResolutionMs);
    expect(registry.state('KXA-1')).toBe('stale');
    clock.advance(staleResyncAfterMs);
    expect(registry.state('KXA-1')).toBe('resyncing');
    expect(requested).toEqual(['KXA-1']);
  });

  it('a requested snapshot that never comes is requested again', () => {
    const { registry, clock, requested } = live();
    registry.markGap('KXA-1', 'adapter saw an inconsistency');
    expect(requested).toEqual(['KXA-1']);
    clock.advance(DEFAULT_MARKET_TIMINGS.resyncTimeoutMs);
    clock.advance(DEFAULT_MARKET_TIMINGS.resyncTimeoutMs);
    expect(requested).toEqual(['KXA-1', 'KXA-1', 'KXA-1']);
    expect(registry.state('KXA-1')).toBe('resyncing');
  });

  it('no subscription ack in time → resyncing (snapshot requested directly)', () => {
    const { registry, clock, requested } = setupRegistry();
    current = registry;
    registry.add('KXA-1');
    clock.advance(DEFAULT_MARKET_TIMINGS.subscribeTimeoutMs);
    expect(registry.state('KXA-1')).toBe('resyncing');
    expect(requested).toEqual(['KXA-1']);
  });

  it('settled → closed: the actor is done and further deltas are dropped', () => {
    const { registry } = live();
    registry.markSettled('KXA-1');
    expect(registry.state('KXA-1')).toBe('closed');
    expect(registry.actorSnapshot('KXA-1')!.status).toBe('done');
    expect(registry.applyDelta('KXA-1', 1, 2, 'yes', 4_000, 100)).toBe('dropped');
    expect(registry.book('KXA-1')).toBeUndefined();
  });

  it('remove unsubscribes and forgets the market', () => {
    const { registry } = live();
    registry.remove('KXA-1');
    expect(registry.state('KXA-1')).toBeUndefined();
    expect(registry.applyDelta('KXA-1', 1, 2, 'yes', 4_000, 100)).toBe('unknown_market');
    expect(registry.size).toBe(0);
  });

  it('a lost connection sends every market back to subscribing', () => {
    const { registry } = live();
    registry.markDisconnected('socket closed 1006');
    expect(registry.state('KXA-1')).toBe('subscribing');
    expect(registry.book('KXA-1')).toBeUndefined();
    // a new subscription restarts seq at 1
    registry.markSubscribed('KXA-1', 2);
    expect(registry.applySnapshot('KXA-1', 2, 1, YES, NO)).toBe('applied');
    expect(registry.state('KXA-1')).toBe('live');
  });

  it('tracks stream activity (deltas, snapshots, heartbeats) for the orderbook health watcher', () => {
    const { registry, clock } = setupRegistry();
    current = registry;
    expect(registry.lastActivityAtMs()).toBeNull();
    registry.add('KXA-1');
    clock.advance(1_000);
    registry.applySnapshot('KXA-1', 1, 1, YES, NO);
    expect(registry.lastActivityAtMs()).toBe(1_000);
    clock.advance(1_000);
    registry.applyDelta('KXA-1', 1, 1, 'yes', 4_000, 1); // even a delta that is not applied is a sign of life
    expect(registry.lastActivityAtMs()).toBe(2_000);
    clock.advance(1_000);
    registry.markActivity();
    expect(registry.lastActivityAtMs()).toBe(3_000);
  });

  it('a throwing listener does not stop the feed for the others', () => {
    const { registry, updates } = live();
    registry.onBookUpdate(() => {
      throw new Error('consumer bug');
    });
    const seen: number[] = [];
    registry.onBookUpdate((u) => seen.push(u.seq));
    expect(registry.applyDelta('KXA-1', 1, 2, 'yes', 4_000, 100)).toBe('applied');
    expect(seen).toEqual([2]);
    expect(updates.at(-1)?.seq).toBe(2);
    expect(registry.stats().listenerErrors).toBe(1);
  });

  it('state listeners see each market state change with its reason', () => {
    const { registry } = setupRegistry();
    current = registry;
    const changes: string[] = [];
    registry.onMarketState((t, s, p, why) => changes.push(`${t}:${p}→${s}:${why}`));
    registry.add('M');
    registry.markSubscribed('M', 3);
    registry.applySnapshot('M', 3, 1, YES, NO);
    registry.markGap('M', 'test gap');
    expect(changes).toEqual([
      'M:idle→subscribing:subscribe requested',
      'M:subscribing→awaiting_snapshot:subscribed (sid 3)',
      'M:awaiting_snapshot→live:snapshot seq 1',
      'M:live→resyncing:gap: test gap',
    ]);
  });

  it('starts 1,000 markets, all live after their snapshots, and stops them all', () => {
    const { registry, clock } = setupRegistry();
    current = registry;
    const tickers = Array.from({ length: 1_000 }, (_, i) => `KXM-${i}`);
    for (const t of tickers) registry.add(t);
    expect(registry.stateCounts()).toEqual({ subscribing: 1_000 });
    tickers.forEach((t, i) => registry.applySnapshot(t, 1, i + 1, YES, NO));
    expect(registry.stateCounts()).toEqual({ live: 1_000 });
    tickers.forEach((t, i) => expect(registry.applyDelta(t, 1, 1_001 + i, 'no', 5_500, -1)).toBe('applied'));
    expect(registry.stats().deltasApplied).toBe(1_000);
    expect(clock.pending).toBe(1_000); // one stale timer per live market
    registry.stopAll();
    expect(registry.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
