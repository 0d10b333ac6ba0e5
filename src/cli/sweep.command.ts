/**
 * `kalshiflow session sweep FILE --seeds 1-50 [--set path=a,b …] [--db URL] [--workers N]` and
 * `kalshiflow worker [--db URL] [--concurrency N]`.
 *
 * On PostgreSQL (--db / DATABASE_URL) the sweep enqueues one graphile-worker job per combination,
 * runs N local workers (default one per core; 0 = only the `kalshiflow worker` processes that share
 * the database), and waits. On the embedded database (no URL) graphile-worker cannot run (PGlite
 * is one backend session: no LISTEN/NOTIFY between connections, no concurrent workers), so the
 * sweep runs the same jobs in-process, one after another, with the same keys and the same
 * store-once results. Exit 0 when every combination passed, 1 otherwise, 2 for bad input.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { loadEnvConfig } from '../app/config.ts';
import { UsageError } from '../app/errors.ts';
import { formatDollars } from '../core/money.ts';
import type { Micros } from '../core/money.ts';
import { sweepResults } from '../adapters/store/index.ts';
import type { SweepResultSummary } from '../adapters/store/index.ts';
import { ScenarioError, parseScenario } from '../sessions/scenario.ts';
import { SessionStore } from '../sessions/store.ts';
import { combinations, jobKeyOf, parseSeeds, parseSetting, runSweepJob, scenarioWith, sweepKeyOf } from '../sessions/sweep.ts';
import type { Combination, SweepJobPayload } from '../sessions/sweep.ts';
import { defaultWorkerCount, enqueueSweep, exhaustedSweepJobs, prepareSweepDatabase, startSweepWorkers } from '../sessions/sweep-queue.ts';
import { parseFlags } from './flags.ts';

const SWEEP_HELP = `usage: kalshiflow session sweep FILE [--seeds 1-50] [--set path=a,b …] [--db URL] [--workers N]

  one job per combination of seeds × --set values; re-running skips finished combinations
    --seeds LIST   seeds, like 1-50 or 1,2,7 (default the scenario's own seed)
    --set P=A,B    a scenario field and its values, e.g. trader.strategy=hold,spread-quoter (repeatable)
    --db URL       PostgreSQL holding the job queue and the results (default DATABASE_URL); without
                   one the embedded database runs the jobs in-process, one after another
    --workers N    local workers on PostgreSQL (default one per core; 0: only \`kalshiflow worker\`s)

exit codes: 0 every combination passed · 1 one failed or errored · 2 invalid input`;

const WORKER_HELP = `usage: kalshiflow worker [--db URL] [--concurrency N]

  runs sweep jobs from PostgreSQL (--db or DATABASE_URL) until stopped (SIGINT/SIGTERM);
  any number of workers on any number of machines may share one database
    --concurrency N   jobs at once in this process (default 1)`;

function postgresUrl(flag: string | undefined, env: string | undefined): string | undefined {
  if (flag !== undefined && !/^postgres(ql)?:\/\//.test(flag)) throw new UsageError('--db: must be a postgres:// URL');
  return flag ?? env;
}

function countFlag(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min) throw new UsageError(`--${name}: must be a whole number ≥ ${min} (got ${JSON.stringify(text)})`);
  return Number(text);
}

function describe(combination: Combination): string {
  return Object.entries(combination)
    .filter(([k]) => k !== 'seed')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ') || '(scenario as written)';
}

/** Passed/failed per combination (seeds pooled) with the P&L distribution. */
export function summaryTable(results: readonly SweepResultSummary[]): string[] {
  const groups = new Map<string, SweepResultSummary[]>();
  for (const r of results) {
    const key = describe(r.combination);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const lines = [`${'combination'.padEnd(36)} ${'runs'.padStart(4)} ${'pass'.padStart(4)} ${'fail'.padStart(4)} ${'err'.padStart(4)}  P&L $ min / median / mean / max`];
  for (const [key, rows] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const pnl = rows.map((r) => r.pnlMicros).filter((p): p is number => p !== null).sort((a, b) => a - b);
    const count = (s: string) => rows.filter((r) => r.status === s).length;
    const dist = pnl.length
      ? [pnl[0], pnl[Math.floor((pnl.length - 1) / 2)], Math.round(pnl.reduce((a, b) => a + b, 0) / pnl.length), pnl[pnl.length - 1]].map((m) => formatDollars(m as Micros)).join(' / ')
      : '—';
    lines.push(`${key.padEnd(36)} ${String(rows.length).padStart(4)} ${String(count('passed')).padStart(4)} ${String(count('failed')).padStart(4)} ${String(count('error')).padStart(4)}  ${dist}`);
  }
  return lines;
}

function progressLine(done: number, total: number, failed: number): string {
  const width = 28;
  const filled = total ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} done${failed ? ` · ${failed} failed` : ''}`;
}

export async function runSweepCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    seeds: { type: 'string' },
    set: { type: 'string', multiple: true },
    db: { type: 'string' },
    workers: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(SWEEP_HELP);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (!file) throw new UsageError('session sweep: FILE is required (see --help)');
  if (extra.length) throw new UsageError(`session sweep: unexpected argument ${extra[0]}`);
  const config = loadEnvConfig();
  const databaseUrl = postgresUrl(values.db, config.DATABASE_URL);
  const workers = countFlag('workers', values.workers, defaultWorkerCount(), 0);

  let jobs: SweepJobPayload[];
  let name: string;
  try {
    const source = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new ScenarioError('', e.code === 'ENOENT' ? 'no such file' : `cannot read: ${e.code ?? String(e)}`, file);
    });
    const base = parseScenario(source, file).scenario;
    name = base.name;
    const seeds = values.seeds === undefined ? [base.seed] : parseSeeds(values.seeds);
    const grid = combinations(seeds, (values.set ?? []).map(parseSetting));
    for (const c of grid) scenarioWith(source, file, c); // every combination valid before anything runs
    const sweepKey = sweepKeyOf(source, grid);
    jobs = grid.map((combination) => ({ jobKey: jobKeyOf(source, combination), sweepKey, file, source, combination }));
  } catch (error) {
    if (error instanceof ScenarioError) {
      console.error(`kalshiflow session sweep: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const keys = jobs.map((j) => j.jobKey);
  let results: SweepResultSummary[];

  if (databaseUrl) {
    const utils = await prepareSweepDatabase(databaseUrl);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    let local: Awaited<ReturnType<typeof startSweepWorkers>> | null = null;
    try {
      const { enqueued, alreadyStored } = await enqueueSweep(utils, pool, jobs);
      console.log(`${name}: ${jobs.length} combinations — ${enqueued} enqueued, ${alreadyStored} already finished; ${workers} local worker(s)`);
      if (workers > 0 && enqueued > 0) local = await startSweepWorkers({ databaseUrl, concurrency: workers, dataDir: config.KALSHIFLOW_DATA_DIR, log: (l) => console.error(l) });
      let lastDone = -1;
      for (;;) {
        results = await sweepResults(pool, keys);
        const exhausted = (await exhaustedSweepJobs(pool, keys)).filter((e) => !results.some((r) => r.jobKey === e.jobKey));
        const failed = results.filter((r) => r.status !== 'passed').length;
        if (results.length !== lastDone) {
          lastDone = results.length;
          console.error(progressLine(results.length, jobs.length, failed));
        }
        if (results.length + exhausted.length >= jobs.length) {
          for (const e of exhausted) console.error(`  job ${e.jobKey} gave up: ${e.error ?? 'unknown error'}`);
          if (exhausted.length) {
            for (const line of summaryTable(results)) console.log(line);
            return 1;
          }
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await local?.stop();
      await Promise.allSettled([pool.end(), utils.release()]);
    }
  } else {
    const store = await SessionStore.open({ dataDir: join(config.KALSHIFLOW_DATA_DIR, 'sessions-db') });
    try {
      const already = await sweepResults(store.pool, keys);
      console.log(`${name}: ${jobs.length} combinations — ${jobs.length - already.length} to run in-process on the embedded database, ${already.length} already finished`);
      for (const job of jobs) {
        await runSweepJob(job, { store, results: store.pool, worker: `in-process-${process.pid}`, attempt: 1, dataDir: config.KALSHIFLOW_DATA_DIR });
        const done = await sweepResults(store.pool, keys);
        console.error(progressLine(done.length, jobs.length, done.filter((r) => r.status !== 'passed').length));
      }
      results = await sweepResults(store.pool, keys);
    } finally {
      await store.close();
    }
  }
  for (const line of summaryTable(results)) console.log(line);
  return results.every((r) => r.status === 'passed') ? 0 : 1;
}

export async function runWorkerCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { db: { type: 'string' }, concurrency: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, { allowPositionals: false });
  if (values.help) {
    console.log(WORKER_HELP);
    return 0;
  }
  void positionals;
  const config = loadEnvConfig();
  const databaseUrl = postgresUrl(values.db, config.DATABASE_URL);
  if (!databaseUrl) throw new UsageError('worker: needs PostgreSQL (--db URL or DATABASE_URL); the embedded database runs sweeps in-process from `session sweep`');
  const concurrency = countFlag('concurrency', values.concurrency, 1, 1);
  const workers = await startSweepWorkers({
    databaseUrl,
    concurrency,
    dataDir: config.KALSHIFLOW_DATA_DIR,
    onJob: (e) => console.log(`${e.jobKey}: ${e.outcome}`),
    log: (l) => console.error(l),
  });
  console.log(`worker ${workers.liveness}: ${concurrency} at once, waiting for jobs`);
  const stop = () => void workers.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await workers.done;
  return 0;
}
