/**
 * Scenario files: units, validation errors with the path of the bad field, the CLI's exit code 2
 * for an invalid file, the example files, and the JSON Schema in docs/ kept in step with the zod
 * schema. No database, no simulator.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScenarioFile, runSessionCommand } from '../../src/cli/session.command.ts';
import {
  formatDuration,
  parseDuration,
  parseScenario,
  scenarioJsonSchema,
  ScenarioError,
} from '../../src/sessions/scenario.ts';
import { marketSpecsFor } from '../../src/sessions/markets.ts';

const ISSUE_EXAMPLE = `
name: outage-and-crash
seed: 7
clock: virtual
duration: 30m
exchange:
  markets:
    - { ticker: SIM-A, fair: 0.55, volatility: 0.02, jumps: [{ at: 10m, to: 0.20 }], settle: { at: 29m, result: yes } }
    - { count: 8 }
trader:
  strategy: spread-quoter
  limits: { max_position: 100, max_order: 10 }
faults:
  - { at: 5m,  kind: ws_drop }
  - { at: 8m,  kind: ws_refuse, for: 40s }
  - { at: 12m, kind: rest_error, status: 503, for: 30s, path: /portfolio }
  - { at: 15m, kind: seq_gap, ticker: SIM-A }
  - { at: 18m, kind: malformed_frame }
  - { at: 20m, kind: trader_crash }
  - { at: 22m, kind: reject_orders, count: 3 }
  - { at: 24m, kind: latency, ms: 400, for: 1m }
expect:
  final_state: ready
  visited: [degraded, error]
  no_duplicate_orders: true
  positions_match_exchange: true
  fills_recorded_once: true
  min_orders: 10
  max_drawdown: 50.00
`;

function errorOf(text: string, file = 'bad.yaml'): ScenarioError {
  try {
    parseScenario(text, file);
  } catch (error) {
    if (error instanceof ScenarioError) return error;
    throw error;
  }
  throw new Error('expected a ScenarioError');
}

describe('durations', () => {
  it('parses units, combinations and fractions exactly, and formats them back', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('40s')).toBe(40_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2.5s')).toBe(2500);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration(12)).toBe(12_000);
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(61_250)).toBe('1m1s250ms');
  });

  it('refuses what is not a duration', () => {
    expect(() => parseDuration('40 seconds')).toThrow(/not a duration/);
    expect(() => parseDuration('1.0005s')).toThrow(/millisecond/);
    expect(() => parseDuration(-1)).toThrow();
  });
});

describe('scenario validation', () => {
  it('accepts the issue example and converts units to the system integers', () => {
    const { scenario } = parseScenario(ISSUE_EXAMPLE, 'x.yaml');
    expect(scenario.duration).toBe(1_800_000);
    expect(scenario.trader.limits).toEqual({ max_position: 10_000, max_order: 1000 });
    expect(scenario.expect.max_drawdown).toBe(50_000_000);
    expect(scenario.faults[1]).toEqual({ kind: 'ws_refuse', at: 480_000, for: 40_000 });
    expect(scenario.faults[5]).toEqual({ kind: 'trader_crash', at: 1_200_000, restart_after: 2000 });
    const specs = marketSpecsFor(scenario);
    expect(specs).toHaveLength(9);
    expect(specs[0]).toMatchObject({ ticker: 'SIM-A', jumps: [{ atMs: 600_000, to: 0.2 }], settle: { atMs: 1_740_000, result: 'yes' } });
  });

  it('takes a create_delay fault: creates held `ms` for a while (durations in milliseconds)', () => {
    const text = ISSUE_EXAMPLE.replace('  - { at: 24m, kind: latency, ms: 400, for: 1m }', '  - { at: 24m, kind: create_delay, ms: 8000, for: 1m }');
    expect(parseScenario(text, 'x.yaml').scenario.faults[7]).toEqual({ kind: 'create_delay', at: 1_440_000, ms: 8000, for: 60_000 });
    expect(errorOf(text.replace('ms: 8000', 'ms: 0')).field).toBe('faults[7].ms');
  });

  it.each([
    ['a bad duration', ISSUE_EXAMPLE.replace('for: 40s', 'for: 40 seconds'), 'faults[1].for', /not a duration/],
    ['a probability out of range', ISSUE_EXAMPLE.replace('fair: 0.55', 'fair: 1.5'), 'exchange.markets[0].fair', /below 1/],
    ['a misspelt field', ISSUE_EXAMPLE.replace('fair: 0.55', 'fiar: 0.55'), 'exchange.markets[0].fiar', /unknown field/],
    ['an unknown fault kind', ISSUE_EXAMPLE.replace('kind: ws_drop', 'kind: ws_dorp'), 'faults[0].kind', /ws_drop/],
    ['an unknown state', ISSUE_EXAMPLE.replace('final_state: ready', 'final_state: redy'), 'expect.final_state', /ready/],
    ['a fault after the end', ISSUE_EXAMPLE.replace('at: 24m', 'at: 31m'), 'faults[7].at', /before the end/],
    ['a bad dollar amount', ISSUE_EXAMPLE.replace('max_drawdown: 50.00', 'max_drawdown: lots'), 'expect.max_drawdown', /dollar/],
    ['a missing name', ISSUE_EXAMPLE.replace('name: outage-and-crash\n', ''), 'name', /required/],
    ['an unknown market in a fault', ISSUE_EXAMPLE.replace('- { count: 8 }', '').replace('ticker: SIM-A }', 'ticker: SIM-Z }'), 'faults[3].ticker', /unknown market/],
    ['a REST status we cannot inject', ISSUE_EXAMPLE.replace('status: 503', 'status: 404'), 'faults[2].status', /./],
  ])('names the bad field for %s', (_what, text, field, message) => {
    const error = errorOf(text);
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(message);
    expect(error.message).toContain(`bad.yaml: ${field}: `);
  });

  it('reports unparseable YAML and JSON as the whole file', () => {
    expect(errorOf('name: [').message).toMatch(/not valid YAML/);
    expect(errorOf('{"name": ', 'x.json').message).toMatch(/not valid JSON/);
    expect(errorOf('- just\n- a list').reason).toMatch(/mapping/);
  });
});

describe('kalshiflow session run with an invalid file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kf-scenario-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 and prints the path of the bad field, before starting anything', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, ISSUE_EXAMPLE.replace('for: 40s', 'for: forty'));
    const errors: string[] = [];
    const code = await runScenarioFile(file, { dataDir: dir, print: () => {}, printError: (l) => errors.push(l) });
    expect(code).toBe(2);
    expect(errors.join('\n')).toContain('faults[1].for: not a duration: "forty"');
  });

  it('exits 2 for an unknown strategy or bad strategy options, naming the field', async () => {
    const base = 'name: x\nduration: 10s\nexchange: { markets: [{ count: 1 }] }\n';
    for (const [trader, expected] of [
      ['trader: { strategy: quoter }', 'trader.strategy: unknown strategy "quoter"'],
      ['trader: { strategy: spread-quoter, options: { size: -1 } }', 'trader.options: '],
    ]) {
      const file = join(dir, 'strategy.yaml');
      writeFileSync(file, `${base}${trader}\n`);
      const errors: string[] = [];
      const code = await runScenarioFile(file, { dataDir: dir, progressStream: null, print: () => {}, printError: (l) => errors.push(l) });
      expect(code).toBe(2);
      expect(errors.join('\n')).toContain(expected);
    }
  });

  it('exits 2 for a missing file', async () => {
    const errors: string[] = [];
    const code = await runScenarioFile(join(dir, 'nope.yaml'), { dataDir: dir, print: () => {}, printError: (l) => errors.push(l) });
    expect(code).toBe(2);
    expect(errors[0]).toMatch(/nope\.yaml: no such file/);
  });

  it('prints the JSON Schema', async () => {
    const lines: string[] = [];
    const original = console.log;
    console.log = (line: string) => lines.push(line);
    try {
      expect(await runSessionCommand(['schema'])).toBe(0);
    } finally {
      console.log = original;
    }
    expect(JSON.parse(lines.join('\n')).title).toBe('kalshiflow scripted session scenario');
  });
});

describe('example scenarios and the documented schema', () => {
  const examples = readdirSync('sessions').filter((f) => f.endsWith('.yaml'));

  it('has the seven examples, each valid, each with expectations', () => {
    expect(examples.sort()).toEqual(
      ['calm-market.yaml', 'crash-and-restart.yaml', 'crash-twice.yaml', 'exchange-outage.yaml', 'flash-crash.yaml', 'reconnect-storm.yaml', 'settlement.yaml'].sort(),
    );
    for (const file of examples) {
      const { scenario } = parseScenario(readFileSync(join('sessions', file), 'utf8'), file);
      expect(Object.keys(scenario.expect).length, file).toBeGreaterThan(2);
    }
  });

  it('docs/scenario.schema.json is generated from the zod schema (regenerate: kalshiflow session schema)', () => {
    const documented = JSON.parse(readFileSync('docs/scenario.schema.json', 'utf8'));
    expect(documented).toEqual(JSON.parse(JSON.stringify(scenarioJsonSchema())));
  });
});
