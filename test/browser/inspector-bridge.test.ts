/**
 * The --inspect bridge page in a real browser (headless Debian chromium): it hands the relay's
 * messages to the inspector frame's own origin only, keeps at most `maxBufferedBytes` while the
 * inspector UI has not said it is ready, and its frame cannot be pointed at another origin. A loopback page stands in for https://stately.ai/inspect (no network).
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, createActor, createMachine } from 'xstate';
import { createInspectorBridge, type InspectorBridge } from '../../src/server/inspector.ts';

// the bridge page's own globals (its CSP forbids string evaluation there, so tests pass functions)
declare const buffer: string[];
declare const buffered: number;

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

/** A page that records every message it receives, with the sender's origin. */
const RECORDER_PAGE = `<!DOCTYPE html><html><body><script>
window.received = [];
window.addEventListener('message', (e) => window.received.push({ origin: e.origin, size: JSON.stringify(e.data).length, data: e.data }));
window.announce = () => parent.postMessage({ type: '@statelyai.connected' }, '*');
</script></body></html>`;

async function recorderServer(): Promise<{ server: Server; port: number; requests: () => number }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'Content-Type': 'text/html' }).end(RECORDER_PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, requests: () => requests };
}

const big = createMachine({
  id: 'big',
  types: {} as { context: { blob: string; n: number } },
  context: { blob: 'x'.repeat(9_000), n: 0 },
  initial: 'a',
  states: { a: { on: { BUMP: { actions: assign({ n: ({ context }) => context.n + 1 }) } } } },
});

describe.skipIf(!hasChromium)('inspector bridge page in headless chromium', () => {
  let ui: Awaited<ReturnType<typeof recorderServer>>;
  let evil: Awaited<ReturnType<typeof recorderServer>>;
  let bridge: InspectorBridge;
  let browser: Browser;
  let page: Page;
  const MAX = 64 * 1024;

  beforeAll(async () => {
    ui = await recorderServer();
    evil = await recorderServer();
    // `localhost` and `127.0.0.1` are different origins: the stand-in UI is cross-origin, as stately.ai is
    bridge = await createInspectorBridge({ inspectorUiUrl: `http://localhost:${ui.port}/inspect`, maxBufferedBytes: MAX, maxStringLength: 10_000 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    page = await browser.newPage();
    page.setDefaultTimeout(10_000);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
    for (const s of [ui?.server, evil?.server]) s?.closeAllConnections();
    await Promise.all([ui, evil].map((s) => s && new Promise<void>((r) => s.server.close(() => r()))));
  });

  const frameAt = (port: number): Frame | undefined => page.frames().find((f) => f.url().includes(`:${port}/`));

  it('buffers at most maxBufferedBytes before the UI is ready, then posts to the UI origin only', async () => {
    await page.goto(bridge.url);
    const actor = createActor(big, { inspect: bridge.inspect }).start();
    for (let i = 0; i < 40; i++) actor.send({ type: 'BUMP' });
    // ≈ 40 × 9 KB arrive over the socket while the UI has not announced itself
    await page.waitForFunction(() => buffer.length > 0 && buffer[buffer.length - 1].includes('"n":40'));
    expect(await page.evaluate(() => buffered)).toBeLessThanOrEqual(MAX);
    expect(await page.evaluate(() => buffer.length)).toBeLessThan(40);

    await expect.poll(() => frameAt(ui.port) !== undefined).toBe(true);
    const frame = frameAt(ui.port)!;
    await frame.waitForFunction('typeof window.announce === "function"');
    await frame.evaluate('announce()');
    await frame.waitForFunction('window.received.some((m) => m.data && m.data.snapshot && m.data.snapshot.context && m.data.snapshot.context.n === 40)');
    const received = (await frame.evaluate('window.received')) as Array<{ origin: string; size: number }>;
    const relayOrigin = new URL(bridge.url).origin;
    expect(received.every((m) => m.origin === relayOrigin)).toBe(true);
    expect(received.reduce((sum, m) => sum + m.size, 0)).toBeLessThanOrEqual(MAX);
    // once connected, live events flow straight through
    actor.send({ type: 'BUMP' });
    await frame.waitForFunction('window.received.some((m) => m.data && m.data.snapshot && m.data.snapshot.context && m.data.snapshot.context.n === 41)');
    actor.stop();
  });

  it('the inspector frame cannot be pointed at another origin', async () => {
    const navigated = page.waitForEvent('framenavigated', { predicate: (f) => f !== page.mainFrame() });
    await page.evaluate((url) => {
      (globalThis as unknown as { document: { getElementById(id: string): { src: string } } }).document.getElementById('inspector').src = url;
    }, `http://127.0.0.1:${evil.port}/evil`);
    const frame = await navigated;
    // the page's CSP (frame-src = the inspector UI's origin) blocks it before any request
    expect(frame.url()).not.toContain(`:${evil.port}/`);
    expect(evil.requests()).toBe(0);
  });
});
