/**
 * The market registry: one market-subscription actor per ticker (src/machines/market.machine.ts)
 * plus that market's order book (src/core/orderbook.ts), fed by the orderbook stream adapter and
 * read by traders, the recorder and the status page.
 *
 * Market actors are ROOT actors in a Map, not children of the coordinator: XState 5.33 spawns
 * children superlinearly (10k ≈ 20 s), while root actors start in microseconds each.
 *
 * Hot path: a delta for a live (or stale) market is applied to its book here, directly, and the
 * listeners are told; the machine sees no event per delta, only MESSAGE activity throttled to one
 * per `activityResolutionMs` (which keeps its stale timer honest). Sequence numbers are NOT
 * checked here: the WS client (src/adapters/kalshi/ws.ts) owns the per-sid sequence, withholds
 * duplicates and gapped deltas, and reports a gap with the tickers it invalidated; the caller
 * passes that on through `markGap`, which sends those machines to `resyncing` (fresh snapshots
 * through `requestSnapshot`). What stays here is book state: a delta for a book of unknown state
 * is never applied, and a delta that would drive a level negative (BookError) is a gap for that
 * market.
 */
import { createActor } from 'xstate';
import type { Actor } from 'xstate';
import type { Clock } from '../core/clock.ts';
import { BookError, OrderBook } from '../core/orderbook.ts';
import type { OutcomeSide } from '../core/orderbook.ts';
import type { Count, Price } from '../core/money.ts';
import { DEFAULT_MARKET_TIMINGS, marketMachine } from '../machines/market.machine.ts';
import type { MarketEvent, MarketMachine, MarketStateName, MarketTimings } from '../machines/market.machine.ts';

export type BookLevels = ReadonlyArray<readonly [Price, Count]>;

export type BookUpdate =
  | { kind: 'snapshot'; ticker: string; sid: number; seq: number; book: OrderBook }
  | {
      kind: 'delta';
      ticker: string;
      sid: number;
      seq: number;
      side: OutcomeSide;
      price: Price;
      delta: Count;
      book: OrderBook;
    };

export type BookUpdateListener = (update: BookUpdate) => void;
export type MarketStateListener = (ticker: string, state: MarketStateName, previous: MarketStateName, reason: string) => void;

/** What happened to a delta: applied to the book, or why not. */
export type DeltaOutcome = 'applied' | 'gap' | 'dropped' | 'unknown_market';
export type SnapshotOutcome = 'applied' | 'invalid' | 'unknown_market';

export interface MarketRegistryOptions {
  clock: Clock;
  /** Ask the stream for a fresh snapshot of `ticker` (get_snapshot, or resubscribe). */
  requestSnapshot(ticker: string): void;
  timings?: Partial<MarketTimings>;
}

export interface MarketRegistryStats {
  markets: number;
  deltasApplied: number;
  deltasDropped: number;
  gaps: number;
  snapshots: number;
  listenerErrors: number;
  snapshotRequestErrors: number;
}

interface MarketEntry {
  readonly ticker: string;
  readonly actor: Actor<MarketMachine>;
  unsubscribe: () => void;
  /** Mirrors the machine's state (kept by a snapshot subscription) so the hot path reads a field. */
  state: MarketStateName;
  book: OrderBook | null;
  /** The subscription the book belongs to; null until subscribed/snapshotted. */
  sid: number | null;
  /** Last clock time a MESSAGE was forwarded to the machine. */
  lastForwardedAtMs: number;
}

export class MarketRegistry {
  private readonly clock: Clock;
  private readonly requestSnapshotFn: (ticker: string) => void;
  private readonly timings: MarketTimings;
  private readonly machine: MarketMachine;
  private readonly markets = new Map<string, MarketEntry>();
  private lastActivity: number | null = null;
  private bookListeners: BookUpdateListener[] = [];
  private stateListeners: MarketStateListener[] = [];
  private readonly counters = {
    deltasApplied: 0,
    deltasDropped: 0,
    gaps: 0,
    snapshots: 0,
    listenerErrors: 0,
    snapshotRequestErrors: 0,
  };

