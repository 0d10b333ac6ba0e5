/**
 * Recording market data: the session row (created when a connection starts, closed with its
 * counts and a status), the markets catalogue, and the hot-path rows — book snapshots, deltas,
 * trades and gaps — which go through the WriteQueue and never make a WebSocket handler wait.
 *
 * `SessionRecorder` stamps every row with the session id and a per-session ordinal (`ord`), the
 * order in which the rows were recorded across all four tables; `session-loader.ts` reads them
 * back in exactly that order.
 */
import type { Pool } from 'pg';
import { systemClock } from '../../core/clock.ts';
import type { Clock } from '../../core/clock.ts';
import type { Count, Price } from '../../core/money.ts';
import type { OutcomeSide } from '../../core/orderbook.ts';
import { StoreError, query } from './database.ts';
import type { Queryable } from './database.ts';
import type { GapKind, RecordingEndStatus, RecordingMode, StoreEnvironment } from './statuses.ts';
import { WriteQueue } from './write-queue.ts';
import type { TableSpecs, WriteQueueOptions } from './write-queue.ts';

export interface SnapshotRow {
  sessionId: number;
  ticker: string;
  ord: number;
  sid: number;
  seq: number;
  /** Exchange time when the message carried one; null otherwise. */
  tsMs: number | null;
  /** Local receive time. */
  recvMs: number;
  yesPrices: Price[];
  yesCounts: Count[];
  noPrices: Price[];
  noCounts: Count[];
}

export interface DeltaRow {
  sessionId: number;
  ticker: string;
  ord: number;
  sid: number;
  seq: number;
  tsMs: number | null;
  recvMs: number;
  side: OutcomeSide;
  price: Price;
  delta: Count;
}

export interface TradeRow {
  sessionId: number;
  ticker: string;
  ord: number;
  sid: number | null;
  seq: number | null;
  tradeId: string;
  tsMs: number | null;
  recvMs: number;
  yesPrice: Price;
  count: Count;
  takerSide: OutcomeSide | null;
}

export interface GapRow {
  sessionId: number;
  ticker: string;
  ord: number;
  sid: number | null;
  kind: GapKind;
  expectedSeq: number | null;
  receivedSeq: number | null;
  recvMs: number;
  detail: string | null;
}

export interface RecordingRows {
  book_snapshots: SnapshotRow;
  book_deltas: DeltaRow;
  book_trades: TradeRow;
  book_gaps: GapRow;
}

/** Every hot table starts with its (session_id, ord) key, the market and its subscription. */
const STREAM_KEY_COLUMNS = [
  { column: 'session_id', type: 'bigint', field: 'sessionId' },
  { column: 'ticker', type: 'text', field: 'ticker' },
  { column: 'ord', type: 'bigint', field: 'ord' },
  { column: 'sid', type: 'bigint', field: 'sid' },
] as const;

export const RECORDING_TABLES: TableSpecs<RecordingRows> = {
  book_snapshots: {
    table: 'book_snapshots',
    idempotent: true,
    columns: [
      ...STREAM_KEY_COLUMNS,
      { column: 'seq', type: 'bigint', field: 'seq' },
      { column: 'ts_ms', type: 'bigint', field: 'tsMs' },
      { column: 'recv_ms', type: 'bigint', field: 'recvMs' },
      { column: 'yes_prices', type: 'integer[]', field: 'yesPrices' },
      { column: 'yes_counts', type: 'bigint[]', field: 'yesCounts' },
      { column: 'no_prices', type: 'integer[]', field: 'noPrices' },
      { column: 'no_counts', type: 'bigint[]', field: 'noCounts' },
    ],
  },
  book_deltas: {
    table: 'book_deltas',
    idempotent: true,
    columns: [
      ...STREAM_KEY_COLUMNS,
      { column: 'seq', type: 'bigint', field: 'seq' },
      { column: 'ts_ms', type: 'bigint', field: 'tsMs' },
      { column: 'recv_ms', type: 'bigint', field: 'recvMs' },
      { column: 'side', type: 'text', field: 'side' },
      { column: 'price', type: 'integer', field: 'price' },
      { column: 'delta', type: 'bigint', field: 'delta' },
    ],
  },
  book_trades: {
    table: 'book_trades',
    idempotent: true,
    columns: [
      ...STREAM_KEY_COLUMNS,
      { column: 'seq', type: 'bigint', field: 'seq' },
      { column: 'trade_id', type: 'text', field: 'tradeId' },
      { column: 'ts_ms', type: 'bigint', field: 'tsMs' },
      { column: 'recv_ms', type: 'bigint', field: 'recvMs' },
      { column: 'yes_price', type: 'integer', field: 'yesPrice' },
      { column: 'count', type: 'bigint', field: 'count' },
      { column: 'taker_side', type: 'text', field: 'takerSide' },
    ],
  },
  book_gaps: {
    table: 'book_gaps',
    idempotent: true,
    columns: [
      ...STREAM_KEY_COLUMNS,
      { column: 'kind', type: 'text', field: 'kind' },
      { column: 'expected_seq', type: 'bigint', field: 'expectedSeq' },
      { column: 'received_seq', type: 'bigint', field: 'receivedSeq' },
      { column: 'recv_ms', type: 'bigint', field: 'recvMs' },
      { column: 'detail', type: 'text', field: 'detail' },
    ],
  },
};

