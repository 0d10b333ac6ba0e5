/**
 * The recording pipeline behind `kalshiflow record`: chosen markets' order books streamed from
 * Kalshi (or the simulator) by the KalshiWsClient, written row by row into one recorded session
 * through the store's WriteQueue, while a MarketRegistry keeps the same books live in memory.
 *
 * What lands in the session, in stream order (the store's `ord`): a snapshot per subscription
 * (and per re-snapshot), every delta with its sid and seq, every public trade, and a gap row
 * wherever the book stops being continuous — a sequence gap, a disconnect, a resubscription after
 * a reconnect — always followed later by a fresh snapshot. The session is therefore replayable by
 * `replayBooks` with exactly the live books' semantics: where the registry refuses to apply a
 * row (its book is resyncing), a `stale` gap row says so, so a replay never applies what the live
 * book did not.
 *
 * Actors layer: drives the Kalshi adapters, the store and the registry; the CLI wires it up.
 */
import type { Pool } from 'pg';
import type { Clock } from '../core/clock.ts';
import type { OrderBook } from '../core/orderbook.ts';
import type { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiMarket } from '../adapters/kalshi/rest.schemas.ts';
import type { KalshiWsClient, WsClientEvent } from '../adapters/kalshi/ws.ts';
import { describeDbError } from '../adapters/store/database.ts';
import {
  SessionRecorder,
  closeRecordingSession,
  createRecordingQueue,
  recordMarketSeen,
} from '../adapters/store/recorder.ts';
import type { RecordingCounts, RecordingQueue } from '../adapters/store/recorder.ts';
import type { RecordingEndStatus, StoreEnvironment } from '../adapters/store/statuses.ts';
import type { WriteQueueOptions, WriteQueueStats } from '../adapters/store/write-queue.ts';
import { ORDERBOOK_CHANNEL } from '../adapters/kalshi/ws.ts';
import { MarketFeed, disconnectDetail } from './market-feed.ts';
import type { MarketRegistry } from './market-registry.ts';
import type { MarketStateName } from '../machines/market.machine.ts';
import { selectMarkets } from './markets.ts';
import type { MarketSelection } from './markets.ts';

/** The role recorded in `recording_sessions.owner` for sessions of this pipeline. */
export const RECORDER_OWNER = 'recorder';

export interface MarketRecorderOptions {
  /** A client that has not been started; the recorder starts and stops it. */
  ws: KalshiWsClient;
  rest: Pick<KalshiRestClient, 'getMarket' | 'iterateMarkets'>;
  pool: Pool;
  env: StoreEnvironment;
  selection: MarketSelection;
  clock: Clock;
  /** Where the data comes from (the WebSocket URL), stored with the session. */
  sourceUrl: string;
  metadata?: Record<string, unknown>;
  queue?: WriteQueueOptions;
  /** One line per noteworthy stream event (connects, gaps, errors), for the operator. */
  onActivity?: (line: string) => void;
}

export interface RecorderProgress {
  sessionId: number;
  elapsedMs: number;
  counts: RecordingCounts;
  queue: Pick<WriteQueueStats, 'depth' | 'flushed' | 'dropped' | 'rejected' | 'degraded' | 'lastError'>;
  connected: boolean;
  reconnects: number;
  markets: { total: number; live: number; states: Partial<Record<MarketStateName, number>> };
}

export interface RecordingSummary {
  sessionId: number;
  status: RecordingEndStatus;
  /** Rows in the database, per kind (what the session row is closed with). */
  counts: RecordingCounts;
  elapsedMs: number;
}

/** Flushes left after stop() gets this long to reach the database before they count as dropped. */
const FINAL_FLUSH_TIMEOUT_MS = 15_000;

export class MarketRecorder {
  readonly registry: MarketRegistry;
  private readonly feed: MarketFeed;
  readonly markets: KalshiMarket[];
  readonly sessionId: number;

  private readonly options: MarketRecorderOptions;
  private readonly queue: RecordingQueue;
  private readonly session: SessionRecorder;
  private readonly startedMs: number;
  /** Tickers whose recorded stream has a gap row not yet followed by a snapshot. */
  private readonly interrupted = new Set<string>();
  private readonly cleanups: Array<() => void> = [];
  private finalBooks: Map<string, OrderBook> | null = null;
  private stopping: Promise<RecordingSummary> | null = null;
  private firstConnect = true;

