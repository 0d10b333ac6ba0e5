/**
 * The coordinator's invoked actors (coordinator.machine.ts names them; `coordinatorMachine.provide`
 * takes this map): bring the stream and the trading client up, select the markets, sync with the
 * venue, probe a down journal or trading API, watch the stream's activity, and the shutdown's
 * work. Each one does I/O through narrow dependencies and reports what it found; the chart decides
 * what follows (a rejection is an `onError` edge, never a retry loop here).
 *
 * Invariants: after the system stops, no actor starts market actors or the stream again (a promise
 * actor outlives a stopped parent: `assertRunning`); a sync's failure is told to the chart as a
 * journal outage first when the database is down, so the sync is held, not counted.
 */
import { fromPromise } from 'xstate';
import type { Pool } from 'pg';
import type { Clock } from '../core/clock.ts';
import type { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiMarket } from '../adapters/kalshi/rest.schemas.ts';
import type { KalshiWsClient } from '../adapters/kalshi/ws.ts';
import type { StoreEnvironment } from '../adapters/store/statuses.ts';
import { orderbookActivityWatcher } from '../machines/orderbook-health.machine.ts';
import type {
  ConnectOrderbookInput,
  ConnectOrderbookOutput,
  ProbeInput,
  ShutdownSystemInput,
  SyncKalshiDataInput,
  SyncSummary,
} from '../machines/coordinator.types.ts';
import { localReconcileView } from '../machines/trader.machine.ts';
import type { TraderContext } from '../machines/trader.types.ts';
import type { TraderEvent } from '../machines/trader.events.ts';
import { selectMarkets } from './markets.ts';
import type { MarketSelection } from './markets.ts';
import { syncWithVenue } from './sync.ts';
import { openOrderCount } from './system-status.ts';
import type { SystemStatus } from './system-status.ts';

/** The trader as the coordinator's actors see it: its state and its inbox. */
export interface TraderHandle {
  getSnapshot(): { context: TraderContext };
  send(event: TraderEvent): void;
}

export interface CoordinatorActorDeps {
  clock: Clock;
  rest: KalshiRestClient;
  ws: KalshiWsClient;
  pool: Pool;
  env: StoreEnvironment;
  traderId: string;
  selection: MarketSelection;
  tradingEnabled: boolean;
  status: SystemStatus;
  trader: () => TraderHandle | null;
  /** Throws once the system is stopping (the coordinator's promise actors outlive it). */
  assertRunning: () => void;
  /** The selected markets, for the registry and the trader's price ranges. */
  marketsSelected: (markets: KalshiMarket[]) => void;
  /** A journal read or write failed (an outage when the database is unreachable). */
  journalFailed: (error: unknown) => void;
  /** The coordinator is still running (a stopped one ends the shutdown wait). */
  coordinatorActive: () => boolean;
}

/** Wait for the WebSocket to be connected; a connect failure rejects (the coordinator decides what next). */
function waitForConnection(ws: KalshiWsClient): Promise<void> {
  if (ws.isConnected()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const off = ws.onEvent((event) => {
      if (event.type === 'connected') {
        off();
        resolve();
      } else if (event.type === 'connect_failed') {
        off();
        reject(new Error(`orderbook stream: ${event.error}${event.status ? ` (HTTP ${event.status})` : ''}`));
      }
    });
  });
}

