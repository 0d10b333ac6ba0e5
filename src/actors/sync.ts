/**
 * `kalshi_data_sync` and the periodic reconcile: balance, positions, resting orders and fills from
 * the venue, compared with what the trader and the journal know (core/reconcile.ts), the outcome
 * journaled and handed to the trader. Also resolves orders a previous run journaled but never
 * heard back about (crash safety): each is looked up by client_order_id before anything trades.
 */
import type { Pool } from 'pg';
import type { Clock } from '../core/clock.ts';
import { reconcile } from '../core/reconcile.ts';
import type { FillRecord, Finding, OrderStatusUpdate, ReconcileResult, ReconcileSide } from '../core/reconcile.ts';
import { KalshiApiError } from '../adapters/kalshi/errors.ts';
import type { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiOrder } from '../adapters/kalshi/rest.schemas.ts';
import {
  finishSyncRun,
  listFills,
  listUnansweredOrders,
  recordBalanceSnapshot,
  recordPositionSnapshots,
  recordSyncFinding,
  recordVenueAnswer,
  startSyncRun,
} from '../adapters/store/journal.ts';
import type { StoreEnvironment } from '../adapters/store/statuses.ts';
import type { SyncSummary } from '../machines/coordinator.types.ts';
import { fillRecordFromRest, journalFill, positionFromVenue, venueOrderRecord } from './venue.ts';
import type { VenueContext } from './venue.ts';

export interface SyncDependencies {
  rest: KalshiRestClient;
  pool: Pool;
  env: StoreEnvironment;
  clock: Clock;
  traderId: string;
  /** The trader's current view (orders it manages, positions it holds). */
  localView(): Omit<ReconcileSide, 'fills'>;
}

export interface SyncOutcome {
  summary: SyncSummary;
  result: ReconcileResult;
  balance: number;
  asOfMs: number;
}

/** Looks up every journaled order that never got an answer; returns how many were resolved. */
export async function resolveUnansweredOrders(deps: SyncDependencies): Promise<string[]> {
  const notes: string[] = [];
  for (const order of await listUnansweredOrders(deps.pool, { env: deps.env })) {
    const venue = await deps.rest.findOrderByClientOrderId(order.clientOrderId, order.ticker);
    if (venue) {
      await recordVenueAnswer(deps.pool, order.clientOrderId, {
        answeredMs: deps.clock.now(),
        orderId: venue.orderId,
        status: venue.status,
        fillCount: venue.fillCount,
        remainingCount: venue.remainingCount,
        details: { source: 'startup_recovery' },
      });
      notes.push(`order ${order.clientOrderId} found at the venue (${venue.status}) after restart`);
    } else {
      await recordVenueAnswer(deps.pool, order.clientOrderId, {
        answeredMs: deps.clock.now(),
        error: 'never reached the venue (not found by client_order_id after restart)',
      });
      notes.push(`order ${order.clientOrderId} never reached the venue`);
    }
  }
  return notes;
}

/**
 * Local open orders missing from the venue's resting list were filled, canceled or expired while
 * their user_order frames were lost (a dropped stream), or never arrived. Each is looked up: what
 * the venue says becomes an order update and settles the blocking finding; an order the venue
 * does not know (or a lookup that fails) stays blocking until its own actor resolves it.
 */
