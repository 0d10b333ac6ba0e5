import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenTestDatabase } from '../helpers/databases.ts';
import { testDatabases } from '../helpers/databases.ts';
import { appliedMigrations, loadMigrations, migrate } from '../../src/adapters/store/migrate.ts';
import { StoreError, query } from '../../src/adapters/store/database.ts';

const EXPECTED_TABLES = [
  'recording_sessions',
  'markets',
  'session_markets',
  'book_snapshots',
  'book_deltas',
  'book_trades',
  'book_gaps',
  'trader_decisions',
  'orders',
  'order_events',
  'fills',
  'sync_runs',
  'sync_findings',
  'position_snapshots',
  'balance_snapshots',
  'models',
  'episodes',
  'session_runs',
  'operator_actions',
  'schema_migrations',
];

describe.each(await testDatabases())('migrations on $name', (kind) => {
  let db: OpenTestDatabase;
  beforeAll(async () => {
    db = await kind.open({ migrate: false });
  });
  afterAll(async () => {
    await db?.close();
  });

  it('starts with nothing applied', async () => {
    expect(await appliedMigrations(db.pool)).toEqual([]);
  });

  it('applies every migration once, even when run concurrently', async () => {
    const all = loadMigrations();
    const results = await Promise.all([migrate(db.pool), migrate(db.pool), migrate(db.pool)]);
    const appliedNames = results.flatMap((r) => r.applied).sort();
    expect(appliedNames).toEqual(all.map((m) => m.name).sort());
    for (const r of results) expect(r.version).toBe(all.length);
    const applied = await appliedMigrations(db.pool);
    expect(applied.map((m) => m.version)).toEqual(all.map((m) => m.version));
  });

  it('creates every table', async () => {
    const rows = await query<{ table_name: string }>(
      db.pool,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    const names = new Set(rows.map((r) => r.table_name));
    for (const t of EXPECTED_TABLES) expect(names, t).toContain(t);
  });

  it('re-applying is a no-op', async () => {
    const again = await migrate(db.pool);
    expect(again.applied).toEqual([]);
    expect(again.version).toBe(loadMigrations().length);
  });

  it('refuses a migration that changed after it was applied', async () => {
    const edited = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'different' } : m));
    await expect(migrate(db.pool, { migrations: edited })).rejects.toThrow(/changed after it was applied/);
  });

  it('refuses to run against a newer schema than it knows', async () => {
    const older = loadMigrations().slice(0, 1);
    await expect(migrate(db.pool, { migrations: older })).rejects.toBeInstanceOf(StoreError);
  });
});