  constructor(options: MarketRegistryOptions) {
    this.clock = options.clock;
    this.requestSnapshotFn = options.requestSnapshot;
    this.timings = { ...DEFAULT_MARKET_TIMINGS, ...options.timings };
    this.machine = marketMachine.provide({
      actions: {
        // A throwing callback must not kill the market actor: the resync timer asks again.
        requestSnapshot: ({ context }) => {
          try {
            this.requestSnapshotFn(context.ticker);
          } catch {
            this.counters.snapshotRequestErrors++;
          }
        },
      },
    });
  }

  /** Starts tracking `ticker` (idempotent) and moves it to `subscribing`. */
  add(ticker: string): void {
    if (this.markets.has(ticker)) return;
    const actor = createActor(this.machine, { input: { ticker, timings: this.timings }, clock: this.clock });
    const entry: MarketEntry = {
      ticker,
      actor,
      unsubscribe: () => {},
      state: 'idle',
      book: null,
      sid: null,
      lastForwardedAtMs: Number.NEGATIVE_INFINITY,
    };
    const subscription = actor.subscribe((snapshot) => {
      const next = snapshot.value as MarketStateName;
      if (next === entry.state) return;
      const previous = entry.state;
      entry.state = next;
      for (const listener of this.stateListeners) {
        try {
          listener(ticker, next, previous, snapshot.context.lastTransition.reason);
        } catch {
          this.counters.listenerErrors++;
        }
      }
    });
    entry.unsubscribe = () => subscription.unsubscribe();
    this.markets.set(ticker, entry);
    actor.start();
    actor.send({ type: 'SUBSCRIBE' });
  }

  /** Unsubscribes and forgets `ticker`. */
  remove(ticker: string): void {
    const entry = this.markets.get(ticker);
    if (!entry) return;
    this.deliver(entry, { type: 'UNSUBSCRIBE' });
    this.release(entry);
  }

  private release(entry: MarketEntry): void {
    entry.unsubscribe();
    entry.actor.stop();
    this.markets.delete(entry.ticker);
  }

  /** The stream acknowledged the subscription that carries `ticker`. */
  markSubscribed(ticker: string, sid: number): void {
    const entry = this.markets.get(ticker);
    if (!entry) return;
    entry.sid = sid;
    this.deliver(entry, { type: 'SUBSCRIBED', sid });
  }

  /** The market settled (or closed for good): its actor ends in `closed`. */
  markSettled(ticker: string): void {
    const entry = this.markets.get(ticker);
    if (entry) this.deliver(entry, { type: 'MARKET_SETTLED' });
  }

  /** The connection was lost or replaced: every sid is gone and every book unknown. */
  markDisconnected(reason = 'connection lost'): void {
    for (const entry of this.markets.values()) {
      entry.sid = null;
      this.deliver(entry, { type: 'RESUBSCRIBE', reason });
    }
  }

  /** A closed market's actor is done (final state): events for it are dropped, not warned about. */
  private deliver(entry: MarketEntry, event: MarketEvent): void {
    if (entry.state !== 'closed') entry.actor.send(event);
  }

  /** A full book for `ticker` (levels as on the wire, NO side on the NO-leg scale). */
  applySnapshot(ticker: string, sid: number, seq: number, yes: BookLevels, no: BookLevels): SnapshotOutcome {
    const now = this.clock.now();
    this.lastActivity = now;
    const entry = this.markets.get(ticker);
    if (!entry || entry.state === 'closed') return 'unknown_market';
    entry.sid = sid;
    const book = entry.book ?? new OrderBook(ticker);
    entry.book = book;
    try {
      book.applySnapshot(yes, no);
    } catch (err) {
      if (!(err instanceof BookError)) throw err;
      this.markGap(ticker, `invalid snapshot: ${err.message}`);
      return 'invalid';
    }
    this.counters.snapshots++;
    entry.lastForwardedAtMs = now;
    this.deliver(entry, { type: 'SNAPSHOT', seq, sid });
    this.notify({ kind: 'snapshot', ticker, sid, seq, book });
    return 'applied';
  }

