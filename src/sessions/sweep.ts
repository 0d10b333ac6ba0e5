/**
 * Sweeps (issue 16 §1): a scenario run over a grid — seeds × `--set path=a,b` values — one job
 * per combination. A combination's job key is a digest of the scenario text and the combination,
 * so the same sweep enqueued again finds its finished combinations already stored and skips them.
 * `runSweepJob` is the job's whole body, the same under graphile-worker (src/sessions/sweep-queue.ts)
 * and in-process on the embedded database: it runs the scenario through the session runner and
 * stores the result once (sweep_results, first writer wins).
 */
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { insertSweepResult, sweepResultExists } from '../adapters/store/index.ts';
import type { Queryable } from '../adapters/store/index.ts';
import { parseDollars } from '../core/money.ts';
import { runSession } from './runner.ts';
import type { RunSessionOptions } from './runner.ts';
import { ScenarioError, validateScenario } from './scenario.ts';
import type { LoadedScenario } from './scenario.ts';

export type Combination = Record<string, string | number>;

/** `1-50`, `1,2,7`, `1-3,9` → seeds. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?$/.exec(part);
    if (!m) throw new ScenarioError('--seeds', `expected a list like 1-50 or 1,2,7 (got ${JSON.stringify(part)})`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new ScenarioError('--seeds', `empty range ${part}`);
    if (to - from > 100_000) throw new ScenarioError('--seeds', `range ${part} is too large`);
    for (let s = from; s <= to; s++) if (!seeds.includes(s)) seeds.push(s);
  }
  return seeds;
}

/** `trader.strategy=hold,spread-quoter` → [path, values]; a value that reads as a YAML number is one. */
export function parseSetting(text: string): [string, Array<string | number>] {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) throw new ScenarioError('--set', `expected path=value[,value…] (got ${JSON.stringify(text)})`);
  const path = text.slice(0, eq).trim();
  if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(path) || path === 'seed') {
    throw new ScenarioError('--set', `${JSON.stringify(path)} is not a field path like trader.strategy (seeds go in --seeds)`);
  }
  const values = text
    .slice(eq + 1)
    .split(',')
    .map((v) => v.trim())
    .map((v) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v));
  return [path, values];
}

/** Every combination of the settings' values and the seeds (seeds vary fastest). */
export function combinations(seeds: readonly number[], settings: ReadonlyArray<[string, Array<string | number>]>): Combination[] {
  let grid: Combination[] = [{}];
  for (const [path, values] of settings) grid = grid.flatMap((c) => values.map((v) => ({ ...c, [path]: v })));
  return grid.flatMap((c) => seeds.map((seed) => ({ ...c, seed })));
}

function canonical(combination: Combination): string {
  return JSON.stringify(Object.keys(combination).sort().map((k) => [k, combination[k]]));
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The job key of one combination of a scenario text. */
export function jobKeyOf(source: string, combination: Combination): string {
  return `sweep:${digest(`${digest(source)}\n${canonical(combination)}`).slice(0, 40)}`;
}

/** The sweep's key: its scenario and its whole grid. */
export function sweepKeyOf(source: string, grid: readonly Combination[]): string {
  return digest(`${digest(source)}\n${grid.map(canonical).sort().join('\n')}`).slice(0, 24);
}

/** The scenario text with the combination's fields set, validated (a bad value is a ScenarioError). */
export function scenarioWith(source: string, file: string, combination: Combination): LoadedScenario {
  let document: unknown;
  try {
    document = extname(file).toLowerCase() === '.json' ? JSON.parse(source) : parseYaml(source);
  } catch (error) {
    throw new ScenarioError('', `not valid YAML/JSON: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, file);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) throw new ScenarioError('', 'a scenario is a mapping', file);
  for (const [path, value] of Object.entries(combination)) {
    const parts = path.split('.');
    let node = document as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (next === undefined || next === null) node[part] = {};
      else if (typeof next !== 'object' || Array.isArray(next)) throw new ScenarioError(path, `${part} is not a mapping`, file);
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = value;
  }
  return { scenario: validateScenario(document, file), source, sha256: digest(source), file };
}

/** A job's payload, checked when a worker takes it (it comes from the database). */
export const sweepJobPayload = z.object({
  jobKey: z.string().min(1),
  sweepKey: z.string().min(1),
  file: z.string().min(1),
  source: z.string(),
  combination: z.record(z.string(), z.union([z.string(), z.number()])),
});
export type SweepJobPayload = z.infer<typeof sweepJobPayload>;

export interface SweepJobContext extends Pick<RunSessionOptions, 'store' | 'databaseUrl' | 'dataDir'> {
  /** Where sweep_results live (the same database as the runs). */
  results: Queryable;
  worker: string;
  attempt: number;
}

export type SweepJobOutcome = 'stored' | 'already-stored';

/** Runs one combination and stores its result once; a combination already stored is not run again. */
export async function runSweepJob(payload: SweepJobPayload, context: SweepJobContext): Promise<SweepJobOutcome> {
  if (await sweepResultExists(context.results, payload.jobKey)) return 'already-stored';
  const loaded = scenarioWith(payload.source, payload.file, payload.combination);
  const outcome = await runSession(loaded, {
    ...(context.store ? { store: context.store } : {}),
    ...(context.databaseUrl ? { databaseUrl: context.databaseUrl } : {}),
    ...(context.dataDir ? { dataDir: context.dataDir } : {}),
  });
  const report = outcome.report;
  const stored = await insertSweepResult(context.results, {
    jobKey: payload.jobKey,
    sweepKey: payload.sweepKey,
    scenario: loaded.scenario.name,
    scenarioSha256: loaded.sha256,
    combination: payload.combination,
    sessionRunId: outcome.runId,
    status: outcome.status,
    pnlMicros: report.pnl ? parseDollars(report.pnl.final) : null,
    orders: report.orders.length,
    fills: report.fills.length,
    wallMs: report.run.wall_ms,
    worker: context.worker,
    attempt: context.attempt,
    report: report as unknown as Record<string, unknown>,
    finishedMs: Date.now(),
  });
  return stored ? 'stored' : 'already-stored';
}
