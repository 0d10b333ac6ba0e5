/**
 * Sweep jobs on PostgreSQL through graphile-worker: `enqueueSweep` adds one job per combination
 * (job key = the combination's digest, `unsafe_dedupe`: a job already queued or running is left
 * as it is; one already stored in sweep_results is not enqueued), `startSweepWorkers` runs them.
 *
 * A killed worker: graphile-worker holds a job by writing its worker id into the job row, and
 * on its own frees such a row only after 4 hours. So each worker process keeps one connection
 * open under a unique application_name and registers its worker-pool id (what graphile-worker writes into a job it holds) against it (sweep_workers);
 * every worker looks, once a second, for registered ids whose connection is gone from
 * pg_stat_activity — the server drops a dead process's connection — and hands them to
 * graphile-worker's forceUnlockWorkers, so another worker retries the job at once. The result is
 * stored once whichever worker finishes (src/sessions/sweep.ts).
 *
 * graphile-worker needs a real PostgreSQL (LISTEN/NOTIFY, advisory locks, several connections):
 * the embedded PGlite runs the same jobs in-process instead (src/cli/session.command.ts).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { cpus } from 'node:os';
import pg from 'pg';
import { makeWorkerUtils, run } from 'graphile-worker';
import type { Runner, WorkerEvents, WorkerUtils } from 'graphile-worker';
import { migrate, registerSweepWorker, sweepResults, takeDeadSweepWorkers } from '../adapters/store/index.ts';
import type { SweepResultSummary } from '../adapters/store/index.ts';
import { runSweepJob, sweepJobPayload } from './sweep.ts';
import type { SweepJobPayload } from './sweep.ts';

export const SWEEP_TASK = 'session_sweep';
/** Attempts per job before it counts as failed (a killed worker's attempt is one). */
export const SWEEP_MAX_ATTEMPTS = 5;
const REAP_EVERY_MS = 1000;

export function defaultWorkerCount(): number {
  return Math.max(1, cpus().length);
}

/** Migrates kalshiflow's tables and graphile-worker's schema. */
export async function prepareSweepDatabase(databaseUrl: string): Promise<WorkerUtils> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  const utils = await makeWorkerUtils({ connectionString: databaseUrl });
  await utils.migrate();
  return utils;
}

export interface EnqueueResult {
  enqueued: number;
  alreadyStored: number;
}

export async function enqueueSweep(utils: WorkerUtils, pool: pg.Pool, jobs: readonly SweepJobPayload[]): Promise<EnqueueResult> {
  const stored = new Set((await sweepResults(pool, jobs.map((j) => j.jobKey))).map((r) => r.jobKey));
  let enqueued = 0;
  for (const job of jobs) {
    if (stored.has(job.jobKey)) continue;
    await utils.addJob(SWEEP_TASK, job, { jobKey: job.jobKey, jobKeyMode: 'unsafe_dedupe', maxAttempts: SWEEP_MAX_ATTEMPTS });
    enqueued++;
  }
  return { enqueued, alreadyStored: stored.size };
}

/** Jobs of these keys that have used all their attempts, with their last error. */
export async function exhaustedSweepJobs(pool: pg.Pool, jobKeys: readonly string[]): Promise<Array<{ jobKey: string; error: string | null }>> {
  const rows = await pool.query<{ key: string; last_error: string | null }>(
    `SELECT key, last_error FROM graphile_worker.jobs WHERE key = ANY($1::text[]) AND attempts >= max_attempts AND locked_at IS NULL`,
    [jobKeys],
  );
  return rows.rows.map((r) => ({ jobKey: r.key, error: r.last_error }));
}

export interface SweepWorkerOptions {
  databaseUrl: string;
  concurrency: number;
  dataDir?: string;
  /** A job finished (stored, or found stored). */
  onJob?: (event: { jobKey: string; outcome: string; worker: string }) => void;
  log?: (line: string) => void;
}

export interface SweepWorkers {
  /** The process's liveness name (application_name of its connection). */
  liveness: string;
  /** Resolves when the workers stop (stop() or a signal). */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startSweepWorkers(options: SweepWorkerOptions): Promise<SweepWorkers> {
  const utils = await prepareSweepDatabase(options.databaseUrl);
  const liveness = `kalshiflow-worker-${process.pid}-${randomBytes(4).toString('hex')}`;
  const livenessClient = new pg.Client({ connectionString: options.databaseUrl, application_name: liveness });
  await livenessClient.connect();
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
  const registered: Promise<void>[] = [];
  // listened to before run(): the pool is created inside it. Jobs are locked by the pool's id
  // (graphile-worker 0.16+), not by its workers' ids.
  const events: WorkerEvents = new EventEmitter();
  events.on('pool:create', ({ workerPool }) => {
    registered.push(registerSweepWorker(pool, workerPool.id, liveness, Date.now()).catch((e) => options.log?.(`could not register worker pool ${workerPool.id}: ${String(e)}`)));
  });

  let runner: Runner;
  try {
    runner = await run({
      connectionString: options.databaseUrl,
      concurrency: options.concurrency,
      pollInterval: 500,
      noHandleSignals: true,
      events,
      parsedCronItems: [],
      taskList: {
        [SWEEP_TASK]: async (raw, helpers) => {
          const payload = sweepJobPayload.parse(raw);
          const worker = `${liveness}/${helpers.job.locked_by ?? '?'}`;
          const outcome = await runSweepJob(payload, {
            databaseUrl: options.databaseUrl,
            ...(options.dataDir ? { dataDir: options.dataDir } : {}),
            results: pool,
            worker,
            attempt: helpers.job.attempts,
          });
          options.onJob?.({ jobKey: payload.jobKey, outcome, worker });
        },
      },
    });
  } catch (error) {
    await Promise.allSettled([livenessClient.end(), pool.end(), utils.release()]);
    throw error;
  }

  const reap = async () => {
    try {
      const dead = await takeDeadSweepWorkers(pool);
      if (dead.length > 0) {
        await utils.forceUnlockWorkers(dead);
        options.log?.(`unlocked the jobs of ${dead.length} dead worker(s): ${dead.join(', ')}`);
      }
    } catch (error) {
      options.log?.(`worker liveness check failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const timer = setInterval(() => void reap(), REAP_EVERY_MS);
  void reap();

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(timer);
      await runner.stop().catch(() => undefined);
      await Promise.allSettled(registered);
      await pool.query('DELETE FROM sweep_workers WHERE liveness = $1', [liveness]).catch(() => undefined);
      await Promise.allSettled([livenessClient.end(), pool.end(), utils.release()]);
    })());
  const done = runner.promise.then(
    () => stop(),
    () => stop(),
  );
  return { liveness, done, stop };
}

export type { SweepResultSummary };
