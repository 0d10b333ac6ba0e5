/**
 * Group commit for the order journal. Writes queue in the order they are made and go to the
 * database in batches: a batch is one `journal_apply` statement (one round trip, one commit, all
 * or nothing), sent as soon as the previous batch is done, so everything that queued meanwhile —
 * intents of other orders, answers, events, fills, decisions — shares it. A caller awaiting its
 * write (an intent before its request leaves, a fill before the money it moves) hears once its
 * batch has committed, and by then every write queued before it has committed too: durability in
 * queue order is what lets answers and events be written without being awaited.
 *
 * A batch the database refuses as a bad row (SQLSTATE class 22/23) is retried one op at a time,
 * so only the bad op fails; a batch that fails because the database is unreachable fails every op
 * in it (their callers handle the outage, as with single writes).
 *
 * One writer per pool (`journalWriter(pool)`), so every part of a process writing one ledger
 * shares the queue; the journal's reads wait for it (`settleJournalWrites`), so a read sees every
 * write queued before it. Same code on PGlite and PostgreSQL.
 */
import { isRowError, query } from './database.ts';
import type { Queryable } from './database.ts';
import type { FillRecord, OrderEvent, OrderIntent, TraderDecision, VenueAnswer } from './journal.ts';
import type { JournalOrderState } from './statuses.ts';

/** One write of the order journal, as `journal_apply` takes it (field names as in the types above). */
export type JournalOp =
  | ({ op: 'intent' } & Omit<OrderIntent, 'state'> & { state: Extract<JournalOrderState, 'initialized' | 'denied'> })
  | { op: 'sent'; clientOrderId: string; sentMs: number }
  | ({ op: 'answer'; clientOrderId: string; state: JournalOrderState } & Omit<VenueAnswer, 'state'>)
  | ({ op: 'event' } & OrderEvent)
  | ({ op: 'fill' } & FillRecord)
  | ({ op: 'decision' } & TraderDecision);

/** What `journal_apply` answers for one op (see migration 0005). */
export interface JournalOpResult {
  /** The order row (snake_case columns), for intent and answer. */
  row?: Record<string, unknown>;
  id?: number;
  new?: boolean;
  ok?: boolean;
  error?: 'duplicate' | 'unknown_order';
}

/** Applies `ops` in order in one statement (atomic: all or none); one result per op. */
export async function applyJournalOps(db: Queryable, ops: readonly JournalOp[]): Promise<JournalOpResult[]> {
  if (ops.length === 0) return [];
  const rows = await query<{ results: JournalOpResult[] }>(db, 'SELECT journal_apply($1::jsonb) AS results', [JSON.stringify(ops)]);
  return rows[0].results;
}


/** Ops in one statement at most (a burst beyond it takes several round trips). */
const MAX_BATCH = 500;

interface Pending {
  /** Its place in the queue (1, 2, …). */
  seq: number;
  op: JournalOp;
  resolve(result: JournalOpResult): void;
  reject(error: unknown): void;
}

export interface JournalWriterStats {
  batches: number;
  ops: number;
  largestBatch: number;
}

export class JournalWriter {
  private queue: Pending[] = [];
  private draining = false;
  /** Ops queued so far, and how many of them are committed or refused (queue order). */
  private queued = 0;
  private done = 0;
  private waiters: Array<{ seq: number; wake: () => void }> = [];
  readonly stats: JournalWriterStats = { batches: 0, ops: 0, largestBatch: 0 };
  private readonly batchListeners = new Set<(seconds: number, ops: number) => void>();

  /** Told after every committed batch: its wall time (one round trip of group commit) and size. */
  onBatch(listener: (seconds: number, ops: number) => void): () => void {
    this.batchListeners.add(listener);
    return () => this.batchListeners.delete(listener);
  }

  constructor(
    private readonly db: Queryable,
    private readonly maxBatch = MAX_BATCH,
  ) {}

  /** Queues one op; resolves with its result once its batch has committed. */
  write(op: JournalOp): Promise<JournalOpResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ seq: ++this.queued, op, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // a microtask, not a timer: writes made in the same turn share the first batch, and the
        // statement starts before the turn ends (a scripted session's clock waits for it)
        queueMicrotask(() => void this.drain());
      }
    });
  }

  /** Ops queued and not yet committed or refused. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Resolves once every op queued so far has been committed or refused — not waiting for ops
   * queued later, so a reader is never starved by a steady stream of writes.
   */
  settled(): Promise<void> {
    const seq = this.queued;
    if (this.done >= seq) return Promise.resolve();
    return new Promise((wake) => this.waiters.push({ seq, wake }));
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        this.stats.batches++;
        this.stats.ops += batch.length;
        this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
        try {
          await this.apply(batch);
        } finally {
          this.done = batch[batch.length - 1].seq;
          this.wakeSettled();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private wakeSettled(): void {
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (waiter.seq <= this.done) waiter.wake();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  private async apply(batch: Pending[]): Promise<void> {
    let results: JournalOpResult[];
    const startedAt = performance.now();
    try {
      results = await applyJournalOps(this.db, batch.map((p) => p.op));
      const seconds = (performance.now() - startedAt) / 1000;
      for (const listener of this.batchListeners) {
        try {
          listener(seconds, batch.length);
        } catch {
          // an observer's failure must not fail the write
        }
      }
    } catch (error) {
      if (batch.length > 1 && isRowError(error)) {
        // one bad row must not take the others down with it: find it
        for (const pending of batch) await this.apply([pending]);
        return;
      }
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, i) => pending.resolve(results[i]));
  }
}

const writers = new WeakMap<object, JournalWriter>();

/** The journal writer of `db` (one per pool: every writer of one ledger shares its queue). */
export function journalWriter(db: Queryable): JournalWriter {
  let writer = writers.get(db);
  if (!writer) {
    writer = new JournalWriter(db);
    writers.set(db, writer);
  }
  return writer;
}

/** Waits until the writes queued on `db`'s journal writer (if it has one) are committed or refused. */
export function settleJournalWrites(db: Queryable): Promise<void> {
  return writers.get(db)?.settled() ?? Promise.resolve();
}