  private constructor(
    options: MarketRecorderOptions,
    markets: KalshiMarket[],
    queue: RecordingQueue,
    session: SessionRecorder,
  ) {
    this.options = options;
    this.markets = markets;
    this.queue = queue;
    this.session = session;
    this.sessionId = session.sessionId;
    this.startedMs = options.clock.now();
    this.feed = new MarketFeed({ ws: options.ws, clock: options.clock });
    this.registry = this.feed.registry;
  }

  /**
   * Selects the markets, opens the session (and its catalogue rows), then connects and
   * subscribes. Resolves once the session exists; the stream may still be connecting.
   */
  static async start(options: MarketRecorderOptions): Promise<MarketRecorder> {
    const markets = await selectMarkets(options.rest, options.selection, options.clock);
    const tickers = markets.map((m) => m.ticker);
    const queue = createRecordingQueue(options.pool, { clock: options.clock, ...options.queue });
    let session: SessionRecorder;
    try {
      session = await SessionRecorder.start(options.pool, queue, {
        env: options.env,
        mode: 'record',
        tickers,
        sourceUrl: options.sourceUrl,
        owner: RECORDER_OWNER,
        clock: options.clock,
        metadata: { selection: options.selection, ...options.metadata },
      });
      const seenMs = options.clock.now();
      for (const m of markets) {
        await recordMarketSeen(options.pool, {
          ticker: m.ticker,
          seenMs,
          sessionId: session.sessionId,
          eventTicker: m.eventTicker,
          ...(m.title !== null ? { title: m.title } : {}),
          status: m.status,
          closeMs: m.closeTimeMs,
          info: { price_level_structure: m.priceLevelStructure },
        });
      }
    } catch (error) {
      await queue.close({ timeoutMs: 0 });
      throw error;
    }
    const recorder = new MarketRecorder(options, markets, queue, session);
    recorder.connect(tickers);
    return recorder;
  }

  private connect(tickers: string[]): void {
    const { ws } = this.options;
    this.cleanups.push(ws.onEvent((event) => this.onStreamEvent(event)));
    for (const t of tickers) this.registry.add(t);
    ws.start();
    // Remembered by the client and (re)sent on every connection; a refusal is worth a line.
    for (const channel of ['orderbook_delta', 'trade']) {
      ws.subscribe([channel], tickers).catch((error: unknown) => {
        if (!this.stopping) this.activity(`subscription to ${channel} failed: ${describe(error)}`);
      });
    }
  }

  private onStreamEvent(event: WsClientEvent): void {
    // Routed first: the rows below follow from what the registry did (the tracked set never changes).
    const outcome = this.feed.route(event);
    switch (event.type) {
      case 'snapshot': {
        this.session.snapshot({ ticker: event.ticker, sid: event.sid, seq: event.seq, yes: event.yes, no: event.no });
        if (outcome === 'applied') this.interrupted.delete(event.ticker);
        else if (outcome !== 'unknown_market') this.markNotApplied(event.ticker, event.sid, `snapshot ${outcome}`);
        break;
      }
      case 'delta': {
        // The row that the live book refused is preceded by the gap, so a replay skips it too.
        if (outcome !== 'applied' && outcome !== 'unknown_market') {
          this.markNotApplied(event.ticker, event.sid, `delta ${outcome} at seq ${event.seq}`);
        }
        this.session.delta({
          ticker: event.ticker,
          sid: event.sid,
          seq: event.seq,
          side: event.side,
          price: event.price,
          delta: event.delta,
          ...(event.tsMs !== undefined ? { tsMs: event.tsMs } : {}),
        });
        break;
      }
      case 'trade': {
        const m = event.msg;
        this.session.trade({
          ticker: m.ticker,
          tradeId: m.tradeId,
          yesPrice: m.yesPrice,
          count: m.count,
          takerSide: m.takerOutcomeSide ?? m.takerSide ?? null,
          sid: event.sid,
          ...(m.tsMs !== undefined ? { tsMs: m.tsMs } : {}),
        });
        break;
      }
      case 'gap':
        for (const ticker of event.tickers) {
          this.session.gap({
            ticker,
            kind: 'seq_gap',
            sid: event.sid,
            expectedSeq: event.expected,
            receivedSeq: event.received,
            detail: event.reason,
          });
          this.interrupted.add(ticker);
        }
        this.activity(`sequence gap on sid ${event.sid} (${event.reason}, expected ${event.expected}, got ${event.received}); re-snapshotting ${event.tickers.length} markets`);
        break;
      case 'disconnected': {
        const detail = disconnectDetail(event);
        for (const ticker of this.registry.tickers()) {
          this.session.gap({ ticker, kind: 'disconnect', detail });
          this.interrupted.add(ticker);
        }
        if (event.willReconnect) this.activity(`stream ${detail}; reconnecting`);
        break;
      }
      case 'subscribed':
        if (event.channel !== ORDERBOOK_CHANNEL) break;
        for (const ticker of event.tickers) {
          if (event.previousSid !== undefined) {
            this.session.gap({ ticker, kind: 'reconnect', sid: event.sid, detail: `resubscribed: sid ${event.previousSid} → ${event.sid}` });
            this.interrupted.add(ticker);
          }
        }
        break;
      case 'connected':
        if (!this.firstConnect) this.activity(`stream reconnected (attempt ${event.attempt})`);
        this.firstConnect = false;
        break;
      case 'connect_failed':
        this.activity(`stream connect failed: ${event.error}; retrying in ${Math.round(event.nextAttemptMs)} ms`);
        break;
      case 'malformed':
        this.activity(`malformed frame ignored: ${event.reason}`);
        break;
      case 'server_error':
        this.activity(`stream error ${event.code}: ${event.message}`);
        break;
      default:
        break;
    }
  }

