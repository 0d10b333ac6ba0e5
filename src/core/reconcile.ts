/**
 * Reconciliation rules (after NautilusTrader's execution reconciliation), as one pure function:
 * compare what we believe (orders, fills, positions from the journal and the actors) with what
 * the venue reports (REST snapshot taken at `asOfMs`), and say what to hold, what to track, what
 * is missing and whether the two agree. The wiring's sync calls it; the coordinator sends the
 * trader RECONCILED with the outcome, and the trader does not act until it agrees.
 *
 * Rules:
 * 1. An explicit venue position report is authoritative — as of the snapshot. The snapshot says
 *    which fills it accounts for (`venue.fills`: the sync lists fills before and after reading
 *    positions and balance, and only a report whose fills did not change meanwhile is used).
 * 2. A missing (or uncertain) position report does not mean flat: the local position is kept.
 * 3. A snapshot never undoes a fill that happened after the state it describes, and a fill never
 *    counts twice: `holdAfterSnapshot` re-applies, by fill id, every fill the holder applied that
 *    the snapshot does not account for, and nothing else. Order fill counts only move up.
 * 4. Venue resting orders this trader placed — its journal knows the client_order_id, or the id
 *    carries the trader's prefix (a killed run's orders) — are adopted: managed and counted like
 *    its own. Other venue orders are `external`: tracked and counted in risk, never managed.
 * 5. Local open orders the venue does not know (and that predate the snapshot) are unresolved:
 *    they must be queried by client_order_id before the two sides agree.
 * 6. A venue's fill list is a window of its history (the simulator keeps a bounded one): a local
 *    fill not newer than the oldest fill the venue listed is not evidence of anything (fill times
 *    have one-second precision, so fills of that same second may have been cut off).
 */
import type { Count, Micros, Price } from './money.ts';
import { CLOSED_ORDER_STATES, type OrderFill, type OrderSide, type OrderStateName, type VenueOrderReport } from './order-state.ts';
import { applyFill, emptyPosition, type Position } from './positions.ts';

export interface LocalOrderRecord {
  clientOrderId: string;
  orderId: string | null;
  ticker: string;
  side: OrderSide;
  price: Price;
  count: Count;
  filledCount: Count;
  remainingCount: Count;
  state: OrderStateName;
  createdAtMs: number;
}

export interface VenueOrderRecord extends VenueOrderReport {
  clientOrderId: string | null;
  ticker: string;
  side: OrderSide;
  price: Price;
}

export interface FillRecord extends OrderFill {
  orderId: string | null;
  clientOrderId?: string | null;
  ticker: string;
  side: OrderSide;
}

export interface ReconcileSide {
  orders: readonly LocalOrderRecord[];
  fills: readonly FillRecord[];
  positions: readonly Position[];
  /** Client order ids of venue orders that this account's journal holds (so they are ours). */
  journalClientOrderIds?: ReadonlySet<string>;
  /** The prefix of this trader's client_order_ids (`${traderId}-`): every run's orders carry it. */
  clientOrderIdPrefix?: string;
  /**
   * The local positions have followed every fill since an earlier agreement (default true). When
   * not (a fresh start, a reconnect), a ticker without a usable report cannot be kept: it blocks.
   */
  positionsTracked?: boolean;
}

export interface VenueSide {
  orders: readonly VenueOrderRecord[];
  /** Every fill the snapshot accounts for (its positions and balance include exactly these). */
  fills: readonly FillRecord[];
  positions: readonly Position[];
  /** Tickers whose position report may not match `fills` (fills arrived while it was read). */
  uncertainTickers?: ReadonlySet<string>;
}

export type FindingKind =
  | 'position_adopted'
  | 'position_unreported'
  | 'position_uncertain'
  | 'external_order'
  | 'order_adopted'
  | 'closed_locally_resting_at_venue'
  | 'order_closed_at_venue'
  | 'order_fills_missing_locally'
  | 'venue_order_behind'
  | 'local_order_missing'
  | 'local_order_after_snapshot'
  | 'local_order_in_flight'
  | 'missing_fill'
  | 'local_fill_unconfirmed';

export type FindingSeverity = 'info' | 'warning' | 'blocking';

export interface Finding {
  kind: FindingKind;
  severity: FindingSeverity;
  message: string;
  ticker?: string;
  clientOrderId?: string;
  orderId?: string;
  fillId?: string;
}

/** A venue status to forward to a local order actor (as VENUE_UPDATE); its counts never lower ours. */
export interface OrderStatusUpdate extends Omit<VenueOrderReport, 'reason'> {
  clientOrderId: string;
}