export type RecordingQueue = WriteQueue<RecordingRows>;

/** The WriteQueue for recorded market data (one per process is enough for many sessions). */
export function createRecordingQueue(pool: Pick<Pool, 'query'>, options: WriteQueueOptions = {}): RecordingQueue {
  return new WriteQueue<RecordingRows>(pool, RECORDING_TABLES, options);
}

export interface NewRecordingSession {
  env: StoreEnvironment;
  mode: RecordingMode;
  tickers?: string[];
  /** Where the data came from (WebSocket URL); never include credentials. */
  sourceUrl?: string;
  /** The recording process's role (e.g. 'trader'); see `closeAbandonedRecordingSessions`. */
  owner?: string;
  startedMs: number;
  metadata?: Record<string, unknown>;
}

export interface RecordingCounts {
  snapshots: number;
  deltas: number;
  trades: number;
  gaps: number;
  /** Rows the recorder could not enqueue (write queue full). */
  dropped: number;
}

export async function createRecordingSession(db: Queryable, session: NewRecordingSession): Promise<number> {
  const rows = await query<{ id: number }>(
    db,
    `INSERT INTO recording_sessions (env, mode, market_tickers, source_url, owner, started_ms, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [
      session.env,
      session.mode,
      session.tickers ?? [],
      session.sourceUrl ?? null,
      session.owner ?? null,
      session.startedMs,
      session.metadata ?? {},
    ],
  );
  return rows[0].id;
}

/**
 * Ends a session with its final counts. Closing an already-closed session is refused, so a
 * late second close cannot overwrite the first one's status.
 */
export async function closeRecordingSession(
  db: Queryable,
  sessionId: number,
  counts: RecordingCounts,
  status: RecordingEndStatus,
  options: { endedMs?: number; error?: string } = {},
): Promise<void> {
  const rows = await query(
    db,
    `UPDATE recording_sessions
        SET status = $2, ended_ms = GREATEST($3::bigint, started_ms), snapshots = $4, deltas = $5,
            trades = $6, gaps = $7, dropped = $8, error = $9
      WHERE id = $1 AND status = 'active'
      RETURNING id`,
    [
      sessionId,
      status,
      options.endedMs ?? systemClock.now(),
      counts.snapshots,
      counts.deltas,
      counts.trades,
      counts.gaps,
      counts.dropped,
      options.error ?? null,
    ],
  );
  if (rows.length === 0) throw new StoreError(`recording session ${sessionId} is not active (unknown or already closed)`);
}

/**
 * Marks the sessions of `owner` left `active` by a crashed run as `interrupted`. Run it when a
 * process of that role starts, before it records anything; sessions of other owners (other live
 * processes sharing the database) are left alone. Returns how many were closed.
 */
export async function closeAbandonedRecordingSessions(db: Queryable, owner: string, endedMs: number): Promise<number> {
  const rows = await query(
    db,
    `UPDATE recording_sessions SET status = 'interrupted', ended_ms = GREATEST($2::bigint, started_ms)
      WHERE status = 'active' AND owner = $1 RETURNING id`,
    [owner, endedMs],
  );
  return rows.length;
}

export interface MarketSeen {
  ticker: string;
  seenMs: number;
  sessionId?: number;
  eventTicker?: string;
  title?: string;
  status?: string;
  closeMs?: number;
  info?: Record<string, unknown>;
}

/** Upserts the markets catalogue (and the session's market list when `sessionId` is given). */
export async function recordMarketSeen(db: Queryable, market: MarketSeen): Promise<void> {
  await query(
    db,
    `INSERT INTO markets (ticker, event_ticker, title, status, close_ms, first_seen_ms, last_seen_ms, info)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
     ON CONFLICT (ticker) DO UPDATE SET
       event_ticker = COALESCE(EXCLUDED.event_ticker, markets.event_ticker),
       title = COALESCE(EXCLUDED.title, markets.title),
       status = COALESCE(EXCLUDED.status, markets.status),
       close_ms = COALESCE(EXCLUDED.close_ms, markets.close_ms),
       last_seen_ms = GREATEST(markets.last_seen_ms, EXCLUDED.last_seen_ms),
       info = markets.info || EXCLUDED.info`,
    [
      market.ticker,
      market.eventTicker ?? null,
      market.title ?? null,
      market.status ?? null,
      market.closeMs ?? null,
      market.seenMs,
      market.info ?? {},
    ],
  );
  if (market.sessionId !== undefined) {
    await query(
      db,
      `INSERT INTO session_markets (session_id, ticker, first_seen_ms) VALUES ($1, $2, $3)
       ON CONFLICT (session_id, ticker) DO NOTHING`,
      [market.sessionId, market.ticker, market.seenMs],
    );
  }
}

export interface SnapshotInput {
  ticker: string;
  sid: number;
  seq: number;
  tsMs?: number | null;
  recvMs?: number;
  /** Levels as on the wire and in OrderBook: [price, size], any order. */
  yes: ReadonlyArray<readonly [Price, Count]>;
  no: ReadonlyArray<readonly [Price, Count]>;
}

export interface DeltaInput {
  ticker: string;
  sid: number;
  seq: number;
  tsMs?: number | null;
  recvMs?: number;
  side: OutcomeSide;
  price: Price;
  delta: Count;
}

export interface TradeInput {
  ticker: string;
  tradeId: string;
  yesPrice: Price;
  count: Count;
  takerSide?: OutcomeSide | null;
  sid?: number | null;
  seq?: number | null;
  tsMs?: number | null;
  recvMs?: number;
}

export interface GapInput {
  ticker: string;
  kind: GapKind;
  sid?: number | null;
  expectedSeq?: number | null;
  receivedSeq?: number | null;
  recvMs?: number;
  detail?: string | null;
}

/**
 * One recording session's writer. Methods return whether the row was accepted by the queue
 * (false = dropped under back-pressure, also counted in `counts().dropped`).
 */
export class SessionRecorder {
  private ord = 0;
  private readonly tally: RecordingCounts = { snapshots: 0, deltas: 0, trades: 0, gaps: 0, dropped: 0 };
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    private readonly queue: RecordingQueue,
    readonly sessionId: number,
    private readonly clock: Clock,
  ) {}

  /** Creates the session row and returns a recorder for it. */
  static async start(
    pool: Pool,
    queue: RecordingQueue,
    session: Omit<NewRecordingSession, 'startedMs'> & { clock?: Clock },
  ): Promise<SessionRecorder> {
    const clock = session.clock ?? systemClock;
    const id = await createRecordingSession(pool, { ...session, startedMs: clock.now() });
    return new SessionRecorder(pool, queue, id, clock);
  }

  snapshot(s: SnapshotInput): boolean {
    const yesPrices = new Array<number>(s.yes.length);
    const yesCounts = new Array<number>(s.yes.length);
    for (let i = 0; i < s.yes.length; i++) [yesPrices[i], yesCounts[i]] = s.yes[i];
    const noPrices = new Array<number>(s.no.length);
    const noCounts = new Array<number>(s.no.length);
    for (let i = 0; i < s.no.length; i++) [noPrices[i], noCounts[i]] = s.no[i];
    return this.count(
      'snapshots',
      this.queue.enqueue('book_snapshots', {
        sessionId: this.sessionId,
        ticker: s.ticker,
        ord: this.ord++,
        sid: s.sid,
        seq: s.seq,
        tsMs: s.tsMs ?? null,
        recvMs: s.recvMs ?? this.clock.now(),
        yesPrices,
        yesCounts,
        noPrices,
        noCounts,
      }),
    );
  }

  delta(d: DeltaInput): boolean {
    return this.count(
      'deltas',
      this.queue.enqueue('book_deltas', {
        sessionId: this.sessionId,
        ticker: d.ticker,
        ord: this.ord++,
        sid: d.sid,
        seq: d.seq,
        tsMs: d.tsMs ?? null,
        recvMs: d.recvMs ?? this.clock.now(),
        side: d.side,
        price: d.price,
        delta: d.delta,
      }),
    );
  }

  trade(t: TradeInput): boolean {
    return this.count(
      'trades',
      this.queue.enqueue('book_trades', {
        sessionId: this.sessionId,
        ticker: t.ticker,
        ord: this.ord++,
        sid: t.sid ?? null,
        seq: t.seq ?? null,
        tradeId: t.tradeId,
        tsMs: t.tsMs ?? null,
        recvMs: t.recvMs ?? this.clock.now(),
        yesPrice: t.yesPrice,
        count: t.count,
        takerSide: t.takerSide ?? null,
      }),
    );
  }

  gap(g: GapInput): boolean {
    return this.count(
      'gaps',
      this.queue.enqueue('book_gaps', {
        sessionId: this.sessionId,
        ticker: g.ticker,
        ord: this.ord++,
        sid: g.sid ?? null,
        kind: g.kind,
        expectedSeq: g.expectedSeq ?? null,
        receivedSeq: g.receivedSeq ?? null,
        recvMs: g.recvMs ?? this.clock.now(),
        detail: g.detail ?? null,
      }),
    );
  }

  counts(): RecordingCounts {
    return { ...this.tally };
  }

  /**
   * Flushes the queue (so the session is complete in the database when this resolves, if the
   * database is reachable) and closes the session row with the counts and `status`.
   */
  async close(status: RecordingEndStatus = 'closed', error?: string): Promise<RecordingCounts> {
    if (this.closed) throw new StoreError(`recording session ${this.sessionId} is already closed`);
    this.closed = true;
    await this.queue.flush();
    const counts = this.counts();
    await closeRecordingSession(this.pool, this.sessionId, counts, status, {
      endedMs: this.clock.now(),
      ...(error === undefined ? {} : { error }),
    });
    return counts;
  }

  private count(kind: Exclude<keyof RecordingCounts, 'dropped'>, accepted: boolean): boolean {
    if (accepted) this.tally[kind]++;
    else this.tally.dropped++;
    return accepted;
  }
}
