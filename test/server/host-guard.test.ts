/**
 * Browsers cannot reach the operator API through a rebound DNS name or from another site: real
 * HTTP requests and WebSocket upgrades on loopback with hostile Host and Origin headers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHostAndOrigin, hostAllowList } from '../../src/adapters/http/host-guard.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/server/http-server.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { FakeSystemView } from './fake-view.ts';
import { RecordingClient } from './ws-client.ts';

let server: RunningHttpServer;
let dir: string;
let view: FakeSystemView;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kf-host-guard-'));
  const clock = new VirtualClock(Date.UTC(2026, 0, 5, 14));
  view = new FakeSystemView(clock);
  view.bootToReady((ms) => clock.advance(ms));
  server = await startHttpServer(view, { port: 0, clock, buildWeb: false, webRoot: dir, statechartsDir: dir, log: () => {}, allowedHosts: ['trader.lan'] });
});

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const at = (path: string) => `${server.url}${path}`;

describe('HTTP', () => {
  it('refuses a Host name that is not on the allow-list (a rebound DNS name)', async () => {
    for (const host of [`evil.example:${server.port}`, 'evil.example', `127.0.0.1.evil.example:${server.port}`, `localhost.evil:${server.port}`]) {
      const reply = await rawRequest(at('/v3/status'), { headers: { Host: host } });
      expect(reply.status, host).toBe(403);
      expect(JSON.parse(reply.text)).toMatchObject({ error: 'forbidden' });
      expect(reply.text).not.toContain('positions');
    }
    // even the dashboard shell and health are not served to a rebound name
    expect((await rawRequest(at('/v3/health'), { headers: { Host: `evil.example:${server.port}` } })).status).toBe(403);
    expect((await rawRequest(at('/'), { headers: { Host: `evil.example:${server.port}` } })).status).toBe(403);
  });

  it('answers loopback names, the bound host and the configured extra names', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `LOCALHOST:${server.port}`, `[::1]:${server.port}`, `trader.lan:${server.port}`]) {
      expect((await rawRequest(at('/v3/status'), { headers: { Host: host } })).status, host).toBe(200);
    }
  });

  it('refuses a request whose Origin is another site, accepts its own origin', async () => {
    const host = `127.0.0.1:${server.port}`;
    expect((await rawRequest(at('/v3/status'), { headers: { Host: host, Origin: 'http://evil.example' } })).status).toBe(403);
    // a page on another local port is another origin too
    expect((await rawRequest(at('/v3/status'), { headers: { Host: host, Origin: 'http://127.0.0.1:1' } })).status).toBe(403);
    expect((await rawRequest(at('/v3/status'), { headers: { Host: host, Origin: 'null' } })).status).toBe(403);
    expect((await rawRequest(at('/v3/status'), { headers: { Host: host, Origin: `http://${host}` } })).status).toBe(200);
  });
});

describe('response headers', () => {
  it('keep other sites from embedding or caching any answer, refusals included', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `evil.example:${server.port}`]) {
      const reply = await rawRequest(at('/v3/status'), { headers: { Host: host } });
      expect(reply.headers, host).toMatchObject({
        'cross-origin-resource-policy': 'same-origin',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      });
    }
  });
});

describe('WebSocket upgrade', () => {
  const wsUrl = () => `${server.url.replace(/^http/, 'ws')}/v3/ws`;

  it('refuses a rebound Host even when the Origin matches it', async () => {
    const evil = `evil.example:${server.port}`;
    await expect(RecordingClient.connect(wsUrl(), { Host: evil, Origin: `http://${evil}` })).rejects.toThrow(/403/);
    await expect(RecordingClient.connect(wsUrl(), { Host: evil })).rejects.toThrow(/403/);
  });

  it('refuses a foreign Origin and accepts the dashboard’s own', async () => {
    await expect(RecordingClient.connect(wsUrl(), { Origin: 'http://evil.example' })).rejects.toThrow(/403/);
    const client = await RecordingClient.connect(wsUrl(), { Origin: server.url });
    try {
      await client.waitFor('connection');
    } finally {
      client.close();
    }
  });
});

describe('the allow-list rule', () => {
  it('a wildcard bind answers IP literals and the machine name, never other names', () => {
    const any = hostAllowList('0.0.0.0');
    expect(checkHostAndOrigin('192.168.1.20:8005', undefined, any)).toBeNull();
    expect(checkHostAndOrigin('[fe80::1]:8005', undefined, any)).toBeNull();
    expect(checkHostAndOrigin('evil.example:8005', undefined, any)).toBe('host');
    const lan = hostAllowList('192.168.1.20');
    expect(checkHostAndOrigin('192.168.1.20:8005', 'http://192.168.1.20:8005', lan)).toBeNull();
    expect(checkHostAndOrigin('10.0.0.1:8005', undefined, lan)).toBe('host');
    expect(checkHostAndOrigin(undefined, undefined, lan)).toBe('host');
    expect(checkHostAndOrigin('localhost:8005', 'file://', lan)).toBe('origin');
    expect(checkHostAndOrigin('a b', undefined, lan)).toBe('host');
  });
});
