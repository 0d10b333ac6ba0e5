/**
 * Last line of defence against leaking secrets through the operator surfaces: every free-form
 * value the server passes on (event metadata, sync summaries, machine states, error messages,
 * inspector contexts) goes through `redactSecrets` first. The trading system should never put a
 * key in those places; this makes sure a mistake there cannot reach a browser, a log or a scrape.
 * Part of src/server.
 */
import { isSecretName, redactUrlPasswords } from '../core/secrets.ts';

/** PEM-armoured private keys, wherever they appear inside a string. */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

export const REDACTED = '[redacted]';

/** Removes PEM private-key blocks and URL passwords from a string. */
export function redactText(text: string): string {
  const withoutKeys = text.includes('PRIVATE KEY') ? text.replace(PEM_PRIVATE_KEY, REDACTED) : text;
  return redactUrlPasswords(withoutKeys);
}

export interface RedactOptions {
  /** Further keys to drop entirely (e.g. order books in inspector contexts). */
  dropKeys?: ReadonlySet<string>;
  /** Deeper structures are replaced by a marker, so a cyclic or huge value cannot stall a reply. */
  maxDepth?: number;
  /** Arrays longer than this are cut to this length, the last entry saying how many were left out. */
  maxArrayLength?: number;
  /** Strings longer than this are cut to this length, ending with their original length. */
  maxStringLength?: number;
  /** Replaces special objects (e.g. actor references) by a summary; `undefined` means walk it. */
  summarize?: (value: object) => unknown;
}

/**
 * A JSON-safe copy of `value` with secret-named keys replaced by "[redacted]", PEM private keys
 * and URL passwords cut out of strings, functions and class instances other than plain data dropped, and depth,
 * array length and string length bounded. Maps and Sets become objects and arrays.
 */
export function redactSecrets(value: unknown, options: RedactOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? 12;
  const maxArray = options.maxArrayLength ?? 1_000;
  const maxString = options.maxStringLength ?? 20_000;
  const drop = options.dropKeys;
  const seen = new WeakSet<object>();

  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || v === undefined) return v ?? null;
    switch (typeof v) {
      case 'string': {
        const clean = redactText(v);
        if (clean.length <= maxString) return clean;
        // the result fits the bound, so a second pass leaves it alone
        const suffix = `… (${clean.length} characters)`;
        return clean.slice(0, Math.max(0, maxString - suffix.length)) + suffix;
      }
      case 'number':
        return Number.isFinite(v) ? v : String(v);
      case 'boolean':
        return v;
      case 'bigint':
        return v.toString();
      case 'function':
      case 'symbol':
        return undefined;
      default:
        break;
    }
    const obj = v as object;
    const summary = options.summarize?.(obj);
    if (summary !== undefined) return summary;
    if (depth >= maxDepth) return '[depth limit]';
    if (seen.has(obj)) return '[circular]';
    seen.add(obj);
    try {
      if (Array.isArray(obj) || obj instanceof Set) {
        const items = Array.isArray(obj) ? obj : [...obj];
        if (items.length <= maxArray) return items.map((item) => walk(item, depth + 1) ?? null);
        // `maxArray` entries in all, the last one saying what was cut: a second pass keeps it
        const kept = Math.max(0, maxArray - 1);
        const out = items.slice(0, kept).map((item) => walk(item, depth + 1) ?? null);
        out.push(`… ${items.length - kept} more items`);
        return out;
      }
      if (obj instanceof Date) return obj.toISOString();
      if (obj instanceof Error) return { name: obj.name, message: redactText(obj.message) };
      const entries: Array<[string, unknown]> = obj instanceof Map ? [...obj.entries()].map(([k, val]) => [String(k), val]) : Object.entries(obj);
      const out: Record<string, unknown> = {};
      for (const [key, val] of entries) {
        if (drop?.has(key)) continue;
        if (isSecretName(key)) {
          out[key] = REDACTED;
          continue;
        }
        const clean = walk(val, depth + 1);
        if (clean !== undefined) out[key] = clean;
      }
      return out;
    } finally {
      seen.delete(obj);
    }
  };
  return walk(value, 0);
}
