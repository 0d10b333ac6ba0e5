/**
 * Cursor pagination the Kalshi way (kalshi-api.md §3): `{items, cursor}`, pass the cursor back,
 * empty cursor on the last page. Cursors are opaque base64url tokens holding an offset and the
 * list length when issued, so items added to an append-only history (orders, fills, trades)
 * between two page requests neither repeat nor go missing. Part of src/sim/server.
 */

export class CursorError extends Error {
  override readonly name = 'CursorError';
}

interface CursorState {
  offset: number;
  total: number;
}

function encode(state: CursorState): string {
  return Buffer.from(`${state.offset}:${state.total}`, 'utf8').toString('base64url');
}

function decode(cursor: string | undefined): CursorState | null {
  if (cursor === undefined || cursor === '') return null;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) throw new CursorError('invalid cursor');
  const m = /^(\d{1,12}):(\d{1,12})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new CursorError('invalid cursor');
  return { offset: Number(m[1]), total: Number(m[2]) };
}

/** A page of a list in its natural order (markets by listing order, positions by ticker). */
export function pageInOrder<T>(items: readonly T[], limit: number, cursor: string | undefined): { page: T[]; cursor: string } {
  const start = Math.min(decode(cursor)?.offset ?? 0, items.length);
  const end = Math.min(items.length, start + limit);
  return { page: items.slice(start, end), cursor: end < items.length ? encode({ offset: end, total: items.length }) : '' };
}

/**
 * A page of an append-only history listed newest first (as the exchange lists orders, fills,
 * trades and settlements). Items added since the cursor was issued sit in front of the list and
 * only shift it; they are skipped, being newer than the first page the client already saw.
 */
export function pageNewestFirst<T>(newestFirst: readonly T[], limit: number, cursor: string | undefined): { page: T[]; cursor: string } {
  const total = newestFirst.length;
  const state = decode(cursor);
  const start = state ? Math.min(total, state.offset + Math.max(0, total - state.total)) : 0;
  const end = Math.min(total, start + limit);
  return { page: newestFirst.slice(start, end), cursor: end < total ? encode({ offset: end, total }) : '' };
}
