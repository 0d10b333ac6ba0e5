/**
 * Reconciliation rules (after NautilusTrader's execution reconciliation), as one pure function:
 * compare what we believe (orders, fills, positions from the journal and the actors) with what
 * the venue reports (REST snapshot taken at `asOfMs`), and say what to hold, what to track, what
 * is missing and whether the two agree. The wiring's sync calls it; the coordinator sends the
 * trader RECONCILED with the outcome, and the trader does not act until it agrees.
 *
 * Rules:
 * 1. An explicit venue position report is authoritative (adjusted for fills after the snapshot).
 * 2. A missing position report does not mean flat: the local position is kept.
 * 3. A snapshot must not undo a fill that arrived after it: fills later than `asOfMs` are applied
 *    on top of the venue's positions, and order fill counts only move up.
 * 4. Venue orders unknown locally become `external` orders: tracked, never managed.
 * 5. Local open orders the venue does not know (and that predate the snapshot) are unresolved:
 *    they must be queried by client_order_id before the two sides agree.
 * 6. A venue's fill list is a window of its history (the simulator keeps a bounded one): a local
 *    fill older than the oldest fill the venue listed is not evidence of anything.
 */
import type { Count, Micros, Price } from './money.ts';
import { CLOSED_ORDER_STATES, type OrderSide, type OrderStateName, type VenueOrderStatus } from './order-state.ts';
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

export interface VenueOrderRecord {
  orderId: string;
  clientOrderId: string | null;
  ticker: string;
  side: OrderSide;
  price: Price;
  status: VenueOrderStatus;
  fillCount: Count;
  remainingCount: Count;
}

export interface FillRecord {
  fillId: string;
  orderId: string | null;
  clientOrderId?: string | null;
  ticker: string;
  side: OrderSide;
  price: Price;
  count: Count;
  fee: Micros;
  isTaker: boolean;
  tsMs: number;
}

export interface ReconcileSide {
  orders: readonly LocalOrderRecord[];
  fills: readonly FillRecord[];
  positions: readonly Position[];
}

export interface VenueSide {
  orders: readonly VenueOrderRecord[];
  fills: readonly FillRecord[];
  positions: readonly Position[];
}

export type FindingKind =
  | 'position_adopted'
  | 'position_unreported'
  | 'fills_after_snapshot'
  | 'external_order'
  | 'closed_locally_resting_at_venue'
  | 'order_closed_at_venue'
  | 'order_fills_missing_locally'
  | 'venue_order_behind'
  | 'local_order_missing'
  | 'local_order_after_snapshot'
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
export interface OrderStatusUpdate {
  clientOrderId: string;
  orderId: string;
  status: VenueOrderStatus;
  fillCount: Count;
  remainingCount: Count;
}

export interface ReconcileResult {
  /** No blocking finding: the trader may act. */
  agreed: boolean;
  findings: Finding[];
  /** Positions to hold from now on, one per ticker seen on either side. */
  positions: Position[];
  /** Venue orders we did not place (or no longer manage): track, never manage. */
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
  for (const f of fills) pos = applyFill(pos, { side: f.side, price: f.price, count: f.count, fee: f.fee }).position;
  return pos;
}

const byTime = (a: FillRecord, b: FillRecord) => a.tsMs - b.tsMs || (a.fillId < b.fillId ? -1 : a.fillId > b.fillId ? 1 : 0);

