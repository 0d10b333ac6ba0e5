import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { createServerApp } from '../../src/server/app.ts';
import { FakeSystemView } from './fake-view.ts';

// fetch's Response.json() is typed `unknown`; these tests read known shapes
const json = (res: Response): Promise<any> => res.json() as Promise<any>;

let dir: string;
let webRoot: string;
let chartsDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kf-server-app-'));
  webRoot = join(dir, 'dist');
  chartsDir = join(dir, 'statecharts');
  await mkdir(join(webRoot, 'assets'), { recursive: true });
  await mkdir(chartsDir);
  await writeFile(join(webRoot, 'index.html'), '<!doctype html><title>kalshiflow</title><div id="app"></div>');
  await writeFile(join(webRoot, 'assets', 'app.js'), 'console.log("dashboard")');
  await writeFile(join(dir, 'secret.txt'), 'outside the web root');
  await writeFile(
    join(chartsDir, 'coordinator.json'),
    JSON.stringify({ id: 'coordinator', initial: { target: ['#coordinator.startup'] }, states: { startup: { on: { START: [{ target: ['#coordinator.ready'] }] } }, ready: {} } }),
  );
  await writeFile(join(chartsDir, 'broken.json'), '{ not json');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let clock: VirtualClock;
let view: FakeSystemView;

beforeEach(() => {
  clock = new VirtualClock(Date.UTC(2026, 0, 5, 14, 0, 0));
  view = new FakeSystemView(clock);
});

const app = (opts: Parameters<typeof createServerApp>[1] = {}) => createServerApp(view, { webRoot, statechartsDir: chartsDir, clock, ...opts });

describe('GET /v3/health', () => {
  it('answers 503 with the shape while the system is not operational', async () => {
    clock.advance(5_000);
    const res = await app().request('/v3/health');
    expect(res.status).toBe(503);
    expect(await json(res)).toEqual({ healthy: false, status: 'unhealthy', state: 'startup', degraded: false, degradedComponents: [], uptime: 5 });
  });

  it('answers 200 when ready', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    const res = await app().request('/v3/health');
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ healthy: true, status: 'healthy', state: 'ready', degraded: false });
  });

  it('answers 200 with degraded: true when operational without the orderbook', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    view.degraded = true;
    const res = await app().request('/v3/health');
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ healthy: true, status: 'degraded', degraded: true, degradedComponents: ['orderbook'], state: 'ready' });
  });

  it('answers 503 in error', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    view.transition('error', 'Component health check failed');
    const res = await app().request('/v3/health');
    expect(res.status).toBe(503);
    expect((await json(res)).state).toBe('error');
  });
});

describe('GET /v3/status', () => {
  it('formats money as dollar strings and keeps the raw integers', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    view.setMarket({ ticker: 'KXTEST-A', bestYesBid: 5600, bestYesAsk: 5800, spread: 200, yesDepth: 12_550, deltas: 42 });
    view.updateTrading({
      balance: 987_654_321,
      realizedPnl: -180_000,
      unrealizedPnl: 12_345_678,
      positions: [{ ticker: 'KXTEST-A', position: 1000, costBasis: 5_600_000, realizedPnl: 0, unrealizedPnl: 200_000, feesPaid: 70_000, markStale: false, markAtMs: null }],
    });
    view.addOrder({ clientOrderId: 'c-1', price: 5500, count: 250, filled: 50, state: 'partially_filled' });
    view.addFill({ fillId: 'f-1', price: 5600, count: 100, fee: 7000 });
    const res = await app().request('/v3/status');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.state).toBe('ready');
    expect(body.environment).toBe('sim');
    expect(body.markets[0]).toMatchObject({ ticker: 'KXTEST-A', bestYesBid: '0.5600', bestYesAsk: '0.5800', spread: '0.0200', yesDepth: '125.50', deltas: 42 });
    expect(body.markets[0].raw).toMatchObject({ bestYesBid: 5600, yesDepth: 12_550 });
    expect(body.trading).toMatchObject({ balance: '987.654321', realizedPnl: '-0.1800', unrealizedPnl: '12.345678', totalPnl: '12.165678' });
    expect(body.trading.raw.balance).toBe(987_654_321);
    expect(body.trading.positions[0]).toMatchObject({ position: '10.00', costBasis: '5.6000', feesPaid: '0.0700' });
    expect(body.trading.openOrders[0]).toMatchObject({ clientOrderId: 'c-1', price: '0.5500', count: '2.50', filled: '0.50', state: 'partially_filled' });
    expect(body.recentFills[0]).toMatchObject({ fillId: 'f-1', price: '0.5600', count: '1.00', fee: '0.0070' });
    expect(body.stateHistory).toHaveLength(5);
    expect(body.stateHistory[0]).toMatchObject({ from: 'kalshi_data_sync', to: 'ready', time: '14:00:06', durationMs: 1200 });
    expect(body.stateHistory[0].line).toBe('14:00:06 [kalshi_data_sync → ready] System fully operational with 2 markets and trading enabled (1.2s)');
    expect(body.units).toEqual({ price: '1/10000 USD', count: '1/100 contract', micros: '1/1000000 USD' });
    expect(body.trader).toEqual({ state: 'ready', reason: null, decisions: 3, ordersPlaced: 2, denied: 1 });
    expect(body.timeInStateMs).toBe(0);
  });

  it('serves the copy-paste status log as text', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    const res = await app().request('/v3/status/log');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const lines = (await res.text()).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('14:00:06 [kalshi_data_sync → ready] System fully operational with 2 markets and trading enabled (1.2s)');
    expect(lines[4]).toMatch(/^14:00:01 \[startup → initializing\]/);
  });
});

