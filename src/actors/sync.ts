/**
 * `kalshi_data_sync` and the periodic reconcile: balance, positions, resting orders and fills from
 * the venue, compared with what the trader and the journal know (core/reconcile.ts), the outcome
 * journaled and handed to the trader. Crash safety lives here too:
 * - the snapshot is coherent: fills are listed before and after positions, balance and resting
 *   orders are read, and a ticker whose fills changed meanwhile is not taken from the report;
 * - orders a previous run journaled but never heard back about are looked up by client_order_id;
 *   the trader's own that the venue does not know (yet) go to the trader as unanswered creates
 *   (its order chart decides when "not found" means never placed: a create may still land);
 * - resting venue orders the journal knows (or that carry the trader's client_order_id prefix)
 *   are handed to the trader to adopt, before it quotes;
 * - every other open journal order the trader does not manage is brought to its venue state;
 * - sync runs a killed process left `running` are closed as interrupted.
 */
import { orderStatusUpdate, reconcile } from '../core/reconcile.ts';
import type { FillRecord, Finding, OrderStatusUpdate, ReconcileResult, ReconcileSide } from '../core/reconcile.ts';
import type { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiOrder } from '../adapters/kalshi/rest.schemas.ts';
import {
  closeInterruptedSyncRuns,
  finishSyncRun,
  journaledClientOrderIds,
  listFills,
  listOpenJournalOrders,
  listUnansweredOrders,
  recordBalanceSnapshot,
  recordPositionSnapshots,
  recordSyncFinding,
  recordVenueAnswer,
  settleJournalOrder,
  startSyncRun,
} from '../adapters/store/journal.ts';
import type { SyncSummary } from '../machines/coordinator.types.ts';
import type { UnansweredCreate } from '../machines/trader.types.ts';
import { journalFill, journalOrderNote } from './order-journal.ts';
import { fillRecordFromRest, positionFromVenue, venueOrderRecord, type VenueContext } from './venue.ts';

export interface SyncDependencies extends Omit<VenueContext, 'onJournalFailure'> {
  /** The trader's current view (orders it manages, positions it holds). */
  localView(): Omit<ReconcileSide, 'fills'>;
}

export interface SyncOutcome {
  summary: SyncSummary;
  result: ReconcileResult;
  balance: number;
  /** The balance includes exactly the snapshot's fills (no fill landed while it was read). */
  balanceCoherent: boolean;
  asOfMs: number;
  /** This trader's unanswered creates of an earlier run that the venue did not know: the trader manages them until settled. */
  unansweredCreates: UnansweredCreate[];
}

/**
 * Looks up every journaled order that never got an answer. Found: its answer is journaled (a
 * resting one is then adopted). Not found: one of this trader's is handed to the trader as an
 * unanswered create — the request may still land, and the order chart decides when it can no
 * longer (it then closes it as never placed); anyone else's is journaled as never placed.
 */
