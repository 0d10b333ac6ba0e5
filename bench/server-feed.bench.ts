/**
 * Operator surfaces under load, over loopback with a scripted SystemView (500 markets, 100 open
 * orders, 50 fills):
 * - market_update ingest: updates/s the trading system can push through the /v3/ws feed's
 *   listener (coalesced per ticker, 10 browsers connected) — it runs inside the trader's
 *   notification, so it must stay cheap. Goal ≥ 500,000/s.
 * - fill fan-out: fills/s (never coalesced) delivered to each of 10 connected browsers, emitted
 *   in bursts across event-loop turns as the venue stream would. Goal ≥ 10,000/s.
 * - delivery latency: emit → a browser's message handler, p50/p99, for single fills.
 * - browser load: market_update messages one browser receives per second during a 30,000/s flood
 *   over 50 tickers (≤ 4/s per ticker by design → ≤ 200/s).
 * - /v3/status and /metrics: one render each (ms), as an operator or Prometheus would call them.
 */
import { WebSocket } from 'ws';
import { systemClock } from '../src/core/clock.ts';
import { createServerApp } from '../src/server/app.ts';
import { startHttpServer } from '../src/server/http-server.ts';
import type {
  FillView,
  HealthReport,
  MarketStatus,
  OrderStatusView,
  StatusReport,
  SystemEvent,
  SystemView,
  TradingState,
} from '../src/actors/system-view.ts';
import { opsPerSecond, percentile, report } from './harness.ts';

const BENCH = 'server-feed';
const started = Date.now();
const markets: MarketStatus[] = Array.from({ length: 500 }, (_, i) => ({
  ticker: `KXBENCH-${i}`,
  subscription: 'live',
  bestYesBid: 4000 + (i % 50) * 10,
  bestYesAsk: 4200 + (i % 50) * 10,
  spread: 200,
  yesDepth: 120_000,
  noDepth: 95_000,
  lastUpdateMs: started,
  deltas: i * 10,
}));
const orders: OrderStatusView[] = Array.from({ length: 100 }, (_, i) => ({
  clientOrderId: `kf-${i}`,
  orderId: `v-${i}`,
  ticker: markets[i].ticker,
  side: i % 2 ? 'bid' : 'ask',
  price: 4500,
  count: 1000,
  filled: 200,
  state: 'partially_filled',
  external: false,
  updatedMs: started,
}));
const fill = (i: number): FillView => ({
  fillId: `f-${i}`,
  clientOrderId: `kf-${i % 100}`,
  ticker: markets[i % 500].ticker,
  side: 'bid',
  price: 4500,
  count: 100,
  fee: 7_000,
  isTaker: false,
  tsMs: started,
});
const trading: TradingState = {
  version: 1,
  balance: 1_000_000_000,
  portfolioValue: 50_000_000,
  realizedPnl: 1_250_000,
  unrealizedPnl: -300_000,
  feesPaid: 90_000,
  positions: markets.slice(0, 40).map((m) => ({ ticker: m.ticker, position: 500, costBasis: 2_250_000, realizedPnl: 0, unrealizedPnl: 10_000, feesPaid: 3_500, markStale: false, markAtMs: started })),
  openOrders: orders,
  lastSyncMs: started,
  staleMarks: 0,
  oldestStaleMarkMs: null,
};