/**
 * The venue's report on one of our orders as the update its actor hears: the fill count never
 * below what we applied, and a resting order's remainder never above what that leaves.
 */
export function orderStatusUpdate(mine: LocalOrderRecord, theirs: Omit<VenueOrderReport, 'reason'>): OrderStatusUpdate {
  const fillCount = Math.max(theirs.fillCount, mine.filledCount);
  const remainingCount = theirs.status === 'resting' ? Math.min(theirs.remainingCount, mine.count - fillCount) : theirs.remainingCount;
  return { clientOrderId: mine.clientOrderId, orderId: theirs.orderId, status: theirs.status, fillCount, remainingCount };
}

export interface ReconcileResult {
  /** No blocking finding: the trader may act. */
  agreed: boolean;
  findings: Finding[];
  /** Positions as of the snapshot, one per ticker seen on either side (hold them with `holdAfterSnapshot`). */
  positions: Position[];
  /** Tickers whose position in `positions` is the venue's report (authoritative). */
  reportedTickers: string[];
  /** Fill ids the snapshot accounts for. */
  accountedFillIds: string[];
  /** Venue resting orders of this trader that it does not manage yet: adopt them (manage and count). */
  adoptOrders: VenueOrderRecord[];
  /** Venue orders someone else placed: track and count in risk, never manage. */
  externalOrders: VenueOrderRecord[];
  /** Venue fills absent locally: journal them; their effect is already in `positions`. */
  missingFills: FillRecord[];
  /** Local open orders the venue does not report: query them by client_order_id. */
  unknownLocalOrders: LocalOrderRecord[];
  orderUpdates: OrderStatusUpdate[];
}

function samePosition(a: Position, b: Position): boolean {
  return a.position === b.position && a.costBasis === b.costBasis && a.realizedPnl === b.realizedPnl && a.feesPaid === b.feesPaid;
}

function applyFills(start: Position, fills: readonly FillRecord[]): Position {
  let pos = start;
  for (const f of fills) pos = applyFill(pos, f).position;
  return pos;
}

const byTime = (a: FillRecord, b: FillRecord) => a.tsMs - b.tsMs || (a.fillId < b.fillId ? -1 : a.fillId > b.fillId ? 1 : 0);

