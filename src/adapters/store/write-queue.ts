/**
 * The bounded, batched, non-blocking write path for hot rows (book snapshots, deltas, trades,
 * gaps). `enqueue` only appends to in-memory column buffers and returns at once — it never
 * awaits the database, so WebSocket handlers are never slowed by it. A single writer flushes
 * batches as one `INSERT … SELECT FROM unnest($1::bigint[], …)` per table, triggered by size
 * (a full batch) or by age (the injected Clock). Design goals, against the original's 100 rows/s
 * cap and silent drops:
 *
 * - back-pressure is explicit: past `maxRows` buffered, `enqueue` returns false and counts a drop;
 * - an unreachable database is a state, not a loss: rows stay buffered (up to the bound), the
 *   queue reports `degraded`, retries with exponential backoff and recovers by itself;
 * - a bad row (SQLSTATE class 22/23) cannot wedge the queue: the batch is bisected and only the
 *   offending rows are rejected (and counted);
 * - `close()` flushes everything it can before returning.
 *
 * Sits in adapters/store; tables are described by `TableSpec`s (see `recorder.ts`).
 */
import type { Pool } from 'pg';
import { systemClock } from '../../core/clock.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { describeDbError, isRowError } from './database.ts';

export type ColumnType =
  | 'bigint'
  | 'integer'
  | 'smallint'
  | 'double precision'
  | 'boolean'
  | 'text'
  | 'jsonb'
  | 'integer[]'
  | 'bigint[]';

export interface ColumnSpec<Row> {
  column: string;
  type: ColumnType;
  field: keyof Row & string;
}

export interface TableSpec<Row> {
  table: string;
  columns: ReadonlyArray<ColumnSpec<Row>>;
  /**
   * The table has a unique key that makes rows idempotent: a batch refused for a duplicate key
   * (one that did commit although its connection failed before the answer arrived) is re-run
   * with ON CONFLICT DO NOTHING. The plain INSERT stays the fast path; the conflict clause costs
   * about a third of the throughput.
   */
  idempotent?: boolean;
}

export type TableSpecs<Rows> = { [K in keyof Rows]: TableSpec<Rows[K]> };

export interface WriteQueueOptions {
  clock?: Clock;
  /** Rows buffered (including the batch being written) before `enqueue` refuses. Default 500,000. */
  maxRows?: number;
  /** Rows per INSERT; reaching it triggers a flush. Default 5,000. */
  batchRows?: number;
  /** Oldest buffered row waits at most this long before a flush. Default 100 ms. */
  flushIntervalMs?: number;
  /** First retry delay after the database failed; doubles up to `maxBackoffMs`. Default 100 ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per-statement timeout, so a hung connection becomes a retry instead of a stall. Default 30 s. */
  statementTimeoutMs?: number;
  /** Called when the queue enters or leaves degraded mode. */
  onHealthChange?: (degraded: boolean, lastError: string | null) => void;
  /** Called once per rejected row (bad data), with the database's reason. */
  onRowRejected?: (table: string, reason: string) => void;
}

export interface TableCounts {
  flushed: number;
  dropped: number;
  rejected: number;
}

export interface WriteQueueStats {
  /** Rows accepted but not yet written (buffered + in flight). */
  depth: number;
  inFlight: number;
  maxRows: number;
  flushed: number;
  /** Rows refused by `enqueue` (bound exceeded or queue closed) or abandoned by `close()`. */
  dropped: number;
  /** Rows the database refused as invalid (after bisecting their batch). */
  rejected: number;
  /** Failed write attempts (database unreachable or erroring). */
  failures: number;
  batches: number;
  degraded: boolean;
  lastError: string | null;
  lastFlushAtMs: number | null;
  tables: Record<string, TableCounts>;
}

interface Chunk {
  table: string;
  /** Column-major values, already encoded for the array literal. */
  columns: unknown[][];
  length: number;
  createdAt: number;
}

