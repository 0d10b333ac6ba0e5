/**
 * Durations as people write them — `90s`, `10m`, `1h30m`, `500ms`, `30d`, or a number of seconds —
 * parsed exactly to integer milliseconds, and formatted back. The one parser of the scenario files
 * and of every CLI flag that takes a duration. Pure.
 */

export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1h30m" → 5,400,000; "2.5s" → 2500; a bare number counts seconds. Exact to the millisecond. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new RangeError('must be a non-negative number of seconds');
    const ms = Math.round(text * 1000);
    if (Math.abs(ms - text * 1000) > 1e-6) throw new RangeError('has more precision than a millisecond');
    return ms;
  }
  const compact = text.replace(/\s+/g, '');
  if (!DURATION_PATTERN.test(compact)) throw new RangeError(`not a duration: ${JSON.stringify(text)} (use e.g. 30s, 5m, 1h30m, 500ms)`);
  let total = 0;
  for (const [, amount, unit] of compact.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    const [whole, frac = ''] = amount.split('.');
    // fixed-point: the fractional part is scaled by the unit, and must land on whole milliseconds
    const scale = UNIT_MS[unit];
    const fracMs = frac ? (Number(frac) * scale) / 10 ** frac.length : 0;
    if (!Number.isInteger(fracMs)) throw new RangeError(`${JSON.stringify(text)} has more precision than a millisecond`);
    total += Number(whole) * scale + fracMs;
  }
  if (!Number.isSafeInteger(total)) throw new RangeError(`${JSON.stringify(text)} is too long`);
  return total;
}

/** Formats ms the way scenario files write them: 90000 → "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}
