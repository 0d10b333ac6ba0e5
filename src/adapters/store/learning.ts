/**
 * RL and scripted-session bookkeeping: registered models (with the observation version they were
 * trained on, so a mismatched model can be refused), training/evaluation episodes, and scripted
 * session runs with their reports. Low volume; plain synchronous writes.
 */
import { StoreError, inTransaction, query } from './database.ts';
import type { Queryable } from './database.ts';
import type { Pool } from 'pg';
import type { Micros } from '../../core/money.ts';
import type { EpisodeKind, ModelStatus, SessionRunStatus } from './statuses.ts';

export interface ModelRecord {
  name: string;
  version: string;
  algorithm: string;
  /** Observation version the model expects, e.g. 'obs-v1'. */
  obsVersion: string;
  filePath?: string | null;
  sha256?: string | null;
  status?: ModelStatus;
  hyperparameters?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

export interface StoredModel extends Required<Omit<ModelRecord, 'filePath' | 'sha256'>> {
  id: number;
  filePath: string | null;
  sha256: string | null;
  createdMs: number;
  updatedMs: number;
}

interface ModelRow {
  id: number;
  name: string;
  version: string;
  algorithm: string;
  obs_version: string;
  file_path: string | null;
  sha256: string | null;
  status: ModelStatus;
  hyperparameters: Record<string, unknown>;
  metrics: Record<string, unknown>;
  created_ms: number;
  updated_ms: number;
}

function toModel(r: ModelRow): StoredModel {
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    algorithm: r.algorithm,
    obsVersion: r.obs_version,
    filePath: r.file_path,
    sha256: r.sha256,
    status: r.status,
    hyperparameters: r.hyperparameters,
    metrics: r.metrics,
    createdMs: r.created_ms,
    updatedMs: r.updated_ms,
  };
}

export async function registerModel(db: Queryable, model: ModelRecord, atMs: number): Promise<StoredModel> {
  const rows = await query<ModelRow>(
    db,
    `INSERT INTO models (name, version, algorithm, obs_version, file_path, sha256, status, hyperparameters, metrics,
                         created_ms, updated_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING *`,
    [
      model.name,
      model.version,
      model.algorithm,
      model.obsVersion,
      model.filePath ?? null,
      model.sha256 ?? null,
      model.status ?? 'training',
      model.hyperparameters ?? {},
      model.metrics ?? {},
      atMs,
    ],
  );
  return toModel(rows[0]);
}

/**
 * Changes a model's status. Activating a model retires the previously active model of the same
 * name in the same transaction, so at most one version of a name is active.
 */
export async function setModelStatus(
  pool: Pool,
  id: number,
  status: ModelStatus,
  atMs: number,
  metrics?: Record<string, unknown>,
): Promise<StoredModel> {
  return inTransaction(pool, async (client) => {
    if (status === 'active') {
      await query(
        client,
        `UPDATE models SET status = 'retired', updated_ms = $2
          WHERE status = 'active' AND id <> $1 AND name = (SELECT name FROM models WHERE id = $1)`,
        [id, atMs],
      );
    }
    const rows = await query<ModelRow>(
      client,
      `UPDATE models SET status = $2, updated_ms = $3, metrics = CASE WHEN $4::jsonb IS NULL THEN metrics ELSE metrics || $4::jsonb END
        WHERE id = $1 RETURNING *`,
      [id, status, atMs, metrics ?? null],
    );
    if (rows.length === 0) throw new StoreError(`model ${id} does not exist`);
    return toModel(rows[0]);
  });
}

export async function getActiveModel(db: Queryable, name: string): Promise<StoredModel | null> {
  const rows = await query<ModelRow>(db, `SELECT * FROM models WHERE name = $1 AND status = 'active'`, [name]);
  return rows.length ? toModel(rows[0]) : null;
}

export async function listModels(db: Queryable): Promise<StoredModel[]> {
  const rows = await query<ModelRow>(db, 'SELECT * FROM models ORDER BY name, created_ms, id');
  return rows.map(toModel);
}

export interface EpisodeRecord {
  modelId?: number | null;
  kind: EpisodeKind;
  recordingSessionId?: number | null;
  ticker?: string | null;
  episodeNumber: number;
  startMs?: number | null;
  endMs?: number | null;
  steps: number;
  totalReward: number;
  pnl: Micros;
  fees: Micros;
  trades: number;
  actionCounts?: Record<string, number>;
  metrics?: Record<string, unknown>;
  createdMs: number;
}