export function reconcile(local: ReconcileSide, venue: VenueSide, asOfMs: number): ReconcileResult {
  const findings: Finding[] = [];
  const find = (kind: FindingKind, severity: FindingSeverity, message: string, where: Omit<Finding, 'kind' | 'severity' | 'message'>) =>
    findings.push({ kind, severity, message, ...where });

  // ---- fills ----
  const localFillIds = new Set(local.fills.map((f) => f.fillId));
  const venueFillIds = new Set(venue.fills.map((f) => f.fillId));
  const missingFills = venue.fills.filter((f) => !localFillIds.has(f.fillId)).sort(byTime);
  for (const f of missingFills) {
    const where = { ticker: f.ticker, fillId: f.fillId, ...(f.orderId ? { orderId: f.orderId } : {}) };
    find('missing_fill', 'info', `venue fill ${f.fillId} (${f.count} @ ${f.price}) was not known locally`, where);
  }
  let venueListedFrom = Infinity;
  for (const f of venue.fills) if (f.tsMs < venueListedFrom) venueListedFrom = f.tsMs;
  for (const f of local.fills) {
    if (!venueFillIds.has(f.fillId) && f.tsMs <= asOfMs && f.tsMs > venueListedFrom) {
      find('local_fill_unconfirmed', 'warning', `local fill ${f.fillId} is not in the venue's fill list`, { ticker: f.ticker, fillId: f.fillId });
    }
  }
  // ---- positions (as of the snapshot) ----
  const uncertain = venue.uncertainTickers ?? new Set<string>();
  const localPositions = new Map(local.positions.map((p) => [p.ticker, p]));
  const venuePositions = new Map(venue.positions.map((p) => [p.ticker, p]));
  const tickers = new Set([...localPositions.keys(), ...venuePositions.keys()]);
  for (const f of missingFills) tickers.add(f.ticker);
  const positions: Position[] = [];
  const reportedTickers: string[] = [];
  for (const ticker of [...tickers].sort()) {
    const reported = venuePositions.get(ticker);
    const mine = localPositions.get(ticker) ?? emptyPosition(ticker);
    if (reported && !uncertain.has(ticker)) {
      const held = { ...reported, ticker };
      if (!samePosition(held, mine)) find('position_adopted', 'warning', `position ${mine.position} (local) → ${held.position} (venue)`, { ticker });
      reportedTickers.push(ticker);
      positions.push(held);
      continue;
    }
    // no (usable) report: keep ours, plus venue fills we had not seen
    const held = applyFills(mine, missingFills.filter((f) => f.ticker === ticker));
    if (reported && (local.positionsTracked ?? true)) {
      find('position_uncertain', 'info', `fills arrived while the venue position was read; keeping ${held.position} until the next sync`, { ticker });
    } else if (reported) {
      const message = 'fills arrived while the venue position was read, and there is no tracked position to keep: not trading until a sync reads it';
      find('position_uncertain', 'blocking', message, { ticker });
    } else if (held.position !== 0) {
      find('position_unreported', 'warning', `venue reported no position; keeping ${held.position}`, { ticker });
    }
    positions.push(held);
  }

  // ---- orders ----
  const venueByClientId = new Map<string, VenueOrderRecord>();
  const venueByOrderId = new Map<string, VenueOrderRecord>();
  for (const o of venue.orders) {
    venueByOrderId.set(o.orderId, o);
    if (o.clientOrderId) venueByClientId.set(o.clientOrderId, o);
  }
  const matchedVenueIds = new Set<string>();
  const unknownLocalOrders: LocalOrderRecord[] = [];
  const orderUpdates: OrderStatusUpdate[] = [];
  const externalOrders: VenueOrderRecord[] = [];
  const adoptOrders: VenueOrderRecord[] = [];

  for (const mine of local.orders) {
    const theirs = venueByClientId.get(mine.clientOrderId) ?? (mine.orderId !== null ? venueByOrderId.get(mine.orderId) : undefined);
    const open = !CLOSED_ORDER_STATES.has(mine.state);
    const ids = { clientOrderId: mine.clientOrderId, ticker: mine.ticker, ...(mine.orderId ? { orderId: mine.orderId } : {}) };
    if (!theirs) {
      if (!open) continue;
      if (mine.createdAtMs > asOfMs) {
        find('local_order_after_snapshot', 'info', 'placed after the snapshot', ids);
      } else if (mine.state === 'submitted' && mine.orderId === null) {
        // Its create is still outstanding: the venue may take it after its list was read. Its own
        // actor settles it when the answer comes, and risk already counts it, so it is looked up
        // (a found order updates) but does not hold the trader in calibrating until the next sync.
        unknownLocalOrders.push(mine);
        find('local_order_in_flight', 'info', 'create still awaiting its answer; its order actor settles it', ids);
      } else {
        unknownLocalOrders.push(mine);
        find('local_order_missing', 'blocking', `local ${mine.state} order is not reported by the venue; query it by client_order_id`, ids);
      }
      continue;
    }
    matchedVenueIds.add(theirs.orderId);
    if (!open) {
      if (theirs.status === 'resting') {
        adoptOrders.push(theirs);
        const message = `closed locally (${mine.state}) but resting at the venue: adopted again`;
        find('closed_locally_resting_at_venue', 'warning', message, { ...ids, orderId: theirs.orderId });
      }
      continue;
    }
    if (theirs.fillCount < mine.filledCount) {
      find('venue_order_behind', 'info', `venue shows ${theirs.fillCount} filled, we have ${mine.filledCount}: keeping ours`, ids);
    } else if (theirs.fillCount > mine.filledCount) {
      find('order_fills_missing_locally', 'info', `venue shows ${theirs.fillCount} filled, we have applied ${mine.filledCount}`, ids);
    }
    if (theirs.status !== 'resting') find('order_closed_at_venue', 'info', `venue status ${theirs.status}`, ids);
    orderUpdates.push(orderStatusUpdate(mine, theirs));
  }

  const prefix = local.clientOrderIdPrefix ?? '';
  const ours = (clientOrderId: string | null): clientOrderId is string =>
    !!clientOrderId && ((local.journalClientOrderIds?.has(clientOrderId) ?? false) || (prefix !== '' && clientOrderId.startsWith(prefix)));
  for (const o of venue.orders) {
    if (matchedVenueIds.has(o.orderId) || o.status !== 'resting') continue;
    const where = { ticker: o.ticker, orderId: o.orderId };
    if (ours(o.clientOrderId)) {
      adoptOrders.push(o);
      const message = `resting order of an earlier run (${o.fillCount} filled, ${o.remainingCount} left): adopted, managed and counted`;
      find('order_adopted', 'info', message, { ...where, clientOrderId: o.clientOrderId });
      continue;
    }
    externalOrders.push(o);
    const message = `resting venue order not placed by this trader: tracked and counted, not managed`;
    find('external_order', 'info', message, { ...where, ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}) });
  }

  return {
    agreed: !findings.some((f) => f.severity === 'blocking'),
    findings,
    positions,
    reportedTickers,
    accountedFillIds: [...venueFillIds],
    adoptOrders,
    externalOrders,
    missingFills,
    unknownLocalOrders,
    orderUpdates,
  };
}

