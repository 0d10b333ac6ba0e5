import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { VirtualClock } from '../../src/core/clock.ts';
import { BindRefusedError } from '../../src/server/auth.ts';
import { startHttpServer, type HttpServerOptions, type RunningHttpServer } from '../../src/server/http-server.ts';
import { FakeSystemView } from './fake-view.ts';
import { RecordingClient } from './ws-client.ts';

let clock: VirtualClock;
let view: FakeSystemView;
let running: RunningHttpServer[] = [];
let clients: RecordingClient[] = [];
let emptyDir: string;

beforeEach(async () => {
  clock = new VirtualClock(Date.UTC(2026, 0, 5, 14, 0, 0));
  view = new FakeSystemView(clock);
  emptyDir = await mkdtemp(join(tmpdir(), 'kf-server-ws-'));
});

afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(running.map((s) => s.close()));
  running = [];
  clients = [];
  await rm(emptyDir, { recursive: true, force: true });
});

async function start(opts: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const server = await startHttpServer(view, { port: 0, clock, buildWeb: false, webRoot: emptyDir, statechartsDir: emptyDir, log: () => {}, ...opts });
  running.push(server);
  return server;
}

async function connect(server: RunningHttpServer, query = '', headers: Record<string, string> = {}): Promise<RecordingClient> {
  const client = await RecordingClient.connect(`${server.url.replace(/^http/, 'ws')}/v3/ws${query}`, headers);
  clients.push(client);
  return client;
}

/** Lets queued socket I/O run (the greeting is written synchronously on attach). */
const settle = (client: RecordingClient) => client.barrier();

describe('connecting', () => {
  it('greets with connection, replays the transitions, then the current status and trading state', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    const server = await start();
    const client = await connect(server);
    await settle(client);
    const types = client.messages.map((m) => m.type);
    expect(types.slice(0, 5)).toEqual(['connection', 'history_replay', 'pnl_history', 'trader_status', 'trading_state']);
    const [connection, replay] = client.messages;
    expect(connection.data).toMatchObject({ client_id: expect.stringMatching(/^client_1_\d+$/), timestamp: '14:00:06', message: expect.any(String) });
    expect(connection.timestamp).toBe(clock.now());
    expect(replay.data.count).toBe(5);
    // oldest first, as a late joiner reads a console
    expect(replay.data.transitions.map((t: any) => t.to_state)).toEqual(['initializing', 'orderbook_connect', 'trading_client_connect', 'kalshi_data_sync', 'ready']);
    expect(replay.data.transitions[4]).toMatchObject({
      activity_type: 'state_transition',
      from_state: 'kalshi_data_sync',
      to_state: 'ready',
      state: 'ready',
      severity: 'success',
      line: '14:00:06 [kalshi_data_sync → ready] System fully operational with 2 markets and trading enabled (1.2s)',
    });
    expect(client.of('trader_status')[0].data).toMatchObject({ state: 'ready', metrics: { ws_clients: 1, markets_connected: 0 } });
    expect(client.of('trading_state')[0].data).toMatchObject({ version: 0, balance: '1000.0000' });
  });

  it('refuses other paths', async () => {
    const server = await start();
    await expect(RecordingClient.connect(`${server.url.replace(/^http/, 'ws')}/v3/other`)).rejects.toThrow(/404/);
  });

  it('refuses a browser page from another origin', async () => {
    const server = await start();
    await expect(connect(server, '', { Origin: 'http://evil.example' })).rejects.toThrow(/403/);
    const ok = await connect(server, '', { Origin: server.url });
    await ok.waitFor('connection');
  });

  it('answers pings with pongs', async () => {
    const server = await start();
    const client = await connect(server);
    client.ws.send(JSON.stringify({ type: 'ping' }));
    client.ws.send('not json');
    client.ws.send(JSON.stringify({ type: 'subscribe', subscriptions: ['markets'] }));
    const [pong] = await client.waitFor('pong');
    expect(pong).toEqual({ type: 'pong', timestamp: clock.now() });
  });
});

