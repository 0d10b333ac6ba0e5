/**
 * `kalshiflow db migrate|status|prune [--db URL] [--data-dir DIR]`: applies the store's migrations
 * (or lists the applied ones, or deletes old history — src/adapters/store/retention.ts) on the
 * database the program would use — `--db`, else DATABASE_URL, else the embedded PGlite in
 * `<KALSHIFLOW_DATA_DIR>/db` (default `.kalshiflow/db`).
 */
import { parseFlags } from './flags.ts';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import { openDatabase, redactUrl } from '../adapters/store/database.ts';
import { appliedMigrations, loadMigrations, migrate } from '../adapters/store/migrate.ts';
import { pruneHistory } from '../adapters/store/retention.ts';
import { UsageError } from '../app/errors.ts';

export const DB_USAGE = [
  'usage: kalshiflow db <migrate|status> [--db postgres://…] [--data-dir DIR]',
  '       kalshiflow db prune --older-than 7d [--recordings] [--dry-run] [--db postgres://…] [--data-dir DIR]',
  '',
  '  migrate   apply pending schema migrations (safe to run repeatedly)',
  '  status    list applied and pending migrations',
  '  prune     delete finished orders (with their events), unreferenced trader decisions and sync',
  '            runs older than --older-than; fills, open orders and the newest sync run are kept.',
  '            --recordings also deletes recorded sessions that ended before then.',
  '',
  '  --db URL        PostgreSQL server (default: $DATABASE_URL, else the embedded database)',
  '  --data-dir DIR  folder of the embedded database (default: $KALSHIFLOW_DATA_DIR/db = .kalshiflow/db)',
].join('\n');

const postgresUrl = z
  .string()
  .url('must be a postgres:// URL')
  .refine((u) => /^postgres(ql)?:\/\//.test(u), 'must be a postgres:// URL');

interface DbArgs {
  action: 'migrate' | 'status' | 'prune';
  databaseUrl?: string;
  dataDir: string;
  olderThanMs?: number;
  recordings: boolean;
  dryRun: boolean;
}

const DB_FLAGS = {
  db: { type: 'string' },
  'data-dir': { type: 'string' },
  'older-than': { type: 'string' },
  recordings: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseDbArgs(argv: string[], env: NodeJS.ProcessEnv): DbArgs | 'help' {
  const { values, positionals } = parseFlags(argv, DB_FLAGS);
  if (values.help) return 'help';
  const databaseUrl = values.db;
  const dataDir = values['data-dir'];
  const recordings = values.recordings ?? false;
  const dryRun = values['dry-run'] ?? false;
  let olderThanMs: number | undefined;
  if (values['older-than'] !== undefined) {
    try {
      olderThanMs = parseDuration(values['older-than']);
    } catch (error) {
      throw new UsageError(`--older-than: ${(error as Error).message}`);
    }
  }
  let action: DbArgs['action'] | undefined;
  for (const word of positionals) {
    if (action === undefined && (word === 'migrate' || word === 'status' || word === 'prune')) action = word;
    else throw new UsageError(`unknown argument ${JSON.stringify(word)}\n\n${DB_USAGE}`);
  }
  if (!action) throw new UsageError(`missing action\n\n${DB_USAGE}`);
  if (action === 'prune' && olderThanMs === undefined) throw new UsageError('db prune needs --older-than (e.g. 7d)');
  if (action !== 'prune' && (olderThanMs !== undefined || recordings || dryRun)) {
    throw new UsageError('--older-than, --recordings and --dry-run belong to db prune');
  }
  const fromEnv = env.DATABASE_URL?.trim() || undefined;
  const url = databaseUrl ?? fromEnv;
  if (url !== undefined) {
    const parsed = postgresUrl.safeParse(url);
    if (!parsed.success) {
      const what = databaseUrl !== undefined ? '--db' : 'DATABASE_URL';
      throw new UsageError(`${what}: ${parsed.error.issues[0].message} (got ${JSON.stringify(redactUrl(url))})`);
    }
  }
  const base = env.KALSHIFLOW_DATA_DIR?.trim() || '.kalshiflow';
  return { action, databaseUrl: url, dataDir: dataDir ?? join(base, 'db'), ...(olderThanMs !== undefined ? { olderThanMs } : {}), recordings, dryRun };
}

export async function runDbCommand(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const args = parseDbArgs(argv, env);
  if (args === 'help') {
    console.log(DB_USAGE);
    return 0;
  }
  const db = await openDatabase({ databaseUrl: args.databaseUrl, dataDir: args.dataDir, poolSize: 2 });
  const where = db.embedded ? `embedded database ${args.dataDir}` : db.url;
  try {
    if (args.action === 'migrate') {
      const result = await migrate(db.pool);
      console.log(
        result.applied.length
          ? `${where}: applied ${result.applied.join(', ')} (schema version ${result.version})`
          : `${where}: schema is current (version ${result.version})`,
      );
    } else if (args.action === 'prune') {
      const beforeMs = Date.now() - args.olderThanMs!;
      const r = await pruneHistory(db.pool, { beforeMs, recordings: args.recordings, dryRun: args.dryRun });
      const what = [
        `${r.orders} finished orders (${r.orderEvents} order events)`,
        `${r.decisions} trader decisions`,
        `${r.syncRuns} sync runs`,
        ...(args.recordings ? [`${r.recordingSessions} recorded sessions (${r.recordedRows} rows)`] : []),
      ].join(', ');
      console.log(`${where}: ${args.dryRun ? 'would delete' : 'deleted'} ${what} older than ${new Date(beforeMs).toISOString()}`);
    } else {
      const applied = await appliedMigrations(db.pool);
      const done = new Set(applied.map((m) => m.version));
      console.log(`${where}:`);
      for (const m of applied) console.log(`  applied  ${m.name}  ${new Date(m.appliedMs).toISOString()}`);
      for (const m of loadMigrations()) if (!done.has(m.version)) console.log(`  pending  ${m.name}`);
    }
    return 0;
  } finally {
    await db.close();
  }
}
