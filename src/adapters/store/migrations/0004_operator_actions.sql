-- What the operator did through the console (pause, resume, cancel-all, flatten) and what came of
-- it: one row per control request, kept like the rest of the trading history.

CREATE TABLE operator_actions (
  id              BIGSERIAL PRIMARY KEY,
  trader          TEXT NOT NULL,
  env             TEXT NOT NULL CHECK (env IN ('sim', 'paper', 'production', 'test')),
  at_ms           BIGINT NOT NULL,
  action          TEXT NOT NULL CHECK (action IN ('pause', 'resume', 'cancel-all', 'flatten')),
  ticker          TEXT,
  outcome         TEXT NOT NULL CHECK (outcome IN ('applied', 'refused')),
  message         TEXT NOT NULL,
  details         JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX operator_actions_recent ON operator_actions (at_ms DESC);
