import { afterEach, describe, expect, it } from 'vitest';
import { assign, createActor, createMachine, setup } from 'xstate';
import { BindRefusedError } from '../../src/server/auth.ts';
import { createInspectorBridge, type InspectorBridge } from '../../src/server/inspector.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { RecordingClient } from './ws-client.ts';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----';

const orderMachine = setup({
  types: {
    context: {} as { ticker: string; filled: number; privateKey: string; book: { yes: number[][] }; history: number[]; credentials: { keyId: string } },
    events: {} as { type: 'ACCEPT' } | { type: 'FILL'; count: number; book: { yes: number[][] } },
  },
}).createMachine({
  id: 'order',
  initial: 'submitted',
  context: {
    ticker: 'KXTEST-A',
    filled: 0,
    privateKey: PEM,
    book: { yes: [[5500, 100]] },
    history: Array.from({ length: 500 }, (_, i) => i),
    credentials: { keyId: 'key-1' },
  },
  states: {
    submitted: { on: { ACCEPT: 'accepted' } },
    accepted: { on: { FILL: { target: 'filled', actions: assign({ filled: ({ event }) => event.count }) } } },
    orderbook: {},
    filled: { type: 'final' },
  },
});

let bridges: InspectorBridge[] = [];
let clients: RecordingClient[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(bridges.map((b) => b.close()));
  bridges = [];
  clients = [];
});

async function bridge(options: Parameters<typeof createInspectorBridge>[0] = {}): Promise<InspectorBridge> {
  const b = await createInspectorBridge(options);
  bridges.push(b);
  return b;
}

