/**
 * Sweeps across worker processes on a real PostgreSQL (issue 16 §1): two `kalshiflow worker`
 * processes share a fresh database, `session sweep --workers 0` enqueues six tiny sessions and
 * waits; one worker is SIGKILLed while it holds a job. The other takes the job over (the dead
 * worker's liveness connection is gone, so its lock is released at once), every combination ends
 * with exactly one stored result and exactly one finished session run, and running the sweep
 * again enqueues nothing. Skipped without TEST_DATABASE_URL.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createServerDatabase } from '../helpers/databases.ts';

const serverUrl = process.env.TEST_DATABASE_URL;
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'kalshiflow.js');

const SCENARIO = `name: sweep-kill
seed: 1
duration: 1m
exchange:
  markets:
    - { ticker: SWEEP-A, fair: 0.5, volatility: 0.1 }
trader:
  strategy: spread-quoter
  limits: { max_position: 10, max_order: 2 }
expect:
  final_state: ready
`;

interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startCli(args: string[], dataDir: string): Child {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, KALSHIFLOW_DATA_DIR: dataDir, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output: () => text, exited };
}

async function waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!serverUrl)('sweep across two worker processes, one killed mid-job (postgres)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  it('every combination finishes exactly once and a re-run enqueues nothing', { timeout: 90_000 }, async () => {
    const database = await createServerDatabase(serverUrl!, 'kf_sweep');
    cleanups.push(() => database.drop());
    const dir = await mkdtemp(join(tmpdir(), 'kf-sweep-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'sweep.yaml');
    await writeFile(file, SCENARIO);
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    cleanups.push(() => pool.end());

    const sweep = startCli(['session', 'sweep', file, '--seeds', '1-6', '--db', database.url, '--workers', '0'], join(dir, 'sweep'));
    cleanups.push(async () => sweep.process.kill('SIGKILL'));
    // the sweep migrates and enqueues before the workers start, so the victim finds work at once
    await waitFor('six jobs', async () => {
      const r = await pool.query(`SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = 'session_sweep'`).catch(() => null);
      return r && r.rows[0].n === 6 ? true : null;
    }, 30_000);

    const workers = [startCli(['worker', '--db', database.url], join(dir, 'w1')), startCli(['worker', '--db', database.url], join(dir, 'w2'))];
    for (const w of workers) cleanups.push(async () => w.process.kill('SIGKILL'));
    const [victim, survivor] = workers;

    // the victim's graphile-worker id, registered against its liveness connection
    const held = await waitFor('the victim to hold a job', async () => {
      const r = await pool.query<{ key: string }>(
        `SELECT j.key FROM graphile_worker.jobs j JOIN sweep_workers w ON w.worker_id = j.locked_by
          WHERE w.liveness LIKE $1 AND j.locked_at IS NOT NULL`,
        [`kalshiflow-worker-${victim.process.pid}-%`],
      );
      return r && r.rows.length > 0 ? r.rows[0].key : null;
    }, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\nvictim: ${victim.output()}\nsurvivor: ${survivor.output()}\nsweep: ${sweep.output()}`);
    });
    await new Promise((r) => setTimeout(r, 300)); // into the session itself
    victim.process.kill('SIGKILL');
    await victim.exited;

    const code = await Promise.race([sweep.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
    expect(code, sweep.output()).toBe(0);
    expect(sweep.output()).toContain('6/6 done');

    const results = await pool.query<{ job_key: string; worker: string; attempt: number; status: string }>('SELECT job_key, worker, attempt, status FROM sweep_results');
    expect(results.rows).toHaveLength(6);
    expect(new Set(results.rows.map((r) => r.job_key)).size).toBe(6);
    expect(results.rows.every((r) => r.status === 'passed')).toBe(true);
    const taken = results.rows.find((r) => r.job_key === held)!;
    expect(taken.worker.startsWith(`kalshiflow-worker-${survivor.process.pid}-`)).toBe(true);
    expect(taken.attempt).toBeGreaterThanOrEqual(2);
    // one finished session run per combination: no job ran to the end twice
    const runs = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM session_runs WHERE status <> 'running'`);
    expect(runs.rows[0].n).toBe(6);
    const left = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker.jobs');
    expect(left.rows[0].n).toBe(0);

    const again = startCli(['session', 'sweep', file, '--seeds', '1-6', '--db', database.url, '--workers', '0'], join(dir, 'sweep'));
    cleanups.push(async () => again.process.kill('SIGKILL'));
    expect(await again.exited, again.output()).toBe(0);
    expect(again.output()).toContain('0 enqueued, 6 already finished');

    survivor.process.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
  });
});