export async function resolveMissingLocalOrders(rest: KalshiRestClient, result: ReconcileResult): Promise<ReconcileResult> {
  if (result.unknownLocalOrders.length === 0) return result;
  const resolved = new Map<string, { update: OrderStatusUpdate; finding: Finding }>();
  for (const mine of result.unknownLocalOrders) {
    let venue: KalshiOrder | null;
    try {
      venue = mine.orderId
        ? await rest.getOrder(mine.orderId).catch((error: unknown) => {
            if (error instanceof KalshiApiError && error.status === 404) return null;
            throw error;
          })
        : await rest.findOrderByClientOrderId(mine.clientOrderId, mine.ticker);
    } catch {
      continue;
    }
    if (!venue) continue;
    const fillCount = Math.max(venue.fillCount, mine.filledCount);
    resolved.set(mine.clientOrderId, {
      update: {
        clientOrderId: mine.clientOrderId,
        orderId: venue.orderId,
        status: venue.status,
        fillCount,
        remainingCount: venue.status === 'resting' ? Math.min(venue.remainingCount, mine.count - fillCount) : venue.remainingCount,
      },
      finding: {
        kind: 'order_closed_at_venue',
        severity: 'info',
        message: `not resting at the venue; looked up: status ${venue.status}, ${venue.fillCount} filled`,
        clientOrderId: mine.clientOrderId,
        ticker: mine.ticker,
        orderId: venue.orderId,
      },
    });
  }
  if (resolved.size === 0) return result;
  const findings = result.findings.map((f) =>
    f.kind === 'local_order_missing' && f.clientOrderId !== undefined && resolved.has(f.clientOrderId) ? resolved.get(f.clientOrderId)!.finding : f,
  );
  return {
    ...result,
    findings,
    agreed: !findings.some((f) => f.severity === 'blocking'),
    unknownLocalOrders: result.unknownLocalOrders.filter((o) => !resolved.has(o.clientOrderId)),
    orderUpdates: [...result.orderUpdates, ...[...resolved.values()].map((r) => r.update)],
  };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export async function syncWithVenue(deps: SyncDependencies, kind: 'initial' | 'periodic'): Promise<SyncOutcome> {
  const startedMs = deps.clock.now();
  const syncId = await startSyncRun(deps.pool, { env: deps.env, reason: kind, startedMs });
  try {
    const repairs = kind === 'initial' ? await resolveUnansweredOrders(deps) : [];
    // Local view first: anything that changes after this point is newer than the snapshot.
    const local = deps.localView();
    const asOfMs = deps.clock.now();
    const [balance, positions, restingOrders, venueFills] = await Promise.all([
      deps.rest.getBalance(),
      deps.rest.getAllPositions(),
      collect(deps.rest.iterateOrders({ status: 'resting' })),
      collect(deps.rest.iterateFills({})),
    ]);
    const fills: FillRecord[] = venueFills.map((f) => fillRecordFromRest(f, deps.clock));
    const journaled = await listFills(deps.pool, { env: deps.env });
    const localFills: FillRecord[] = journaled.map((f) => ({
      fillId: f.fillId,
      orderId: f.venueOrderId,
      clientOrderId: f.clientOrderId ?? null,
      ticker: f.ticker,
      side: f.side,
      price: f.yesPrice,
      count: f.count,
      fee: f.fee,
      isTaker: f.isTaker,
      tsMs: f.tsMs,
    }));
    const compared = reconcile(
      { ...local, fills: localFills },
      {
        orders: restingOrders.map(venueOrderRecord),
        fills,
        positions: positions.marketPositions.map(positionFromVenue),
      },
      asOfMs,
    );
    const result = await resolveMissingLocalOrders(deps.rest, compared);
    const venueCtx: VenueContext = { rest: deps.rest, pool: deps.pool, env: deps.env, clock: deps.clock, traderId: deps.traderId };
    let imported = 0;
    for (const fill of result.missingFills) if (await journalFill(venueCtx, fill, 'rest')) imported++;

    const now = deps.clock.now();
    await recordBalanceSnapshot(deps.pool, syncId, { atMs: now, balance: balance.balance, portfolioValue: balance.portfolioValue });
    await recordPositionSnapshots(
      deps.pool,
      syncId,
      now,
      result.positions.map((p) => ({
        ticker: p.ticker,
        position: p.position,
        exposure: p.costBasis,
        realizedPnl: p.realizedPnl,
        feesPaid: p.feesPaid,
        totalTraded: p.totalTraded,
      })),
    );
    for (const finding of result.findings) {
      await recordSyncFinding(deps.pool, syncId, {
        kind: finding.kind,
        severity: finding.severity === 'blocking' ? 'error' : finding.severity,
        message: finding.message,
        ticker: finding.ticker ?? null,
        clientOrderId: finding.clientOrderId ?? null,
      });
    }
    await finishSyncRun(deps.pool, syncId, {
      status: result.agreed ? 'agreed' : 'mismatch',
      endedMs: deps.clock.now(),
      ordersChecked: restingOrders.length,
      fillsImported: imported,
    });
    const summary: SyncSummary = {
      kind,
      atMs: deps.clock.now(),
      balance: balance.balance,
      ...(balance.portfolioValue !== null ? { portfolioValue: balance.portfolioValue } : {}),
      positions: positions.marketPositions.filter((p) => p.position !== 0).length,
      restingOrders: restingOrders.length,
      newFills: imported,
      repairs: [
        ...repairs,
        ...result.findings.filter((f) => f.severity !== 'info' || f.kind === 'missing_fill').map((f) => f.message),
      ],
    };
    return { summary, result, balance: balance.balance, asOfMs };
  } catch (error) {
    await finishSyncRun(deps.pool, syncId, {
      status: 'failed',
      endedMs: deps.clock.now(),
      error: error instanceof Error ? error.message : String(error),
    }).catch(() => undefined);
    throw error;
  }
}
