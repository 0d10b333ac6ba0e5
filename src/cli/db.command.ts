/**
 * `kalshiflow db migrate|status|prune [--db URL] [--data-dir DIR]`: applies the store's migrations
 * (or lists the applied ones, or deletes old history — src/adapters/store/retention.ts) on the
 * database the program would use — `--db`, else DATABASE_URL, else the embedded PGlite in
 * `<KALSHIFLOW_DATA_DIR>/db` (default `.kalshiflow/db`).
 */
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

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): DbArgs | 'help' {
  let action: DbArgs['action'] | undefined;
  let databaseUrl: string | undefined;
  let dataDir: string | undefined;
  let olderThanMs: number | undefined;
  let recordings = false;
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--help' || flag === '-h') return 'help';
    else if (flag === '--db') databaseUrl = value();
    else if (flag === '--data-dir') dataDir = value();
    else if (flag === '--older-than') {
      const text = value();
      try {
        olderThanMs = parseDuration(text);
      } catch (error) {
        throw new UsageError(`--older-than: ${(error as Error).message}`);
      }
    } else if (flag === '--recordings') recordings = true;
    else if (flag === '--dry-run') dryRun = true;
    else if (flag.startsWith('-')) throw new UsageError(`unknown option ${flag}\n\n${DB_USAGE}`);
    else if (action === undefined && (flag === 'migrate' || flag === 'status' || flag === 'prune')) action = flag;
    else throw new UsageError(`unknown argument ${JSON.stringify(flag)}\n\n${DB_USAGE}`);
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
  const args = parseArgs(argv, env);
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
