/**
 * Databases for store tests: an embedded PGlite (in memory, served over loopback exactly as in
 * production) always, and a real PostgreSQL when TEST_DATABASE_URL is set — each `open()` then
 * creates a fresh `kf_test_<random>` database on that server and drops it on `close()`.
 * Use with `describe.each(await testDatabases())`.
 */
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { createPool, openDatabase } from '../../src/adapters/store/database.ts';
import { migrate } from '../../src/adapters/store/migrate.ts';

export interface OpenTestDatabase {
  pool: Pool;
  /** Connection URL, with the password where there is one (the embedded database's, per run). */
  url: string;
  close(): Promise<void>;
}

export interface TestDatabase {
  name: 'pglite' | 'postgres';
  /** Opens a fresh, empty database; migrated unless `{ migrate: false }`. */
  open(options?: { migrate?: boolean; poolSize?: number }): Promise<OpenTestDatabase>;
}

async function openPglite(poolSize: number): Promise<OpenTestDatabase> {
  // headroom for a second pool in the same test (e.g. through an outage proxy)
  const db = await openDatabase({ dataDir: 'memory://', poolSize, maxConnections: poolSize + 4, connectionTimeoutMs: 5_000 });
  return { pool: db.pool, url: db.connectionUrl(), close: () => db.close() };
}

async function openPostgres(serverUrl: string, poolSize: number): Promise<OpenTestDatabase> {
  const database = await createServerDatabase(serverUrl);
  const pool = createPool(database.url, poolSize, 5_000);
  let closed = false;
  return {
    pool,
    url: database.url,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await pool.end();
      } finally {
        await database.drop();
      }
    },
  };
}

export async function testDatabases(): Promise<TestDatabase[]> {
  const kinds: TestDatabase[] = [];
  const withMigrations =
    (opener: (poolSize: number) => Promise<OpenTestDatabase>) =>
    async (options: { migrate?: boolean; poolSize?: number } = {}): Promise<OpenTestDatabase> => {
      const db = await opener(options.poolSize ?? 4);
      if (options.migrate ?? true) {
        try {
          await migrate(db.pool);
        } catch (error) {
          await db.close();
          throw error;
        }
      }
      return db;
    };
  kinds.push({ name: 'pglite', open: withMigrations(openPglite) });
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) kinds.push({ name: 'postgres', open: withMigrations((n) => openPostgres(serverUrl, n)) });
  return kinds;
}

/**
 * A fresh, empty database on the PostgreSQL server at `serverUrl` (for tests whose child processes
 * migrate it themselves): its URL, and `drop()` to remove it (FORCE: connections of killed children).
 */
export async function createServerDatabase(serverUrl: string, prefix = 'kf_test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = createPool(serverUrl, 1, 5_000);
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    await admin.end();
    throw error;
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
