import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/server/http-server.ts';
import { redactSecrets, redactText } from '../../src/server/redact.ts';
import { FakeSystemView } from './fake-view.ts';
import { RecordingClient } from './ws-client.ts';

// fetch's Response.json() is typed `unknown`; these tests read known shapes
const json = (res: Response): Promise<any> => res.json() as Promise<any>;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PKCS1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
// any 40 characters of the key body would be a leak
const bodyLines = [PEM, PKCS1].flatMap((pem) => pem.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')));

function assertNoKeyMaterial(text: string, where: string): void {
  expect(text, where).not.toContain('PRIVATE KEY');
  for (const line of bodyLines) expect(text.includes(line), `${where} contains key material`).toBe(false);
}

let dir: string;
let server: RunningHttpServer;
let view: FakeSystemView;
let clock: VirtualClock;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kf-server-secrets-'));
  clock = new VirtualClock(Date.UTC(2026, 0, 5, 14, 0, 0));
  view = new FakeSystemView(clock);
  // a careless trading system puts the key everywhere a free-form value can go
  view.bootToReady((ms) => clock.advance(ms));
  view.transition('error', `could not sign with ${PEM}`, { privateKey: PEM, config: { kalshi: { private_key: PKCS1, keyId: 'abc' } } });
  view.components = [{ name: 'trading_client', healthy: false, detail: `bad key ${PKCS1}`, lastActivityMs: null }];
  view.errors = [{ atMs: clock.now(), message: `RSA failure: ${PEM}` }];
  view.syncSummary = { credentials: { privateKeyPem: PEM }, note: PKCS1 };
  view.machines = { coordinator: { value: 'error', context: { privateKey: PEM, settings: { secret: 'x', nested: [PKCS1] } } } };
  server = await startHttpServer(view, { port: 0, clock, buildWeb: false, webRoot: dir, statechartsDir: dir, log: () => {} });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('no response contains private-key material', () => {
  it('over HTTP', async () => {
    for (const path of ['/v3/health', '/v3/status', '/v3/status/log', '/v3/machines', '/v3/statecharts', '/v3/pnl', '/metrics', '/', '/nope']) {
      const res = await fetch(`${server.url}${path}`);
      assertNoKeyMaterial(await res.text(), path);
    }
    const status = await json(await fetch(`${server.url}/v3/status`));
    // the rest of the information survives the scrubbing
    expect(status.stateHistory[0].metadata.config.kalshi).toEqual({ private_key: '[redacted]', keyId: 'abc' });
    expect(status.errors[0].message).toBe('RSA failure: [redacted]\n');
  });

  it('over the WebSocket', async () => {
    const client = await RecordingClient.connect(`${server.url.replace(/^http/, 'ws')}/v3/ws`);
    try {
      view.emit({ type: 'system_activity', data: { activity_type: 'trading_error', message: `oops ${PEM}`, severity: 'error', metadata: { key: PEM, privateKey: 'x' } } });
      view.emit({ type: 'actor_snapshot', data: { actor: 'coordinator', state: { privateKey: PEM, text: PKCS1 } } });
      clock.advance(10_000);
      await client.waitFor('trader_status', 2);
      await client.barrier();
      expect(client.of('system_activity').length).toBeGreaterThan(0);
      for (const text of client.raw) assertNoKeyMaterial(text, text.slice(0, 40));
    } finally {
      client.close();
    }
  });
});

describe('redactSecrets', () => {
  it('redacts secret-named keys, PEM blocks, and bounds depth, arrays, strings and cycles', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const out = redactSecrets(
      {
        api_secret: 's',
        Authorization: 'Bearer x',
        list: [1, 2, 3, 4, 5],
        long: 'y'.repeat(100),
        deep: { a: { b: { c: { d: 1 } } } },
        cyclic,
        when: new Date(Date.UTC(2026, 0, 1)),
        map: new Map([['k', 1]]),
        fn: () => 1,
        big: 10n,
        nan: Number.NaN,
      },
      { maxArrayLength: 3, maxStringLength: 30, maxDepth: 3 },
    ) as Record<string, any>;
    expect(out.api_secret).toBe('[redacted]');
    expect(out.Authorization).toBe('[redacted]');
    expect(out.list).toEqual([1, 2, '… 3 more items']);
    expect(out.long).toHaveLength(30);
    expect(out.long.endsWith('… (100 characters)')).toBe(true);
    expect(out.deep).toEqual({ a: { b: '[depth limit]' } });
    expect(out.cyclic).toEqual({ name: 'loop', self: '[circular]' });
    expect(out.when).toBe('2026-01-01T00:00:00.000Z');
    expect(out.map).toEqual({ k: 1 });
    expect('fn' in out).toBe(false);
    expect(out.big).toBe('10');
    expect(out.nan).toBe('NaN');
    // a second pass changes nothing
    expect(redactSecrets(out, { maxArrayLength: 3, maxStringLength: 30, maxDepth: 3 })).toEqual(out);
  });

  it('matches secret names by substring, as headers and SDK fields spell them', () => {
    const out = redactSecrets({
      headers: { 'KALSHI-ACCESS-KEY': 'key-id-1', 'KALSHI-ACCESS-SIGNATURE': 'c2ln', 'KALSHI-ACCESS-TIMESTAMP': '1' },
      apiKey: 'k',
      accessToken: 't',
      db_password: 'p',
      ticker: 'KXTEST',
    }) as Record<string, any>;
    expect(out).toEqual({
      headers: { 'KALSHI-ACCESS-KEY': 'key-id-1', 'KALSHI-ACCESS-SIGNATURE': '[redacted]', 'KALSHI-ACCESS-TIMESTAMP': '1' },
      apiKey: '[redacted]',
      accessToken: '[redacted]',
      db_password: '[redacted]',
      ticker: 'KXTEST',
    });
    expect(redactText('pool error on postgres://kf:s3cret@db/kf')).toBe('pool error on postgres://kf:***@db/kf');
  });

  it('cuts a PEM block out of text, even an unterminated one', () => {
    expect(redactText(`a ${PEM} b`)).toBe('a [redacted]\n b');
    expect(redactText(`head ${PEM.slice(0, 200)}`)).toBe('head [redacted]');
    expect(redactText('-----BEGIN PUBLIC KEY-----\nabc')).toBe('-----BEGIN PUBLIC KEY-----\nabc');
  });
});
