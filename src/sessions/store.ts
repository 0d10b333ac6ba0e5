/**
 * Where scripted runs are stored. Each run gets a row in `session_runs` (scenario, seed, status,
 * the report as JSON) and its own trading ledger — orders, fills, sync runs — in a Postgres
 * schema of its own, `session_run_<id>`: runs of the same seed reuse the same client_order_ids and
 * simulator ids, so sharing one ledger would make the second run collide with the first. The
 * ledger schema is migrated like the main one and stays after the run, for inspection.
 *
 * One connection (pool size 1): the embedded PGlite is one backend session anyway, and a single
 * connection keeps the order of database answers — and so the run — deterministic. Runs of one
 * store are sequential. Part of src/sessions; the SQL itself lives in src/adapters/store.
 */
import type { Pool } from 'pg';
import {
  finishSessionRun,
  migrate,
  openDatabase,
  startSessionRun,
} from '../adapters/store/index.ts';
import type { Database } from '../adapters/store/index.ts';

export interface SessionStoreOptions {
  /** postgres://… ; absent → an embedded PGlite (`dataDir`, default in memory). */
  databaseUrl?: string;
  /** Folder of the embedded database; `memory://` (default) keeps it in memory. */
  dataDir?: string;
}

export interface RunStart {
  scenario: string;
  sha256: string;
  seed: number;
  clock: 'virtual' | 'real';
  startedMs: number;
}

export interface RunFinish {
  status: 'passed' | 'failed' | 'error' | 'aborted';
  endedMs: number;
  assertionsPassed: number;
  assertionsFailed: number;
  report: Record<string, unknown>;
}

export interface RunLedger {
  runId: number;
  /** Schema holding this run's orders, fills and syncs. */
  schema: string;
  /** The store's database, its connection pointed at the run's schema until finish(). */
  database: Database;
  finish(result: RunFinish): Promise<void>;
}

export class SessionStore {
  private searchPath = 'public';
  private active = false;
  private closed = false;

  private constructor(
    readonly database: Database,
    private readonly ownsDatabase: boolean,
  ) {
    // a replaced connection (idle timeout, server restart) comes back on the current schema
    database.pool.on('connect', (client) => {
      client.query(`SET search_path TO ${this.searchPath}`).catch(() => undefined);
    });
  }

  static async open(options: SessionStoreOptions = {}): Promise<SessionStore> {
    const database = await openDatabase(
      options.databaseUrl ? { databaseUrl: options.databaseUrl, poolSize: 1 } : { dataDir: options.dataDir ?? 'memory://', poolSize: 1 },
    );
    const store = new SessionStore(database, true);
    try {
      await migrate(database.pool);
    } catch (error) {
      await database.close();
      throw error;
    }
    return store;
  }

  /** Wraps a database someone else opened (and will close); it must have a pool of one connection. */
  static async wrap(database: Database): Promise<SessionStore> {
    const store = new SessionStore(database, false);
    await migrate(database.pool);
    return store;
  }

  get pool(): Pool {
    return this.database.pool;
  }

  get url(): string {
    return this.database.url;
  }

  private async usePath(path: string): Promise<void> {
    this.searchPath = path;
    await this.database.pool.query(`SET search_path TO ${path}`);
  }

  /** Records the run and points the connection at a fresh, migrated ledger schema for it. */
  async beginRun(run: RunStart): Promise<RunLedger> {
    if (this.closed) throw new Error('session store is closed');
    if (this.active) throw new Error('a session run is already active on this store (runs are sequential)');
    this.active = true;
    try {
      await this.usePath('public');
      const runId = await startSessionRun(this.database.pool, {
        scenario: run.scenario,
        scenarioSha256: run.sha256,
        seed: run.seed,
        clock: run.clock,
        startedMs: run.startedMs,
      });
      const schema = `session_run_${runId}`;
      await this.database.pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await this.usePath(schema);
      await migrate(this.database.pool);
      let finished = false;
      return {
        runId,
        schema,
        database: { ...this.database, close: async () => {} },
        finish: async (result: RunFinish) => {
          if (finished) return;
          finished = true;
          try {
            await this.usePath('public');
            await finishSessionRun(this.database.pool, runId, result);
          } finally {
            this.active = false;
          }
        },
      };
    } catch (error) {
      this.active = false;
      await this.usePath('public').catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDatabase) await this.database.close();
  }
}