interface CompiledTable {
  spec: TableSpec<Record<string, unknown>>;
  sql: string;
  /** The same INSERT skipping duplicate keys (idempotent tables only). */
  sqlSkippingDuplicates: string | null;
  fields: string[];
  encoders: Array<((v: unknown) => unknown) | null>;
  elementTypes: ColumnType[];
  counts: TableCounts;
}

const ARRAY_TYPES = new Set<ColumnType>(['integer[]', 'bigint[]', 'jsonb']);

function quoteElement(text: string): string {
  return /["\\]/.test(text) ? `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${text}"`;
}

/** One column of a batch as a Postgres array literal, built directly (pg's generic path is slower). */
function arrayLiteral(type: ColumnType, values: unknown[]): string {
  const parts = new Array<string>(values.length);
  const asText = type === 'text' || ARRAY_TYPES.has(type);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (asText) parts[i] = quoteElement(String(v));
    else if (type === 'boolean') parts[i] = v ? 't' : 'f';
    else parts[i] = String(v);
  }
  return `{${parts.join(',')}}`;
}

function compileTable(spec: TableSpec<Record<string, unknown>>): CompiledTable {
  const names = spec.columns.map((c) => c.column);
  const params = spec.columns.map((c, i) => `$${i + 1}::${ARRAY_TYPES.has(c.type) ? 'text' : c.type}[]`);
  const select = spec.columns.map((c, i) => (ARRAY_TYPES.has(c.type) ? `u.c${i}::${c.type}` : `u.c${i}`));
  const sql =
    `INSERT INTO ${spec.table} (${names.join(', ')}) ` +
    `SELECT ${select.join(', ')} FROM unnest(${params.join(', ')}) AS u(${names.map((_, i) => `c${i}`).join(', ')})`;
  const encoders = spec.columns.map((c) => {
    if (c.type === 'jsonb') return (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
    if (c.type === 'integer[]' || c.type === 'bigint[]') {
      return (v: unknown) => (v === null || v === undefined ? null : `{${(v as number[]).join(',')}}`);
    }
    return null;
  });
  return {
    spec,
    sql,
    sqlSkippingDuplicates: spec.idempotent ? `${sql} ON CONFLICT DO NOTHING` : null,
    fields: spec.columns.map((c) => c.field),
    encoders,
    elementTypes: spec.columns.map((c) => c.type),
    counts: { flushed: 0, dropped: 0, rejected: 0 },
  };
}

export class WriteQueue<Rows extends { [K in keyof Rows]: object }> {
  private readonly clock: Clock;
  private readonly maxRows: number;
  private readonly batchRows: number;
  private readonly flushIntervalMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly statementTimeoutMs: number;
  private readonly tables = new Map<string, CompiledTable>();

  private readonly chunks: Chunk[] = [];
  private readonly openChunks = new Map<string, Chunk>();
  private buffered = 0;
  private inFlight = 0;
  private flushed = 0;
  private dropped = 0;
  private rejected = 0;
  private failures = 0;
  private batches = 0;
  private degraded = false;
  private lastError: string | null = null;
  private lastFlushAtMs: number | null = null;
  private failStreak = 0;

  private flushTimer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
  private kickScheduled = false;
  private draining: Promise<boolean> | null = null;
  private closing = false;
  private closed = false;

  constructor(
    private readonly pool: Pick<Pool, 'query'>,
    tables: TableSpecs<Rows>,
    private readonly options: WriteQueueOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.maxRows = options.maxRows ?? 500_000;
    this.batchRows = options.batchRows ?? 5_000;
    this.flushIntervalMs = options.flushIntervalMs ?? 100;
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
    for (const [key, spec] of Object.entries(tables) as Array<[string, TableSpec<Record<string, unknown>>]>) {
      this.tables.set(key, compileTable(spec));
    }
  }

  /**
   * Buffers one row; never waits. Returns false (and counts a drop) when the queue is full or
   * closed. Array and JSON values are serialized now, so the caller may reuse its objects.
   */
  enqueue<K extends keyof Rows & string>(table: K, row: Rows[K]): boolean {
    const compiled = this.tables.get(table);
    if (!compiled) throw new Error(`WriteQueue: unknown table ${table}`);
    if (this.closed || this.closing || this.buffered + this.inFlight >= this.maxRows) {
      this.dropped++;
      compiled.counts.dropped++;
      return false;
    }
    let chunk = this.openChunks.get(table);
    if (!chunk || chunk.length >= this.batchRows) {
      chunk = { table, columns: compiled.fields.map(() => []), length: 0, createdAt: this.clock.now() };
      this.chunks.push(chunk);
      this.openChunks.set(table, chunk);
    }
    const { fields, encoders } = compiled;
    const record = row as Record<string, unknown>;
    for (let i = 0; i < fields.length; i++) {
      const encode = encoders[i];
      const value = record[fields[i]];
      chunk.columns[i].push(encode ? encode(value) : value);
    }
    chunk.length++;
    this.buffered++;
    if (chunk.length >= this.batchRows) this.kick();
    else this.armFlushTimer();
    return true;
  }

  stats(): WriteQueueStats {
    const tables: Record<string, TableCounts> = {};
    for (const [name, t] of this.tables) tables[name] = { ...t.counts };
    return {
      depth: this.buffered + this.inFlight,
      inFlight: this.inFlight,
      maxRows: this.maxRows,
      flushed: this.flushed,
      dropped: this.dropped,
      rejected: this.rejected,
      failures: this.failures,
      batches: this.batches,
      degraded: this.degraded,
      lastError: this.lastError,
      lastFlushAtMs: this.lastFlushAtMs,
      tables,
    };
  }

  /** Writes everything buffered now (one attempt, no backoff wait). True if nothing is left. */
  async flush(): Promise<boolean> {
    if (this.draining) await this.draining;
    await this.drain(true);
    return this.buffered + this.inFlight === 0;
  }

  /**
   * Refuses new rows and writes the buffered ones, retrying with backoff for up to `timeoutMs`
   * (on the queue's clock). Rows still unwritten after that are counted as dropped.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<WriteQueueStats> {
    if (this.closed) return this.stats();
    this.closing = true;
    const deadline = this.clock.now() + (options.timeoutMs ?? 10_000);
    this.cancelTimers();
    for (;;) {
      if (this.draining) await this.draining;
      const ok = await this.drain(true);
      if (this.buffered + this.inFlight === 0) break;
      const wait = ok ? 0 : this.backoffDelay();
      if (this.clock.now() + wait > deadline) break;
      this.cancelTimers();
      if (wait > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, wait));
    }
    this.cancelTimers();
    const leftover = this.buffered;
    if (leftover > 0) {
      for (const chunk of this.chunks) {
        const counts = this.tables.get(chunk.table)?.counts;
        if (counts) counts.dropped += chunk.length;
      }
      this.dropped += leftover;
      this.chunks.length = 0;
      this.openChunks.clear();
      this.buffered = 0;
    }
    this.closed = true;
    return this.stats();
  }

  private cancelTimers(): void {
    if (this.flushTimer !== null) this.clock.clearTimeout(this.flushTimer);
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    this.flushTimer = null;
    this.retryTimer = null;
  }

  private backoffDelay(): number {
    return Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.max(0, this.failStreak - 1));
  }

  /** A full batch is waiting: start writing soon, but never inside the caller's stack. */
  private kick(): void {
    if (this.kickScheduled || this.draining || this.retryTimer !== null) return;
    this.kickScheduled = true;
    queueMicrotask(() => {
      this.kickScheduled = false;
      void this.drain(false);
    });
  }

  private armFlushTimer(): void {
    if (this.flushTimer !== null || this.draining || this.retryTimer !== null || this.chunks.length === 0) return;
    const age = this.clock.now() - this.chunks[0].createdAt;
    this.flushTimer = this.clock.setTimeout(() => {
      this.flushTimer = null;
      void this.drain(false);
    }, Math.max(0, this.flushIntervalMs - age));
  }

  private isReady(force: boolean): boolean {
    if (this.chunks.length === 0) return false;
    if (force || this.closing) return true;
    if (this.clock.now() - this.chunks[0].createdAt >= this.flushIntervalMs) return true;
    for (const c of this.chunks) if (c.length >= this.batchRows) return true;
    return false;
  }

  /** The single writer. Resolves false if the database failed (a retry is then scheduled). */
  private drain(force: boolean): Promise<boolean> {
    if (this.draining) return this.draining;
    if (this.flushTimer !== null) {
      this.clock.clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    // Cleared in a `finally` callback, which always runs asynchronously: assigning `draining`
    // after an async function that completed synchronously would leave a stale promise behind.
    const run = this.writeReadyChunks(force).finally(() => {
      this.draining = null;
      if (this.retryTimer === null && !this.closing) this.armFlushTimer();
    });
    this.draining = run;
    return run;
  }

  private async writeReadyChunks(force: boolean): Promise<boolean> {
    while (this.isReady(force)) {
      const chunk = this.chunks.shift()!;
      if (this.openChunks.get(chunk.table) === chunk) this.openChunks.delete(chunk.table);
      this.buffered -= chunk.length;
      this.inFlight += chunk.length;
      let unwritten: Chunk[];
      try {
        unwritten = await this.write(chunk);
      } finally {
        this.inFlight -= chunk.length;
      }
      if (unwritten.length > 0) {
        for (let i = unwritten.length - 1; i >= 0; i--) {
          this.chunks.unshift(unwritten[i]);
          this.buffered += unwritten[i].length;
        }
        this.scheduleRetry();
        return false;
      }
      if (this.degraded) this.setHealth(false);
      this.failStreak = 0;
    }
    return true;
  }

  private scheduleRetry(): void {
    this.failStreak++;
    if (!this.degraded) this.setHealth(true);
    if (this.closing || this.retryTimer !== null) return;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      void this.drain(true);
    }, this.backoffDelay());
  }

  private setHealth(degraded: boolean): void {
    this.degraded = degraded;
    this.options.onHealthChange?.(degraded, this.lastError);
  }

  /**
   * Writes one chunk. Returns the rows still unwritten because the database is unavailable
   * (empty on success). Invalid rows are isolated by bisection and rejected.
   */
  private async write(chunk: Chunk, skipDuplicates = false): Promise<Chunk[]> {
    const compiled = this.tables.get(chunk.table)!;
    try {
      await this.pool.query({
        text: skipDuplicates && compiled.sqlSkippingDuplicates ? compiled.sqlSkippingDuplicates : compiled.sql,
        values: chunk.columns.map((values, i) => arrayLiteral(compiled.elementTypes[i], values)),
        query_timeout: this.statementTimeoutMs,
      } as { text: string; values: unknown[] });
      this.flushed += chunk.length;
      compiled.counts.flushed += chunk.length;
      this.batches++;
      this.lastFlushAtMs = this.clock.now();
      return [];
    } catch (error) {
      this.lastError = describeDbError(error);
      if (!isRowError(error)) {
        this.failures++;
        return [chunk];
      }
      if (!skipDuplicates && compiled.sqlSkippingDuplicates && isUniqueViolation(error)) {
        return this.write(chunk, true);
      }
      if (chunk.length === 1) {
        this.rejected++;
        compiled.counts.rejected++;
        this.options.onRowRejected?.(chunk.table, this.lastError);
        return [];
      }
      const half = chunk.length >> 1;
      const [left, right] = [sliceChunk(chunk, 0, half), sliceChunk(chunk, half, chunk.length)];
      const leftRest = await this.write(left, skipDuplicates);
      if (leftRest.length > 0) return [...leftRest, right];
      return this.write(right, skipDuplicates);
    }
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}

function sliceChunk(chunk: Chunk, from: number, to: number): Chunk {
  return {
    table: chunk.table,
    columns: chunk.columns.map((c) => c.slice(from, to)),
    length: to - from,
    createdAt: chunk.createdAt,
  };
}
