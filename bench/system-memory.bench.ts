/**
 * Footprint and start-up of the trader at scale (goal: resident memory ≤ 300 MB with 1,000
 * markets subscribed and 10,000 orders processed through order actors).
 *
 * The measured process holds the trader only, as `kalshiflow start` with DATABASE_URL would: the
 * real runtime (createRuntime: REST + WS clients, coordinator, 1,000 market actors and books,
 * trader, journal). The exchange and the database run in a child process (this file with
 * `--serve`: the loopback simulator with books 10 levels deep, and the embedded PGlite served on
 * a socket), whose resident memory is reported separately — the embedded database alone costs
 * several hundred MB, which is why it is kept out of the trader's figure.
 *
 * Figures: start to `ready` and to every market live; RSS with 1,000 markets live; 10,000 IOC
 * orders placed through the trader (journaled, sent, answered unfilled, canceled by the venue,
 * their actors stopped and released) with the throughput; RSS after.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair } from '../src/adapters/kalshi/auth.ts';
import { migrate, openDatabase } from '../src/adapters/store/index.ts';
import type { MarketSpec } from '../src/sim/activity/markets.ts';
import { startSimulator } from '../src/sim/simulator.ts';
import { report } from './harness.ts';

const BENCH = 'system-memory';
const MARKETS = 1_000;
const ORDERS = Number(process.env.BENCH_ORDERS ?? 10_000);
const PER_ROUND = 100;
const LEVELS = 10;
const KEY_ID = 'kalshiflow-trader';

const MB = 1024 * 1024;
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const rssMb = () => Math.round((process.memoryUsage().rss / MB) * 10) / 10;
const toMb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;
/** Where resident memory goes: the JS heap, and buffers outside it (books are typed arrays). */
function breakdown(): Record<string, number> {
  const m = process.memoryUsage();
  return { heap_used_mb: toMb(m.heapUsed), heap_total_mb: toMb(m.heapTotal), external_mb: toMb(m.external), array_buffers_mb: toMb(m.arrayBuffers) };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssOfMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return line ? Math.round(Number(line.replace(/\D+/g, '')) / 102.4) / 10 : Number.NaN;
}