export async function resolveUnansweredOrders(deps: SyncDependencies): Promise<{ notes: string[]; unansweredCreates: UnansweredCreate[] }> {
  const notes: string[] = [];
  const unansweredCreates: UnansweredCreate[] = [];
  const prefix = `${deps.traderId}-`;
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
    } else if (order.trader === deps.traderId || order.clientOrderId.startsWith(prefix)) {
      await journalOrderNote(
        { pool: deps.pool, env: deps.env, clock: deps.clock, traderId: deps.traderId },
        order.clientOrderId,
        'query',
        { found: false, source: 'startup_recovery' },
      );
      unansweredCreates.push({
        clientOrderId: order.clientOrderId,
        intent: {
          ticker: order.ticker,
          side: order.side,
          price: order.price,
          count: order.count,
          timeInForce: order.tif,
          ...(order.postOnly ? { postOnly: true } : {}),
          ...(order.expirationS !== null ? { expirationTime: order.expirationS } : {}),
        },
        sentAtMs: order.sentMs ?? order.createdMs,
      });
      notes.push(`order ${order.clientOrderId} not found at the venue after restart: managed until it lands or can no longer`);
    } else {
      await recordVenueAnswer(deps.pool, order.clientOrderId, {
        answeredMs: deps.clock.now(),
        error: 'never reached the venue (not found by client_order_id after restart)',
      });
      notes.push(`order ${order.clientOrderId} never reached the venue`);
    }
  }
  return { notes, unansweredCreates };
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
      venue = await rest.lookupOrder(mine);
    } catch {
      continue;
    }
    if (!venue) continue;
    resolved.set(mine.clientOrderId, {
      update: orderStatusUpdate(mine, venue),
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

/**
 * Attempts at a snapshot no fill lands in, before the uncertain tickers are left to the next sync:
 * more when the trader has no tracked positions to keep (at start-up an uncertain ticker blocks).
 */
const SNAPSHOT_ATTEMPTS = { tracked: 3, untracked: 10 };
const SNAPSHOT_RETRY_MS = 50;

interface VenueSnapshot {
  balance: Awaited<ReturnType<KalshiRestClient['getBalance']>>;
  positions: Awaited<ReturnType<KalshiRestClient['getAllPositions']>>;
  restingOrders: KalshiOrder[];
  /** Every fill the positions and balance include. */
  fills: FillRecord[];
  /** Tickers with fills that landed while the snapshot was read (their report is not used). */
  uncertainTickers: Set<string>;
}

/**
 * Positions, balance and resting orders, bracketed by two fill lists: when both lists hold the
 * same fills, the reports include exactly those. Otherwise it tries again; after the last attempt
 * only the tickers whose fills did not move are certain (and the balance is not).
 */
async function readVenueSnapshot(deps: SyncDependencies, attempts: number): Promise<VenueSnapshot> {
  const listFillsNow = async () => (await collect(deps.rest.iterateFills({}))).map((f) => fillRecordFromRest(f, deps.clock));
  let before = await listFillsNow();
  for (let attempt = 1; ; attempt++) {
    const [balance, positions, restingOrders] = await Promise.all([
      deps.rest.getBalance(),
      deps.rest.getAllPositions(),
      collect(deps.rest.iterateOrders({ status: 'resting' })),
    ]);
    const after = await listFillsNow();
    const seen = new Set(before.map((f) => f.fillId));
    const uncertainTickers = new Set(after.filter((f) => !seen.has(f.fillId)).map((f) => f.ticker));
    if (uncertainTickers.size === 0 || attempt >= attempts) {
      return { balance, positions, restingOrders, fills: after, uncertainTickers };
    }
    before = after;
    await new Promise<void>((resolve) => deps.clock.setTimeout(resolve, SNAPSHOT_RETRY_MS));
  }
}

/**
 * Open journal orders this trader no longer manages — a killed run's, or ones whose closing write
 * was lost — brought to what the venue says (one pass over the venue's orders since the oldest):
 * executed → filled, canceled → canceled, unknown to the venue → rejected (never reached it) or
 * canceled (it was there once). Resting ones are left to adoption.
 */
export async function settleStaleJournalOrders(
  deps: SyncDependencies,
  managed: ReadonlySet<string>,
  resting: readonly KalshiOrder[],
  asOfMs: number,
): Promise<string[]> {
  const restingIds = new Set(resting.map((o) => o.clientOrderId));
  const stale = (await listOpenJournalOrders(deps.pool, { env: deps.env, trader: deps.traderId })).filter(
    (o) => !managed.has(o.clientOrderId) && !restingIds.has(o.clientOrderId) && o.createdMs <= asOfMs,
  );
  if (stale.length === 0) return [];
  const oldestS = Math.floor(Math.min(...stale.map((o) => o.createdMs)) / 1000) - 60;
  const byClientId = new Map<string, KalshiOrder>();
  const byOrderId = new Map<string, KalshiOrder>();
  for await (const o of deps.rest.iterateOrders({ minTs: Math.max(0, oldestS) })) {
    if (o.clientOrderId) byClientId.set(o.clientOrderId, o);
    byOrderId.set(o.orderId, o);
  }
  let settled = 0;
  let leftResting = 0;
  for (const order of stale) {
    let venue = byClientId.get(order.clientOrderId) ?? (order.venueOrderId ? byOrderId.get(order.venueOrderId) : undefined) ?? null;
    if (!venue && order.venueOrderId) venue = await deps.rest.lookupOrder({ orderId: order.venueOrderId, clientOrderId: order.clientOrderId });
    const atMs = deps.clock.now();
    if (venue && venue.status === 'resting') {
      leftResting++; // rests now: the next reconciliation adopts it
      continue;
    }
    const settlement = venue
      ? {
          state: venue.status === 'executed' ? ('filled' as const) : ('canceled' as const),
          venueOrderId: venue.orderId,
          venueStatus: venue.status,
          fillCount: venue.fillCount,
          details: { source: 'reconcile', venueStatus: venue.status, fillCount: venue.fillCount },
        }
      : {
          state: order.venueOrderId ? ('canceled' as const) : ('rejected' as const),
          error: order.venueOrderId ? 'absent at the venue' : 'never reached the venue',
          details: { source: 'reconcile', found: false },
        };
    if (await settleJournalOrder(deps.pool, order.clientOrderId, { atMs, ...settlement })) settled++;
  }
  const notes = settled > 0 ? [`${settled} journal orders the trader no longer managed brought to their venue state`] : [];
  if (leftResting > 0) notes.push(`${leftResting} journal orders rest at the venue since the snapshot: adopted at the next sync`);
  return notes;
}

/**
 * The journal's fills in the window the venue listed (core/reconcile.ts rule 6), with a minute of
 * margin: not the whole journal, which grows for ever while the venue lists a bounded window.
 */
async function journaledFillsInWindow(deps: SyncDependencies, venueFills: readonly FillRecord[], asOfMs: number): Promise<FillRecord[]> {
  let listedFrom = asOfMs;
  for (const f of venueFills) if (f.tsMs < listedFrom) listedFrom = f.tsMs;
  const journaled = await listFills(deps.pool, { env: deps.env, sinceMs: listedFrom - 60_000, limit: 10_000_000 });
  return journaled.map((f) => ({
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
}

/** Reconciliation of the local view with the snapshot, the orders missing from it looked up. */
async function compareWithVenue(
  deps: SyncDependencies,
  local: Omit<ReconcileSide, 'fills'>,
  snapshot: VenueSnapshot,
  asOfMs: number,
): Promise<ReconcileResult> {
  const restingIds = snapshot.restingOrders.map((o) => o.clientOrderId).filter((id): id is string => typeof id === 'string' && id.length > 0);
  const compared = reconcile(
    {
      ...local,
      fills: await journaledFillsInWindow(deps, snapshot.fills, asOfMs),
      journalClientOrderIds: await journaledClientOrderIds(deps.pool, deps.env, restingIds),
      clientOrderIdPrefix: `${deps.traderId}-`,
    },
    {
      orders: snapshot.restingOrders.map(venueOrderRecord),
      fills: snapshot.fills,
      positions: snapshot.positions.marketPositions.map(positionFromVenue),
      uncertainTickers: snapshot.uncertainTickers,
    },
    asOfMs,
  );
  return resolveMissingLocalOrders(deps.rest, compared);
}

/** The sync run's balance and position snapshots, its findings, and its end. */
async function recordSyncRun(deps: SyncDependencies, syncId: number, result: ReconcileResult, snapshot: VenueSnapshot, imported: number): Promise<void> {
  const now = deps.clock.now();
  const { balance, portfolioValue } = snapshot.balance;
  await recordBalanceSnapshot(deps.pool, syncId, { atMs: now, balance, portfolioValue });
  const positionRows = result.positions.map((p) => ({
    ticker: p.ticker,
    position: p.position,
    exposure: p.costBasis,
    realizedPnl: p.realizedPnl,
    feesPaid: p.feesPaid,
    totalTraded: p.totalTraded,
  }));
  await recordPositionSnapshots(deps.pool, syncId, now, positionRows);
  for (const { kind, severity, message, ticker, clientOrderId } of result.findings) {
    await recordSyncFinding(deps.pool, syncId, { kind, severity: severity === 'blocking' ? 'error' : severity, message, ticker: ticker ?? null, clientOrderId: clientOrderId ?? null });
  }
  await finishSyncRun(deps.pool, syncId, {
    status: result.agreed ? 'agreed' : 'mismatch',
    endedMs: deps.clock.now(),
    ordersChecked: snapshot.restingOrders.length,
    fillsImported: imported,
  });
}

/**
 * One sync: repairs of a killed run (initial only), the local view, a coherent venue snapshot,
 * reconciliation, the venue fills the journal lacked, stale journal orders settled, the run
 * recorded; the outcome goes to the trader.
 */
export async function syncWithVenue(deps: SyncDependencies, kind: 'initial' | 'periodic'): Promise<SyncOutcome> {
  const startedMs = deps.clock.now();
  const interrupted = kind === 'initial' ? await closeInterruptedSyncRuns(deps.pool, deps.env, startedMs) : 0;
  const syncId = await startSyncRun(deps.pool, { env: deps.env, reason: kind, startedMs });
  try {
    const unanswered = kind === 'initial' ? await resolveUnansweredOrders(deps) : { notes: [], unansweredCreates: [] };
    const repairs = unanswered.notes;
    if (interrupted > 0) repairs.push(`${interrupted} sync runs of a killed process closed as interrupted`);
    // Local view first: anything that changes after this point is newer than the snapshot.
    const local = deps.localView();
    const asOfMs = deps.clock.now();
    const snapshot = await readVenueSnapshot(deps, local.positionsTracked === false ? SNAPSHOT_ATTEMPTS.untracked : SNAPSHOT_ATTEMPTS.tracked);
    const result = await compareWithVenue(deps, local, snapshot, asOfMs);
    let imported = 0;
    for (const fill of result.missingFills) if (await journalFill(deps, fill, 'rest')) imported++;
    // the trader's orders, and the unanswered creates it takes over with this outcome, are its to settle
    const managed = new Set([...local.orders.map((o) => o.clientOrderId), ...unanswered.unansweredCreates.map((c) => c.clientOrderId)]);
    repairs.push(...(await settleStaleJournalOrders(deps, managed, snapshot.restingOrders, asOfMs)));
    await recordSyncRun(deps, syncId, result, snapshot, imported);
    const { balance, portfolioValue } = snapshot.balance;
    const summary: SyncSummary = {
      kind,
      atMs: deps.clock.now(),
      balance,
      ...(portfolioValue !== null ? { portfolioValue } : {}),
      positions: snapshot.positions.marketPositions.filter((p) => p.position !== 0).length,
      restingOrders: snapshot.restingOrders.length,
      newFills: imported,
      repairs: [...repairs, ...result.findings.filter((f) => f.severity !== 'info' || f.kind === 'missing_fill').map((f) => f.message)],
    };
    const balanceCoherent = snapshot.uncertainTickers.size === 0;
    return { summary, result, balance, balanceCoherent, asOfMs, unansweredCreates: unanswered.unansweredCreates };
  } catch (error) {
    await finishSyncRun(deps.pool, syncId, {
      status: 'failed',
      endedMs: deps.clock.now(),
      error: error instanceof Error ? error.message : String(error),
    }).catch(() => undefined);
    throw error;
  }
}
