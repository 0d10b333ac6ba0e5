/**
 * `npm start` as a user runs it: `node bin/kalshiflow.js start --markets 10` (the trader against
 * the embedded simulator and the embedded PGlite database, dashboard on a free port) in a fresh
 * data folder. Figures: time from spawn to `ready` (GET /v3/status says ready or acting) on the
 * first start (a new database: migrations, simulator key) and on a second, warm start of the same
 * folder (goal ≤ 5 s), and the process's resident memory after it has run 60 s at 10 markets (goal
 * ≤ 400 MB; the embedded database runs inside it). Each start is stopped with SIGINT.
 *
 * Flags: `--rss-after 60` (seconds), `--tsx` runs the sources through tsx (KALSHIFLOW_TSX=1)
 * instead of the compiled bundle, for comparison. Run: npm run bench -- startup
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { report } from './harness.ts';

const BENCH = 'startup';
const BIN = fileURLToPath(new URL('../bin/kalshiflow.js', import.meta.url));
const { values } = parseArgs({ options: { 'rss-after': { type: 'string', default: '60' }, tsx: { type: 'boolean', default: false } } });
const rssAfterS = Number(values['rss-after']);
const mode = values.tsx ? 'tsx' : 'compiled';
const load = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

async function statusState(url: string): Promise<string | null> {
  try {
    const response = await fetch(`${url}/v3/status`);
    if (!response.ok) return null;
    return ((await response.json()) as { state?: string }).state ?? null;
  } catch {
    return null;
  }
}

/** CPU seconds the process has used (utime + stime, /proc/<pid>/stat fields 14 and 15, 100 Hz ticks). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Math.round(((Number(fields[11]) + Number(fields[12])) / 100) * 100) / 100;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Started {
  readyMs: number;
  /** CPU seconds until ready (load-independent, unlike the wall time). */
  readyCpuS: number;
  pid: number;
  stop(): Promise<void>;
}

async function start(dataDir: string): Promise<Started> {
  const port = await freePort();
  const began = performance.now();
  const child = spawn(process.execPath, [BIN, 'start', '--markets', '10', '--port', String(port)], {
    env: { ...process.env, KALSHIFLOW_DATA_DIR: dataDir, V3_HOST: '127.0.0.1', ...(values.tsx ? { KALSHIFLOW_TSX: '1' } : {}) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = began + 120_000;
  for (;;) {
    if (done) throw new Error(`kalshiflow start exited before ready: ${stderr}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('kalshiflow start: not ready within 120 s');
    }
    const state = await statusState(url);
    if (state === 'ready' || state === 'acting') break;
    await sleep(25);
  }
  const readyMs = performance.now() - began;
  const readyCpuS = cpuSeconds(child.pid!);
  return {
    readyMs,
    readyCpuS,
    pid: child.pid!,
    async stop() {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const dataDir = mkdtempSync(join(tmpdir(), 'kf-bench-startup-'));
try {
  const first = await start(dataDir);
  await first.stop();
  report({ bench: BENCH, metric: 'start_to_ready_ms', value: Math.round(first.readyMs), unit: 'ms', start: 'first (new data folder)', cpu_s: first.readyCpuS, mode });
  const second = await start(dataDir);
  report({ bench: BENCH, metric: 'start_to_ready_ms', value: Math.round(second.readyMs), unit: 'ms', start: 'second (warm)', cpu_s: second.readyCpuS, mode, goal: '<= 5 s' });
  const atReady = rssMb(second.pid);
  await sleep(rssAfterS * 1000);
  const after = rssMb(second.pid);
  await second.stop();
  report({ bench: BENCH, metric: 'rss_mb', value: after, unit: 'MB', after_s: rssAfterS, at_ready_mb: atReady, markets: 10, mode, goal: '<= 400 MB', load_average: load() });
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
