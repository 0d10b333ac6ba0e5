/**
 * What the RL commands (`features`, `train`, `eval`, `rl …`) share: flag parsing with one-line
 * errors, the store they read (a postgres:// URL or an embedded database folder), picking
 * recorded sessions (`all`, ids, ranges, `regime:NAME`), loading them into RL timelines before
 * any training or evaluation starts (so the pipeline never reads a live stream nor the database
 * in a step), a progress bar, and model bookkeeping in the `models` table.
 *
 * Wiring layer: the command line's own (src/cli), reading what src/rl and the store provide.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Pool } from 'pg';
import { z } from 'zod';
import { UsageError } from '../app/errors.ts';
import { parseFlags as parseCommandFlags, type FlagSpecs } from './flags.ts';
import { formatDuration, parseDuration } from '../core/duration.ts';
import {
  getRecordedSession,
  listModels,
  listRecordedSessions,
  loadRecordedSession,
  migrate,
  openDatabase,
  query,
  redactUrl,
} from '../adapters/store/index.ts';
import type { Database, RecordedSessionInfo, StoredModel } from '../adapters/store/index.ts';
import { parseDollars } from '../core/money.ts';
import type { FeeSchedule } from '../core/fees.ts';
import type { QueueModel } from '../core/replay-venue.ts';
import type { MarketEnvConfig } from '../rl/env.ts';
import { fromRecordedTimeline } from '../rl/timeline.ts';
import type { MarketTimeline } from '../rl/timeline.ts';

/** The I/O a command uses; tests pass their own. */
export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Rewrites the current terminal line (progress bars); absent = not a terminal. */
  rewrite?: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

export function defaultIo(): CommandIo {
  const tty = process.stdout.isTTY === true;
  // a closed pipe (`… | head`) ends the output, not the command: the store is still written
  let stdoutClosed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stdoutClosed = true;
    else throw error;
  });
  return {
    out: (line) => {
      if (!stdoutClosed) process.stdout.write(`${line}\n`);
    },
    err: (line) => console.error(line),
    ...(tty ? { rewrite: (text: string) => process.stdout.write(`\r\x1b[2K${text}`) } : {}),
    env: process.env,
  };
}


/**
 * The one flag parser (flags.ts), as the RL commands call it: words that are not flags are
 * positionals, and `optionalValue` flags may be given bare (`--resume`, `--curriculum`): they
 * then take the value `''`.
 */
export function parseFlags<O extends FlagSpecs>(argv: string[], options: O, optionalValue: readonly string[] = []) {
  return parseCommandFlags(argv, options, { optionalValue });
}