describe('live envelopes', () => {
  it('streams transitions and notable events as system_activity with severity and metadata', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    const server = await start();
    const client = await connect(server);
    await settle(client);
    clock.advance(2_500);
    view.transition('error', 'Component health check failed', { unhealthy_components: ['orderbook'] });
    view.emit({ type: 'system_activity', data: { activity_type: 'sync', message: 'Synced 2 positions', severity: 'info', metadata: { positions: 2 } } });
    const activities = await client.waitFor('system_activity', 2);
    expect(activities[0].data).toMatchObject({
      activity_type: 'state_transition',
      from_state: 'ready',
      to_state: 'error',
      severity: 'error',
      metadata: { unhealthy_components: ['orderbook'], durationMs: 2_500 },
      line: '14:00:08 [ready → error] Component health check failed (2.5s)',
    });
    expect(activities[1].data).toMatchObject({ activity_type: 'sync', state: 'error', severity: 'info', metadata: { positions: 2 }, line: '14:00:08 [error] Synced 2 positions' });
    // each transition once, even though the status tick also looks at the history
    clock.advance(10_000);
    await client.waitFor('trader_status', 2);
    expect(client.of('system_activity')).toHaveLength(2);
  });

  it('sends trader_status every status interval, on the injected clock', async () => {
    view.bootToReady((ms) => clock.advance(ms));
    const server = await start();
    const client = await connect(server);
    await settle(client);
    expect(client.of('trader_status')).toHaveLength(1); // on connect
    clock.advance(9_999);
    await client.barrier();
    expect(client.of('trader_status')).toHaveLength(1);
    clock.advance(1);
    await client.waitFor('trader_status', 2);
    clock.advance(10_000);
    const statuses = await client.waitFor('trader_status', 3);
    expect(statuses[2].data).toMatchObject({ state: 'ready', health: 'healthy', metrics: { ws_clients: 1, uptime: 26 } });
    expect(statuses[2].timestamp! - statuses[1].timestamp!).toBe(10_000);
  });

  it('sends trading_state on change with increasing versions, dropping stale ones', async () => {
    const server = await start({ feed: { coalesceIntervalMs: 0 } });
    const client = await connect(server);
    await settle(client);
    view.updateTrading({ balance: 999_000_000 });
    view.updateTrading({ balance: 998_000_000 });
    view.emit({ type: 'trading_state', data: { ...view.trading, version: 1, balance: 1 } }); // stale
    await client.barrier();
    const versions = client.of('trading_state').map((m) => m.data.version);
    expect(versions).toEqual([0, 1, 2]);
    expect(client.of('trading_state')[2].data.balance).toBe('998.0000');
  });

  it('coalesces trading_state bursts to the latest version', async () => {
    const server = await start();
    const client = await connect(server);
    await settle(client);
    for (let i = 0; i < 50; i++) view.updateTrading({ realizedPnl: i * 10_000 });
    await client.barrier();
    clock.advance(250);
    await client.barrier();
    const versions = client.of('trading_state').map((m) => m.data.version);
    expect(versions).toEqual([0, 1, 50]);
  });

  it('sends fills, order, position and actor updates', async () => {
    const server = await start({ feed: { coalesceIntervalMs: 0 } });
    const client = await connect(server);
    view.addOrder({ clientOrderId: 'c-9', state: 'accepted', price: 4200 });
    view.addFill({ fillId: 'f-9', clientOrderId: 'c-9', price: 4200, count: 300 });
    view.emit({ type: 'position_update', data: { ticker: 'KXTEST-A', position: 300, costBasis: 1_260_000, realizedPnl: 0, unrealizedPnl: 0, feesPaid: 0, markStale: false, markAtMs: null } });
    view.emit({ type: 'actor_snapshot', data: { actor: 'trader', state: { value: 'acting', context: { privateKey: 'nope' } } } });
    await client.barrier();
    expect(client.of('order_update')[0].data).toMatchObject({ clientOrderId: 'c-9', price: '0.4200', state: 'accepted' });
    expect(client.of('fill')[0].data).toMatchObject({ fillId: 'f-9', price: '0.4200', count: '3.00' });
    expect(client.of('position_update')[0].data).toMatchObject({ ticker: 'KXTEST-A', position: '3.00', costBasis: '1.2600' });
    expect(client.of('actor_snapshot')[0].data).toEqual({ actor: 'trader', state: { value: 'acting', context: { privateKey: '[redacted]' } } });
  });
});

