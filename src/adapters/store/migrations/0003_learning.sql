-- RL and scripted sessions: models (ONNX files and the observation version they expect),
-- training/evaluation episodes, and scripted session runs. Money in BIGINT micros, times in
-- BIGINT Unix ms; rewards are floats (they are a learning signal, not money).

CREATE TABLE models (
  id              BIGSERIAL PRIMARY KEY,
  name            TEXT NOT NULL,
  version         TEXT NOT NULL,
  algorithm       TEXT NOT NULL,
  obs_version     TEXT NOT NULL,
  file_path       TEXT,
  sha256          TEXT,
  status          TEXT NOT NULL DEFAULT 'training'
                  CHECK (status IN ('training', 'candidate', 'active', 'retired', 'failed')),
  hyperparameters JSONB NOT NULL DEFAULT '{}'::jsonb,
  metrics         JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_ms      BIGINT NOT NULL,
  updated_ms      BIGINT NOT NULL,
  UNIQUE (name, version)
);
CREATE INDEX models_status ON models (status, updated_ms DESC);

CREATE TABLE episodes (
  id              BIGSERIAL PRIMARY KEY,
  model_id        BIGINT REFERENCES models (id) ON DELETE SET NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('training', 'evaluation')),
  recording_session_id BIGINT REFERENCES recording_sessions (id) ON DELETE SET NULL,
  ticker          TEXT,
  episode_number  INTEGER NOT NULL,
  start_ms        BIGINT,
  end_ms          BIGINT,
  steps           INTEGER NOT NULL DEFAULT 0,
  total_reward    DOUBLE PRECISION NOT NULL DEFAULT 0,
  pnl             BIGINT NOT NULL DEFAULT 0,
  fees            BIGINT NOT NULL DEFAULT 0,
  trades          INTEGER NOT NULL DEFAULT 0,
  action_counts   JSONB NOT NULL DEFAULT '{}'::jsonb,
  metrics         JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_ms      BIGINT NOT NULL
);
CREATE INDEX episodes_model ON episodes (model_id, kind, episode_number);

CREATE TABLE session_runs (
  id              BIGSERIAL PRIMARY KEY,
  scenario        TEXT NOT NULL,
  scenario_sha256 TEXT,
  seed            BIGINT,
  clock           TEXT NOT NULL CHECK (clock IN ('virtual', 'real')),
  status          TEXT NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'passed', 'failed', 'error', 'aborted')),
  started_ms      BIGINT NOT NULL,
  ended_ms        BIGINT,
  assertions_passed INTEGER NOT NULL DEFAULT 0,
  assertions_failed INTEGER NOT NULL DEFAULT 0,
  recording_session_id BIGINT REFERENCES recording_sessions (id) ON DELETE SET NULL,
  report          JSONB NOT NULL DEFAULT '{}'::jsonb,
  CHECK (ended_ms IS NULL OR ended_ms >= started_ms),
  CHECK (status = 'running' OR ended_ms IS NOT NULL)
);
CREATE INDEX session_runs_recent ON session_runs (started_ms DESC);