  /** One level change. Applied directly when the book is known; otherwise the machine decides. */
  applyDelta(ticker: string, sid: number, seq: number, side: OutcomeSide, price: Price, delta: Count): DeltaOutcome {
    const now = this.clock.now();
    this.lastActivity = now;
    const entry = this.markets.get(ticker);
    if (!entry) return 'unknown_market';
    const state = entry.state;
    if ((state === 'live' || state === 'stale') && entry.sid === sid && entry.book !== null) {
      try {
        entry.book.applyDelta(side, price, delta);
      } catch (err) {
        if (!(err instanceof BookError)) throw err;
        this.counters.gaps++;
        this.deliver(entry, { type: 'GAP', reason: err.message });
        return 'gap';
      }
      this.counters.deltasApplied++;
      if (state === 'stale' || now - entry.lastForwardedAtMs >= this.timings.activityResolutionMs) {
        entry.lastForwardedAtMs = now;
        this.deliver(entry, { type: 'MESSAGE' });
      }
      this.notify({ kind: 'delta', ticker, sid, seq, side, price, delta, book: entry.book });
      return 'applied';
    }
    this.counters.deltasDropped++;
    // A delta for a book of unknown state (before its snapshot, or from another sid) must never be
    // applied: the machine moves to resyncing. Already resyncing or closed: just drop it.
    if (state !== 'resyncing' && state !== 'closed') {
      if (state === 'live' || state === 'stale') this.deliver(entry, { type: 'GAP', reason: `delta on sid ${sid}, book is on sid ${entry.sid}` });
      else this.deliver(entry, { type: 'DELTA', seq });
    }
    return 'dropped';
  }

  /**
   * Any other sign of life on the stream (ping/heartbeat, ticker, trade, control frame). With the
   * deltas and snapshots it feeds `lastActivityAtMs`, the source for the coordinator's
   * orderbook health watcher (`orderbookActivityWatcher`).
   */
  markActivity(): void {
    this.lastActivity = this.clock.now();
  }

  /** Clock time of the last message of any kind seen by the registry; null before the first. */
  lastActivityAtMs(): number | null {
    return this.lastActivity;
  }

  /** The stream's gap signal for one market (the WS client saw a sequence gap or inconsistency). */
  markGap(ticker: string, reason: string): void {
    const entry = this.markets.get(ticker);
    if (!entry) return;
    this.counters.gaps++;
    this.deliver(entry, { type: 'GAP', reason });
  }

  /** The book, when its content is known (live or stale); undefined otherwise. */
  book(ticker: string): OrderBook | undefined {
    const entry = this.markets.get(ticker);
    if (!entry || entry.book === null) return undefined;
    return entry.state === 'live' || entry.state === 'stale' ? entry.book : undefined;
  }

  state(ticker: string): MarketStateName | undefined {
    return this.markets.get(ticker)?.state;
  }

  /** Snapshot of the market actor (context: sid, gaps, resync requests, last reason). */
  actorSnapshot(ticker: string) {
    return this.markets.get(ticker)?.actor.getSnapshot();
  }

  tickers(): string[] {
    return [...this.markets.keys()];
  }

  get size(): number {
    return this.markets.size;
  }

  /** Count of markets per state. */
  stateCounts(): Partial<Record<MarketStateName, number>> {
    const counts: Partial<Record<MarketStateName, number>> = {};
    for (const entry of this.markets.values()) counts[entry.state] = (counts[entry.state] ?? 0) + 1;
    return counts;
  }

  stats(): MarketRegistryStats {
    return { markets: this.markets.size, ...this.counters };
  }

  /** Called for every snapshot and applied delta. Returns the unsubscribe function. */
  onBookUpdate(listener: BookUpdateListener): () => void {
    this.bookListeners = [...this.bookListeners, listener];
    return () => {
      this.bookListeners = this.bookListeners.filter((l) => l !== listener);
    };
  }

  /** Called when a market's state changes. Returns the unsubscribe function. */
  onMarketState(listener: MarketStateListener): () => void {
    this.stateListeners = [...this.stateListeners, listener];
    return () => {
      this.stateListeners = this.stateListeners.filter((l) => l !== listener);
    };
  }

  private notify(update: BookUpdate): void {
    const listeners = this.bookListeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i](update);
      } catch {
        // One faulty consumer must not stop the book feed for the others.
        this.counters.listenerErrors++;
      }
    }
  }

  /** Stops every market actor and forgets all markets. */
  stopAll(): void {
    for (const entry of [...this.markets.values()]) this.release(entry);
  }
}
