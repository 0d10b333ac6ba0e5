/**
 * A private PostgreSQL cluster for tests that must stop the database server itself (an outage):
 * `initdb` in a temp folder, `pg_ctl start` on a free loopback port, `pg_ctl stop -m fast`, and
 * `destroy()` to stop it and remove the folder. PostgreSQL refuses to run as root, so when the
 * tests run as root the commands run as the `postgres` user (runuser). Trust auth, loopback only.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes.ts';

const run = promisify(execFile);
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresCluster {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly dataDir: string;
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`: sessions are terminated, the server is gone when this resolves. */
  stop(): Promise<void>;
  /** Stops the server if it runs and removes its folder. */
  destroy(): Promise<void>;
}

/** True when this machine can run a private cluster (the binaries exist; root can become postgres). */
export function canRunPostgresCluster(): boolean {
  return existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'));
}

async function asPostgres(command: string, args: string[], timeoutMs = 60_000): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const file = asRoot ? 'runuser' : join(PG_BIN, command);
  const argv = asRoot ? ['-u', 'postgres', '--', join(PG_BIN, command), ...args] : args;
  try {
    await run(file, argv, { timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

export async function createPostgresCluster(): Promise<PostgresCluster> {
  const root = mkdtempSync(join(tmpdir(), 'kf-pg-'));
  const dataDir = join(root, 'data');
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(root, id('-u'), id('-g'));
  }
  await asPostgres('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  let running = false;
  const cluster: PostgresCluster = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dataDir,
    async start() {
      await asPostgres('pg_ctl', [
        '-D',
        dataDir,
        '-l',
        join(root, 'server.log'),
        '-w',
        '-t',
        '30',
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -k ${root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
        'start',
      ]);
      running = true;
    },
    async stop() {
      await asPostgres('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
      running = false;
    },
    async destroy() {
      try {
        if (running) await cluster.stop();
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
  return cluster;
}