if (process.argv.includes('--serve')) {
  // ── child: the exchange and the database ───────────────────────────────────────────────────
  const publicKeyPem = readFileSync(process.argv[process.argv.indexOf('--serve') + 1], 'utf8');
  const specs: MarketSpec[] = Array.from({ length: MARKETS }, (_, i) => ({ ticker: `KXMEM-26JAN01-T${i}`, fair: 0.5, volatility: 0 }));
  const sim = await startSimulator({ markets: specs, activity: false, seed: 4, pingIntervalMs: 10_000, keys: [{ keyId: KEY_ID, publicKeyPem }] });
  sim.exchange.ensureAccount('maker', 10_000_000_000_000); // $10M for 20,000 resting orders
  for (const { ticker } of specs) {
    for (let level = 0; level < LEVELS; level++) {
      for (const [side, price] of [['bid', 4_500 - level * 100], ['ask', 5_500 + level * 100]] as const) {
        const r = sim.exchange.createOrder({ userId: 'maker', ticker, side, price, count: 1_000 + level * 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
        if (!r.ok) throw new Error(r.error.message);
      }
    }
  }
  const db = await openDatabase({ dataDir: 'memory://', poolSize: 1 });
  await migrate(db.pool);
  // the parent talks to the database itself: the child's own pool would hold PGlite's one session
  await db.pool.end();
  console.log(JSON.stringify({ restUrl: sim.restUrl, wsUrl: sim.wsUrl, databaseUrl: db.url }));
  // runs until the parent closes stdin
  process.stdin.resume();
  process.stdin.on('end', () => {
    void sim.close().then(() => process.exit(0));
  });
} else {
  // ── parent: the trader ─────────────────────────────────────────────────────────────────────
  const { createRuntime } = await import('../src/app/runtime.ts');
  type Decision = import('../src/core/strategy/index.ts').Decision;
  type MarketView = import('../src/core/strategy/index.ts').MarketView;

  /** Hands out the orders the bench queues, one market's worth per decision cycle. */
  class QueuedOrders {
    readonly name = 'bench-queue';
    readonly needsBook = false;
    private readonly queued = new Map<string, Decision[]>();
    add(ticker: string, decision: Decision): void {
      const list = this.queued.get(ticker) ?? [];
      list.push(decision);
      this.queued.set(ticker, list);
    }
    decide(view: MarketView): Decision[] {
      const d = this.queued.get(view.ticker) ?? [];
      this.queued.delete(view.ticker);
      return d;
    }
  }

  const dataDir = mkdtempSync(join(tmpdir(), 'kf-bench-'));
  const keys = generateKeyPair();
  mkdirSync(join(dataDir, 'sim-keys'));
  writeFileSync(join(dataDir, 'sim-keys', 'trader.pub.pem'), keys.publicKeyPem);
  writeFileSync(join(dataDir, 'sim-keys', 'trader.key.pem'), keys.privateKeyPem, { mode: 0o600 });

  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', join(dataDir, 'sim-keys', 'trader.pub.pem')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const served = await new Promise<{ restUrl: string; wsUrl: string; databaseUrl: string }>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as { restUrl: string; wsUrl: string; databaseUrl: string }));
    child.once('exit', (code) => reject(new Error(`the exchange process exited (${code})`)));
  });

  gc();
  report({ bench: BENCH, metric: 'rss_baseline', value: rssMb(), unit: 'MB' });
  report({ bench: BENCH, metric: 'rss_exchange_and_embedded_db_process', value: rssOfMb(child.pid!), unit: 'MB', markets: MARKETS, levels_per_side: LEVELS, note: 'separate process, not the trader' });

  // PGlite behind its socket is one session: one connection, as the embedded default uses
  const database = await openDatabase({ databaseUrl: served.databaseUrl, poolSize: 1 });
  const strategy = new QueuedOrders();
  const t0 = performance.now();
  const runtime = await createRuntime({
    environment: 'sim',
    selection: { mode: 'discovery', limit: MARKETS },
    strategy: 'bench-queue',
    strategyFactories: { 'bench-queue': () => strategy },
    dataDir,
    urls: { restBaseUrl: served.restUrl, wsUrl: served.wsUrl },
    database,
    riskLimits: { throttleMs: 0, maxOpenOrders: 1_000 },
    coordinator: { syncIntervalMs: 3_600_000, timeouts: { initializingMs: 120_000, orderbookConnectMs: 120_000, kalshiDataSyncMs: 120_000 } },
  });

  try {
    const { system } = runtime;
    await system.waitForState('ready', 120_000);
    const readyMs = performance.now() - t0;
    while (system.registry.stateCounts().live !== MARKETS) {
      if (performance.now() - t0 > 120_000) throw new Error(`only ${system.registry.stateCounts().live} markets live`);
      await sleep(10);
    }
    const liveMs = performance.now() - t0;
    report({ bench: BENCH, metric: 'start_to_ready_1000_markets', value: Math.round(readyMs), unit: 'ms', markets: MARKETS });
    report({ bench: BENCH, metric: 'start_to_all_live_1000_markets', value: Math.round(liveMs), unit: 'ms', markets: MARKETS });
    gc();
    report({ bench: BENCH, metric: 'rss_trader_1000_markets_live', value: rssMb(), unit: 'MB', goal: '<= 300', ...breakdown() });

    // IOC bids at 1¢ into books whose best ask is 55¢: each is answered unfilled, canceled by
    // the venue, and its actor released
    const trader = system.trader!;
    const closedBefore = trader.getSnapshot().context.counters.ordersClosed;
    const tOrders = performance.now();
    let peakRss = 0;
    for (let placed = 0; placed < ORDERS; placed += PER_ROUND) {
      for (let i = 0; i < PER_ROUND; i++) {
        const ticker = `KXMEM-26JAN01-T${(placed + i) % MARKETS}`;
        strategy.add(ticker, { kind: 'place', intent: { ticker, side: 'bid', price: 100, count: 100, timeInForce: 'immediate_or_cancel' } });
        trader.send({ type: 'BOOK_UPDATED', ticker });
      }
      while (trader.getSnapshot().context.counters.ordersClosed - closedBefore < placed + PER_ROUND) {
        if (performance.now() - tOrders > 600_000) throw new Error('orders did not close in time');
        await sleep(1);
      }
      peakRss = Math.max(peakRss, rssMb());
    }
    const ordersMs = performance.now() - tOrders;
    const context = trader.getSnapshot().context;
    if (context.counters.ordersDenied > 0) throw new Error(`${context.counters.ordersDenied} orders denied by risk`);
    if (Object.keys(context.orders).length !== 0) throw new Error('orders left in the trader');
    const running = Object.keys(trader.getSnapshot().children).filter((id) => !id.startsWith('decide:'));
    if (running.length !== 0) throw new Error(`${running.length} order actors still running`);
    report({ bench: BENCH, metric: 'orders_per_second_through_order_actors', value: Math.round((ORDERS * 1000) / ordersMs), unit: 'orders/s', orders: ORDERS, in_flight: PER_ROUND, note: 'journal insert + sent + REST create + answer + close, one DB connection' });
    report({ bench: BENCH, metric: 'rss_trader_peak_during_orders', value: peakRss, unit: 'MB', goal: '<= 300' });
    gc();
    report({ bench: BENCH, metric: 'rss_trader_1000_markets_after_orders', value: rssMb(), unit: 'MB', goal: '<= 300', orders: ORDERS, ...breakdown() });
    report({ bench: BENCH, metric: 'rss_exchange_and_embedded_db_process_after', value: rssOfMb(child.pid!), unit: 'MB', note: 'separate process, not the trader' });
  } finally {
    await runtime.close();
    await database.close();
    child.stdin!.end();
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