  /** The live book did not take a row: record where its recorded history stops being usable. */
  private markNotApplied(ticker: string, sid: number, detail: string): void {
    if (this.interrupted.has(ticker)) return;
    this.interrupted.add(ticker);
    this.session.gap({ ticker, kind: 'stale', sid, detail: `live book not applicable: ${detail}` });
  }

  private activity(line: string): void {
    try {
      this.options.onActivity?.(line);
    } catch {
      // the operator's console must never stop the recording
    }
  }

  progress(): RecorderProgress {
    const q = this.queue.stats();
    const states = this.registry.stateCounts();
    return {
      sessionId: this.sessionId,
      elapsedMs: this.options.clock.now() - this.startedMs,
      counts: this.session.counts(),
      queue: { depth: q.depth, flushed: q.flushed, dropped: q.dropped, rejected: q.rejected, degraded: q.degraded, lastError: q.lastError },
      connected: this.options.ws.isConnected(),
      reconnects: this.options.ws.stats.reconnects,
      markets: { total: this.markets.length, live: (states.live ?? 0) + (states.stale ?? 0), states },
    };
  }

  /**
   * The books as the registry holds them (live or stale markets only; a market whose book is
   * unknown is absent). Copies: after stop(), the books as they were when the stream ended.
   */
  books(): Map<string, OrderBook> {
    if (this.finalBooks) return new Map([...this.finalBooks].map(([t, b]) => [t, b.clone()]));
    const out = new Map<string, OrderBook>();
    for (const ticker of this.registry.tickers()) {
      const book = this.registry.book(ticker);
      if (book) out.set(ticker, book.clone());
    }
    return out;
  }

  /**
   * Ends the recording: closes the stream, writes every buffered row (retrying for a while if the
   * database is away), and closes the session with the counts of rows actually stored. Rows that
   * could not be written by then are counted as dropped. Idempotent.
   */
  stop(status: RecordingEndStatus = 'closed', error?: string): Promise<RecordingSummary> {
    this.stopping ??= this.finish(status, error);
    return this.stopping;
  }

  private async finish(status: RecordingEndStatus, error: string | undefined): Promise<RecordingSummary> {
    // Unhooked first: the close we cause is the end of the session, not a gap in it.
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    await this.options.ws.stop();
    this.finalBooks = this.books();
    this.registry.stopAll();
    const stats = await this.queue.close({ timeoutMs: FINAL_FLUSH_TIMEOUT_MS });
    const flushed = (table: string) => stats.tables[table]?.flushed ?? 0;
    const counts: RecordingCounts = {
      snapshots: flushed('book_snapshots'),
      deltas: flushed('book_deltas'),
      trades: flushed('book_trades'),
      gaps: flushed('book_gaps'),
      dropped: stats.dropped + stats.rejected,
    };
    const endedMs = this.options.clock.now();
    const unwritten = stats.dropped + stats.rejected > 0 ? `${stats.dropped + stats.rejected} rows not stored${stats.lastError ? ` (${stats.lastError})` : ''}` : undefined;
    const message = error ?? unwritten;
    try {
      await closeRecordingSession(this.options.pool, this.sessionId, counts, status, { endedMs, ...(message ? { error: message } : {}) });
    } catch (closeError) {
      throw new Error(`could not close recording session ${this.sessionId}: ${describeDbError(closeError)}`);
    }
    return { sessionId: this.sessionId, status, counts, elapsedMs: endedMs - this.startedMs };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
