/**
 * Scripted sessions end to end, on one embedded database shared by the runs of this file: every
 * example scenario in sessions/ passes; two runs of the same seed produce the same order and fill
 * log (faults and a trader crash included); a scenario built to fail exits 1 with the observed
 * values; the report files are self-contained; the run is stored; realtime mode works over
 * loopback. Virtual-clock runs take a few seconds of wall time each.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionRecorder, createRecordingQueue, getSessionRun } from '../../src/adapters/store/index.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { runScenarioFile } from '../../src/cli/session.command.ts';
import { orderFillLog } from '../../src/sessions/report.ts';
import { runSession } from '../../src/sessions/runner.ts';
import { loadScenario, parseScenario } from '../../src/sessions/scenario.ts';
import { SessionStore } from '../../src/sessions/store.ts';

const RUN_TIMEOUT = 120_000;
let store: SessionStore;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kf-sessions-'));
  store = await SessionStore.open();
}, 120_000);

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('example scenarios', () => {
  const examples = readdirSync('sessions').filter((f) => f.endsWith('.yaml')).sort();

  it.each(examples)(
    '%s passes',
    async (file) => {
      const outcome = await runSession(await loadScenario(join('sessions', file)), { store, dataDir: dir });
      expect(outcome.failures).toEqual([]);
      expect(outcome.status).toBe('passed');
      expect(outcome.exitCode).toBe(0);
      // every example trades: the pass is about a trader that did something
      expect(outcome.report.orders.length).toBeGreaterThan(0);
      const faultKinds = new Set(outcome.report.faults.map((f) => f.kind));
      expect(faultKinds.size).toBe(new Set(outcome.report.faults.map((f) => f.kind)).size);
      for (const fault of outcome.report.faults) expect(fault.reaction.summary).not.toBe('');
    },
    RUN_TIMEOUT,
  );
});

const SMALL = `
name: determinism
seed: 99
duration: 1m
drain: 20s
exchange:
  markets:
    - { ticker: DET-A, fair: 0.5, volatility: 0.5, taker_rate: 2 }
    - { ticker: DET-B, fair: 0.3, volatility: 0.5, taker_rate: 2 }
trader:
  strategy: spread-quoter
  throttle: 2s
faults:
  - { at: 15s, kind: ws_drop }
  - { at: 25s, kind: trader_crash, restart_after: 3s }
  - { at: 40s, kind: reject_orders, count: 2 }
expect:
  no_duplicate_orders: true
  fills_recorded_once: true
  positions_match_exchange: true
`;

describe('determinism', () => {
  it(
    'two runs of the same seed produce the same orders and fills (faults and a crash included)',
    async () => {
      const loaded = parseScenario(SMALL, 'determinism.yaml');
      const first = await runSession(loaded, { store, dataDir: dir });
      const second = await runSession(loaded, { store, dataDir: dir });
      expect(first.failures).toEqual([]);
      expect(second.failures).toEqual([]);
      const a = orderFillLog(first.report);
      const b = orderFillLog(second.report);
      expect(a.orders.length).toBeGreaterThan(10);
      expect(a.fills.length).toBeGreaterThan(0);
      expect(b).toEqual(a);
      expect(second.report.pnl?.final).toBe(first.report.pnl?.final);
      expect(second.report.states.timeline).toEqual(first.report.states.timeline);
      expect(first.report.run.crashes).toBe(1);
      expect(first.report.run.trader_generations).toBe(2);
      // the generations use different client_order_id nonces (seed and generation, no wall time)
      const nonces = new Set(first.report.orders.map((o) => o.client_order_id.split('-').slice(0, -1).join('-')));
      expect([...nonces].sort()).toEqual(['trader-s2rg0', 'trader-s2rg1']);
    },
    RUN_TIMEOUT,
  );
});

describe('a scenario built to fail', () => {
  it(
    'exits 1, prints each failure with its observed value, writes a self-contained report and stores the run',
    async () => {
      const file = join(dir, 'wrong.yaml');
      writeFileSync(
        file,
        `
name: built-to-fail
seed: 3
duration: 30s
drain: 5s
exchange:
  markets: [{ ticker: FAIL-A, fair: 0.5, volatility: 0.2 }]
trader: { strategy: hold }
expect:
  final_state: error
  min_orders: 5
  not_visited: [degraded]
  clean_shutdown: true
`,
      );
      const out = join(dir, 'wrong-report');
      const lines: string[] = [];
      const errors: string[] = [];
      const code = await runScenarioFile(file, { store, dataDir: dir, outDir: out, progressStream: null, print: (l) => lines.push(l), printError: (l) => errors.push(l) });
      expect(code).toBe(1);
      expect(lines.join('\n')).toContain('built-to-fail: FAILED');
      expect(errors).toContain('  ✗ final_state: ended in ready, expected error (observed: "ready")');
      expect(errors).toContain('  ✗ min_orders: 0 orders reached the exchange, expected at least 5 (observed: 0)');
      expect(lines).toContain('  ✓ not_visited: none entered');
      expect(lines).toContain('  ✓ clean_shutdown: shut down with nothing resting');

      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      expect(report.result).toBe('failed');
      expect(report.expectations.filter((e: { passed: boolean }) => !e.passed).map((e: { name: string }) => e.name)).toEqual(['final_state', 'min_orders']);
      expect(report.states.visited.ready.entries).toBeGreaterThan(0);
      const html = readFileSync(join(out, 'report.html'), 'utf8');
      expect(html).toContain('<svg');
      expect(html).toContain('FAILED');
      expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
      expect(html).not.toMatch(/<script/i);

      const stored = await getSessionRun(store.pool, report.run.id);
      expect(stored?.status).toBe('failed');
      expect(stored?.scenario).toBe('built-to-fail');
      expect((stored?.report as { result?: string }).result).toBe('failed');
    },
    RUN_TIMEOUT,
  );
});

describe('realtime', () => {
  it(
    'runs the same kind of scenario over loopback sockets on the wall clock, faults included',
    async () => {
      const loaded = parseScenario(
        `
name: realtime-smoke
seed: 4
clock: realtime
duration: 4s
drain: 1s
exchange:
  markets: [{ ticker: RT-A, fair: 0.5, volatility: 0.3 }]
trader: { strategy: hold }
faults:
  - { at: 2s, kind: ws_drop }
expect:
  final_state: ready
  no_duplicate_orders: true
`,
        'realtime.yaml',
      );
      const outcome = await runSession(loaded, { store, dataDir: dir });
      expect(outcome.failures).toEqual([]);
      expect(outcome.report.scenario.clock).toBe('realtime');
      expect(outcome.report.run.driver_steps).toBeNull();
      expect(outcome.report.faults[0].applied).toBe('cut 1 WebSocket connections');
      expect(existsSync(dir)).toBe(true);
    },
    RUN_TIMEOUT,
  );
});

describe('replay', () => {
  it(
    'replays a recorded session: the recorded books themselves, no synthetic participants',
    async () => {
      // a small recording: one market whose mid moves 0.40 → 0.70 → 0.30, one snapshot every 10 s
      const clock = new VirtualClock(Date.UTC(2026, 2, 1, 15));
      const queue = createRecordingQueue(store.pool, { clock, batchRows: 100 });
      const recorder = await SessionRecorder.start(store.pool, queue, { env: 'test', mode: 'record', tickers: ['REC-A'], clock });
      const mids = [4000, 4000, 7000, 7000, 3000, 3000];
      mids.forEach((mid, i) => {
        clock.advance(i === 0 ? 0 : 10_000);
        recorder.snapshot({ ticker: 'REC-A', sid: 1, seq: i + 1, tsMs: clock.now(), yes: [[mid - 100, 500]], no: [[10_000 - mid - 100, 500]] });
      });
      await recorder.close();
      await queue.close();

      const loaded = parseScenario(
        `
name: replay
seed: 8
duration: 1m
drain: 5s
exchange:
  replay: { session: ${recorder.sessionId} }
trader: { strategy: hold }
expect:
  final_state: ready
`,
        'replay.yaml',
      );
      const outcome = await runSession(loaded, { store, dataDir: dir });
      expect(outcome.failures).toEqual([]);
      // the first recorded mid, nothing random on top (the books themselves are replayed: test/sim/replay.test.ts)
      expect(outcome.report.scenario.markets).toEqual([{ ticker: 'REC-A', fair: 0.4, volatility: 0, settle_ms: null, jumps: 0 }]);
    },
    RUN_TIMEOUT,
  );
});