export function coordinatorActors(deps: CoordinatorActorDeps) {
  const { clock, rest, ws, status } = deps;
  let subscribed = false;

  async function initializeSystem(): Promise<{ markets: string[] }> {
    const markets = await selectMarkets(rest, deps.selection, clock);
    // stop() may have run during the request: market actors made now would outlive the system
    deps.assertRunning();
    deps.marketsSelected(markets);
    const tickers = markets.map((m) => m.ticker);
    status.activity('initialization', `selected ${tickers.length} markets (${deps.selection.mode})`, 'info', {
      markets: tickers.slice(0, 5),
      market_count: tickers.length,
    });
    return { markets: tickers };
  }

  async function connectOrderbook(markets: string[]): Promise<{ marketsConnected: number }> {
    // after stop() the stream must stay stopped (a started client reconnects forever)
    deps.assertRunning();
    ws.start();
    await waitForConnection(ws);
    if (!subscribed) {
      await ws.subscribe(['orderbook_delta'], markets);
      await ws.subscribe(['trade'], markets);
      await ws.subscribe(['market_lifecycle_v2']);
      if (deps.tradingEnabled) {
        await ws.subscribe(['fill']);
        await ws.subscribe(['user_orders']);
      }
      subscribed = true;
    }
    return { marketsConnected: markets.length };
  }

  async function connectTradingClient(): Promise<Record<string, unknown>> {
    const exchange = await rest.getExchangeStatus();
    if (!exchange.tradingActive) throw new Error('exchange reports trading inactive');
    const balance = await rest.getBalance();
    return { balance: balance.balance, environment: deps.env };
  }

  async function syncKalshiData(kind: 'initial' | 'periodic'): Promise<SyncSummary> {
    try {
      const outcome = await syncWithVenue(
        {
          rest,
          pool: deps.pool,
          env: deps.env,
          clock,
          traderId: deps.traderId,
          localView: () => {
            const trader = deps.trader();
            return trader ? localReconcileView(trader.getSnapshot().context) : { orders: [], positions: [] };
          },
        },
        kind,
      );
      status.counters.syncs_ok++;
      status.lastSync = outcome.summary;
      const r = outcome.result;
      deps.trader()?.send({
        type: 'RECONCILED',
        agreed: r.agreed,
        asOfMs: outcome.asOfMs,
        positions: r.positions,
        reportedTickers: r.reportedTickers,
        accountedFillIds: r.accountedFillIds,
        adoptOrders: r.adoptOrders,
        unansweredCreates: outcome.unansweredCreates,
        externalOrders: r.externalOrders,
        missingFills: r.missingFills,
        orderUpdates: r.orderUpdates,
        findings: r.findings,
        ...(outcome.balanceCoherent ? { cash: outcome.balance } : {}),
      });
      const blocking = r.findings.filter((f) => f.severity === 'blocking');
      status.activity(
        'sync',
        `${kind} sync: ${outcome.summary.positions} positions, ${outcome.summary.restingOrders} resting orders, ${outcome.summary.newFills} new fills${r.agreed ? '' : `; ${blocking.length} blocking findings`}`,
        r.agreed ? 'info' : 'warning',
        { findings: r.findings.slice(0, 10).map((f) => f.message) },
      );
      status.scheduleTradingState();
      return outcome.summary;
    } catch (error) {
      status.counters.syncs_failed++;
      const message = error instanceof Error ? error.message : String(error);
      status.recordError(`${kind} sync failed: ${message}`);
      // before the sync's own failure reaches the chart: a sync the outage broke is held, not counted
      deps.journalFailed(error);
      throw error;
    }
  }

  /**
   * The shutdown's work once the chart has paused the trader and asked it to cancel everything
   * (shutdown's entry, `pauseForShutdown`): wait until nothing of ours rests. The coordinator's shutdown timeout (or SHUTDOWN_NOW)
   * ends the wait otherwise, and this loop with it.
   */
  async function shutdownSystem(cancelOrders: boolean): Promise<void> {
    const trader = deps.trader();
    if (!trader || !cancelOrders) return;
    await new Promise<void>((resolve) => {
      const check = () => {
        if (openOrderCount(trader.getSnapshot().context) === 0 || !deps.coordinatorActive()) resolve();
        else clock.setTimeout(check, 20);
      };
      check();
    });
  }

  return {
    initializeSystem: fromPromise<{ markets: string[] }, void>(async () => initializeSystem()),
    connectOrderbook: fromPromise<ConnectOrderbookOutput, ConnectOrderbookInput>(async ({ input }) => connectOrderbook(input.markets)),
    connectTradingClient: fromPromise<Record<string, unknown>, void>(async () => connectTradingClient()),
    syncKalshiData: fromPromise<SyncSummary, SyncKalshiDataInput>(async ({ input }) => syncKalshiData(input.kind)),
    watchOrderbookHealth: orderbookActivityWatcher({ clock, lastActivityAtMs: () => status.lastActivityAtMs() }),
    shutdownSystem: fromPromise<void, ShutdownSystemInput>(async ({ input }) => shutdownSystem(input.cancelOrders)),
    probeJournal: fromPromise<void, ProbeInput>(async () => {
      await deps.pool.query('SELECT 1');
    }),
    // an authenticated read, like the trader's own requests (a public endpoint may be fine)
    probeTradingApi: fromPromise<void, ProbeInput>(async () => {
      await rest.getBalance();
    }),
  };
}
