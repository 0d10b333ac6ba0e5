/**
 * Reads the exported machine definitions (`statecharts/*.json`, written by
 * `npm run statecharts`) for `GET /v3/statecharts`, which the dashboard renders as live SVG
 * charts. Files are validated (an object naming its states), size-bounded, and re-read only when
 * they change on disk. Part of src/server.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';

const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** The part of a definition the dashboard relies on; everything else passes through unchanged. */
const definitionSchema = z
  .object({
    id: z.string().optional(),
    key: z.string().optional(),
    states: z.record(z.string(), z.unknown()),
  })
  .loose();

export interface StatechartSet {
  charts: Record<string, unknown>;
  /** Files that could not be used, with why (so a broken export is visible, not silent). */
  problems: Array<{ file: string; problem: string }>;
}

interface CachedChart {
  mtimeMs: number;
  size: number;
  value: { ok: true; chart: unknown } | { ok: false; problem: string };
}

export class StatechartStore {
  private readonly cache = new Map<string, CachedChart>();

  constructor(private readonly dir: string) {}

  async load(): Promise<StatechartSet> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json')).sort();
    } catch {
      return { charts: {}, problems: [] };
    }
    const set: StatechartSet = { charts: {}, problems: [] };
    for (const name of names) {
      const file = join(this.dir, name);
      const entry = await this.read(file);
      if (!entry) continue;
      const key = basename(name, '.json');
      if (entry.value.ok) set.charts[key] = entry.value.chart;
      else set.problems.push({ file: name, problem: entry.value.problem });
    }
    return set;
  }

  private async read(file: string): Promise<CachedChart | null> {
    let info;
    try {
      info = await stat(file);
    } catch {
      return null;
    }
    if (!info.isFile()) return null;
    const cached = this.cache.get(file);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached;
    let value: CachedChart['value'];
    if (info.size > MAX_FILE_BYTES) {
      value = { ok: false, problem: `larger than ${MAX_FILE_BYTES} bytes` };
    } else {
      try {
        const parsed = definitionSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
        value = parsed.success ? { ok: true, chart: parsed.data } : { ok: false, problem: 'not a machine definition (no `states` object)' };
      } catch (error) {
        value = { ok: false, problem: `invalid JSON: ${(error as Error).message}` };
      }
    }
    const entry = { mtimeMs: info.mtimeMs, size: info.size, value };
    this.cache.set(file, entry);
    return entry;
  }
}