describe('flow control', () => {
  it('coalesces a flood of market updates to ≤ 1 per ticker per interval, latest value last', async () => {
    const server = await start();
    const client = await connect(server);
    await settle(client);
    const tickers = ['KXA', 'KXB', 'KXC'];
    const perTicker = 5_000;
    let deltas = 0;
    // one virtual second, 15,000 updates, clock moving 1 ms every 15 updates
    for (let i = 0; i < perTicker; i++) {
      for (const ticker of tickers) view.setMarket({ ticker, deltas: ++deltas, bestYesBid: 1000 + (i % 8000) });
      if (i % 5 === 4) clock.advance(1);
    }
    clock.advance(250);
    await client.barrier();
    const updates = client.of('market_update');
    for (const ticker of tickers) {
      const mine = updates.filter((u) => u.data.ticker === ticker);
      // 1000 virtual ms at ≤ 4/s, plus the final flush
      expect(mine.length).toBeGreaterThanOrEqual(2);
      expect(mine.length).toBeLessThanOrEqual(6);
      expect(mine.at(-1)!.data.raw.bestYesBid).toBe(1000 + ((perTicker - 1) % 8000));
      for (let k = 1; k < mine.length; k++) expect(mine[k].timestamp! - mine[k - 1].timestamp!).toBeGreaterThanOrEqual(250);
    }
    expect(server.feed.stats().coalescedUpdates).toBeGreaterThan(14_900);
  });

  it('drops a client that stops reading, without holding up the others', async () => {
    const server = await start({ feed: { maxBufferedBytes: 64 * 1024 } });
    const fast = await connect(server);
    const slow = await connect(server);
    await settle(fast);
    await settle(slow);
    // the slow browser stops reading: the server's unsent bytes for it can only grow
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(19_000);
    const count = 400; // ≈ 40 MB, far beyond loopback socket buffers
    for (let i = 0; i < count; i++) {
      view.emit({ type: 'system_activity', data: { activity_type: 'bulk', message: `bulk ${i}`, severity: 'info', metadata: { a: big, b: big, c: big, d: big, e: big } } });
      // the fast client keeps up (the emit above returned without waiting for anyone)
      await fast.waitUntil(() => fast.of('system_activity').length === i + 1, `bulk ${i}`);
      if (server.feed.stats().droppedSlowClients === 1) break;
    }
    expect(server.feed.stats().droppedSlowClients).toBe(1);
    expect(server.feed.stats().clients).toBe(1);
    // the fast client still gets everything that follows
    view.emit({ type: 'system_activity', data: { activity_type: 'after', message: 'after the drop', severity: 'info' } });
    await fast.waitUntil(() => fast.of('system_activity').some((m) => m.data.activity_type === 'after'), 'message after the drop');
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await slow.waitUntil(() => slow.closed, 'slow client closed');
  });

  it('drops a client that floods pings but never reads the pongs', async () => {
    const server = await start({ feed: { maxBufferedBytes: 16 * 1024, pingIntervalMs: 3_600_000 } });
    const flooder = await connect(server);
    await settle(flooder);
    (flooder.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // each ping earns a ~45-byte pong; beyond the kernel's socket buffers they can only pile up
    const ping = JSON.stringify({ type: 'ping' });
    for (let sent = 0; sent < 600_000 && server.feed.stats().droppedSlowClients === 0; sent += 5_000) {
      for (let i = 0; i < 5_000; i++) flooder.ws.send(ping);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(server.feed.stats()).toMatchObject({ droppedSlowClients: 1, clients: 0 });
  }, 60_000);

  it('refuses connections beyond maxClients (503) until one leaves', async () => {
    const server = await start({ feed: { maxClients: 2 } });
    const a = await connect(server);
    const b = await connect(server);
    await settle(a);
    await settle(b);
    await expect(connect(server)).rejects.toThrow(/503/);
    b.close();
    await b.waitUntil(() => b.closed, 'b closed');
    // the server notices the close on its side before it makes room
    const deadline = Date.now() + 5_000;
    while (server.feed.stats().clients > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const c = await connect(server);
    await c.waitFor('connection');
    expect(server.feed.stats().clients).toBe(2);
  });

  it('pings clients and drops the ones that do not answer', async () => {
    const server = await start({ feed: { pingIntervalMs: 1_000 } });
    const live = await connect(server);
    const silent = await RecordingClient.connect(`${server.url.replace(/^http/, 'ws')}/v3/ws`, {}, { autoPong: false });
    clients.push(silent);
    await settle(live);
    await settle(silent);
    clock.advance(1_000);
    const [ping] = await live.waitFor('ping');
    expect(ping).toEqual({ type: 'ping', timestamp: clock.now() });
    // ws sends the pong before reporting the ping, so after the barrier the server has it
    await live.waitUntil(() => live.protocolPings === 1, 'protocol ping');
    await silent.waitUntil(() => silent.protocolPings === 1, 'protocol ping');
    await live.barrier();
    clock.advance(1_000);
    await live.waitFor('ping', 2);
    await silent.waitUntil(() => silent.closed, 'silent client dropped');
    expect(server.feed.stats()).toMatchObject({ clients: 1, droppedDeadClients: 1 });
  });

  it('stops listening to the view on close', async () => {
    const server = await start();
    expect(view.listenerCount).toBe(1);
    const client = await connect(server);
    await server.close();
    expect(view.listenerCount).toBe(0);
    await client.waitUntil(() => client.closed, 'close');
  });
});

describe('binding and auth', () => {
  const token = 'ws-token-0123456789abcdef';

  it('refuses to listen beyond loopback without a token', async () => {
    await expect(start({ host: '0.0.0.0' })).rejects.toBeInstanceOf(BindRefusedError);
    await expect(start({ host: '0.0.0.0', authToken: 'short' })).rejects.toThrow(/at least 16/);
  });

  it('with a token, guards the WebSocket (header or ?token=) and the data routes', async () => {
    const server = await start({ host: '0.0.0.0', authToken: token });
    await expect(connect(server)).rejects.toThrow(/401/);
    await expect(connect(server, '?token=wrong')).rejects.toThrow(/401/);
    const viaQuery = await connect(server, `?token=${token}`);
    await viaQuery.waitFor('connection');
    const viaHeader = await connect(server, '', { Authorization: `Bearer ${token}` });
    await viaHeader.waitFor('connection');
    expect((await fetch(`${server.url}/v3/status`)).status).toBe(401);
    expect((await fetch(`${server.url}/v3/status`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${server.url}/v3/health`)).status).toBe(503);
  });

  it('binds to 127.0.0.1 by default', async () => {
    const server = await start();
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('WebSocket handshake hygiene', () => {
  it('closes the connection of a client sending oversized frames', async () => {
    const server = await start();
    const client = await connect(server);
    await settle(client);
    client.ws.send('x'.repeat(100 * 1024));
    await client.waitUntil(() => client.closed, 'close');
    expect(client.closeCode).toBe(1009);
    expect(client.ws.readyState).toBe(WebSocket.CLOSED);
  });
});