const listeners = new Set<(e: SystemEvent) => void>();
const view: SystemView = {
  health: (): HealthReport => ({ healthy: true, status: 'healthy', state: 'ready', degraded: false, degradedComponents: [], uptime: 60 }),
  status: (): StatusReport => ({
    state: 'ready',
    degraded: false,
    degradedComponents: [],
    problems: [],
    environment: 'sim',
    strategy: 'spread-quoter',
    startedAtMs: started,
    uptime: 60,
    stateHistory: Array.from({ length: 50 }, (_, i) => ({ atMs: started + i, from: 'a', to: 'b', reason: 'step', metadata: { i }, durationMs: 1000 })),
    statusLog: '',
    components: [{ name: 'orderbook', healthy: true, detail: 'ok', lastActivityMs: started }],
    markets,
    trading,
    recentFills: Array.from({ length: 50 }, (_, i) => fill(i)),
    sync: { lastSyncMs: started, syncCount: 3, lastSummary: { positions: 40 } },
    errors: [],
    trader: { state: 'ready', reason: null, decisions: 10, ordersPlaced: 100, denied: 0 },
    counters: { deltas_applied: 123_456, fills_applied: 50, syncs_ok: 3 },
  }),
  machineStates: () => ({ coordinator: { ready: { activity: 'idle' } } }),
  subscribe(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
const emit = (e: SystemEvent) => {
  for (const l of listeners) l(e);
};

const server = await startHttpServer(view, { port: 0, buildWeb: false, clock: systemClock, log: () => {} });
const wsUrl = `${server.url.replace(/^http/, 'ws')}/v3/ws`;
const clients: Array<{ ws: WebSocket; received: Map<string, number>; onFill?: (id: string) => void }> = [];
for (let i = 0; i < 10; i++) {
  const ws = new WebSocket(wsUrl);
  const c: (typeof clients)[number] = { ws, received: new Map() };
  ws.on('message', (data) => {
    const text = data.toString();
    const type = /^\{"type":"([a-z_]+)"/.exec(text)?.[1] ?? '?';
    c.received.set(type, (c.received.get(type) ?? 0) + 1);
    if (type === 'fill' && c.onFill) c.onFill(/"fillId":"([^"]+)"/.exec(text)?.[1] ?? '');
  });
  await new Promise((resolve) => ws.once('open', resolve));
  clients.push(c);
}
const drain = () => new Promise((resolve) => setTimeout(resolve, 300));

// market_update ingest (coalesced)
let n = 0;
const ingest = opsPerSecond(() => {
  for (let k = 0; k < 1000; k++) {
    const m = markets[n++ % 500];
    emit({ type: 'market_update', data: { ...m, deltas: n } });
  }
  return 1000;
}, 1500);
report({ bench: BENCH, metric: 'market_update_ingest', value: Math.round(ingest), unit: 'updates/s', goal: '>= 500000', clients: 10 });
await drain();

// fill fan-out: 20,000 fills in bursts of 100 per event-loop turn, until all 10 browsers have them
const FANOUT_FILLS = 20_000;
const fillsBefore = clients.map((c) => c.received.get('fill') ?? 0);
const fanoutStart = performance.now();
for (let f = 0; f < FANOUT_FILLS; f += 100) {
  for (let k = 0; k < 100; k++) emit({ type: 'fill', data: fill(f + k) });
  await new Promise((resolve) => setImmediate(resolve));
}
while (clients.some((c, i) => (c.received.get('fill') ?? 0) - fillsBefore[i] < FANOUT_FILLS)) await new Promise((resolve) => setTimeout(resolve, 5));
const fanout = FANOUT_FILLS / ((performance.now() - fanoutStart) / 1000);
report({ bench: BENCH, metric: 'fill_fanout_10_clients', value: Math.round(fanout), unit: 'fills/s delivered to every browser', goal: '>= 10000' });
await drain();

// delivery latency, one fill at a time
const latencies: number[] = [];
const probe = clients[0];
for (let i = 0; i < 300; i++) {
  const id = `lat-${i}`;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    probe.onFill = (got) => {
      if (got === id) resolve();
    };
    emit({ type: 'fill', data: { ...fill(i), fillId: id } });
  });
  latencies.push(performance.now() - t0);
}
probe.onFill = undefined;
latencies.sort((a, b) => a - b);
report({ bench: BENCH, metric: 'fill_delivery_p50', value: Number(percentile(latencies, 50).toFixed(3)), unit: 'ms' });
report({ bench: BENCH, metric: 'fill_delivery_p99', value: Number(percentile(latencies, 99).toFixed(3)), unit: 'ms', goal: '<= 5' });

// browser load during a flood: 30,000 updates/s over 50 tickers for 2 s
const before = probe.received.get('market_update') ?? 0;
const floodStart = performance.now();
let sent = 0;
while (performance.now() - floodStart < 2000) {
  for (let k = 0; k < 300; k++) emit({ type: 'market_update', data: { ...markets[sent++ % 50], deltas: sent } });
  await new Promise((resolve) => setTimeout(resolve, 10));
}
await drain();
const seconds = (performance.now() - floodStart) / 1000;
const perBrowser = ((probe.received.get('market_update') ?? 0) - before) / seconds;
report({ bench: BENCH, metric: 'browser_market_updates_during_flood', value: Math.round(perBrowser), unit: 'messages/s', goal: '<= 200', offered: Math.round(sent / 2) });

// /v3/status and /metrics renders
const app = createServerApp(view);
const timeRoute = async (path: string, runs: number) => {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const res = await app.request(path);
    await res.text();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return percentile(times, 50);
};
report({ bench: BENCH, metric: 'status_json_render_p50', value: Number((await timeRoute('/v3/status', 100)).toFixed(3)), unit: 'ms', markets: 500, orders: 100 });
report({ bench: BENCH, metric: 'metrics_render_p50', value: Number((await timeRoute('/metrics', 100)).toFixed(3)), unit: 'ms', markets: 500 });

for (const c of clients) c.ws.terminate();
await server.close();
