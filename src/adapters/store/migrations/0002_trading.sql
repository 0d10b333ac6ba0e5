-- The trading ledger: orders journal (written BEFORE an order is sent), order events, fills
-- (idempotent by fill id), position and balance snapshots per sync run, sync findings and
-- trader decisions. Units as in 0001: prices INTEGER 1/10,000 $ (YES leg), counts BIGINT
-- 1/100 contract, money BIGINT micros, times BIGINT Unix ms.

CREATE TABLE trader_decisions (
  id              BIGSERIAL PRIMARY KEY,
  trader          TEXT NOT NULL,
  strategy        TEXT NOT NULL,
  env             TEXT NOT NULL CHECK (env IN ('sim', 'paper', 'production', 'test')),
  ticker          TEXT NOT NULL,
  at_ms           BIGINT NOT NULL,
  action          TEXT NOT NULL
                  CHECK (action IN ('hold', 'buy_yes', 'sell_yes', 'buy_no', 'sell_no', 'cancel')),
  price           INTEGER CHECK (price > 0 AND price < 10000),
  count           BIGINT CHECK (count > 0),
  outcome         TEXT NOT NULL
                  CHECK (outcome IN ('proposed', 'submitted', 'denied', 'skipped', 'failed')),
  reason          TEXT,
  model_id        BIGINT,
  recording_session_id BIGINT,
  details         JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX trader_decisions_recent ON trader_decisions (at_ms DESC);
CREATE INDEX trader_decisions_trader ON trader_decisions (trader, at_ms DESC);
CREATE INDEX trader_decisions_ticker ON trader_decisions (ticker, at_ms DESC);

CREATE TABLE orders (
  client_order_id TEXT PRIMARY KEY,
  env             TEXT NOT NULL CHECK (env IN ('sim', 'paper', 'production', 'test')),
  trader          TEXT,
  decision_id     BIGINT REFERENCES trader_decisions (id),
  ticker          TEXT NOT NULL,
  side            TEXT NOT NULL CHECK (side IN ('bid', 'ask')),
  price           INTEGER NOT NULL CHECK (price > 0 AND price < 10000),
  count           BIGINT NOT NULL CHECK (count > 0),
  tif             TEXT NOT NULL
                  CHECK (tif IN ('good_till_canceled', 'immediate_or_cancel', 'fill_or_kill')),
  post_only       BOOLEAN NOT NULL DEFAULT false,
  reduce_only     BOOLEAN NOT NULL DEFAULT false,
  expiration_s    BIGINT,
  state           TEXT NOT NULL DEFAULT 'initialized'
                  CHECK (state IN ('initialized', 'denied', 'submitted', 'accepted',
                                   'partially_filled', 'filled', 'pending_cancel', 'canceled',
                                   'rejected', 'expired', 'unknown')),
  venue_order_id  TEXT UNIQUE,
  venue_status    TEXT CHECK (venue_status IN ('resting', 'canceled', 'executed')),
  fill_count      BIGINT NOT NULL DEFAULT 0 CHECK (fill_count >= 0),
  remaining_count BIGINT CHECK (remaining_count >= 0),
  avg_fill_price  INTEGER,
  fees            BIGINT NOT NULL DEFAULT 0,
  error           TEXT,
  created_ms      BIGINT NOT NULL,
  sent_ms         BIGINT,
  answered_ms     BIGINT,
  updated_ms      BIGINT NOT NULL
);
CREATE INDEX orders_open ON orders (ticker, created_ms)
  WHERE state IN ('initialized', 'submitted', 'accepted', 'partially_filled', 'pending_cancel', 'unknown');
CREATE INDEX orders_unanswered ON orders (created_ms) WHERE answered_ms IS NULL;
CREATE INDEX orders_recent ON orders (created_ms DESC);
CREATE INDEX orders_ticker ON orders (ticker, created_ms DESC);

CREATE TABLE order_events (
  id              BIGSERIAL PRIMARY KEY,
  client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
  kind            TEXT NOT NULL,
  state           TEXT,
  at_ms           BIGINT NOT NULL,
  details         JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX order_events_order ON order_events (client_order_id, id);
CREATE INDEX order_events_recent ON order_events (at_ms DESC);

CREATE TABLE fills (
  fill_id         TEXT PRIMARY KEY,
  venue_order_id  TEXT NOT NULL,
  client_order_id TEXT,
  env             TEXT NOT NULL CHECK (env IN ('sim', 'paper', 'production', 'test')),
  ticker          TEXT NOT NULL,
  side            TEXT NOT NULL CHECK (side IN ('bid', 'ask')),
  outcome_side    TEXT CHECK (outcome_side IN ('yes', 'no')),
  yes_price       INTEGER NOT NULL CHECK (yes_price > 0 AND yes_price < 10000),
  count           BIGINT NOT NULL CHECK (count > 0),
  fee             BIGINT NOT NULL DEFAULT 0,
  is_taker        BOOLEAN NOT NULL,
  ts_ms           BIGINT NOT NULL,
  recorded_ms     BIGINT NOT NULL,
  source          TEXT NOT NULL CHECK (source IN ('ws', 'rest', 'order_response', 'sync', 'sim'))
);
CREATE INDEX fills_order ON fills (venue_order_id);
CREATE INDEX fills_client_order ON fills (client_order_id);
CREATE INDEX fills_ticker ON fills (ticker, ts_ms DESC);
CREATE INDEX fills_recent ON fills (ts_ms DESC);

CREATE TABLE sync_runs (
  id              BIGSERIAL PRIMARY KEY,
  env             TEXT NOT NULL CHECK (env IN ('sim', 'paper', 'production', 'test')),
  reason          TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'agreed', 'mismatch', 'failed')),
  started_ms      BIGINT NOT NULL,
  ended_ms        BIGINT,
  orders_checked  INTEGER NOT NULL DEFAULT 0,
  fills_imported  INTEGER NOT NULL DEFAULT 0,
  error           TEXT,
  CHECK (ended_ms IS NULL OR ended_ms >= started_ms),
  CHECK (status = 'running' OR ended_ms IS NOT NULL)
);
CREATE INDEX sync_runs_recent ON sync_runs (started_ms DESC);

CREATE TABLE sync_findings (
  id              BIGSERIAL PRIMARY KEY,
  sync_id         BIGINT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
  kind            TEXT NOT NULL,
  severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
  ticker          TEXT,
  client_order_id TEXT,
  message         TEXT NOT NULL,
  details         JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX sync_findings_sync ON sync_findings (sync_id);

CREATE TABLE position_snapshots (
  sync_id         BIGINT NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
  ticker          TEXT NOT NULL,
  at_ms           BIGINT NOT NULL,
  position        BIGINT NOT NULL,
  exposure        BIGINT NOT NULL DEFAULT 0,
  realized_pnl    BIGINT NOT NULL DEFAULT 0,
  fees_paid       BIGINT NOT NULL DEFAULT 0,
  total_traded    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (sync_id, ticker)
);
CREATE INDEX position_snapshots_ticker ON position_snapshots (ticker, at_ms DESC);

CREATE TABLE balance_snapshots (
  sync_id         BIGINT PRIMARY KEY REFERENCES sync_runs (id) ON DELETE CASCADE,
  at_ms           BIGINT NOT NULL,
  balance         BIGINT NOT NULL,
  portfolio_value BIGINT
);
CREATE INDEX balance_snapshots_recent ON balance_snapshots (at_ms DESC);
