/**
 * Shared set-up for the integration tests: the whole trader (createRuntime: simulator, store,
 * REST + WebSocket clients, actor system) on loopback with short timeouts and backoffs, one
 * embedded database per test file (PGlite takes seconds to open; it is emptied between tests),
 * a scripted strategy the tests drive decision by decision, and bounded waiting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision, MarketView, SyncStrategy } from '../../src/core/strategy/index.ts';
import type { OrderIntent } from '../../src/core/order-state.ts';
import { migrate, openDatabase } from '../../src/adapters/store/index.ts';
import type { Database } from '../../src/adapters/store/index.ts';
import { createRuntime } from '../../src/app/runtime.ts';
import type { Runtime, RuntimeOptions } from '../../src/app/runtime.ts';
import type { MarketSpec } from '../../src/sim/activity/markets.ts';
import type { ManagedOrder } from '../../src/machines/trader.types.ts';

/** The simulator account of the runtime's key (the key id doubles as the user id). */
export const TRADER_USER = 'kalshiflow-trader';

/** Three 1¢ markets with room for the spread-quoter (spreads 2–6¢) and steady taker flow. */
export function testMarkets(prefix = 'KXINT'): MarketSpec[] {
  return [
    { ticker: `${prefix}-26JAN01-A`, fair: 0.5, volatility: 0.5, spread: { min: 200, max: 600 }, makers: 2, takerRate: 4 },
    { ticker: `${prefix}-26JAN01-B`, fair: 0.35, volatility: 0.5, spread: { min: 200, max: 600 }, makers: 2, takerRate: 4 },
    { ticker: `${prefix}-26JAN01-C`, fair: 0.7, volatility: 0.5, spread: { min: 200, max: 600 }, makers: 2, takerRate: 4 },
  ];
}

/** Timeouts and backoffs short enough for tests, long enough for a loaded 2-core machine. */
export const FAST_COORDINATOR: NonNullable<RuntimeOptions['coordinator']> = {
  timeouts: {
    initializingMs: 15_000,
    orderbookConnectMs: 5_000,
    tradingClientConnectMs: 10_000,
    kalshiDataSyncMs: 15_000,
    actingMs: 10_000,
    shutdownMs: 5_000,
  },
  errorBackoff: { baseMs: 200, maxMs: 1_000, jitter: 0.2 },
  orderbookBackoff: { baseMs: 200, maxMs: 1_000, jitter: 0.2 },
  syncIntervalMs: 60_000,
  syncRetryMs: 300,
  orderbookSilenceMs: 10_000,
  cancelOrdersOnShutdown: true,
};

const FAST_WS: NonNullable<RuntimeOptions['ws']> = {
  backoff: { initialMs: 100, maxMs: 500, factor: 2, jitter: 0.2 },
  heartbeatTimeoutMs: 10_000,
  connectTimeoutMs: 3_000,
};

const FAST_REST: NonNullable<RuntimeOptions['rest']> = {
  timeoutMs: 5_000,
  retry: { attempts: 3, backoff: { initialMs: 50, maxMs: 200, factor: 2, jitter: 0.2 } },
};

