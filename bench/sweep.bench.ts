/**
 * Sweep throughput on PostgreSQL (issue 16 §1): `session sweep --workers 0` enqueues `--jobs`
 * tiny sessions (1 market, 1 min virtual) in a fresh database, then 1 and then 2 `kalshiflow
 * worker` processes (one job at a time each) run them. Figure: jobs per second from the workers'
 * spawn to the sweep's exit (goal: near-linear, 2 workers ≈ 2× one, on a machine with the cores
 * free — give the load average with the figure). Needs TEST_DATABASE_URL (or
 * postgres://postgres@127.0.0.1:5432/test); each run's database is created and dropped.
 * Run: npm run bench -- sweep [--jobs 8]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { report } from './harness.ts';

const BENCH = 'sweep';
const BIN = fileURLToPath(new URL('../bin/kalshiflow.js', import.meta.url));
const { values } = parseArgs({ options: { jobs: { type: 'string', default: '8' } } });
const jobs = Number(values.jobs);
const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

const SCENARIO = `name: sweep-bench
seed: 1
duration: 1m
exchange:
  markets:
    - { ticker: BENCH-A, fair: 0.5, volatility: 0.1 }
trader:
  strategy: spread-quoter
  limits: { max_position: 10, max_order: 2 }
expect:
  final_state: ready
`;

function cli(args: string[], dataDir: string) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, KALSHIFLOW_DATA_DIR: dataDir, DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  child.stderr.resume();
  return { child, exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
}

async function sweepWith(workerCount: number, dir: string): Promise<void> {
  const name = `kf_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = new pg.Pool({ connectionString: url.toString(), max: 1 });
  const file = join(dir, 'bench.yaml');
  writeFileSync(file, SCENARIO);
  const workers: ReturnType<typeof cli>[] = [];
  try {
    const sweep = cli(['session', 'sweep', file, '--seeds', `1-${jobs}`, '--db', url.toString(), '--workers', '0'], join(dir, 'sweep'));
    for (;;) {
      const r = await db.query(`SELECT count(*)::int AS n FROM graphile_worker.jobs`).catch(() => null);
      if (r && r.rows[0].n === jobs) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const started = performance.now();
    for (let i = 0; i < workerCount; i++) workers.push(cli(['worker', '--db', url.toString()], join(dir, `w${i}`)));
    const code = await sweep.exited;
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`sweep exited with ${code}`);
    report({ bench: BENCH, metric: 'jobs_per_s', value: Number((jobs / seconds).toFixed(3)), unit: 'jobs/s', workers: workerCount, jobs, wall_s: Number(seconds.toFixed(2)), session: '1 market, 1 min virtual', goal: 'near-linear in workers', load_average: load() });
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'kf-sweep-bench-'));
try {
  for (const n of [1, 2]) await sweepWith(n, dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