describe('createInspectorBridge', () => {
  it('streams actor registrations, events and snapshots to an inspector client over WebSocket', async () => {
    const b = await bridge();
    expect(b.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[\w-]{24}\/$/);
    const viewer = await RecordingClient.connect(b.wsUrl);
    clients.push(viewer);

    const actor = createActor(orderMachine, { inspect: b.inspect }).start();
    actor.send({ type: 'ACCEPT' });
    actor.send({ type: 'FILL', count: 300, book: { yes: [[5600, 1]] } });
    await viewer.waitUntil(
      () => viewer.messages.some((m) => m.type === '@xstate.snapshot' && (m as any).snapshot.value === 'filled'),
      'the filled snapshot',
    );

    const registration = viewer.messages.find((m) => m.type === '@xstate.actor') as any;
    expect(registration).toMatchObject({ name: 'order', sessionId: actor.sessionId });
    const definition = JSON.parse(registration.definition);
    expect(definition).toMatchObject({ id: 'order', context: { ticker: 'KXTEST-A', filled: 0 } });
    // a state named like a dropped context key stays in the chart
    expect(Object.keys(definition.states).sort()).toEqual(['accepted', 'filled', 'orderbook', 'submitted']);
    const fillEvent = viewer.messages.find((m) => m.type === '@xstate.event' && (m as any).event.type === 'FILL') as any;
    expect(fillEvent.event).toEqual({ type: 'FILL', count: 300 });
    const filled = viewer.messages.find((m) => m.type === '@xstate.snapshot' && (m as any).snapshot.value === 'filled') as any;
    expect(filled.snapshot.context.filled).toBe(300);
    expect(filled.snapshot.context.ticker).toBe('KXTEST-A');

    // sanitised: no secrets, no books, bounded arrays — in every message
    for (const text of viewer.raw) {
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain('MIIEvQ');
      expect(text).not.toContain('"book"');
      expect(text).not.toContain('credentials');
    }
    expect(filled.snapshot.context.history).toHaveLength(50);
    expect(filled.snapshot.context.history[49]).toBe('… 451 more items');
    actor.stop();
  });

  it('replays what happened to an inspector that connects later, and serves the bridge page', async () => {
    const b = await bridge();
    const actor = createActor(createMachine({ id: 'late', initial: 'a', states: { a: { on: { GO: 'b' } }, b: {} } }), { inspect: b.inspect }).start();
    actor.send({ type: 'GO' });
    const early = await RecordingClient.connect(b.wsUrl);
    clients.push(early);
    await early.waitUntil(() => early.messages.some((m) => m.type === '@xstate.snapshot' && (m as any).snapshot.value === 'b'), 'snapshot b');
    const late = await RecordingClient.connect(b.wsUrl);
    clients.push(late);
    await late.waitUntil(() => late.messages.some((m) => m.type === '@xstate.actor' && (m as any).name === 'late'), 'replayed registration');

    const page = await fetch(b.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(JSON.stringify(b.wsUrl));
    expect(html).toContain('https://stately.ai/inspect');
    actor.stop();
  });

  it('ignores events it is told to skip', async () => {
    const b = await bridge({ ignoreEvent: (type) => type === 'TICK' });
    const viewer = await RecordingClient.connect(b.wsUrl);
    clients.push(viewer);
    const actor = createActor(createMachine({ id: 'ticker', initial: 'a', states: { a: { on: { TICK: {}, GO: 'b' } }, b: {} } }), { inspect: b.inspect }).start();
    actor.send({ type: 'TICK' });
    actor.send({ type: 'GO' });
    await viewer.waitUntil(() => viewer.messages.some((m) => m.type === '@xstate.event' && (m as any).event.type === 'GO'), 'GO');
    expect(viewer.messages.some((m) => m.type === '@xstate.event' && (m as any).event.type === 'TICK')).toBe(false);
    actor.stop();
  });

  it('takes messages only from its own inspector: other clients cannot connect or inject', async () => {
    const b = await bridge();
    const origin = new URL(b.url).origin.replace(/^http/, 'ws');
    // the relay's root, a guessed path, the page's path: no WebSocket there
    for (const url of [origin, `${origin}/`, `${origin}/source`, `${b.wsUrl.replace(/\/[\w-]{24}\//, '/AAAAAAAAAAAAAAAAAAAAAAAA/')}`]) {
      await expect(RecordingClient.connect(url), url).rejects.toThrow(/404/);
    }
    // a viewer is only a viewer: what it sends reaches nobody
    const forger = await RecordingClient.connect(b.wsUrl);
    const viewer = await RecordingClient.connect(b.wsUrl);
    clients.push(forger, viewer);
    forger.ws.send(JSON.stringify({ type: '@xstate.event', sessionId: 'x', event: { type: 'FORGED' } }));
    const actor = createActor(createMachine({ id: 'real', initial: 'a', states: { a: { on: { GO: 'b' } }, b: {} } }), { inspect: b.inspect }).start();
    actor.send({ type: 'GO' });
    await viewer.waitUntil(() => viewer.messages.some((m) => m.type === '@xstate.event' && (m as any).event.type === 'GO'), 'GO');
    expect(viewer.raw.some((t) => t.includes('FORGED'))).toBe(false);
    actor.stop();
  });

  it('refuses viewers from another origin and pages under a rebound Host name', async () => {
    const b = await bridge();
    const { port, origin } = new URL(b.url);
    await expect(RecordingClient.connect(b.wsUrl, { Origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(RecordingClient.connect(b.wsUrl, { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` })).rejects.toThrow(/403/);
    const own = await RecordingClient.connect(b.wsUrl, { Origin: origin });
    clients.push(own);
    expect((await rawRequest(b.url, { headers: { Host: `evil.example:${port}` } })).status).toBe(403);
    expect((await rawRequest(`${origin}/`)).status).toBe(404);
    const page = await rawRequest(b.url);
    expect(page.status).toBe(200);
    // the page hands events to the inspector frame's origin, never to whoever is framed
    expect(page.text).not.toContain("'*'");
    expect(page.text).toContain('const UI_ORIGIN = "https://stately.ai"');
    expect(page.text).toMatch(/postMessage\(JSON\.parse\(text\), UI_ORIGIN\)/);
    expect(page.headers['content-security-policy']).toMatch(/frame-src https:\/\/stately\.ai/);
  });

  it('keeps at most replayBytes for late viewers, however large the messages', async () => {
    const b = await bridge({ replayBytes: 64 * 1024, maxStringLength: 20_000 });
    const big = createMachine({
      id: 'big',
      types: {} as { context: { blob: string; n: number } },
      context: { blob: 'x'.repeat(19_000), n: 0 },
      initial: 'a',
      states: { a: { on: { BUMP: { actions: assign({ n: ({ context }) => context.n + 1 }) } } } },
    });
    const actor = createActor(big, { inspect: b.inspect }).start();
    const first = await RecordingClient.connect(b.wsUrl);
    clients.push(first);
    for (let i = 0; i < 40; i++) actor.send({ type: 'BUMP' });
    await first.waitUntil(() => first.messages.some((m) => m.type === '@xstate.snapshot' && (m as any).snapshot.context.n === 40), 'the 40th snapshot');
    expect(first.raw.reduce((sum, t) => sum + Buffer.byteLength(t), 0)).toBeGreaterThan(500_000);
    const late = await RecordingClient.connect(b.wsUrl);
    clients.push(late);
    await late.waitUntil(() => late.messages.some((m) => m.type === '@xstate.snapshot' && (m as any).snapshot.context.n === 40), 'the newest snapshot, replayed');
    // the replay is written in one go, newest last: everything replayed is in by now
    const replayed = late.raw.reduce((sum, t) => sum + Buffer.byteLength(t), 0);
    expect(replayed).toBeLessThanOrEqual(64 * 1024);
    actor.stop();
  });

  it('only listens on loopback', async () => {
    await expect(createInspectorBridge({ host: '0.0.0.0' })).rejects.toBeInstanceOf(BindRefusedError);
  });
});
