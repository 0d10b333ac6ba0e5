/**
 * Versioned SQL migrations (`migrations/NNNN_name.sql`), applied in order at start and by
 * `kalshiflow db migrate`. Each migration runs in its own transaction holding a transaction-level
 * advisory lock, and re-reads `schema_migrations` under that lock, so running `migrate` twice, or
 * from several processes at once, applies each file exactly once. A checksum per applied file
 * catches a migration edited after it shipped.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from 'pg';
import { systemClock } from '../../core/clock.ts';
import type { Clock } from '../../core/clock.ts';
import { StoreError, inTransaction, query } from './database.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  /** Names of the migrations this call applied (empty when the schema was already current). */
  applied: string[];
  /** Highest version now in the database. */
  version: number;
}

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Arbitrary constant shared by every kalshiflow process: the key of the migration lock. */
const MIGRATION_LOCK_KEY = 7_238_114_905_561_013;

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = FILE_NAME.exec(file);
    if (!match) continue;
    const sql = readFileSync(join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: file.replace(/\.sql$/, ''),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  for (let i = 0; i < migrations.length; i++) {
    if (migrations[i].version !== i + 1) {
      throw new StoreError(`migrations must be numbered 0001, 0002, … without gaps; found ${migrations[i].name}`);
    }
  }
  return migrations;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

/** Applies every pending migration. Safe to run repeatedly and concurrently. */
export async function migrate(
  pool: Pool,
  options: { migrations?: Migration[]; clock?: Clock } = {},
): Promise<MigrationResult> {
  const migrations = options.migrations ?? loadMigrations();
  const clock = options.clock ?? systemClock;
  const applied: string[] = [];
  for (;;) {
    const step = await inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version    INTEGER PRIMARY KEY,
           name       TEXT NOT NULL,
           checksum   TEXT NOT NULL,
           applied_ms BIGINT NOT NULL
         )`,
      );
      const done = await query<AppliedRow>(client, 'SELECT version, name, checksum FROM schema_migrations ORDER BY version');
      const known = new Map(migrations.map((m) => [m.version, m]));
      for (const row of done) {
        const m = known.get(row.version);
        if (!m) {
          throw new StoreError(
            `database schema has migration ${row.name}, which this program does not know (is it older than the database?)`,
          );
        }
        if (m.checksum !== row.checksum) {
          throw new StoreError(`migration ${row.name} was changed after it was applied (checksum differs)`);
        }
      }
      const doneVersions = new Set(done.map((r) => r.version));
      const next = migrations.find((m) => !doneVersions.has(m.version));
      if (!next) return { version: done.length ? done[done.length - 1].version : 0, name: null };
      await client.query(next.sql);
      await client.query('INSERT INTO schema_migrations (version, name, checksum, applied_ms) VALUES ($1, $2, $3, $4)', [
        next.version,
        next.name,
        next.checksum,
        clock.now(),
      ]);
      return { version: next.version, name: next.name };
    });
    if (step.name === null) return { applied, version: step.version };
    applied.push(step.name);
  }
}

/** The applied migrations, oldest first (empty if the database was never migrated). */
export async function appliedMigrations(pool: Pool): Promise<Array<{ version: number; name: string; appliedMs: number }>> {
  const exists = await query<{ present: boolean }>(pool, "SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (!exists[0]?.present) return [];
  const rows = await query<{ version: number; name: string; applied_ms: number }>(
    pool,
    'SELECT version, name, applied_ms FROM schema_migrations ORDER BY version',
  );
  return rows.map((r) => ({ version: r.version, name: r.name, appliedMs: r.applied_ms }));
}