export async function recordEpisode(db: Queryable, episode: EpisodeRecord): Promise<number> {
  const rows = await query<{ id: number }>(
    db,
    `INSERT INTO episodes (model_id, kind, recording_session_id, ticker, episode_number, start_ms, end_ms, steps,
                           total_reward, pnl, fees, trades, action_counts, metrics, created_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
    [
      episode.modelId ?? null,
      episode.kind,
      episode.recordingSessionId ?? null,
      episode.ticker ?? null,
      episode.episodeNumber,
      episode.startMs ?? null,
      episode.endMs ?? null,
      episode.steps,
      episode.totalReward,
      episode.pnl,
      episode.fees,
      episode.trades,
      episode.actionCounts ?? {},
      episode.metrics ?? {},
      episode.createdMs,
    ],
  );
  return rows[0].id;
}

export async function listEpisodes(
  db: Queryable,
  filter: { modelId?: number; kind?: EpisodeKind } = {},
): Promise<Array<EpisodeRecord & { id: number }>> {
  const rows = await query<{
    id: number;
    model_id: number | null;
    kind: EpisodeKind;
    recording_session_id: number | null;
    ticker: string | null;
    episode_number: number;
    start_ms: number | null;
    end_ms: number | null;
    steps: number;
    total_reward: number;
    pnl: number;
    fees: number;
    trades: number;
    action_counts: Record<string, number>;
    metrics: Record<string, unknown>;
    created_ms: number;
  }>(
    db,
    `SELECT * FROM episodes WHERE ($1::bigint IS NULL OR model_id = $1) AND ($2::text IS NULL OR kind = $2)
      ORDER BY model_id, kind, episode_number, id`,
    [filter.modelId ?? null, filter.kind ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    modelId: r.model_id,
    kind: r.kind,
    recordingSessionId: r.recording_session_id,
    ticker: r.ticker,
    episodeNumber: r.episode_number,
    startMs: r.start_ms,
    endMs: r.end_ms,
    steps: r.steps,
    totalReward: r.total_reward,
    pnl: r.pnl,
    fees: r.fees,
    trades: r.trades,
    actionCounts: r.action_counts,
    metrics: r.metrics,
    createdMs: r.created_ms,
  }));
}

export interface SessionRunStart {
  scenario: string;
  scenarioSha256?: string | null;
  seed?: number | null;
  clock: 'virtual' | 'real';
  startedMs: number;
  recordingSessionId?: number | null;
}

export async function startSessionRun(db: Queryable, run: SessionRunStart): Promise<number> {
  const rows = await query<{ id: number }>(
    db,
    `INSERT INTO session_runs (scenario, scenario_sha256, seed, clock, started_ms, recording_session_id)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [run.scenario, run.scenarioSha256 ?? null, run.seed ?? null, run.clock, run.startedMs, run.recordingSessionId ?? null],
  );
  return rows[0].id;
}

export async function finishSessionRun(
  db: Queryable,
  id: number,
  result: {
    status: Exclude<SessionRunStatus, 'running'>;
    endedMs: number;
    assertionsPassed: number;
    assertionsFailed: number;
    report?: Record<string, unknown>;
  },
): Promise<void> {
  const rows = await query(
    db,
    `UPDATE session_runs SET status = $2, ended_ms = GREATEST($3::bigint, started_ms), assertions_passed = $4,
            assertions_failed = $5, report = $6
      WHERE id = $1 AND status = 'running' RETURNING id`,
    [id, result.status, result.endedMs, result.assertionsPassed, result.assertionsFailed, result.report ?? {}],
  );
  if (rows.length === 0) throw new StoreError(`session run ${id} is not running (unknown or already finished)`);
}

export async function getSessionRun(
  db: Queryable,
  id: number,
): Promise<{ id: number; scenario: string; status: SessionRunStatus; startedMs: number; endedMs: number | null; report: Record<string, unknown> } | null> {
  const rows = await query<{
    id: number;
    scenario: string;
    status: SessionRunStatus;
    started_ms: number;
    ended_ms: number | null;
    report: Record<string, unknown>;
  }>(db, 'SELECT id, scenario, status, started_ms, ended_ms, report FROM session_runs WHERE id = $1', [id]);
  if (rows.length === 0) return null;
  const r = rows[0];
  return { id: r.id, scenario: r.scenario, status: r.status, startedMs: r.started_ms, endedMs: r.ended_ms, report: r.report };
}
