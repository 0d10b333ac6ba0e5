-- Sweeps (issue 16): one row per finished combination of a sweep, keyed by its job key (a digest
-- of the scenario text and the combination), so a retried or re-enqueued job stores its result
-- once. The session run itself stays in session_runs (with its ledger schema); a worker killed
-- mid-job leaves its run there as 'running', the retry makes a new one.
CREATE TABLE IF NOT EXISTS sweep_results (
  job_key         TEXT PRIMARY KEY,
  sweep_key       TEXT NOT NULL,
  scenario        TEXT NOT NULL,
  scenario_sha256 TEXT NOT NULL,
  combination     JSONB NOT NULL,
  session_run_id  BIGINT,
  status          TEXT NOT NULL CHECK (status IN ('passed', 'failed', 'error')),
  pnl_micros      BIGINT,
  orders          INTEGER NOT NULL,
  fills           INTEGER NOT NULL,
  wall_ms         INTEGER NOT NULL,
  worker          TEXT NOT NULL,
  attempt         INTEGER NOT NULL,
  report          JSONB NOT NULL,
  finished_ms     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sweep_results_sweep ON sweep_results (sweep_key);

-- Live job-queue workers: each graphile-worker id with the application_name of its process's
-- liveness connection. A worker whose connection is gone from pg_stat_activity is dead (killed,
-- machine lost), and the jobs it holds are unlocked for another worker at once.
CREATE TABLE IF NOT EXISTS sweep_workers (
  worker_id  TEXT PRIMARY KEY,
  liveness   TEXT NOT NULL,
  started_ms BIGINT NOT NULL
);
