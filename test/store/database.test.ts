import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isRowError, openDatabase, query, redactUrl, storeTypes } from '../../src/adapters/store/database.ts';
import type { Database } from '../../src/adapters/store/database.ts';
import { appliedMigrations, loadMigrations, migrate } from '../../src/adapters/store/migrate.ts';
import { runDbCommand } from '../../src/cli/db.command.ts';
import { UsageError } from '../../src/app/errors.ts';

describe('embedded database (PGlite over loopback)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kf-store-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('persists in its data folder across reopen, with a pool of several connections', async () => {
    const dataDir = join(dir, 'db1');
    const first = await openDatabase({ dataDir, poolSize: 3 });
    let second: Database | undefined;
    try {
      expect(first.embedded).toBe(true);
      expect(first.url).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres$/);
      await migrate(first.pool);
      // several connections at once (the socket server's default would reset all but one)
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => query<{ n: number }>(first.pool, 'SELECT $1::bigint AS n', [i])));
      expect(results.map((r) => r[0].n)).toEqual([0, 1, 2, 3, 4, 5]);
      await query(first.pool, `INSERT INTO markets (ticker, first_seen_ms, last_seen_ms) VALUES ('KXKEEP', 1, 2)`);
    } finally {
      await first.close();
    }
    second = await openDatabase({ dataDir, poolSize: 2 });
    try {
      expect((await appliedMigrations(second.pool)).length).toBe(loadMigrations().length);
      const rows = await query<{ ticker: string; last_seen_ms: number }>(second.pool, 'SELECT ticker, last_seen_ms FROM markets');
      expect(rows).toEqual([{ ticker: 'KXKEEP', last_seen_ms: 2 }]);
    } finally {
      await second.close();
    }
  }, 90_000);

  it('refuses local clients that do not have the per-run password', async () => {
    const db = await openDatabase({ dataDir: 'memory://', poolSize: 1, maxConnections: 4 });
    try {
      const { port } = new URL(db.connectionUrl());
      const password = new URL(db.connectionUrl()).password;
      expect(password.length).toBeGreaterThanOrEqual(40);
      expect(db.url).not.toContain(password);
      const attempt = async (url: string) => {
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
        try {
          await client.connect();
          return (await client.query('SELECT 1 AS one')).rows[0].one as number;
        } finally {
          await client.end().catch(() => {});
        }
      };
      await expect(attempt(`postgres://postgres:wrong@127.0.0.1:${port}/postgres`)).rejects.toMatchObject({ code: '28P01' });
      await expect(attempt(`postgres://postgres@127.0.0.1:${port}/postgres`)).rejects.toThrow();
      // another program on this machine (psql, never prompting for a password)
      // (asynchronously: the gate answers on this process's event loop)
      const psql = await new Promise<{ failed: boolean; missing: boolean; stderr: string }>((done) => {
        execFile(
          'psql',
          ['-w', '-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-d', 'postgres', '-c', 'SELECT 1'],
          { timeout: 10_000, env: { ...process.env, PGPASSWORD: '', PGCONNECT_TIMEOUT: '5' } },
          (error, _stdout, stderr) => done({ failed: error !== null, missing: (error as { code?: unknown } | null)?.code === 'ENOENT', stderr: String(stderr) }),
        );
      });
      if (!psql.missing) {
        expect(psql.failed).toBe(true);
        expect(psql.stderr).toMatch(/password/);
      }
      // with the secret: in, and the store's own pool still works
      expect(await attempt(db.connectionUrl())).toBe(1);
      expect((await query<{ n: number }>(db.pool, 'SELECT 2::int AS n'))[0].n).toBe(2);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('leaves no socket folder behind: removed on exit without close, swept after SIGKILL', async () => {
    const script = `import { openDatabase } from ${JSON.stringify(join(process.cwd(), 'src/adapters/store/database.ts'))};
      await openDatabase({ dataDir: 'memory://', poolSize: 1 });
      console.log('open');
      if (process.argv[1] === 'exit') process.exit(0);
      setInterval(() => {}, 1000);`;
    const socketDirsOf = (pid: number) => readdirSync(tmpdir()).filter((n) => n.startsWith(`kf-pglite-${pid}-`));
    const run = (mode: 'exit' | 'hang') => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, mode], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
      const opened = new Promise<void>((resolveOpen, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('open') && resolveOpen());
        // 'close' comes after the child's output is read, so an 'open' line is never missed
        child.once('close', () => reject(new Error('child exited before opening')));
      });
      const exited = new Promise<void>((r) => child.once('close', () => r()));
      return { child, opened, exited };
    };
    // a normal exit that never closed the database
    const quitter = run('exit');
    await quitter.opened;
    await quitter.exited;
    expect(socketDirsOf(quitter.child.pid!)).toEqual([]);
    // killed: the folder stays until the next open sweeps it
    const victim = run('hang');
    await victim.opened;
    expect(socketDirsOf(victim.child.pid!)).toHaveLength(1);
    victim.child.kill('SIGKILL');
    await victim.exited;
    expect(socketDirsOf(victim.child.pid!)).toHaveLength(1);
    const next = await openDatabase({ dataDir: 'memory://', poolSize: 1 });
    await next.close();
    expect(socketDirsOf(victim.child.pid!)).toEqual([]);
    expect(socketDirsOf(process.pid)).toEqual([]);
  }, 90_000);

  it('refuses a data folder that another live process holds', async () => {
    const dataDir = join(dir, 'db2');
    // pid 1 is always alive and never us
    writeFileSync(`${dataDir}.lock`, '1');
    await expect(openDatabase({ dataDir })).rejects.toThrow(/in use by process 1/);
    // a stale lock (dead pid) is taken over
    writeFileSync(`${dataDir}.lock`, '999999999');
    const db = await openDatabase({ dataDir, poolSize: 1 });
    await db.close();
  }, 60_000);
});