/** A fill as the holder applied it, with when (on the clock the snapshot's `asOfMs` is on). */
export interface AppliedFill extends FillRecord {
  appliedAtMs: number;
}

/** What a holder (the trader) has now, at the moment it takes a snapshot in. */
export interface HolderState {
  positions: Readonly<Record<string, Position>>;
  cash: Micros;
  /** The fills it applied recently, in the order it applied them (at least every fill since the snapshot). */
  appliedFills: readonly AppliedFill[];
  /** Whether it has applied this fill already (its dedupe memory). */
  hasApplied(fillId: string): boolean;
}

export interface SnapshotToHold {
  /** When the sync started reading the venue: fills applied before it are inside its reports. */
  asOfMs: number;
  /** Positions as of the snapshot (`ReconcileResult.positions`). */
  positions: readonly Position[];
  /** Tickers whose snapshot position is the venue's report. */
  reportedTickers: readonly string[];
  accountedFillIds: ReadonlySet<string>;
  /** Venue fills the journal did not have; already inside reported positions. */
  missingFills: readonly FillRecord[];
  /** The venue's balance as of the snapshot, when it is coherent with `accountedFillIds`. */
  cash?: Micros;
}

export interface HeldState {
  positions: Record<string, Position>;
  cash: Micros;
  /** Fills the holder applied that the snapshot does not account for: applied again on top of it. */
  reapplied: AppliedFill[];
  /** Fills the holder had not applied: now applied (inside a reported position, or on a kept one). */
  newlyApplied: FillRecord[];
}

/**
 * Rule 3 (after NautilusTrader): a snapshot describes the account as of the fills it accounts for.
 * For a reported ticker the holder takes the venue's position and re-applies, in its own order,
 * every fill it applied since the venue was read (`asOfMs`) that the snapshot does not account
 * for — so a fill that landed after the venue was read is never undone, and one the venue already
 * counts is never counted twice (a fill applied before `asOfMs` is in the venue's report even when
 * it is older than the fill list the venue still serves). For a
 * ticker without a usable report the holder keeps its current position and applies the venue fills
 * it has not seen. Cash follows the same rule when the snapshot's balance is coherent.
 */
export function holdAfterSnapshot(holder: HolderState, snapshot: SnapshotToHold): HeldState {
  const positions: Record<string, Position> = { ...holder.positions };
  const reported = new Set(snapshot.reportedTickers);
  const snapshotPositions = new Map(snapshot.positions.map((p) => [p.ticker, p]));
  const reapplied: AppliedFill[] = [];
  const newlyApplied: FillRecord[] = [];
  let cashAfterSnapshot: Micros = 0;
  let cashFromNewFills: Micros = 0;
  for (const ticker of reported) positions[ticker] = snapshotPositions.get(ticker) ?? emptyPosition(ticker);
  for (const f of holder.appliedFills) {
    if (f.appliedAtMs < snapshot.asOfMs || snapshot.accountedFillIds.has(f.fillId)) continue;
    reapplied.push(f);
    if (reported.has(f.ticker)) {
      const next = applyFill(positions[f.ticker], f);
      positions[f.ticker] = next.position;
      cashAfterSnapshot += next.cashChange;
    } else {
      // the kept position already holds it; only the snapshot's cash must learn of it
      cashAfterSnapshot += applyFill(emptyPosition(f.ticker), f).cashChange;
    }
  }
  for (const f of snapshot.missingFills) {
    if (holder.hasApplied(f.fillId)) continue;
    newlyApplied.push(f);
    if (reported.has(f.ticker)) continue;
    const next = applyFill(positions[f.ticker] ?? emptyPosition(f.ticker), f);
    positions[f.ticker] = next.position;
    cashFromNewFills += next.cashChange;
  }
  const cash = snapshot.cash !== undefined ? snapshot.cash + cashAfterSnapshot : holder.cash + cashFromNewFills;
  return { positions, cash, reapplied, newlyApplied };
}
