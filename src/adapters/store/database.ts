/**
 * Opening the database: a `pg.Pool` to a PostgreSQL server when a URL is given, otherwise an
 * embedded PGlite (Postgres compiled to WASM) persisted in a local folder and served over a
 * loopback socket by `@electric-sql/pglite-socket`, so both cases run the same `pg` code path and
 * the same SQL. Also the shared pieces every repository uses: BIGINT-as-number type parsers and
 * the classification of errors into "database unreachable, retry later" versus "bad row".
 *
 * Sits in the adapters layer: the only module that knows PGlite exists.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { redactUrl } from '../../core/secrets.ts';
import { newEmbeddedPassword, startPasswordGate, type PasswordGate } from './password-gate.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { createPrivateSocketDir } from './socket-dir.ts';

export const DEFAULT_DATA_DIR = '.kalshiflow/db';
const DEFAULT_POOL_SIZE = 10;

export class StoreError extends Error {
  override readonly name: string = 'StoreError';
}

export interface OpenDatabaseOptions {
  /** postgres://… of a running server. Absent → embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  /** Folder of the embedded database (default `.kalshiflow/db`); `memory://` keeps it in memory. */
  dataDir?: string;
  /** Connections in the pool (and concurrent socket connections the embedded server accepts). */
  poolSize?: number;
  /** Milliseconds to wait for a connection before a query fails (default 10 s). */
  connectionTimeoutMs?: number;
  /**
   * Embedded only: connections the socket server accepts (default `poolSize`). Raise it to let
   * other clients (a second pool, psql) connect too, with `connectionUrl()`; beyond it a
   * connection is dropped.
   */
  maxConnections?: number;
}

export interface Database {
  pool: Pool;
  /** Connection URL, password redacted (for logs and reports). */
  url: string;
  /**
   * The URL to connect another client with, password included (the embedded database's is
   * random per run): hand it to a driver, never print it.
   */
  connectionUrl(): string;
  embedded: boolean;
  close(): Promise<void>;
}

/** A pool or a checked-out client: anything repositories can run a query on. */
export type Queryable = Pick<Pool, 'query'> | PoolClient;

const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;

function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new StoreError(`BIGINT ${text} does not fit a JavaScript number exactly`);
  return n;
}

/** Parses `{1,2,-3}` (no NULLs: none of our BIGINT[] columns hold them). */
function parseInt8Array(text: string): number[] {
  if (text.length <= 2) return [];
  const parts = text.slice(1, -1).split(',');
  const out = new Array<number>(parts.length);
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === 'NULL') throw new StoreError('unexpected NULL in a BIGINT[] column');
    out[i] = parseInt8(parts[i]);
  }
  return out;
}

/**
 * Type parsers for every query we make: BIGINT (money in micros, counts, ms timestamps, ids) as
 * exact JavaScript numbers instead of strings; a value beyond 2^53 is an error, never a rounding.
 * Passed per query so repositories behave the same on any pool a caller hands them.
 */
export const storeTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (format !== 'binary') {
      if (oid === INT8_OID) return parseInt8;
      if (oid === INT8_ARRAY_OID) return parseInt8Array;
    }
    return (pg.types.getTypeParser as (o: number, f?: string) => (value: string) => unknown)(oid, format ?? 'text');
  },
};

/** Runs a parameterized query with the store's type parsers. */
export async function query<R extends QueryResultRow = QueryResultRow>(
  db: Queryable,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const result = await db.query<R>({ text, values, types: storeTypes });
  return result.rows;
}

/** Runs `work` in a transaction on one pooled connection; rolls back if it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // A checked-out client whose server goes away (a database outage) emits 'error'; the pool only
  // listens on idle clients, and unhandled that event crashed the process. The query in flight
  // rejects with the same error, which is how the caller hears of it.
  const onConnectionError = () => {
    broken = true;
  };
  client.on('error', onConnectionError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection itself failed: do not return it to the pool
    }
    throw error;
  } finally {
    client.removeListener('error', onConnectionError);
    client.release(broken);
  }
}

// postgres://user:secret@host/db → postgres://user:***@host/db, for logs and status output
export { redactUrl };

/**
 * True when an error means "the row is wrong" (SQLSTATE class 22 data exception or 23 integrity
 * violation): retrying the same row can never succeed. Everything else — refused connections,
 * terminated sessions, timeouts, even a missing table — is treated as the database being
 * unavailable, which is retried rather than dropped.
 */
