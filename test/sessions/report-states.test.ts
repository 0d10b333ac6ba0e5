/**
 * The session report counts and draws every coordinator state entered, whatever the parallel
 * regions do: with the WebSocket refused (the order book down: degraded) and the portfolio
 * endpoints failing, a restarted trader goes trading_client_connect (degraded) → error (degraded)
 * → … until they return. The report has `error` in states.visited, passes `expect.visited:
 * [degraded, error]`, and shows the error segments — marked degraded — in report.json's timeline
 * and report.html's state timeline. (It used to fold all of it into one `degraded` label:
 * `error: 0`, no error drawn; and `startup`, passed before the runner got each trader, was
 * missing.) A fresh start is used because a running trader now holds its syncs while the trading
 * API is faulted instead of going to error.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSession } from '../../src/sessions/runner.ts';
import type { SessionOutcome } from '../../src/sessions/runner.ts';
import { parseScenario } from '../../src/sessions/scenario.ts';

const OUTAGE = `
name: error-while-degraded
seed: 17
duration: 1m
drain: 20s
exchange:
  markets:
    - { ticker: ERR-A, fair: 0.45, volatility: 0.3 }
trader:
  strategy: spread-quoter
  throttle: 2s
faults:
  - { at: 10s, kind: ws_refuse, for: 30s }
  - { at: 10s, kind: rest_error, status: 503, for: 30s, path: /portfolio }
  - { at: 12s, kind: trader_crash, restart_after: 2s }
expect:
  final_state: ready
  visited: [degraded, error]
`;

let dir: string;
let outcome: SessionOutcome;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kf-report-states-'));
  outcome = await runSession(parseScenario(OUTAGE, 'error-while-degraded.yaml'), { dataDir: dir, outDir: join(dir, 'out') });
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('states entered while degraded', () => {
  it('counts error (and every other coordinator state) in states.visited, so expect.visited: [degraded, error] passes', () => {
    expect(outcome.failures).toEqual([]);
    expect(outcome.status).toBe('passed');
    const visited = outcome.report.states.visited;
    expect(visited.error?.entries ?? 0).toBeGreaterThanOrEqual(1);
    expect(visited.error!.total_ms).toBeGreaterThan(0);
    expect(visited.degraded?.entries ?? 0).toBeGreaterThanOrEqual(1);
    // every state drawn was counted, as often as it was drawn at least
    for (const label of new Set(outcome.report.states.timeline.map((s) => s.label))) {
      const drawn = outcome.report.states.timeline.filter((s) => s.label === label).length;
      expect(visited[label]?.entries ?? 0, label).toBeGreaterThanOrEqual(label === 'ready' ? 1 : drawn);
    }
    // from the very first: startup is entered before the runner gets each trader (two generations)
    expect(Object.keys(visited).slice(0, 5)).toEqual(['startup', 'initializing', 'orderbook_connect', 'trading_client_connect', 'kalshi_data_sync']);
    expect(visited.startup).toEqual({ entries: 2, total_ms: 0 });
    const visitedLine = outcome.report.expectations.find((e) => e.name === 'visited')!;
    expect(visitedLine.passed).toBe(true);
    expect(visitedLine.observed).toMatchObject({ degraded: visited.degraded!.entries, error: visited.error!.entries });
  });

  it('draws the error segments in the timeline, marked degraded, between the degraded ready and the recovery', () => {
    const timeline = outcome.report.states.timeline;
    const errors = timeline.filter((s) => s.label === 'error');
    expect(errors.length).toBe(outcome.report.states.visited.error!.entries);
    expect(errors.every((s) => s.degraded && s.to_ms > s.from_ms)).toBe(true);
    const firstError = timeline.indexOf(errors[0]!);
    expect(timeline[firstError - 1]).toMatchObject({ label: 'trading_client_connect', degraded: true, generation: 1 });
    expect(timeline.slice(0, 5).map((s) => s.label)).toEqual(['startup', 'initializing', 'orderbook_connect', 'trading_client_connect', 'kalshi_data_sync']);
    const last = timeline.at(-1)!;
    expect(last).toMatchObject({ label: 'ready', degraded: false });
    // segments tile the run: each starts where the previous ended
    for (let i = 1; i < timeline.length; i++) expect(timeline[i]!.from_ms).toBe(timeline[i - 1]!.to_ms);

    const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    const timelineSvg = /<svg[^>]*class="timeline"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(timelineSvg.match(/<rect [^>]*data-state="error"[^>]*><title>error \(degraded\) \(trader 1\): /g)).toHaveLength(errors.length);
    expect(timelineSvg).toMatch(/class="degraded-band"><title>degraded \(trader 1\): /);
    expect(html).toMatch(/<span class="legend"><span class="swatch" style="background:#d64545"><\/span>error<\/span>/);
  });

  it('names the state it left ready for in the fault reaction, and the recovery to a healthy ready', () => {
    const [fault] = outcome.report.faults;
    expect(fault!.reaction.left).toEqual({ state: 'degraded', afterMs: 0 });
    const backInReady = outcome.report.states.timeline.at(-1)!.from_ms - fault!.atMs;
    expect(fault!.reaction.recoveredAfterMs).toBe(backInReady);
  });
});