describe('database helpers', () => {
  it('redacts passwords from URLs', () => {
    expect(redactUrl('postgres://kf:s3cret@db.example:5432/kf')).toBe('postgres://kf:***@db.example:5432/kf');
    expect(redactUrl('postgres://kf@db.example/kf')).toBe('postgres://kf@db.example/kf');
  });

  it('tells bad rows from an unavailable database', () => {
    expect(isRowError({ code: '23505' })).toBe(true);
    expect(isRowError({ code: '22P02' })).toBe(true);
    expect(isRowError({ code: '57P01' })).toBe(false);
    expect(isRowError({ code: 'ECONNREFUSED' })).toBe(false);
    expect(isRowError(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('parses BIGINT exactly and refuses values beyond 2^53', () => {
    const int8 = storeTypes.getTypeParser(20);
    expect(int8('9007199254740991')).toBe(9_007_199_254_740_991);
    expect(() => int8('9007199254740993')).toThrow(/does not fit/);
    expect(storeTypes.getTypeParser(1016)('{1,-2,30000000000}')).toEqual([1, -2, 30_000_000_000]);
    expect(storeTypes.getTypeParser(1016)('{}')).toEqual([]);
  });
});

describe('kalshiflow db', () => {
  let dir: string;
  const out: string[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kf-dbcmd-'));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    out.length = 0;
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates the embedded database, then reports it current', async () => {
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const env = { KALSHIFLOW_DATA_DIR: dir };
    expect(await runDbCommand(['migrate'], env)).toBe(0);
    expect(out.join('\n')).toMatch(/applied 0001_recording, 0002_trading, 0003_learning, 0004_operator_actions, 0005_journal_apply, 0006_sweeps, 0007_last_send/);
    out.length = 0;
    expect(await runDbCommand(['migrate', '--data-dir', join(dir, 'db')], {})).toBe(0);
    expect(out.join('\n')).toMatch(/schema is current \(version 7\)/);
    out.length = 0;
    expect(await runDbCommand(['status'], env)).toBe(0);
    expect(out.filter((l) => l.includes('applied '))).toHaveLength(7);
  }, 90_000);

  it('migrates a server given with --db', async () => {
    const url = process.env.TEST_DATABASE_URL;
    if (!url) return; // covered when a server is configured
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const { testDatabases } = await import('../helpers/databases.ts');
    const server = (await testDatabases()).find((d) => d.name === 'postgres')!;
    const db = await server.open({ migrate: false });
    try {
      expect(await runDbCommand(['migrate', `--db=${db.url}`], {})).toBe(0);
      expect(await runDbCommand(['migrate', '--db', db.url], {})).toBe(0);
      expect(out[1]).toMatch(/schema is current/);
    } finally {
      await db.close();
    }
  });

  it('rejects bad arguments with a usage error', async () => {
    await expect(runDbCommand([], {})).rejects.toBeInstanceOf(UsageError);
    await expect(runDbCommand(['drop'], {})).rejects.toBeInstanceOf(UsageError);
    await expect(runDbCommand(['migrate', '--frobnicate'], {})).rejects.toBeInstanceOf(UsageError);
    await expect(runDbCommand(['migrate', '--db', 'mysql://x:pw@h/db'], {})).rejects.toThrow(/--db: must be a postgres:\/\/ URL \(got "mysql:\/\/x:\*\*\*@h\/db"\)/);
    await expect(runDbCommand(['migrate'], { DATABASE_URL: 'nope' })).rejects.toThrow(/^DATABASE_URL/);
    vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(await runDbCommand(['--help'], {})).toBe(0);
  });
});
