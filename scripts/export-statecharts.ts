/**
 * Exports every statechart in src/machines (each exported machine of each `*.machine.ts`) as
 * JSON to statecharts/<machine id>.json: states, transitions (event, guard, target, actions),
 * invoke ids and sources, named delays. Output is stable (sorted keys, inline functions shown as
 * "<inline>"), so the files diff cleanly and test/machines/statecharts.test.ts can detect drift.
 *
 * Run with `npm run statecharts`.
 */
import { readdirSync, writeFileSync, mkdirSync, readFileSync, existsSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MACHINES_DIR = join(ROOT, 'src', 'machines');
export const STATECHARTS_DIR = join(ROOT, 'statecharts');

interface MachineLike {
  id: string;
  definition: unknown;
  root: unknown;
  getInitialSnapshot: unknown;
}

function isMachine(value: unknown): value is MachineLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as MachineLike).id === 'string' &&
    'root' in value &&
    'definition' in value &&
    typeof (value as MachineLike).getInitialSnapshot === 'function'
  );
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** A machine's definition as stable, readable JSON text. */
export function renderDefinition(machine: MachineLike): string {
  const plain = JSON.parse(
    JSON.stringify(machine.definition, (key, value) => {
      if (key === 'toJSON') return undefined;
      // `transitions` repeats `on` as a flat list.
      if (key === 'transitions') return undefined;
      // Atomic states carry an empty initial transition: noise.
      if (key === 'initial' && value && typeof value === 'object' && Array.isArray(value.target) && value.target.length === 0) {
        return undefined;
      }
      if (typeof value === 'function') return '<inline>';
      return value;
    }),
  );
  addEventlessTransitions(machine.root as StateNodeLike, plain as Record<string, unknown>);
  return `${JSON.stringify(sortKeys(plain), null, 2)}\n`;
}

interface StateNodeLike {
  always?: Array<{ target?: Array<{ id: string }>; guard?: unknown; actions?: unknown[] }>;
  states: Record<string, StateNodeLike>;
}

function describeGuard(guard: unknown): unknown {
  if (guard === undefined) return undefined;
  if (typeof guard === 'function') return '<inline>';
  if (guard && typeof guard === 'object' && 'type' in guard) return (guard as { type: unknown }).type;
  return guard;
}

/**
 * XState's `definition` leaves out eventless (`always`) transitions; they are part of the chart
 * (e.g. order: initialized → submitted | denied), so add them per state node.
 */
function addEventlessTransitions(node: StateNodeLike, plain: Record<string, unknown>): void {
  if (node.always && node.always.length > 0) {
    plain.always = node.always.map((t) => ({
      target: (t.target ?? []).map((s) => `#${s.id}`),
      ...(t.guard !== undefined ? { guard: describeGuard(t.guard) } : {}),
    }));
  }
  const states = plain.states as Record<string, Record<string, unknown>> | undefined;
  for (const [key, child] of Object.entries(node.states ?? {})) {
    if (states?.[key]) addEventlessTransitions(child, states[key]);
  }
}

/** Every exported machine of every `*.machine.ts`, rendered: file name → content. */
export async function renderStatecharts(machinesDir = MACHINES_DIR): Promise<Map<string, string>> {
  const files = readdirSync(machinesDir)
    .filter((f) => f.endsWith('.machine.ts'))
    .sort();
  const out = new Map<string, string>();
  const origin = new Map<string, string>();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(machinesDir, file)).href)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      if (!isMachine(value)) continue;
      const name = `${value.id}.json`;
      const text = renderDefinition(value);
      const previous = out.get(name);
      if (previous !== undefined && previous !== text) {
        throw new Error(`two different machines with id "${value.id}": ${origin.get(name)} and ${file}#${exportName}`);
      }
      out.set(name, text);
      origin.set(name, `${file}#${exportName}`);
    }
  }
  return out;
}

/** Writes the rendered charts and removes JSON files of machines that no longer exist. */
export async function writeStatecharts(dir = STATECHARTS_DIR): Promise<{ written: string[]; removed: string[] }> {
  const charts = await renderStatecharts();
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of charts) {
    const path = join(dir, name);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) written.push(name);
    writeFileSync(path, text);
  }
  const removed = readdirSync(dir).filter((f) => f.endsWith('.json') && !charts.has(f));
  for (const f of removed) unlinkSync(join(dir, f));
  return { written, removed };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { written, removed } = await writeStatecharts();
  const charts = readdirSync(STATECHARTS_DIR).filter((f) => f.endsWith('.json'));
  console.log(`statecharts: ${charts.length} machine(s) in statecharts/ (${written.length} updated, ${removed.length} removed)`);
  for (const f of written) console.log(`  updated ${f}`);
  for (const f of removed) console.log(`  removed ${f}`);
}