export function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGES = /connection terminated|timeout exceeded when trying to connect|connection error|not queryable|Connection refused|server closed the connection|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * True when an error means "the database server is unreachable or going away" rather than "this
 * query is wrong": refused or reset connections, pool connect timeouts, terminated sessions, and
 * SQLSTATE class 08 (connection exception) and 57P01–57P03 (admin shutdown, crash shutdown, cannot
 * connect now). The trader treats these as a journal outage (trading paused until a probe
 * succeeds); a bad row or a bug in a query is not one.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNAVAILABLE_ERRNOS.has(code) || /^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return false;
  }
  if ((error as { errors?: unknown }).errors instanceof Array) {
    // AggregateError from a dual-stack connect: each attempt refused
    return ((error as unknown as { errors: unknown[] }).errors).some(isDatabaseUnavailable);
  }
  return UNAVAILABLE_MESSAGES.test(error.message);
}

/** One line describing a database error without secrets (pg errors never carry the password). */
export function describeDbError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && code ? `${error.message} (${code})` : error.message || error.name;
  }
  return String(error);
}

function attachPoolErrorSink(pool: Pool): void {
  // An idle client whose server went away emits 'error' on the pool; unhandled, that would crash
  // the process. The next query on the pool reports the outage where someone can act on it.
  pool.on('error', () => {});
  // The same for a checked-out client between queries (pg-pool listens only on idle ones): the
  // next query on it fails with "not queryable", and its caller handles that.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
}

/** Creates a pg.Pool with the store's defaults (type parsers, connection timeout, error sink). */
export function createPool(url: string, poolSize = DEFAULT_POOL_SIZE, connectionTimeoutMs = 10_000): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    types: storeTypes,
  });
  attachPoolErrorSink(pool);
  return pool;
}

type PgliteClass = typeof import('@electric-sql/pglite').PGlite;

/**
 * Server settings of the embedded database, after PGlite's own. Shared buffers live in the WASM
 * heap: PGlite's 128 MB default made the embedded database most of `start`'s resident memory;
 * 16 MB keeps the journal's and recorder's hot pages (everything else is one memcpy away in the
 * in-process file system). Measured: 303 → 180 MB RSS right after opening.
 */
const EMBEDDED_SETTINGS = ['-c', 'shared_buffers=16MB'];
type PgliteInstance = InstanceType<PgliteClass>;

/**
 * A new embedded database starts from a copy of a freshly initialised one (a tar of its data
 * folder, made once per PGlite version and kept in a private folder of this user under the temp
 * folder: 0700, owned by us, checked before every use — a copy someone else could have written is
 * never loaded) instead of running initdb:
 * initdb in WASM takes ~17–22 s and leaves several hundred MB of heap behind, loading the copy
 * ~4 s. A folder that already holds a database opens as it is. A copy that fails to load is
 * removed and initdb runs as before.
 */
async function createPglite(PGlite: PgliteClass, dataDir: string | undefined): Promise<PgliteInstance> {
  const options = { ...(dataDir ? { dataDir } : {}), startParams: [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS] };
  if (dataDir && existsSync(join(dataDir, 'PG_VERSION'))) return PGlite.create(options);
  const templatePath = pgliteTemplatePath();
  if (templatePath === null) return PGlite.create(options);
  if (isOwnFile(templatePath)) {
    try {
      return await PGlite.create({ ...options, loadDataDir: new Blob([readFileSync(templatePath)]) });
    } catch {
      rmSync(templatePath, { force: true });
      if (dataDir) for (const entry of ['PG_VERSION', 'base', 'global']) rmSync(join(dataDir, entry), { recursive: true, force: true });
    }
  }
  const db = await PGlite.create(options);
  try {
    // written under a private name, then renamed: a concurrent opener never reads half a copy
    const dump = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
    const partial = `${templatePath}.${process.pid}.${Date.now()}`;
    writeFileSync(partial, dump, { mode: 0o600 });
    renameSync(partial, templatePath);
  } catch {
    // no copy this time: the next new database runs initdb again
  }
  return db;
}

