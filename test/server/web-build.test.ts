import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/server/http-server.ts';
import { FakeSystemView } from './fake-view.ts';

describe('first start without a built dashboard', () => {
  let dir: string;
  let server: RunningHttpServer;
  const logged: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-web-build-'));
    server = await startHttpServer(new FakeSystemView(new VirtualClock()), { port: 0, webRoot: join(dir, 'dist'), log: (line) => logged.push(line) });
  }, 30_000);

  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds it, then serves the page and its local assets (no CDN)', async () => {
    expect(existsSync(join(dir, 'dist', 'index.html'))).toBe(true);
    expect(logged.some((l) => l.includes('built the dashboard'))).toBe(true);
    const page = await (await fetch(`${server.url}/`)).text();
    const assets = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(expect.arrayContaining(['/assets/app.js', '/assets/styles.css']));
    for (const asset of assets) {
      expect(asset.startsWith('/'), `${asset} is local`).toBe(true);
      expect((await fetch(`${server.url}${asset}`)).status, asset).toBe(200);
    }
    const bundle = await (await fetch(`${server.url}/assets/app.js`)).text();
    expect(bundle).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\//i);
  });
});
