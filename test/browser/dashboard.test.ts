/**
 * The dashboard in a real browser (headless Debian chromium through playwright-core): it loads,
 * follows the system to READY, updates live from /v3/ws, draws the statecharts from
 * statecharts/*.json, and its Copy button yields the status log. Served by the real operator
 * server, first over a scripted SystemView (every panel exercised, screenshot
 * test-artifacts/dashboard-scripted.png), then over the real trading system on the embedded
 * simulator (screenshot test-artifacts/dashboard.png).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/app/runtime.ts';
import { systemClock } from '../../src/core/clock.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/server/http-server.ts';
import { buildWeb, DEFAULT_STATECHARTS_DIR, REPO_ROOT } from '../../src/server/web-assets.ts';
import { FakeSystemView } from '../server/fake-view.ts';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`test/browser/dashboard.test.ts skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.skipIf(!hasChromium)('dashboard in headless chromium', () => {
  let dir: string;
  let server: RunningHttpServer;
  let view: FakeSystemView;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-dashboard-'));
    await buildWeb({ outDir: join(dir, 'dist'), minify: true });
    view = new FakeSystemView(systemClock);
    view.setMarket({ ticker: 'KXTEST-A', subscription: 'subscribing', bestYesBid: null, bestYesAsk: null, spread: null, yesDepth: 0, noDepth: 0, lastUpdateMs: null });
    view.setMarket({ ticker: 'KXTEST-B', subscription: 'subscribing', bestYesBid: null, bestYesAsk: null, spread: null, yesDepth: 0, noDepth: 0, lastUpdateMs: null });
    server = await startHttpServer(view, {
      port: 0,
      webRoot: join(dir, 'dist'),
      statechartsDir: DEFAULT_STATECHARTS_DIR,
      buildWeb: false,
      feed: { statusIntervalMs: 500 },
      log: () => {},
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: LAUNCH_ARGS,
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads, connects and shows the starting state', async () => {
    const res = await page.goto(`${server.url}/v3-trader`);
    expect(res?.status()).toBe(200);
    await page.waitForSelector('#connection[data-connected="true"]');
    expect(await page.getAttribute('#state-badge', 'data-state')).toBe('startup');
    await page.waitForSelector('figure[data-chart="coordinator"] g.state[data-state="startup"][data-active="true"]');
    expect(await page.locator('#markets-table tbody tr').count()).toBe(2);
  });

  it('follows the coordinator to READY, badge and live statechart', async () => {
    view.bootToReady(() => {});
    view.machines = { coordinator: { ready: { activity: 'idle', orderbook: 'normal', sync: 'waiting' } }, trader: 'ready' };
    await page.waitForSelector('#state-badge[data-state="ready"]');
    expect(await page.textContent('#state-badge')).toBe('READY');
    await page.waitForSelector('figure[data-chart="coordinator"] g.state[data-state="ready"][data-active="true"]');
    expect(await page.locator('figure[data-chart="coordinator"] g.state[data-active="true"]').count()).toBe(1);
    // the active regions' children are highlighted inside the ready box
    const activeChildren = await page.locator('figure[data-chart="coordinator"] g.state[data-state="ready"] tspan.active-child').allTextContents();
    expect(activeChildren.map((t) => t.replace(/^ · /, ''))).toEqual(['idle', 'normal', 'waiting']);
    // the console replayed the startup sequence
    await expect.poll(() => page.locator('.console li').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
  });

  it('updates live: markets, trading figures, orders and fills', async () => {
    for (const ticker of ['KXTEST-A', 'KXTEST-B']) view.setMarket({ ticker, subscription: 'live', bestYesBid: 5500, bestYesAsk: 5700, spread: 200, yesDepth: 10_000, noDepth: 8_000, deltas: 1 });
    view.setMarket({ ticker: 'KXTEST-A', bestYesBid: 6100, bestYesAsk: 6350, spread: 250, deltas: 2 });
    await expect.poll(() => page.textContent('tr[data-ticker="KXTEST-A"] td[data-field="bid"]'), { timeout: 10_000 }).toBe('61¢');
    expect(await page.textContent('tr[data-ticker="KXTEST-A"] td[data-field="ask"]')).toBe('63.5¢');

    view.addOrder({ clientOrderId: 'kf-order-1', ticker: 'KXTEST-A', price: 6000, count: 500, state: 'accepted' });
    await page.waitForSelector('tr[data-order="kf-order-1"]');
    view.addFill({ fillId: 'fill-1', clientOrderId: 'kf-order-1', ticker: 'KXTEST-A', price: 6000, count: 200, fee: 28_000 });
    view.updateTrading({ realizedPnl: 2_500_000, unrealizedPnl: -400_000, feesPaid: 28_000 });
    await expect.poll(() => page.textContent('dd[data-figure="Realized P&L"]'), { timeout: 10_000 }).toBe('$2.50');
    expect(await page.textContent('dd[data-figure="Total P&L"]')).toBe('$2.10');
    await page.waitForSelector('#fills-table tbody tr');
    expect(await page.textContent('#fills-table tbody tr')).toContain('KXTEST-A');
    await page.waitForSelector('svg.pnl-chart');

    // degraded valuation: no book now, so the position is valued at the last prices seen, marked stale with its age
    const seenAt = Date.now() - 12_000;
    view.updateTrading({
      unrealizedPnl: 150_000,
      positions: [{ ticker: 'KXTEST-A', position: 500, costBasis: 2_800_000, realizedPnl: 0, unrealizedPnl: 150_000, feesPaid: 28_000, markStale: true, markAtMs: seenAt }],
      staleMarks: 1,
      oldestStaleMarkMs: seenAt,
    });
    await page.waitForSelector('#positions-table td[data-field="unrealized"] [data-stale-mark]');
    expect(await page.textContent('#positions-table td[data-field="unrealized"]')).toMatch(/^\$0\.15stale 1\ds$/);
    expect(await page.textContent('dd[data-figure="Total P&L"]')).toBe('$2.65');
    expect(await page.locator('#trading [data-stale-mark]').count()).toBe(2);

    // the market actor chart follows the selected market
    await page.click('tr[data-ticker="KXTEST-A"]');
    await page.waitForSelector('figure[data-chart="market"] g.state[data-state="live"][data-active="true"]');
  });

  it('Copy puts exactly the status log on the clipboard (same lines, same count)', async () => {
    view.emit({ type: 'system_activity', data: { activity_type: 'sync', message: 'Synced 1 position', severity: 'info' } });
    await page.locator('.console li', { hasText: 'Synced 1 position' }).waitFor();
    await page.click('#copy-log');
    await page.waitForSelector('.actions [role="status"]');
    // evaluated in the page (a string, since this file is compiled without the DOM types)
    const copied = String(await page.evaluate('navigator.clipboard.readText()'));
    const statusLog = await (await fetch(`${server.url}/v3/status/log`)).text();
    expect(statusLog.split('\n')).toHaveLength(5);
    expect(copied).toBe(statusLog);
    expect(await page.textContent('.actions [role="status"]')).toBe('Copied 5 status-log lines');
  });

  it('controls: disabled with the reason; Pause shows the trader paused in the badge and its chart; Cancel all asks first', async () => {
    await page.waitForSelector('#control-pause:not([disabled])');
    expect(await page.getAttribute('#control-resume', 'data-reason')).toBe('not paused (ready)');
    expect(await page.isDisabled('#control-resume')).toBe(true);
    await page.selectOption('#chart-select', 'trader');
    await page.click('#control-pause');
    await page.waitForSelector('#trader-badge[data-state="paused"][data-reason="operator"]');
    expect(await page.textContent('#control-result')).toBe('Pause: trader paused (operator)');
    await page.waitForSelector('figure[data-chart="trader"] g.state[data-state="paused"][data-active="true"]');
    expect(await page.isDisabled('#control-pause')).toBe(true);
    expect(await page.getAttribute('#control-pause', 'data-reason')).toBe('already paused by the operator');
    // the status log has it
    expect((await (await fetch(`${server.url}/v3/status/log`)).text()).split('\n')[0]).toMatch(/\[ready → ready\] operator pause: trader paused \(operator\)/);

    await page.click('#control-resume');
    await page.waitForSelector('#trader-badge[data-state="ready"]');
    view.addOrder({ clientOrderId: 'kf-order-2', ticker: 'KXTEST-B', price: 5000, count: 100, state: 'accepted' });
    await page.waitForSelector('#control-cancel-all:not([disabled])', { timeout: 10_000 });
    await page.click('#control-cancel-all');
    await page.waitForSelector('#control-confirm');
    await page.click('#confirm-no');
    expect(await page.locator('#control-confirm').count()).toBe(0);
    expect(view.controlCalls.map((c) => c.action)).toEqual(['pause', 'resume']);
    await page.click('#control-cancel-all');
    await page.click('#confirm-yes');
    await page.waitForSelector('#control-result:has-text("Cancel all:")');
    expect(view.controlCalls.map((c) => c.action)).toEqual(['pause', 'resume', 'cancel-all']);
    await page.waitForSelector('#orders-table', { state: 'detached' });
  });

  it('renders without page errors and leaves a screenshot', async () => {
    await mkdir(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'dashboard-scripted.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('says so when the connection is lost: greyed badge and charts, "disconnected since", controls disabled', async () => {
    expect(await page.getAttribute('#state-badge', 'data-stale')).toBe('false');
    await server.close();
    await page.waitForSelector('#offline-banner');
    expect(await page.textContent('#connection')).toMatch(/^Disconnected since \d\d:\d\d:\d\d$/);
    expect(await page.getAttribute('#state-badge', 'data-stale')).toBe('true');
    expect(await page.getAttribute('#state-badge', 'class')).toContain('badge-gray');
    expect(await page.getAttribute('#trader-badge', 'class')).toContain('badge-gray');
    expect(await page.evaluate("getComputedStyle(document.querySelector('.grid')).filter")).toBe('grayscale(1)');
    expect(await page.getAttribute('#control-pause', 'data-reason')).toBe('disconnected');
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'dashboard-disconnected.png'), fullPage: true });
  });
});

describe.skipIf(!hasChromium)('dashboard over the real trading system (embedded simulator)', () => {
  let dir: string;
  let runtime: Runtime;
  let server: RunningHttpServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-dashboard-live-'));
    await buildWeb({ outDir: join(dir, 'dist'), minify: true });
    runtime = await createRuntime({ environment: 'sim', selection: { mode: 'discovery', limit: 3 }, strategy: 'spread-quoter', dataDir: join(dir, 'data'), sim: { seed: 7 } });
    server = await startHttpServer(runtime.system, { port: 0, webRoot: join(dir, 'dist'), statechartsDir: DEFAULT_STATECHARTS_DIR, buildWeb: false, log: () => {} });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await runtime?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('reaches READY, shows live books, and copies the status log', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForSelector('#state-badge[data-state="ready"]');
    await page.waitForSelector('figure[data-chart="coordinator"] g.state[data-state="ready"][data-active="true"]');
    await expect.poll(() => page.locator('#markets-table tbody tr').count(), { timeout: 20_000 }).toBe(3);
    // the simulator's synthetic activity moves the books: the delta counts climb live
    const deltas = async () => (await page.locator('#markets-table td[data-field="deltas"]').allTextContents()).reduce((sum, t) => sum + Number(t), 0);
    const first = await deltas();
    await expect.poll(deltas, { timeout: 20_000 }).toBeGreaterThan(first);

    await page.click('#copy-log');
    await page.waitForSelector('.actions [role="status"]');
    const copied = String(await page.evaluate('navigator.clipboard.readText()'));
    const statusLog = await (await fetch(`${server.url}/v3/status/log`)).text();
    expect(statusLog.split('\n').length).toBeGreaterThanOrEqual(5);
    expect(copied).toBe(statusLog);

    await mkdir(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'dashboard.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('shows the trader trading, then going degraded and recovering when the stream drops', async () => {
    // the spread-quoter's orders reach the page as they are placed
    await page.waitForSelector('#orders-table tbody tr', { timeout: 30_000 });
    const faults = runtime.simulator!.faults;
    // refuse reconnects for a few seconds so the degraded spell is long enough to watch
    faults.refuseWebSocketUpgrades(3_000);
    faults.dropWebSockets();
    await page.waitForSelector('#degraded-badge', { timeout: 20_000 });
    await page.waitForSelector('#degraded-badge', { state: 'detached', timeout: 40_000 });
    await page.waitForSelector('#state-badge[data-state="ready"]');
    // the live statechart follows: the orderbook region of `ready` is back to normal
    const activeChildren = async () =>
      (await page.locator('figure[data-chart="coordinator"] g.state[data-state="ready"] tspan.active-child').allTextContents()).map((t) =>
        t.replace('·', '').trim(),
      );
    await expect.poll(activeChildren, { timeout: 10_000 }).toContain('normal');
    expect(await activeChildren()).not.toContain('degraded');
    expect(runtime.system.health()).toMatchObject({ healthy: true, degraded: false });
    expect(runtime.system.visited.has('degraded')).toBe(true);
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'dashboard-recovered.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('controls: Cancel all leaves none of those orders at the exchange; Pause shows paused in the badge and the trader chart, nothing rests', async () => {
    const resting = async () => {
      const out: string[] = [];
      for await (const o of runtime.rest.iterateOrders({ status: 'resting' })) out.push(o.clientOrderId ?? o.orderId);
      return out;
    };
    await expect.poll(async () => (await resting()).length, { timeout: 30_000 }).toBeGreaterThan(0);
    const before = await resting();
    await page.waitForSelector('#control-cancel-all:not([disabled])', { timeout: 15_000 });
    await page.click('#control-cancel-all');
    await page.click('#confirm-yes');
    await page.waitForSelector('#control-result:has-text("Cancel all:")');
    expect(await page.textContent('#control-result')).toMatch(/cancels? sent/);
    // every order resting when it was clicked is gone from the exchange (the strategy may quote anew)
    await expect.poll(async () => (await resting()).filter((id) => before.includes(id)), { timeout: 15_000 }).toEqual([]);

    await page.selectOption('#chart-select', 'trader');
    await page.click('#control-pause');
    await page.waitForSelector('#trader-badge[data-state="paused"][data-reason="operator"]');
    await page.waitForSelector('figure[data-chart="trader"] g.state[data-state="paused"][data-active="true"]');
    await expect.poll(resting, { timeout: 15_000 }).toEqual([]);
    expect(runtime.system.status().trader).toMatchObject({ state: 'paused', reason: 'operator' });
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'dashboard-paused.png'), fullPage: true });

    // the trading layout: state, P&L, positions and open orders above the fold at 1440×900
    await page.setViewportSize({ width: 1440, height: 900 });
    for (const id of ['#state-badge', '#trading', '#positions', '#orders', '#controls']) {
      const box = await page.locator(id).boundingBox();
      expect(box, id).not.toBeNull();
      expect(box!.y, id).toBeLessThan(900 - 40);
    }
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'dashboard-1440x900.png') });
    // a phone: P&L and positions first, nothing scrolls sideways
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
    const trading = (await page.locator('#trading').boundingBox())!;
    const markets = (await page.locator('#markets').boundingBox())!;
    expect(trading.y).toBeLessThan(markets.y);
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'dashboard-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 1000 });

    await page.click('#control-resume');
    await page.waitForSelector('#trader-badge:not([data-state="paused"])');
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