describe('statecharts, machines and the dashboard files', () => {
  it('serves the exported definitions and names the files it could not use', async () => {
    const body = await json(await app().request('/v3/statecharts'));
    expect(Object.keys(body.charts)).toEqual(['coordinator']);
    expect(body.charts.coordinator.id).toBe('coordinator');
    expect(body.problems).toEqual([{ file: 'broken.json', problem: expect.stringMatching(/^invalid JSON/) }]);
  });

  it('serves no charts (not an error) when the folder is missing', async () => {
    const body = await json(await app({ statechartsDir: join(dir, 'nope') }).request('/v3/statecharts'));
    expect(body).toEqual({ charts: {}, problems: [] });
  });

  it('serves machine states without order books', async () => {
    view.machines = {
      'market:KXTEST-A': { value: 'live', context: { book: { yes: [[5500, 100]] }, ticker: 'KXTEST-A' } },
      ready: { ready: { activity: 'idle', orderbook: 'normal' } },
    };
    const body = await json(await app().request('/v3/machines'));
    expect(body).toEqual({
      coordinator: 'startup',
      'market:KXTEST-A': { value: 'live', context: { ticker: 'KXTEST-A' } },
      ready: { ready: { activity: 'idle', orderbook: 'normal' } },
    });
  });

  it('serves the dashboard at / and /v3-trader with a strict content security policy', async () => {
    for (const path of ['/', '/v3-trader']) {
      const res = await app().request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await res.text()).toContain('<div id="app">');
    }
    const js = await app().request('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('never serves files outside the web root', async () => {
    for (const path of ['/assets/../secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/..%5c..%5csecret.txt']) {
      const res = await app().request(path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('outside the web root');
    }
  });

  it('says how to build the dashboard when it is missing', async () => {
    const res = await app({ webRoot: join(dir, 'not-built') }).request('/');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:web');
  });
});

describe('GET /metrics', () => {
  it('exposes the state, markets, orders, fills, P&L, queue and sync figures', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    view.setMarket({ ticker: 'KXTEST-A', deltas: 100 });
    view.setMarket({ ticker: 'KXTEST-B', deltas: 50, subscription: 'stale' });
    view.addOrder({ clientOrderId: 'c-1', state: 'accepted' });
    view.addOrder({ clientOrderId: 'c-2', state: 'accepted' });
    view.addOrder({ clientOrderId: 'c-3', state: 'pending_cancel' });
    view.addFill({ fillId: 'f-1' });
    view.updateTrading({ realizedPnl: 1_500_000, unrealizedPnl: -250_000 });
    view.counters = { ...view.counters, ws_reconnects_total: 2, write_queue_depth: 7, write_queue_dropped: 1, syncs_ok: 4, syncs_failed: 1, deltas_applied: 150 };
    const a = app();
    const first = await a.request('/metrics');
    expect(first.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await first.text();
    const expectations = [
      'kalshiflow_coordinator_state{state="ready"} 1',
      'kalshiflow_coordinator_state{state="error"} 0',
      'kalshiflow_coordinator_degraded 0',
      'kalshiflow_time_in_state_seconds 0',
      'kalshiflow_markets{subscription="live"} 1',
      'kalshiflow_markets{subscription="stale"} 1',
      'kalshiflow_orderbook_deltas_total 150',
      'kalshiflow_orderbook_reconnects_total 2',
      'kalshiflow_orders{state="accepted"} 2',
      'kalshiflow_orders{state="pending_cancel"} 1',
      'kalshiflow_fills_total 1',
      'kalshiflow_pnl_dollars{kind="realized"} 1.5',
      'kalshiflow_pnl_dollars{kind="unrealized"} -0.25',
      'kalshiflow_pnl_dollars{kind="total"} 1.25',
      'kalshiflow_store_write_queue_depth 7',
      'kalshiflow_store_write_queue_dropped_total 1',
      'kalshiflow_sync_results_total{result="ok"} 4',
      'kalshiflow_sync_results_total{result="failed"} 1',
      'kalshiflow_component_healthy{component="orderbook"} 1',
      'kalshiflow_deltas_applied_total 150',
      'kalshiflow_fees_paid_dollars_total 0',
      'kalshiflow_positions_stale_marks 0',
      'kalshiflow_sync_runs_total 4',
      'kalshiflow_orders_placed_total 2',
      'kalshiflow_ws_clients 0',
    ];
    for (const line of expectations) expect(text, line).toContain(line);
    expect(text).toContain('# TYPE kalshiflow_orderbook_deltas_total counter');
    expect(text).toContain('# TYPE kalshiflow_fees_paid_dollars_total counter');
    // prom-client's default process and Node metrics
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    // no metric names inside labels, no "per second since the last scrape" gauges (Prometheus computes rates)
    expect(text).not.toMatch(/\{name="/);
    expect(text).not.toMatch(/per_second/);
    for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE kalshiflow_') && l.endsWith(' gauge'))) expect(line).not.toMatch(/_total gauge$/);

    clock.advance(10_000);
    view.setMarket({ ticker: 'KXTEST-A', deltas: 300 });
    const second = await (await a.request('/metrics')).text();
    expect(second).toContain('kalshiflow_orderbook_deltas_total 350');
    expect(second).toContain('kalshiflow_time_in_state_seconds 10');
  });

  it('keeps a private registry per app', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    const other = new FakeSystemView(clock);
    const [a, b] = [app(), createServerApp(other, { webRoot, statechartsDir: chartsDir, clock })];
    expect(await (await a.request('/metrics')).text()).toContain('kalshiflow_coordinator_state{state="ready"} 1');
    expect(await (await b.request('/metrics')).text()).toContain('kalshiflow_coordinator_state{state="startup"} 1');
  });
});

describe('auth token', () => {
  const token = 'test-token-0123456789abcdef';

  it('guards data routes and metrics but not health or the static shell', async () => {
    const a = app({ authToken: token });
    for (const path of ['/v3/status', '/v3/status/log', '/v3/machines', '/v3/statecharts', '/v3/pnl', '/metrics']) {
      const res = await a.request(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    expect((await a.request('/v3/health')).status).toBe(503);
    expect((await a.request('/')).status).toBe(200);
  });

  it('accepts the Bearer header or ?token=, and nothing else', async () => {
    const a = app({ authToken: token });
    expect((await a.request('/v3/status', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await a.request(`/v3/status?token=${token}`)).status).toBe(200);
    expect((await a.request('/v3/status', { headers: { Authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await a.request('/v3/status?token=wrong')).status).toBe(401);
    expect((await a.request('/metrics', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});

describe('internal failures', () => {
  it('answer 500 without the exception text, which goes to the log scrubbed', async () => {
    const logged: string[] = [];
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEabc\n-----END PRIVATE KEY-----';
    view.status = () => {
      throw new Error(`boom with ${pem}`);
    };
    const res = await app({ log: (line) => logged.push(line) }).request('/v3/status');
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('boom');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('boom');
    expect(logged[0]).not.toContain('MIIEabc');
  });
});
