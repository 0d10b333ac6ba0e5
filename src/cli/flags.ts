/**
 * The one flag parser of the `kalshiflow` commands (start, sim, record, session, db, ctl and, via
 * rl-support.ts, the RL commands). Declared like node's `util.parseArgs` (`{ type, short,
 * multiple }`), but with the conventions users expect of Node tools:
 *  - errors name the flag as the user typed it, in one line (`--port: needs a value`);
 *  - a mistyped flag gets a suggestion (`unknown flag --markts (did you mean --markets?)`);
 *  - a string flag takes the next word as its value even when it starts with `-`, so
 *    `--markets -3` reaches the command's own check as a bad value ("must be at least 1"), not
 *    node's "ambiguous" text; only a word naming a known flag (`--tickers --help`) is refused;
 *  - `--flag=value`, `--` ending the flags, `-h` style short flags.
 * `optionalValue` flags may be given bare (`--resume`, `--curriculum`) and then read as `''`.
 */
import { UsageError } from '../app/errors.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true
    ? boolean[]
    : boolean
  : S['multiple'] extends true
    ? string[]
    : string;

export type FlagValues<O extends FlagSpecs> = { [K in keyof O]?: ValueOf<O[K]> };

export interface ParsedFlags<O extends FlagSpecs> {
  values: FlagValues<O>;
  positionals: string[];
}

export interface ParseOptions {
  /** Flags that may be given without a value (they then read as ''). */
  optionalValue?: readonly string[];
  /** Words that are not flags (default: allowed). */
  allowPositionals?: boolean;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = next;
    }
  }
  return row[b.length];
}

/** The closest known flag name, when it is close enough to be a typo. */
export function suggestFlag(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = k.startsWith(name) || name.startsWith(k) ? Math.min(1, distance(name, k)) : distance(name, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

export function parseFlags<O extends FlagSpecs>(argv: readonly string[], specs: O, options: ParseOptions = {}): ParsedFlags<O> {
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const names = Object.keys(specs);
  const byShort = new Map<string, string>();
  for (const name of names) if (specs[name].short) byShort.set(specs[name].short!, name);
  const optionalValue = new Set(options.optionalValue ?? []);
  const isKnownFlag = (word: string) => (word.startsWith('--') ? word.slice(2).split('=')[0] in specs : /^-[a-zA-Z]$/.test(word) && byShort.has(word.slice(1)));

  const set = (name: string, value: string | boolean) => {
    const spec = specs[name];
    if (spec.multiple) (values[name] = (values[name] as unknown[] | undefined) ?? []).push(value);
    else values[name] = value;
  };
  const unknown = (typed: string, name: string): UsageError => {
    const suggestion = suggestFlag(name, names);
    return new UsageError(`unknown flag ${typed}${suggestion ? ` (did you mean --${suggestion}?)` : ''} (see --help)`);
  };

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let typed: string;
    let inline: string | undefined;
    if (word.startsWith('--') && word.length > 2) {
      const eq = word.indexOf('=');
      typed = eq === -1 ? word : word.slice(0, eq);
      name = typed.slice(2);
      inline = eq === -1 ? undefined : word.slice(eq + 1);
      if (!(name in specs)) throw unknown(typed, name);
    } else if (/^-[a-zA-Z]$/.test(word)) {
      typed = word;
      const long = byShort.get(word.slice(1));
      if (!long) throw new UsageError(`unknown flag ${word} (see --help)`);
      name = long;
    } else {
      if (options.allowPositionals === false) throw new UsageError(`unexpected argument ${JSON.stringify(word)} (see --help)`);
      positionals.push(word);
      continue;
    }
    const spec = specs[name];
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`${typed}: takes no value (got ${JSON.stringify(inline)})`);
      set(name, true);
      continue;
    }
    if (inline !== undefined) {
      set(name, inline);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || isKnownFlag(next) || next === '--') {
      if (optionalValue.has(name)) {
        set(name, '');
        continue;
      }
      throw new UsageError(`${typed}: needs a value (see --help)`);
    }
    // a value may start with '-' (`--markets -3`, `--seed -1`): the command judges it
    set(name, next);
    i++;
  }
  return { values: values as FlagValues<O>, positionals };
}
