/**
 * Sweep results and worker liveness (migration 0006). A result is stored once per job key:
 * the first writer wins and a retry that finds it stored does nothing.
 */
import type { Queryable } from './database.ts';
import { query } from './database.ts';

export interface SweepResultRow {
  jobKey: string;
  sweepKey: string;
  scenario: string;
  scenarioSha256: string;
  combination: Record<string, string | number>;
  sessionRunId: number | null;
  status: 'passed' | 'failed' | 'error';
  pnlMicros: number | null;
  orders: number;
  fills: number;
  wallMs: number;
  worker: string;
  attempt: number;
  report: Record<string, unknown>;
  finishedMs: number;
}

/** Stores a result; false when one was already stored for the job key. */
export async function insertSweepResult(db: Queryable, row: SweepResultRow): Promise<boolean> {
  const rows = await query(
    db,
    `INSERT INTO sweep_results (job_key, sweep_key, scenario, scenario_sha256, combination, session_run_id, status,
                                pnl_micros, orders, fills, wall_ms, worker, attempt, report, finished_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (job_key) DO NOTHING RETURNING job_key`,
    [
      row.jobKey, row.sweepKey, row.scenario, row.scenarioSha256, JSON.stringify(row.combination), row.sessionRunId, row.status,
      row.pnlMicros, row.orders, row.fills, Math.round(row.wallMs), row.worker, row.attempt, JSON.stringify(row.report), row.finishedMs,
    ],
  );
  return rows.length === 1;
}

export async function sweepResultExists(db: Queryable, jobKey: string): Promise<boolean> {
  const rows = await query(db, 'SELECT 1 FROM sweep_results WHERE job_key = $1', [jobKey]);
  return rows.length > 0;
}

export interface SweepResultSummary {
  jobKey: string;
  combination: Record<string, string | number>;
  status: 'passed' | 'failed' | 'error';
  pnlMicros: number | null;
  sessionRunId: number | null;
  worker: string;
}

export async function sweepResults(db: Queryable, jobKeys: readonly string[]): Promise<SweepResultSummary[]> {
  const rows = await query<{ job_key: string; combination: Record<string, string | number>; status: SweepResultSummary['status']; pnl_micros: string | null; session_run_id: string | null; worker: string }>(
    db,
    'SELECT job_key, combination, status, pnl_micros, session_run_id, worker FROM sweep_results WHERE job_key = ANY($1::text[])',
    [jobKeys],
  );
  return rows.map((r) => ({
    jobKey: r.job_key,
    combination: r.combination,
    status: r.status,
    pnlMicros: r.pnl_micros === null ? null : Number(r.pnl_micros),
    sessionRunId: r.session_run_id === null ? null : Number(r.session_run_id),
    worker: r.worker,
  }));
}

export async function registerSweepWorker(db: Queryable, workerId: string, liveness: string, startedMs: number): Promise<void> {
  await query(
    db,
    `INSERT INTO sweep_workers (worker_id, liveness, started_ms) VALUES ($1, $2, $3)
     ON CONFLICT (worker_id) DO UPDATE SET liveness = EXCLUDED.liveness`,
    [workerId, liveness, startedMs],
  );
}

/**
 * Registered workers whose liveness connection is gone from the server (their process died);
 * removes them from the register and returns their ids, for their jobs to be unlocked.
 */
export async function takeDeadSweepWorkers(db: Queryable): Promise<string[]> {
  const rows = await query<{ worker_id: string }>(
    db,
    `DELETE FROM sweep_workers w
      WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = w.liveness)
      RETURNING worker_id`,
  );
  return rows.map((r) => r.worker_id);
}
