/**
 * `kalshiflow start` with bad configuration (issue 3): the real command in a child process, with
 * a clean environment. Each mistake must end the process with a non-zero exit code and ONE line
 * on stderr that names the problem — no stack trace, no secret, nothing started.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../bin/kalshiflow.js');
const REPO = resolve(import.meta.dirname, '../..');
let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'kf-cli-'));
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `kalshiflow start …` with only the given variables (plus PATH/HOME), killed after 50 s (a first start creates the embedded database: seconds on a loaded machine). */
function runStart(env: Record<string, string>, args: string[] = []): Promise<Outcome> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'start', ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dataDir, KALSHIFLOW_DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** The one stderr line, after checking there is exactly one and the process failed. */
function oneErrorLine(outcome: Outcome): string {
  expect(outcome.signal, `killed: ${outcome.stderr}`).toBeNull();
  expect(outcome.code).not.toBe(0);
  const lines = outcome.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, outcome.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^kalshiflow start: /);
  expect(lines[0]).not.toMatch(/\bat .*\(.*:\d+:\d+\)/); // no stack frames
  return lines[0];
}

describe('kalshiflow start with invalid configuration', () => {
  it('an unknown strategy', async () => {
    const outcome = await runStart({ TRADER_STRATEGY: 'martingale' });
    const line = oneErrorLine(outcome);
    expect(line).toMatch(/strategy/);
    expect(line).toMatch(/martingale/);
    expect(line).toMatch(/spread-quoter/); // says what would work
    expect(outcome.code).toBe(2);
  }, 30_000);

  it('a missing private key file in paper mode', async () => {
    const outcome = await runStart({ ENVIRONMENT: 'paper', KALSHI_API_KEY_ID: 'x', KALSHI_PRIVATE_KEY_PATH: '/nonexistent/kalshi.pem' });
    const line = oneErrorLine(outcome);
    expect(line).toMatch(/KALSHI_PRIVATE_KEY_PATH/);
    expect(line).toMatch(/\/nonexistent\/kalshi\.pem/);
    expect(line).toMatch(/does not exist|not found|no such file/i);
    expect(outcome.code).toBe(2);
  }, 30_000);

  it('a port out of range', async () => {
    const outcome = await runStart({ V3_PORT: '99999' });
    const line = oneErrorLine(outcome);
    expect(line).toMatch(/V3_PORT/);
    expect(line).toMatch(/65535/);
    expect(line).toMatch(/99999/);
    expect(outcome.code).toBe(2);
  }, 30_000);

  it('bad risk limits, as flags or variables, name the flag or variable', async () => {
    const zero = oneErrorLine(await runStart({}, ['--max-open-orders', '0']));
    expect(zero).toMatch(/^kalshiflow start: --max-open-orders: must be at least 1 \(got "0"\)$/);
    const fraction = await runStart({}, ['--max-position', '2.5']);
    expect(oneErrorLine(fraction)).toMatch(/--max-position: must be a whole number of contracts \(got "2.5"\)/);
    expect(fraction.code).toBe(2);
    const notional = await runStart({ TRADER_MAX_NOTIONAL: '-5' });
    expect(oneErrorLine(notional)).toMatch(/TRADER_MAX_NOTIONAL: must not be negative/);
    expect(notional.code).toBe(2);
    const throttle = await runStart({}, ['--throttle-ms', 'soon']);
    expect(oneErrorLine(throttle)).toMatch(/--throttle-ms: must be a number/);
    expect(throttle.stdout).not.toMatch(/dashboard/);
  }, 60_000);

  it('config mode without markets', async () => {
    const outcome = await runStart({ RL_MODE: 'config' });
    const line = oneErrorLine(outcome);
    expect(line).toMatch(/RL_MARKET_TICKERS/);
    expect(line).toMatch(/RL_MODE=config/);
    expect(outcome.code).toBe(2);
  }, 30_000);

  it('an HTTP port already in use: everything started is closed again', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const outcome = await runStart({ V3_PORT: String(port), RL_ORDERBOOK_MARKET_LIMIT: '2' });
      const line = oneErrorLine(outcome);
      expect(line).toMatch(new RegExp(`${port}`));
      expect(line).toMatch(/in use|EADDRINUSE/i);
      expect(outcome.stdout).not.toMatch(/dashboard/);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  }, 60_000);

  // Issue 10 §1: where orders may go is decided from the resolved host, not the environment's name.
  it('paper pointed at Kalshi production through the URL overrides is refused before anything starts', async () => {
    const outcome = await runStart({
      ENVIRONMENT: 'paper',
      KALSHI_API_KEY_ID: 'x',
      KALSHI_PRIVATE_KEY_PATH: '/nonexistent/kalshi.pem',
      KALSHI_API_BASE_URL: 'https://external-api.kalshi.com/trade-api/v2',
      KALSHI_WS_URL: 'wss://external-api-ws.kalshi.com/trade-api/ws/v2',
    });
    const line = oneErrorLine(outcome);
    expect(line).toMatch(/KALSHI_API_BASE_URL/);
    expect(line).toMatch(/external-api\.kalshi\.com, Kalshi production \(read-only\)/);
    expect(outcome.stdout).not.toMatch(/dashboard/);
    expect(outcome.code).toBe(2);
  }, 30_000);

  it('sim pointed at a host that is neither loopback nor a named test exchange is refused', async () => {
    const outcome = await runStart({
      KALSHI_API_BASE_URL: 'https://api.elections.kalshi.com/trade-api/v2',
      KALSHI_WS_URL: 'wss://api.elections.kalshi.com/trade-api/ws/v2',
      KALSHIFLOW_TEST_EXCHANGE_HOSTS: 'api.elections.kalshi.com',
    });
    const line = oneErrorLine(outcome);
    expect(line).toMatch(/api\.elections\.kalshi\.com is a Kalshi host and cannot be named a test exchange/);
    expect(outcome.code).toBe(2);
    const unknown = await runStart({
      KALSHI_API_BASE_URL: 'http://exchange.example.org/trade-api/v2',
      KALSHI_WS_URL: 'ws://exchange.example.org/trade-api/ws/v2',
    });
    expect(oneErrorLine(unknown)).toMatch(/http is allowed on loopback only/);
  }, 40_000);

  it('an inline private key that is not a key never echoes it', async () => {
    const secret = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-not-really-a-key-0123456789abcdef';
    const outcome = await runStart({ ENVIRONMENT: 'paper', KALSHI_API_KEY_ID: 'x', KALSHI_PRIVATE_KEY: secret });
    const line = oneErrorLine(outcome);
    expect(line).toMatch(/KALSHI_PRIVATE_KEY/);
    expect(outcome.stderr + outcome.stdout).not.toContain(secret.slice(0, 20));
  }, 30_000);
});
