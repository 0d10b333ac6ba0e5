-- Recorded market-data sessions: one row per recording (one WebSocket connection's capture),
-- the markets seen, and the hot-path rows (book snapshots, deltas, trades, gaps) written through
-- the WriteQueue. Units: prices INTEGER in 1/10,000 $, counts BIGINT in 1/100 contract, times
-- BIGINT Unix milliseconds (*_ms) everywhere.
--
-- Hot tables carry `ord`, a per-session ordinal assigned by the recorder across all four kinds of
-- row, so a session loads back in exactly the order it was recorded (Kalshi's `seq` is per
-- subscription id and restarts on resubscribe, so it cannot order a session on its own). Their
-- key is (session_id, ord): small and append-only, so inserts stay cheap and a session reads back
-- in key order, which is also the physical order the rows were written in. They have no foreign
-- keys on purpose: a per-row RI trigger halves batched insert throughput, and rows are only ever
-- written for a session the recorder has just created. Their tickers use the "C" collation
-- (byte order, the same on every server and in PGlite, and the cheapest to compare).

CREATE TABLE recording_sessions (
  id            BIGSERIAL PRIMARY KEY,
  env           TEXT NOT NULL CHECK (env IN ('sim', 'paper', 'production', 'test')),
  mode          TEXT NOT NULL CHECK (mode IN ('record', 'trade', 'scripted', 'synthetic')),
  status        TEXT NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'closed', 'error', 'health_failure', 'interrupted')),
  market_tickers TEXT[] NOT NULL DEFAULT '{}',
  source_url    TEXT,
  -- which process role recorded it (e.g. 'trader', 'recorder'): on restart a process closes
  -- only its own role's sessions left active by a crash, never another live process's
  owner         TEXT,
  started_ms    BIGINT NOT NULL,
  ended_ms      BIGINT,
  snapshots     BIGINT NOT NULL DEFAULT 0,
  deltas        BIGINT NOT NULL DEFAULT 0,
  trades        BIGINT NOT NULL DEFAULT 0,
  gaps          BIGINT NOT NULL DEFAULT 0,
  dropped       BIGINT NOT NULL DEFAULT 0,
  error         TEXT,
  metadata      JSONB NOT NULL DEFAULT '{}'::jsonb,
  CHECK (ended_ms IS NULL OR ended_ms >= started_ms),
  CHECK (status = 'active' OR ended_ms IS NOT NULL)
);
CREATE INDEX recording_sessions_started ON recording_sessions (started_ms DESC);
CREATE INDEX recording_sessions_status ON recording_sessions (status, started_ms DESC);
CREATE INDEX recording_sessions_active ON recording_sessions (owner) WHERE status = 'active';

-- Catalogue of every market ever seen, and which markets each session covered.
CREATE TABLE markets (
  ticker        TEXT PRIMARY KEY,
  event_ticker  TEXT,
  title         TEXT,
  status        TEXT,
  close_ms      BIGINT,
  first_seen_ms BIGINT NOT NULL,
  last_seen_ms  BIGINT NOT NULL,
  info          JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX markets_event ON markets (event_ticker);

CREATE TABLE session_markets (
  session_id    BIGINT NOT NULL REFERENCES recording_sessions (id) ON DELETE CASCADE,
  ticker        TEXT NOT NULL,
  first_seen_ms BIGINT NOT NULL,
  PRIMARY KEY (session_id, ticker)
);

-- Full book as Kalshi sends it: bids only, per side, ascending price; parallel arrays.
CREATE TABLE book_snapshots (
  session_id  BIGINT NOT NULL,
  ticker      TEXT COLLATE "C" NOT NULL,
  ord         BIGINT NOT NULL,
  sid         BIGINT NOT NULL,
  seq         BIGINT NOT NULL,
  ts_ms       BIGINT,
  recv_ms     BIGINT NOT NULL,
  yes_prices  INTEGER[] NOT NULL,
  yes_counts  BIGINT[] NOT NULL,
  no_prices   INTEGER[] NOT NULL,
  no_counts   BIGINT[] NOT NULL,
  PRIMARY KEY (session_id, ord)
);

CREATE TABLE book_deltas (
  session_id  BIGINT NOT NULL,
  ticker      TEXT COLLATE "C" NOT NULL,
  ord         BIGINT NOT NULL,
  sid         BIGINT NOT NULL,
  seq         BIGINT NOT NULL,
  ts_ms       BIGINT,
  recv_ms     BIGINT NOT NULL,
  side        TEXT NOT NULL CHECK (side IN ('yes', 'no')),
  price       INTEGER NOT NULL CHECK (price > 0 AND price < 10000),
  delta       BIGINT NOT NULL,
  PRIMARY KEY (session_id, ord)
);

CREATE TABLE book_trades (
  session_id  BIGINT NOT NULL,
  ticker      TEXT COLLATE "C" NOT NULL,
  ord         BIGINT NOT NULL,
  sid         BIGINT,
  seq         BIGINT,
  trade_id    TEXT NOT NULL,
  ts_ms       BIGINT,
  recv_ms     BIGINT NOT NULL,
  yes_price   INTEGER NOT NULL CHECK (yes_price > 0 AND yes_price < 10000),
  count       BIGINT NOT NULL CHECK (count > 0),
  taker_side  TEXT CHECK (taker_side IN ('yes', 'no')),
  PRIMARY KEY (session_id, ord)
);
CREATE INDEX book_trades_recent ON book_trades (ticker, recv_ms DESC);

-- Sequence gaps, reconnects and resubscriptions: where a market's book was not continuous.
CREATE TABLE book_gaps (
  session_id    BIGINT NOT NULL,
  ticker        TEXT COLLATE "C" NOT NULL,
  ord           BIGINT NOT NULL,
  sid           BIGINT,
  kind          TEXT NOT NULL
                CHECK (kind IN ('seq_gap', 'reconnect', 'resubscribe', 'disconnect', 'stale')),
  expected_seq  BIGINT,
  received_seq  BIGINT,
  recv_ms       BIGINT NOT NULL,
  detail        TEXT,
  PRIMARY KEY (session_id, ord)
);