export interface TestRuntime {
  runtime: Runtime;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts the whole trader against the embedded simulator. `overrides` win over the fast defaults;
 * without `database` the runtime opens its own embedded one in the temp data folder.
 */
export async function startTestRuntime(overrides: Partial<RuntimeOptions> = {}): Promise<TestRuntime> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kf-int-'));
  const markets = testMarkets();
  const runtime = await createRuntime({
    environment: 'sim',
    selection: { mode: 'config', tickers: markets.map((m) => m.ticker) },
    strategy: 'hold',
    dataDir,
    sim: { markets, seed: 11, activityStepMs: { min: 30, max: 120 }, pingIntervalMs: 1_000 },
    coordinator: FAST_COORDINATOR,
    ws: FAST_WS,
    rest: FAST_REST,
    throttleMs: 50,
    ...overrides,
  });
  let closed = false;
  return {
    runtime,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await runtime.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** One embedded database for a test file; `reset()` empties every table between tests. */
export class SharedDatabase {
  private db: Database | null = null;

  async open(): Promise<Database> {
    if (this.db) return this.db;
    const db = await openDatabase({ dataDir: 'memory://', poolSize: 1, connectionTimeoutMs: 10_000 });
    await migrate(db.pool);
    this.db = db;
    return db;
  }

  /** The simulator's ids are seeded, so rows of an earlier test would collide with the next one's. */
  async reset(): Promise<void> {
    if (!this.db) return;
    const { rows } = await this.db.pool.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'",
    );
    if (rows.length > 0) {
      await this.db.pool.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`);
    }
  }

  async close(): Promise<void> {
    await this.db?.close();
    this.db = null;
  }
}

/** Polls (bounded in wall time) until `predicate` holds; the message says what never happened. */
export async function eventually(predicate: () => boolean | Promise<boolean>, message: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms: ${message}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A strategy the test drives: decisions queued per market are handed out on that market's next
 * decision cycle (the test triggers one with `decideNow`). Never decides anything by itself.
 */
export class ScriptedStrategy implements SyncStrategy {
  readonly name = 'scripted';
  readonly needsBook = false;
  private readonly queued = new Map<string, Decision[]>();
  readonly views: MarketView[] = [];

  place(intent: OrderIntent): void {
    this.enqueue(intent.ticker, { kind: 'place', intent });
  }

  cancel(ticker: string, clientOrderId: string, reason = 'test'): void {
    this.enqueue(ticker, { kind: 'cancel', clientOrderId, reason });
  }

  private enqueue(ticker: string, decision: Decision): void {
    const list = this.queued.get(ticker) ?? [];
    list.push(decision);
    this.queued.set(ticker, list);
  }

  decide(view: MarketView): Decision[] {
    this.views.push(view);
    const decisions = this.queued.get(view.ticker) ?? [];
    this.queued.delete(view.ticker);
    return decisions;
  }
}

/** The trader's managed orders right now. */
export function managedOrders(runtime: Runtime): Record<string, ManagedOrder> {
  return runtime.system.trader?.getSnapshot().context.orders ?? {};
}

/** Runs one decision cycle of `ticker` now, the way a book update would. */
export function decideNow(runtime: Runtime, ticker: string): void {
  runtime.system.trader?.send({ type: 'BOOK_UPDATED', ticker });
}

/**
 * Queues `intent` on the scripted strategy, runs a decision cycle and returns the client_order_id
 * the trader gives the order (its next sequence number).
 */
export function placeThroughTrader(runtime: Runtime, strategy: ScriptedStrategy, intent: OrderIntent): string {
  const trader = runtime.system.trader;
  if (!trader) throw new Error('trading is disabled');
  const { seq, config } = trader.getSnapshot().context;
  strategy.place(intent);
  decideNow(runtime, intent.ticker);
  return `${config.traderId}-${config.runNonce}-${seq}`;
}

/** Resolves when the order with `clientOrderId` has been released by the trader (closed). */
export async function orderReleased(runtime: Runtime, clientOrderId: string, timeoutMs = 15_000): Promise<void> {
  await eventually(() => managedOrders(runtime)[clientOrderId] === undefined, `order ${clientOrderId} closed`, timeoutMs);
}

/** Waits until the next sync completes (requests one). */
export async function syncNow(runtime: Runtime, timeoutMs = 15_000): Promise<void> {
  const coordinator = runtime.system.coordinator;
  // A sync already running may have read the venue before the caller's change: wait for the next.
  const running = coordinator.getSnapshot().matches({ ready: { sync: 'syncing' } });
  const target = coordinator.getSnapshot().context.syncCount + (running ? 2 : 1);
  coordinator.send({ type: 'SYNC_NOW' });
  await eventually(() => coordinator.getSnapshot().context.syncCount >= target, 'a sync completed', timeoutMs);
}

/** Levels of the registry's book for `ticker` in the exchange's format, or null without a book. */
export function localBook(runtime: Runtime, ticker: string): { yes: Array<[number, number]>; no: Array<[number, number]> } | null {
  const book = runtime.system.registry.book(ticker);
  return book ? { yes: book.levels('yes'), no: book.levels('no') } : null;
}

/** True when every market's local book equals the exchange's book right now. */
export function booksMatchExchange(runtime: Runtime, tickers: readonly string[]): boolean {
  const exchange = runtime.simulator?.exchange;
  if (!exchange) return false;
  return tickers.every((t) => JSON.stringify(localBook(runtime, t)) === JSON.stringify(exchange.bookLevels(t)));
}

/** Non-zero signed positions by ticker, keys sorted (so two of them compare as JSON). */
function positionMap(positions: Iterable<{ ticker: string; position: number }>): Record<string, number> {
  const entries = [...positions].filter((p) => p.position !== 0).map((p) => [p.ticker, p.position] as const);
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The trader's signed positions (non-zero only), by ticker. */
export function traderPositions(runtime: Runtime): Record<string, number> {
  return positionMap(Object.values(runtime.system.trader?.getSnapshot().context.positions ?? {}));
}

/** The exchange's signed positions of the trader's account (non-zero only), by ticker. */
export function exchangePositions(runtime: Runtime): Record<string, number> {
  return positionMap(runtime.simulator?.exchange.listPositions(TRADER_USER) ?? []);
}

/** True when the trader's positions equal the exchange's right now. */
export function positionsMatchExchange(runtime: Runtime): boolean {
  return JSON.stringify(traderPositions(runtime)) === JSON.stringify(exchangePositions(runtime));
}
