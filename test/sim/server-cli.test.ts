/**
 * `kalshiflow sim`: flag errors are one line and exit 2; without --key a demo key pair is created
 * once under .kalshiflow/sim-keys/ and only its id and path are printed; the printed URLs serve
 * the simulator until the command is told to stop.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/adapters/kalshi/auth.ts';
import { parseSimFlags, runSimCommand, type SimCommandIo } from '../../src/cli/sim.command.ts';

interface Run {
  code: Promise<number>;
  out: string[];
  err: string[];
  /** Resolves once the command has printed its URLs (or finished). */
  ready: Promise<void>;
  stop: () => void;
}

function run(argv: string[], cwd: string): Run {
  const out: string[] = [];
  const err: string[] = [];
  let stop!: () => void;
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const io: SimCommandIo = {
    out: (line) => {
      out.push(line);
      if (line.startsWith('Press Ctrl-C')) markReady();
    },
    err: (line) => err.push(line),
    cwd,
    untilStopped: () => new Promise<void>((r) => (stop = r)),
  };
  const code = runSimCommand(argv, io);
  void code.finally(markReady);
  return { code, out, err, ready, stop: () => stop?.() };
}

describe('kalshiflow sim', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kalshiflow-sim-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses flags in both --flag value and --flag=value forms', () => {
    expect(parseSimFlags(['--port=0', '--markets', '3', '--seed', '-5', '--host', '127.0.0.1', '--no-activity'])).toMatchObject({
      port: 0,
      markets: 3,
      seed: -5,
      host: '127.0.0.1',
      activity: false,
    });
    expect(parseSimFlags([])).toMatchObject({ host: '127.0.0.1', port: 8100, markets: 10, activity: true, history: {} });
    expect(parseSimFlags(['--history-age', '30m', '--history-count=500']).history).toEqual({ maxAgeMs: 1_800_000, maxCount: 500 });
    expect(parseSimFlags(['--history-age', 'all', '--history-count', 'all']).history).toEqual({ maxAgeMs: Infinity, maxCount: Infinity });
  });

  it.each([
    [['--port', 'abc'], /--port must be an integer/],
    [['--port', '70000'], /--port must be between 0 and 65535/],
    [['--markets', '0'], /--markets must be between/],
    [['--bogus'], /unknown flag --bogus/],
    [['--markts', '3'], /unknown flag --markts \(did you mean --markets\?\)/],
    [['--seed'], /--seed: needs a value/],
    [['--key', 'no-equals-sign'], /KEY_ID=PUBLIC_KEY_PEM_PATH/],
    [['--history-age', 'soon'], /--history-age not a duration/],
    [['--history-count', '-1'], /--history-count must be between/],
    [['--key', 'k1=/definitely/not/here.pem'], /cannot read/],
  ])('bad flags %j → one line, exit 2', async (argv, message) => {
    const r = run(argv as string[], dir);
    expect(await r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^kalshiflow sim: /);
    expect(r.err[0]).toMatch(message);
  });

  it('refuses a private key given as --key, without printing it', async () => {
    const pair = generateKeyPair();
    const path = join(dir, 'private.pem');
    writeFileSync(path, pair.privateKeyPem);
    const r = run(['--key', `k1=${path}`, '--port', '0'], dir);
    expect(await r.code).toBe(2);
    expect(r.err[0]).toMatch(/private key/);
    expect(r.err.join('\n')).not.toContain('BEGIN');
  });

  it('--help prints usage and exits 0', async () => {
    const r = run(['--help'], dir);
    expect(await r.code).toBe(0);
    expect(r.out.join('\n')).toMatch(/usage: kalshiflow sim/);
  });

  it('creates a demo key once, prints its id and path (never the key), serves until stopped', async () => {
    const first = run(['--port', '0', '--markets', '2', '--no-activity'], dir);
    await first.ready;
    const text = first.out.join('\n');
    expect(text).not.toMatch(/BEGIN|PRIVATE KEY-----/);
    const keyId = /demo key id\s+(\S+)/.exec(text)?.[1];
    const keyPath = /demo private key\s+(\S+)/.exec(text)?.[1];
    const restUrl = /REST\s+(\S+)/.exec(text)?.[1];
    expect(keyId).toMatch(/^sim-demo-/);
    expect(keyPath).toBe(join('.kalshiflow', 'sim-keys', 'demo-private.pem'));
    expect(/WS\s+(ws:\/\/127\.0\.0\.1:\d+\/trade-api\/ws\/v2)/.test(text)).toBe(true);
    expect(statSync(join(dir, keyPath!)).mode & 0o777).toBe(0o600);
    const markets: any = await (await fetch(`${restUrl}/markets`)).json();
    expect(markets.markets).toHaveLength(2);
    first.stop();
    expect(await first.code).toBe(0);
    await expect(fetch(`${restUrl}/markets`)).rejects.toThrow();

    const second = run(['--port', '0', '--markets', '1', '--no-activity'], dir);
    await second.ready;
    expect(second.out.join('\n')).toContain(keyId!);
    second.stop();
    expect(await second.code).toBe(0);
  });

  it('uses the keys given with --key instead of a demo key', async () => {
    const pair = generateKeyPair();
    const path = join(dir, 'public.pem');
    writeFileSync(path, pair.publicKeyPem);
    const r = run(['--key', `my-key=${path}`, '--port=0', '--markets=1', '--no-activity'], dir);
    await r.ready;
    expect(r.out.join('\n')).toMatch(/keys\s+my-key/);
    expect(r.out.join('\n')).not.toMatch(/demo key/);
    r.stop();
    expect(await r.code).toBe(0);
  });

  it('reports a port in use as one line, exit 2', async () => {
    const a = run(['--port', '0', '--markets', '1', '--no-activity'], dir);
    await a.ready;
    const port = /REST\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(a.out.join('\n'))![1];
    const b = run(['--port', port, '--markets', '1', '--no-activity'], dir);
    expect(await b.code).toBe(2);
    expect(b.err[0]).toMatch(/already in use/);
    a.stop();
    expect(await a.code).toBe(0);
  });
});