export function positiveInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${flag}: must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function integer(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${flag}: must be an integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function positiveNumber(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag}: must be a positive number, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * A duration flag as operators write it (`90s`, `10m`, `1h30m`, `30d`, or a number of seconds),
 * through the one duration parser; at least `minMs` (default: longer than 0).
 */
export function durationFlag(flag: string, text: string, minMs = 1): number {
  const trimmed = text.trim();
  let ms: number;
  try {
    ms = parseDuration(/^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed);
  } catch (error) {
    throw new UsageError(`--${flag}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (ms < minMs) throw new UsageError(`--${flag}: must be ${minMs <= 1 ? 'longer than 0' : `at least ${formatDuration(minMs)}`}, got ${JSON.stringify(text)}`);
  return ms;
}

export function intList(flag: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError(`--${flag}: empty list`);
  return parts.map((p) => integer(flag, p, 0));
}

export function tickerList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const tickers = text.split(',').map((t) => t.trim()).filter(Boolean);
  if (tickers.length === 0) throw new UsageError('--tickers: empty list');
  for (const t of tickers) if (!/^[A-Z0-9._-]+$/i.test(t)) throw new UsageError(`--tickers: not a ticker: ${JSON.stringify(t)}`);
  return tickers;
}

// ---- the market environment's flags (train and eval) -------------------------------------------

/** Flags that set the market environment, shared by `train` and `eval` (parseArgs options). */
export const ENV_FLAGS = {
  fees: { type: 'string' },
  'starting-cash': { type: 'string' },
  'max-position': { type: 'string' },
  queue: { type: 'string' },
  'decision-interval': { type: 'string' },
  'order-latency': { type: 'string' },
} as const;

export const ENV_FLAGS_USAGE = `  --fees            Kalshi fee schedule: quadratic (default), quadratic_with_maker_fees, flat; ×N scales it (quadratic×1.5)
  --starting-cash   cash per episode in dollars (default 100)
  --max-position    largest |position| in contracts (default 100)
  --queue           how cancellations move our queue place: risk-averse (default), power:N or log
  --decision-interval  least time between two decisions (default 250ms, the live throttle)
  --order-latency      decision → order at the venue (default 1.2 ms, the simulator's measured REST round trip)`;

const FEE_TYPES = ['quadratic', 'quadratic_with_maker_fees', 'quadratic_with_combo_maker_fees', 'flat'] as const;

/** The environment settings given as flags (only those given). */
export function envFlagValues(values: Partial<Record<keyof typeof ENV_FLAGS, string | undefined>>): Partial<MarketEnvConfig> {
  const env: Partial<MarketEnvConfig> = {};
  if (values.fees !== undefined) {
    const m = /^([a-z_]+)(?:[×x*]([0-9.]+))?$/.exec(values.fees.trim());
    if (!m || !(FEE_TYPES as readonly string[]).includes(m[1])) {
      throw new UsageError(`--fees: ${FEE_TYPES.join(', ')}, optionally ×N, got ${JSON.stringify(values.fees)}`);
    }
    const fees: FeeSchedule = { feeType: m[1] as FeeSchedule['feeType'] };
    if (m[2] !== undefined) fees.multiplier = positiveNumber('fees', m[2], 1);
    env.fees = fees;
  }
  if (values['starting-cash'] !== undefined) {
    let cash: number;
    try {
      cash = parseDollars(values['starting-cash'].trim().replace(/^\$/, ''));
    } catch {
      throw new UsageError(`--starting-cash: dollars, e.g. 100 or 250.50, got ${JSON.stringify(values['starting-cash'])}`);
    }
    if (cash <= 0) throw new UsageError(`--starting-cash: must be more than 0, got ${JSON.stringify(values['starting-cash'])}`);
    env.startingCash = cash;
  }
  if (values['max-position'] !== undefined) env.maxPosition = positiveInt('max-position', values['max-position'], 0) * 100;
  if (values.queue !== undefined) {
    const q = values.queue.trim();
    let queue: QueueModel;
    if (q === 'risk-averse' || q === 'log') queue = { kind: q };
    else if (/^power:/.test(q)) queue = { kind: 'power', n: positiveNumber('queue', q.slice('power:'.length), 0) };
    else throw new UsageError(`--queue: risk-averse, power:N or log, got ${JSON.stringify(values.queue)}`);
    env.queue = queue;
  }
  if (values['decision-interval'] !== undefined) env.decisionIntervalMs = durationFlag('decision-interval', values['decision-interval'], 0);
  if (values['order-latency'] !== undefined) env.orderLatencyMs = durationFlag('order-latency', values['order-latency'], 0);
  return env;
}

// ---- the store ----------------------------------------------------------------------------------

const postgresUrl = z.string().url().refine((u) => /^postgres(ql)?:\/\//.test(u));

export interface StoreChoice {
  databaseUrl?: string;
  dataDir?: string;
}

/**
 * `--db` (a postgres:// URL, or the folder of an embedded database), else DATABASE_URL, else the
 * embedded database in `<KALSHIFLOW_DATA_DIR>/db` — the one `record` and `start` use.
 */
export function chooseStore(flag: string | undefined, env: NodeJS.ProcessEnv, flagName = 'db'): StoreChoice {
  const given = flag?.trim() || undefined;
  if (given !== undefined) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given)) {
      if (!postgresUrl.safeParse(given).success) throw new UsageError(`--${flagName}: must be a postgres:// URL or a folder, got ${JSON.stringify(redactUrl(given))}`);
      return { databaseUrl: given };
    }
    return { dataDir: given };
  }
  const url = env.DATABASE_URL?.trim();
  if (url) {
    if (!postgresUrl.safeParse(url).success) throw new UsageError(`DATABASE_URL: must be a postgres:// URL (got ${JSON.stringify(redactUrl(url))})`);
    return { databaseUrl: url };
  }
  return { dataDir: join(env.KALSHIFLOW_DATA_DIR?.trim() || '.kalshiflow', 'db') };
}

/** Opens and migrates the chosen store. */
export async function openStore(choice: StoreChoice): Promise<Database> {
  const db = await openDatabase(choice.databaseUrl ? { databaseUrl: choice.databaseUrl, poolSize: 2 } : { dataDir: choice.dataDir!, poolSize: 1 });
  try {
    await migrate(db.pool);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

export function describeStore(db: Database, choice: StoreChoice): string {
  return db.embedded ? `embedded database ${choice.dataDir}` : db.url;
}

// ---- recorded sessions --------------------------------------------------------------------------

/** The regime a session was recorded in (`kalshiflow rl regimes`), if any. */
export function regimeOf(session: RecordedSessionInfo): string | null {
  const r = session.metadata?.regime;
  return typeof r === 'string' ? r : null;
}

/**
 * Session ids from a spec: `all` (every finished session), ids `3,4`, ranges `3-8`, and
 * `regime:NAME` (finished sessions recorded in that regime), comma-separated, in the order given.
 */
/** At most this many sessions in one `--sessions` (a typo like 1-99999999 is refused, not expanded). */
export const MAX_SESSION_IDS = 10_000;

/** One item of a `--sessions` list: explicit ids (a number or a range), `all`, or `regime:NAME`. */
export type SessionSpecItem = { kind: 'ids'; from: number; to: number } | { kind: 'all' } | { kind: 'regime'; name: string };

/** Parses a `--sessions` list without the store, so a bad one is refused before anything opens. */
export function parseSessionSpec(spec: string, flag = 'sessions'): SessionSpecItem[] {
  const items = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`--${flag}: no session given`);
  const id = (text: string): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw new UsageError(`--${flag}: not a session id: ${JSON.stringify(text)}`);
    return n;
  };
  let explicit = 0;
  return items.map((item): SessionSpecItem => {
    if (item === 'all') return { kind: 'all' };
    if (item.startsWith('regime:')) return { kind: 'regime', name: item.slice('regime:'.length) };
    let from: number;
    let to: number;
    if (/^\d+-\d+$/.test(item)) {
      [from, to] = item.split('-').map(id);
      if (from > to) throw new UsageError(`--${flag}: empty range ${item}`);
      if (to - from + 1 > MAX_SESSION_IDS) throw new UsageError(`--${flag}: range ${item} spans ${to - from + 1} sessions; at most ${MAX_SESSION_IDS}`);
    } else if (/^\d+$/.test(item)) {
      from = to = id(item);
    } else {
      throw new UsageError(`--${flag}: not a session id, range, \`all\` or regime:NAME: ${JSON.stringify(item)}`);
    }
    explicit += to - from + 1;
    if (explicit > MAX_SESSION_IDS) throw new UsageError(`--${flag}: more than ${MAX_SESSION_IDS} sessions in ${JSON.stringify(spec)}`);
    return { kind: 'ids', from, to };
  });
}

/** The session ids a `--sessions` list names, in the order given, each once. */
export async function resolveSessionIds(pool: Pool, spec: string, flag = 'sessions'): Promise<number[]> {
  const items = parseSessionSpec(spec, flag);
  let finished: RecordedSessionInfo[] | null = null;
  const allFinished = async () => (finished ??= (await listRecordedSessions(pool, { limit: 1_000_000 })).reverse());
  // a Set keeps the order given and drops repeats in O(1)
  const ids = new Set<number>();
  for (const item of items) {
    if (item.kind === 'all') {
      for (const s of await allFinished()) ids.add(s.id);
    } else if (item.kind === 'regime') {
      const matching = (await allFinished()).filter((s) => regimeOf(s) === item.name);
      if (matching.length === 0) throw new UsageError(`--${flag}: no finished session recorded in regime ${JSON.stringify(item.name)}`);
      for (const s of matching) ids.add(s.id);
    } else {
      for (let n = item.from; n <= item.to; n++) ids.add(n);
    }
  }
  if (ids.size === 0) throw new UsageError(`--${flag}: no recorded session matches ${JSON.stringify(spec)} (record some with \`kalshiflow record\` or \`kalshiflow rl regimes\`)`);
  return [...ids];
}

export interface LoadedTrainingSession {
  info: RecordedSessionInfo;
  /** One timeline per market (those with a snapshot), tagged with the session id. */
  timelines: MarketTimeline[];
  events: number;
}

/**
 * Loads recorded sessions into memory as RL timelines. A session that does not exist or is
 * still being recorded is refused (training must not read a live stream).
 */
export async function loadSessionTimelines(
  pool: Pool,
  ids: readonly number[],
  tickers?: readonly string[],
  flag = 'sessions',
): Promise<LoadedTrainingSession[]> {
  const out: LoadedTrainingSession[] = [];
  for (const id of ids) {
    const info = await getRecordedSession(pool, id);
    if (!info) throw new UsageError(`--${flag}: recorded session ${id} does not exist`);
    if (info.status === 'active') throw new UsageError(`--${flag}: recorded session ${id} is still being recorded; use finished sessions only`);
    const loaded = await loadRecordedSession(pool, id, tickers ? { tickers: [...tickers] } : {});
    const timelines = loaded.markets.filter((m) => m.counts.snapshots > 0).map((m) => fromRecordedTimeline(m, id));
    out.push({ info, timelines, events: timelines.reduce((s, t) => s + t.events.length, 0) });
  }
  return out;
}

// ---- models -------------------------------------------------------------------------------------

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/**
 * Records where a trained model's file is and its digest (the store's `registerModel` takes them
 * only at registration; the file exists only once training ends).
 */
export async function setModelFile(pool: Pool, id: number, filePath: string, sha256: string, atMs: number): Promise<void> {
  await query(pool, 'UPDATE models SET file_path = $2, sha256 = $3, updated_ms = $4 WHERE id = $1', [id, filePath, sha256, atMs]);
}

/** The registered model whose file is `path` (by digest, else by path), newest first. */
export async function findModelForFile(pool: Pool, path: string, sha256: string): Promise<StoredModel | null> {
  const models = await listModels(pool);
  const abs = resolve(path);
  const byDigest = models.filter((m) => m.sha256 === sha256);
  const candidates = byDigest.length > 0 ? byDigest : models.filter((m) => m.filePath === abs);
  return candidates.sort((a, b) => b.updatedMs - a.updatedMs || b.id - a.id)[0] ?? null;
}

/**
 * `--model` may be a file, a model id (`7` or `#7`) or a model name (its active version, else its
 * newest). Returns the file to load and the registry row when there is one.
 */
export async function resolveModel(pool: Pool, spec: string, fileExists: (path: string) => boolean): Promise<{ path: string; model: StoredModel | null }> {
  if (fileExists(spec)) return { path: spec, model: null };
  const models = await listModels(pool);
  const idText = spec.replace(/^#/, '');
  let model: StoredModel | undefined;
  if (/^\d+$/.test(idText)) model = models.find((m) => m.id === Number(idText));
  if (!model) {
    const named = models.filter((m) => m.name === spec);
    model = named.find((m) => m.status === 'active') ?? named.sort((a, b) => b.createdMs - a.createdMs || b.id - a.id)[0];
  }
  if (!model) throw new UsageError(`--model: ${JSON.stringify(spec)} is neither a file nor a registered model (id or name)`);
  if (!model.filePath) throw new UsageError(`--model: model ${model.id} (${model.name} ${model.version}) has no file recorded`);
  if (!fileExists(model.filePath)) throw new UsageError(`--model: model ${model.id} (${model.name} ${model.version}) file ${model.filePath} is missing`);
  return { path: model.filePath, model };
}

// ---- progress -----------------------------------------------------------------------------------

/** `[########------] 57%` */
export function progressBar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

export function formatSeconds(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A dollar figure from Micros, e.g. -1.234567 → "-$1.23". */
export function dollars(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  return `${sign}$${(Math.abs(micros) / 1_000_000).toFixed(2)}`;
}