export function reconcile(local: ReconcileSide, venue: VenueSide, asOfMs: number): ReconcileResult {
  const findings: Finding[] = [];

  // ---- fills ----
  const localFillIds = new Set(local.fills.map((f) => f.fillId));
  const venueFillIds = new Set(venue.fills.map((f) => f.fillId));
  const missingFills = venue.fills.filter((f) => !localFillIds.has(f.fillId)).sort(byTime);
  for (const f of missingFills) {
    findings.push({
      kind: 'missing_fill',
      severity: 'info',
      message: `venue fill ${f.fillId} (${f.count} @ ${f.price}) was not known locally`,
      ticker: f.ticker,
      fillId: f.fillId,
      ...(f.orderId ? { orderId: f.orderId } : {}),
    });
  }
  let venueListedFrom = Infinity;
  for (const f of venue.fills) if (f.tsMs < venueListedFrom) venueListedFrom = f.tsMs;
  for (const f of local.fills) {
    if (!venueFillIds.has(f.fillId) && f.tsMs <= asOfMs && f.tsMs >= venueListedFrom) {
      findings.push({
        kind: 'local_fill_unconfirmed',
        severity: 'warning',
        message: `local fill ${f.fillId} is not in the venue's fill list`,
        ticker: f.ticker,
        fillId: f.fillId,
      });
    }
  }
  // Every known fill, once, for the "after the snapshot" and "no report" adjustments.
  const allFills = new Map<string, FillRecord>();
  for (const f of local.fills) allFills.set(f.fillId, f);
  for (const f of venue.fills) if (!allFills.has(f.fillId)) allFills.set(f.fillId, f);
  const laterFillsByTicker = new Map<string, FillRecord[]>();
  for (const f of allFills.values()) {
    if (f.tsMs <= asOfMs) continue;
    const list = laterFillsByTicker.get(f.ticker) ?? [];
    list.push(f);
    laterFillsByTicker.set(f.ticker, list);
  }

  // ---- positions ----
  const localPositions = new Map(local.positions.map((p) => [p.ticker, p]));
  const venuePositions = new Map(venue.positions.map((p) => [p.ticker, p]));
  const tickers = new Set([...localPositions.keys(), ...venuePositions.keys()]);
  for (const f of missingFills) tickers.add(f.ticker);
  const positions: Position[] = [];
  for (const ticker of [...tickers].sort()) {
    const reported = venuePositions.get(ticker);
    const mine = localPositions.get(ticker) ?? emptyPosition(ticker);
    if (reported) {
      const later = (laterFillsByTicker.get(ticker) ?? []).sort(byTime);
      const held = applyFills({ ...reported, ticker }, later);
      if (later.length > 0) {
        findings.push({
          kind: 'fills_after_snapshot',
          severity: 'info',
          message: `${later.length} fill(s) after the snapshot applied on top of the venue position`,
          ticker,
        });
      }
      if (!samePosition(held, mine)) {
        findings.push({
          kind: 'position_adopted',
          severity: 'warning',
          message: `position ${mine.position} (local) → ${held.position} (venue)`,
          ticker,
        });
      }
      positions.push(held);
    } else {
      // no report: keep ours, plus venue fills we had not seen
      const unseen = missingFills.filter((f) => f.ticker === ticker);
      const held = applyFills(mine, unseen);
      if (held.position !== 0) {
        findings.push({
          kind: 'position_unreported',
          severity: 'warning',
          message: `venue reported no position; keeping ${held.position}`,
          ticker,
        });
      }
      positions.push(held);
    }
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

  for (const mine of local.orders) {
    const theirs =
      venueByClientId.get(mine.clientOrderId) ?? (mine.orderId !== null ? venueByOrderId.get(mine.orderId) : undefined);
    const open = !CLOSED_ORDER_STATES.has(mine.state);
    const ids = { clientOrderId: mine.clientOrderId, ticker: mine.ticker, ...(mine.orderId ? { orderId: mine.orderId } : {}) };
    if (!theirs) {
      if (!open) continue;
      if (mine.createdAtMs > asOfMs) {
        findings.push({ kind: 'local_order_after_snapshot', severity: 'info', message: 'placed after the snapshot', ...ids });
      } else {
        unknownLocalOrders.push(mine);
        findings.push({
          kind: 'local_order_missing',
          severity: 'blocking',
          message: `local ${mine.state} order is not reported by the venue; query it by client_order_id`,
          ...ids,
        });
      }
      continue;
    }
    matchedVenueIds.add(theirs.orderId);
    if (!open) {
      if (theirs.status === 'resting') {
        externalOrders.push(theirs);
        findings.push({
          kind: 'closed_locally_resting_at_venue',
          severity: 'warning',
          message: `closed locally (${mine.state}) but resting at the venue: tracked as external`,
          ...ids,
          orderId: theirs.orderId,
        });
      }
      continue;
    }
    if (theirs.fillCount < mine.filledCount) {
      findings.push({
        kind: 'venue_order_behind',
        severity: 'info',
        message: `venue shows ${theirs.fillCount} filled, we have ${mine.filledCount}: keeping ours`,
        ...ids,
      });
    } else if (theirs.fillCount > mine.filledCount) {
      findings.push({
        kind: 'order_fills_missing_locally',
        severity: 'info',
        message: `venue shows ${theirs.fillCount} filled, we have applied ${mine.filledCount}`,
        ...ids,
      });
    }
    if (theirs.status !== 'resting') {
      findings.push({ kind: 'order_closed_at_venue', severity: 'info', message: `venue status ${theirs.status}`, ...ids });
    }
    orderUpdates.push({
      clientOrderId: mine.clientOrderId,
      orderId: theirs.orderId,
      status: theirs.status,
      fillCount: Math.max(theirs.fillCount, mine.filledCount),
      remainingCount:
        theirs.status === 'resting' ? Math.min(theirs.remainingCount, mine.count - Math.max(theirs.fillCount, mine.filledCount)) : theirs.remainingCount,
    });
  }

  for (const o of venue.orders) {
    if (matchedVenueIds.has(o.orderId) || o.status !== 'resting') continue;
    externalOrders.push(o);
    findings.push({
      kind: 'external_order',
      severity: 'info',
      message: `resting venue order not placed by this trader: tracked, not managed`,
      ticker: o.ticker,
      orderId: o.orderId,
      ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
    });
  }

  return {
    agreed: !findings.some((f) => f.severity === 'blocking'),
    findings,
    positions,
    externalOrders,
    missingFills,
    unknownLocalOrders,
    orderUpdates,
  };
}
