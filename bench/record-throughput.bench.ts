/**
 * Recording throughput end to end: simulator WebSocket → KalshiWsClient → MarketRecorder
 * (registry + SessionRecorder) → WriteQueue → database, for the embedded PGlite and for a real
 * PostgreSQL server (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; a
 * temporary database is created and dropped).
 *
 * The simulator runs in a child process (so it has its own core) with many markets stepping
 * every few milliseconds — as much order-book traffic as it can generate. For each database the
 * recorder runs for a fixed window once every market is live; figures:
 *  - deltas/s and rows/s stored (rows actually in the database / window), drops (must be 0);
 *  - the recorder process's CPU time per recorded row, and the rows/s one core could take at
 *    that cost (the pipeline's own ceiling, since the simulator is usually the bottleneck here);
 *  - the largest write-queue depth seen (how far the database fell behind).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { report } from './harness.ts';
import { withServerDatabase } from './server-database.ts';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../src/adapters/kalshi/rest.ts';
import { KalshiWsClient } from '../src/adapters/kalshi/ws.ts';
import { openDatabase, query } from '../src/adapters/store/database.ts';
import type { Database } from '../src/adapters/store/database.ts';
import { migrate } from '../src/adapters/store/migrate.ts';
import { MarketRecorder } from '../src/actors/recorder.ts';
import { systemClock } from '../src/core/clock.ts';

const BENCH = 'record-throughput';
const MARKETS = Number(process.env.BENCH_MARKETS ?? 100);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 10_000);
const KEY_ID = 'bench-recorder';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The simulator in its own process; resolves with its URLs once it listens. */
async function startSimulatorProcess(publicKeyPem: string) {
  const script = `
    import { startSimulator } from './src/sim/simulator.ts';
    const sim = await startSimulator({
      markets: ${MARKETS}, seed: 5, activityStepMs: { min: 2, max: 6 },
      keys: [{ keyId: ${JSON.stringify(KEY_ID)}, publicKeyPem: process.env.BENCH_PUBLIC_KEY }],
    });
    console.log(JSON.stringify({ restUrl: sim.restUrl, wsUrl: sim.wsUrl }));
    process.on('SIGTERM', () => sim.close().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, BENCH_PUBLIC_KEY: publicKeyPem },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`simulator process exited with ${code}`)));
  });
  const urls = JSON.parse(firstLine) as { restUrl: string; wsUrl: string };
  return {
    ...urls,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function measure(label: string, db: Database, sim: { restUrl: string; wsUrl: string }, privateKeyPem: string): Promise<void> {
  await migrate(db.pool);
  const credentials = createCredentials(KEY_ID, loadPrivateKey({ pem: privateKeyPem }));
  const endpoints = endpointsFor('sim', { restBaseUrl: sim.restUrl, wsUrl: sim.wsUrl });
  const recorder = await MarketRecorder.start({
    ws: new KalshiWsClient({ url: endpoints.wsUrl, credentials, useYesPrice: false }),
    rest: new KalshiRestClient({ endpoints, credentials }),
    pool: db.pool,
    env: 'test',
    selection: { mode: 'discovery', limit: MARKETS },
    clock: systemClock,
    sourceUrl: endpoints.wsUrl,
  });
  const liveBy = Date.now() + 30_000;
  while (recorder.progress().markets.live < recorder.markets.length && Date.now() < liveBy) await sleep(50);

  const before = recorder.progress();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let maxDepth = 0;
  while (performance.now() - start < WINDOW_MS) {
    await sleep(20);
    maxDepth = Math.max(maxDepth, recorder.progress().queue.depth);
  }
  const windowCounts = recorder.progress().counts;
  const summary = await recorder.stop();
  // stop() waits for the last rows to be committed: they count, the time to commit them too
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMicros = cpu.user + cpu.system;

  const [{ n: storedDeltas }] = await query<{ n: number }>(db.pool, 'SELECT count(*)::bigint AS n FROM book_deltas WHERE session_id = $1', [
    recorder.sessionId,
  ]);
  const deltas = windowCounts.deltas - before.counts.deltas;
  const rows =
    windowCounts.deltas + windowCounts.snapshots + windowCounts.trades + windowCounts.gaps -
    (before.counts.deltas + before.counts.snapshots + before.counts.trades + before.counts.gaps);
  const common = { database: label, markets: recorder.markets.length, window_s: Number(seconds.toFixed(2)) };
  report({ bench: BENCH, metric: `recorded_deltas_per_s_${label}`, value: Math.round(deltas / seconds), unit: 'deltas/s', ...common, stored_deltas_total: storedDeltas, session_deltas: summary.counts.deltas });
  report({ bench: BENCH, metric: `recorded_rows_per_s_${label}`, value: Math.round(rows / seconds), unit: 'rows/s', ...common });
  report({ bench: BENCH, metric: `drops_${label}`, value: summary.counts.dropped, unit: 'rows', goal: '0', ...common });
  const perRow = rows > 0 ? cpuMicros / rows : Number.NaN;
  report({ bench: BENCH, metric: `recorder_cpu_per_row_${label}`, value: Number(perRow.toFixed(2)), unit: 'µs CPU/row', ...common, note: 'whole recording process: WS parse, registry, queue, pg client' });
  report({ bench: BENCH, metric: `recorder_capacity_per_core_${label}`, value: Math.round(1e6 / perRow), unit: 'rows/s per core', ...common });
  report({ bench: BENCH, metric: `max_queue_depth_${label}`, value: maxDepth, unit: 'rows', ...common });
  if (storedDeltas !== summary.counts.deltas) {
    report({ bench: BENCH, metric: `stored_mismatch_${label}`, value: summary.counts.deltas - storedDeltas, unit: 'rows', error: 'session counts differ from stored rows' });
  }
}

const keys = generateKeyPair();
const sim = await startSimulatorProcess(keys.publicKeyPem);
try {
  const embedded = await openDatabase({ dataDir: 'memory://', poolSize: 1 });
  try {
    await measure('pglite', embedded, sim, keys.privateKeyPem);
  } finally {
    await embedded.close();
  }

  await withServerDatabase(BENCH, async (url) => {
    const server = await openDatabase({ databaseUrl: url, poolSize: 4 });
    try {
      await measure('postgres', server, sim, keys.privateKeyPem);
    } finally {
      await server.close();
    }
  });
} finally {
  await sim.stop();
}