/** Ours alone: a regular file (not a link) owned by this user, writable by no one else. */
function isOwnFile(path: string): boolean {
  try {
    const stat = lstatSync(path);
    return stat.isFile() && (process.getuid === undefined || stat.uid === process.getuid()) && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** `<tmp>/kalshiflow-cache-<uid>/` (0700, ours), or null when it cannot be made ours. */
function privateCacheDir(): string | null {
  const dir = join(tmpdir(), `kalshiflow-cache-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') return null;
  }
  try {
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || (process.getuid !== undefined && stat.uid !== process.getuid()) || (stat.mode & 0o077) !== 0) return null;
  } catch {
    return null;
  }
  return dir;
}

function pgliteTemplatePath(): string | null {
  const dir = privateCacheDir();
  if (dir === null) return null;
  let version = 'unknown';
  try {
    // the package exports no package.json: read it beside its entry (dist/index.cjs)
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    version = (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // keyed by 'unknown': still one copy per machine
  }
  return join(dir, `pglite-${version}-initdb.tar`);
}

/**
 * Opens the database. With `databaseUrl`: a pool to that server. Without: an embedded PGlite in
 * `dataDir`, served on 127.0.0.1 (an OS-chosen port) to a pool of `poolSize` connections. The
 * embedded server runs one transaction at a time across all connections, so callers keep
 * transactions short. Does not migrate: call `migrate(db.pool)`.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new StoreError(`poolSize must be a positive integer, got ${poolSize}`);
  if (options.databaseUrl) {
    const pool = createPool(options.databaseUrl, poolSize, options.connectionTimeoutMs);
    const databaseUrl = options.databaseUrl;
    return { pool, url: redactUrl(databaseUrl), connectionUrl: () => databaseUrl, embedded: false, close: () => pool.end() };
  }

  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  const inMemory = dataDir.startsWith('memory://');
  const releaseLock = inMemory ? () => {} : acquireDataDirLock(dataDir);
  // Loaded lazily: a deployment with a real server never pays for the WASM module.
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  let db: InstanceType<typeof PGlite> | undefined;
  let server: InstanceType<typeof PGLiteSocketServer> | undefined;
  let gate: PasswordGate | undefined;
  // PGlite itself accepts anyone: it listens on a socket only we can open (0700 folder, 0600
  // socket), and TCP clients pass the password gate first (password-gate.ts)
  const socketDir = createPrivateSocketDir();
  const socketPath = socketDir.socketPath;
  const password = newEmbeddedPassword();
  try {
    if (!inMemory) mkdirSync(dataDir, { recursive: true });
    db = await createPglite(PGlite, inMemory ? undefined : resolve(dataDir));
    const maxConnections = Math.max(poolSize, options.maxConnections ?? poolSize);
    server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
    await server.start();
    chmodSync(socketPath, 0o600);
    gate = await startPasswordGate({ upstreamPath: socketPath, password, maxConnections });
  } catch (error) {
    await gate?.close().catch(() => {});
    await server?.stop().catch(() => {});
    await db?.close().catch(() => {});
    socketDir.remove();
    releaseLock();
    throw error;
  }
  const connectionUrl = `postgres://postgres:${password}@${gate.host}:${gate.port}/postgres`;
  const url = redactUrl(connectionUrl);
  // PGlite is ONE backend session behind the socket server: two pool connections interleave
  // their extended-protocol messages (seen live: "unnamed prepared statement does not exist",
  // "bind message supplies 14 parameters, but prepared statement requires 15"), so the embedded
  // pool is always a single connection; queries queue in pg instead.
  const pool = createPool(connectionUrl, 1, options.connectionTimeoutMs);
  const embeddedGate = gate;
  const embeddedServer = server;
  const embeddedDb = db;
  let closed = false;
  return {
    pool,
    url,
    connectionUrl: () => connectionUrl,
    embedded: true,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await pool.end();
      } finally {
        await embeddedGate.close();
        await embeddedServer.stop();
        await embeddedDb.close();
        socketDir.remove();
        releaseLock();
      }
    },
  };
}
