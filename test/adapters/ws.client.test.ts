import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { VirtualClock } from '../../src/core/clock.ts';
import { createCredentials, generateKeyPair, verifyRequestSignature, WS_SIGN_PATH } from '../../src/adapters/kalshi/auth.ts';
import { KalshiWsClient, KalshiWsCommandError, type KalshiWsOptions, type WsClientEvent } from '../../src/adapters/kalshi/ws.ts';

const WAIT_MS = 5000;

/** Polls `check` until it returns a value (not undefined/false) or WAIT_MS passes. */
async function waitUntil<T>(check: () => T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

type Command = { id: number; cmd: string; params?: Record<string, unknown> };

/**
 * A loopback stand-in for Kalshi's WS endpoint: records upgrade headers and commands, can refuse
 * upgrades with 503 or leave them hanging, answers `subscribe` with `subscribed` (sids unique
 * across connections, as after a real reconnect) and lets the test push any frame.
 */
class FakeKalshi {
  readonly http: Server;
  readonly wss = new WebSocketServer({ noServer: true });
  readonly upgrades: IncomingHttpHeaders[] = [];
  readonly sockets: ServerSocket[] = [];
  readonly commands: Command[] = [];
  readonly closes: { code: number; reason: string }[] = [];
  readonly hung: Socket[] = [];
  refuse = 0;
  hang = false;
  nextSid = 1;
  /** Per-command override of the automatic reply. Return true when handled. */
  reply: ((cmd: Command, socket: ServerSocket) => boolean) | undefined;
  port = 0;

  constructor() {
    this.http = createServer((_req, res) => res.writeHead(404).end());
    this.http.on('upgrade', (req, socket: Socket, head) => {
      this.upgrades.push(req.headers);
      if (this.refuse > 0) {
        this.refuse -= 1;
        socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      if (this.hang) {
        this.hung.push(socket);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.push(ws);
        ws.on('close', (code, reason) => this.closes.push({ code, reason: reason.toString() }));
        ws.on('message', (data) => {
          const cmd = JSON.parse(String(data)) as Command;
          this.commands.push(cmd);
          if (this.reply?.(cmd, ws)) return;
          if (cmd.cmd === 'subscribe') {
            for (const channel of cmd.params?.channels as string[]) {
              ws.send(JSON.stringify({ id: cmd.id, type: 'subscribed', msg: { channel, sid: this.nextSid++ } }));
            }
          }
        });
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.port = (this.http.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}${WS_SIGN_PATH}`;
  }

  get socket(): ServerSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (!s) throw new Error('no connection yet');
    return s;
  }

  send(frame: object | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  commandsOf(cmd: string): Command[] {
    return this.commands.filter((c) => c.cmd === cmd);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    for (const s of this.hung) s.destroy();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

/** Collects a client's events and waits for specific ones. */
class Recorder {
  readonly events: WsClientEvent[] = [];
  constructor(client: KalshiWsClient) {
    client.onEvent((e) => this.events.push(e));
  }
  of<T extends WsClientEvent['type']>(type: T): Extract<WsClientEvent, { type: T }>[] {
    return this.events.filter((e) => e.type === type) as Extract<WsClientEvent, { type: T }>[];
  }
  /** Waits until there are at least `n` events of `type`; returns the n-th. */
  async nth<T extends WsClientEvent['type']>(type: T, n = 1): Promise<Extract<WsClientEvent, { type: T }>> {
    return waitUntil(() => this.of(type)[n - 1], `${n}× ${type}`);
  }
}

const servers: FakeKalshi[] = [];
const clients: KalshiWsClient[] = [];

async function setup(options: Partial<KalshiWsOptions> = {}) {
  const server = await new FakeKalshi().listen();
  servers.push(server);
  const clock = new VirtualClock(Date.UTC(2026, 10, 23));
  const client = new KalshiWsClient({
    url: server.url,
    clock,
    random: () => 0.5,
    backoff: { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 },
    ...options,
  });
  clients.push(client);
  const events = new Recorder(client);
  return { server, clock, client, events };
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.stop();
  for (const s of servers.splice(0)) await s.close();
});

const snapshot = (sid: number, seq: number, ticker: string, yes: [string, string][] = [['0.4000', '10.00']]) => ({
  type: 'orderbook_snapshot',
  sid,
  seq,
  msg: { market_ticker: ticker, yes_dollars_fp: yes, no_dollars_fp: [['0.5500', '5.00']] },
});
const delta = (sid: number, seq: number, ticker: string, price = '0.4100', d = '3.00') => ({
  type: 'orderbook_delta',
  sid,
  seq,
  msg: { market_ticker: ticker, market_id: 'm', price_dollars: price, delta_fp: d, side: 'yes', ts_ms: 1000 + seq },
});

describe('KalshiWsClient connection', () => {
  it('signs the upgrade with GET + /trade-api/ws/v2 at clock time, verifiable with the public key', async () => {
    const { publicKeyPem, privateKeyPem } = generateKeyPair();
    const credentials = createCredentials('key-123', createPrivateKey(privateKeyPem));
    const { server, client, events, clock } = await setup({ credentials });
    client.start();
    expect(await events.nth('connected')).toEqual({ type: 'connected', attempt: 1 });
    const headers = server.upgrades[0];
    expect(headers['kalshi-access-key']).toBe('key-123');
    expect(headers['kalshi-access-timestamp']).toBe(String(clock.now()));
    const ok = verifyRequestSignature(
      createPublicKey(publicKeyPem),
      'GET',
      WS_SIGN_PATH,
      String(headers['kalshi-access-timestamp']),
      String(headers['kalshi-access-signature']),
    );
    expect(ok).toBe(true);
    expect(client.isConnected()).toBe(true);
  });

  it('keeps retrying a 503 upgrade with growing backoff, reporting the status, then connects', async () => {
    const { server, client, events, clock } = await setup();
    server.refuse = 3;
    client.start();
    for (const [n, delay] of [[1, 100], [2, 200], [3, 400]] as const) {
      const failed = await events.nth('connect_failed', n);
      expect(failed).toMatchObject({ status: 503, nextAttemptMs: delay });
      expect(failed.error).toMatch(/503/);
      expect(client.isConnected()).toBe(false);
      clock.advance(delay);
    }
    expect(await events.nth('connected')).toEqual({ type: 'connected', attempt: 4 });
    expect(server.upgrades).toHaveLength(4);
    expect(client.stats.reconnects).toBe(3);
  });

  it('abandons an upgrade that never completes after connectTimeoutMs and retries', async () => {
    const { server, client, events, clock } = await setup({ connectTimeoutMs: 2000 });
    server.hang = true;
    client.start();
    await waitUntil(() => server.hung.length === 1, 'the upgrade to arrive');
    clock.advance(1999);
    expect(events.of('connect_failed')).toHaveLength(0);
    clock.advance(1);
    expect(await events.nth('connect_failed')).toMatchObject({ error: expect.stringMatching(/timeout/), nextAttemptMs: 100 });
    server.hang = false;
    clock.advance(100);
    expect(await events.nth('connected')).toMatchObject({ attempt: 2 });
  });

  it('reconnects after the server drops the connection and resubscribes everything under new sids', async () => {
    const { server, client, events, clock } = await setup();
    client.start();
    await events.nth('connected');
    const sids = await client.subscribe(['orderbook_delta', 'ticker'], ['A-1', 'B-1']);
    expect(sids).toEqual([1, 2]);
    expect(server.commandsOf('subscribe').map((c) => c.params)).toEqual([
      { channels: ['orderbook_delta'], market_tickers: ['A-1', 'B-1'], use_yes_price: false },
      { channels: ['ticker'], market_tickers: ['A-1', 'B-1'] },
    ]);
    client.addMarkets(1, ['C-1']);
    await waitUntil(() => server.commandsOf('update_subscription').length === 1, 'add_markets');

    server.socket.terminate();
    expect(await events.nth('disconnected')).toMatchObject({ willReconnect: true });
    expect(client.isConnected()).toBe(false);
    clock.advance(100);
    await events.nth('connected', 2);
    await events.nth('subscribed', 4);
    const resubscribed = events.of('subscribed').slice(2);
    expect(resubscribed).toEqual([
      { type: 'subscribed', channel: 'orderbook_delta', sid: 3, tickers: ['A-1', 'B-1', 'C-1'], previousSid: 1 },
      { type: 'subscribed', channel: 'ticker', sid: 4, tickers: ['A-1', 'B-1'], previousSid: 2 },
    ]);
    // remembered state, not the original request, is what gets re-sent
    expect(server.commandsOf('subscribe').slice(2)[0].params).toMatchObject({ market_tickers: ['A-1', 'B-1', 'C-1'] });
    // an old sid still addresses its subscription
    client.requestSnapshot(1, ['A-1']);
    const update = await waitUntil(() => server.commandsOf('update_subscription')[1], 'get_snapshot');
    expect(update.params).toEqual({ sids: [3], market_tickers: ['A-1'], action: 'get_snapshot' });
    expect(client.stats.connects).toBe(2);
  });

  it('treats silence as death: no frame or ping for heartbeatTimeoutMs → reconnect; pings count as activity', async () => {
    const { server, client, events, clock } = await setup({ heartbeatTimeoutMs: 30_000 });
    client.start();
    await events.nth('connected');
    clock.advance(20_000);
    server.socket.ping('heartbeat');
    await events.nth('heartbeat');
    clock.advance(29_999); // 49.999 s after connect, 29.999 s after the ping
    expect(client.isConnected()).toBe(true);
    expect(events.of('disconnected')).toHaveLength(0);
    clock.advance(1);
    expect(await events.nth('disconnected')).toMatchObject({ code: 4000, willReconnect: true });
    expect(events.of('disconnected')[0].reason).toMatch(/no message or ping for 30000 ms/);
    clock.advance(100);
    expect(await events.nth('connected', 2)).toEqual({ type: 'connected', attempt: 1 });
  });

  it('stop() closes cleanly (1000), leaves no timers and rejects unconfirmed subscribes', async () => {
    const { server, client, events, clock } = await setup();
    server.reply = (cmd) => cmd.cmd === 'subscribe'; // never confirm
    client.start();
    await events.nth('connected');
    const pending = client.subscribe(['fill']);
    await waitUntil(() => server.commandsOf('subscribe').length === 1, 'subscribe');
    const rejected = expect(pending).rejects.toThrow(/stopped/);
    await client.stop();
    await rejected;
    expect(client.isConnected()).toBe(false);
    expect(clock.pending).toBe(0);
    expect(events.of('disconnected')).toEqual([{ type: 'disconnected', code: 1000, reason: 'client stop', willReconnect: false }]);
    await waitUntil(() => server.closes[0], 'server-side close');
    expect(server.closes[0]).toEqual({ code: 1000, reason: 'client stop' });
  });

  it('stop() during backoff cancels the pending reconnect', async () => {
    const { server, client, events, clock } = await setup();
    server.refuse = 10;
    client.start();
    await events.nth('connect_failed');
    expect(clock.pending).toBe(1);
    await client.stop();
    expect(clock.pending).toBe(0);
    clock.advance(10_000);
    expect(server.upgrades).toHaveLength(1);
  });
});

describe('KalshiWsClient subscriptions and frames', () => {
  async function subscribed(tickers = ['A-1', 'B-1']) {
    const ctx = await setup();
    ctx.client.start();
    await ctx.events.nth('connected');
    const [sid] = await ctx.client.subscribe(['orderbook_delta'], tickers);
    return { ...ctx, sid };
  }

  it('subscribe → subscribed → snapshot → deltas in order, in integer units', async () => {
    const { server, events, sid } = await subscribed();
    expect(events.of('subscribed')).toEqual([{ type: 'subscribed', channel: 'orderbook_delta', sid, tickers: ['A-1', 'B-1'] }]);
    server.send(snapshot(sid, 1, 'A-1'));
    server.send(delta(sid, 2, 'A-1', '0.4100', '3.00'));
    server.send(delta(sid, 3, 'A-1', '0.4000', '-10.00'));
    await events.nth('delta', 2);
    expect(events.of('snapshot')).toEqual([
      { type: 'snapshot', sid, seq: 1, ticker: 'A-1', yes: [[4000, 1000]], no: [[5500, 500]] },
    ]);
    expect(events.of('delta')).toEqual([
      { type: 'delta', sid, seq: 2, ticker: 'A-1', side: 'yes', price: 4100, delta: 300, tsMs: 1002 },
      { type: 'delta', sid, seq: 3, ticker: 'A-1', side: 'yes', price: 4000, delta: -1000, tsMs: 1003 },
    ]);
  });

  it('a seq gap emits gap, requests fresh snapshots, withholds deltas until they arrive', async () => {
    const { server, client, events, sid } = await subscribed();
    server.send(snapshot(sid, 1, 'A-1'));
    server.send(snapshot(sid, 2, 'B-1'));
    server.send(delta(sid, 3, 'A-1'));
    server.send(delta(sid, 6, 'B-1')); // 4 and 5 lost
    server.send(delta(sid, 7, 'A-1')); // book still unknown: withheld
    const gap = await events.nth('gap');
    expect(gap).toEqual({ type: 'gap', sid, channel: 'orderbook_delta', expected: 4, received: 6, tickers: ['A-1', 'B-1'], reason: 'seq_gap' });
    const request = await waitUntil(() => server.commandsOf('update_subscription')[0], 'get_snapshot');
    expect(request.params).toEqual({ sids: [sid], market_tickers: ['A-1', 'B-1'], action: 'get_snapshot' });
    server.send(snapshot(sid, 8, 'A-1', [['0.4200', '1.00']]));
    server.send(snapshot(sid, 9, 'B-1'));
    server.send(delta(sid, 10, 'A-1', '0.4200', '2.00'));
    await events.nth('delta', 2);
    expect(events.of('delta').map((d) => d.seq)).toEqual([3, 10]);
    expect(events.of('snapshot').map((s) => [s.seq, s.ticker])).toEqual([[1, 'A-1'], [2, 'B-1'], [8, 'A-1'], [9, 'B-1']]);
    expect(events.of('gap')).toHaveLength(1);
    expect(client.stats.gaps).toBe(1);
    expect(client.stats.withheldDeltas).toBe(2);
  });

  it('accepts a re-based seq from a get_snapshot reply as the new base', async () => {
    const { server, events, sid } = await subscribed(['A-1']);
    server.send(snapshot(sid, 1, 'A-1'));
    server.send(delta(sid, 2, 'A-1'));
    server.send(delta(sid, 5, 'A-1'));
    await events.nth('gap');
    server.send(snapshot(sid, 1, 'A-1')); // a server that restarts numbering for the snapshot
    server.send(delta(sid, 2, 'A-1'));
    await events.nth('delta', 2);
    expect(events.of('delta').map((d) => d.seq)).toEqual([2, 2]);
    expect(events.of('gap')).toHaveLength(1);
  });

  it('ignores duplicate and old seqs', async () => {
    const { server, client, events, sid } = await subscribed(['A-1']);
    server.send(snapshot(sid, 1, 'A-1'));
    server.send(delta(sid, 2, 'A-1'));
    server.send(delta(sid, 2, 'A-1'));
    server.send(delta(sid, 1, 'A-1'));
    server.send(delta(sid, 3, 'A-1'));
    await events.nth('delta', 2);
    expect(events.of('delta').map((d) => d.seq)).toEqual([2, 3]);
    expect(client.stats.duplicateFrames).toBe(2);
    expect(events.of('gap')).toHaveLength(0);
  });

  it('a delta before its market snapshot is surfaced as gap, never applied, and a snapshot requested once', async () => {
    const { server, events, sid } = await subscribed();
    server.send(snapshot(sid, 1, 'A-1'));
    server.send(delta(sid, 2, 'B-1'));
    server.send(delta(sid, 3, 'B-1'));
    server.send(delta(sid, 4, 'A-1'));
    await events.nth('delta');
    expect(events.of('gap')).toEqual([
      { type: 'gap', sid, channel: 'orderbook_delta', expected: 2, received: 2, tickers: ['B-1'], reason: 'delta_before_snapshot' },
    ]);
    expect(events.of('delta').map((d) => [d.seq, d.ticker])).toEqual([[4, 'A-1']]);
    await waitUntil(() => server.commandsOf('update_subscription').length === 1, 'get_snapshot');
    expect(server.commandsOf('update_subscription')[0].params).toEqual({ sids: [sid], market_tickers: ['B-1'], action: 'get_snapshot' });
    server.send(snapshot(sid, 5, 'B-1'));
    server.send(delta(sid, 6, 'B-1'));
    await events.nth('delta', 2);
    expect(events.of('delta').map((d) => [d.seq, d.ticker])).toEqual([[4, 'A-1'], [6, 'B-1']]);
    expect(server.commandsOf('update_subscription')).toHaveLength(1);
  });

  it('counts malformed frames (bad JSON, schema violations) and keeps working', async () => {
    const { server, client, events, sid } = await subscribed(['A-1']);
    server.send('{"type":"orderbook_delta",');
    server.send({ type: 'orderbook_delta', sid, seq: 1, msg: { market_ticker: 'A-1', price_dollars: '2.00', delta_fp: '1.00', side: 'yes' } });
    server.send({ type: 'ticker', sid: 9, msg: { market_ticker: 'A-1', yes_bid_dollars: '0.4500', ts_ms: 7 } });
    const ticker = await events.nth('ticker');
    expect(ticker).toMatchObject({ sid: 9, msg: { ticker: 'A-1', yesBid: 4500, tsMs: 7 } });
    const malformed = events.of('malformed');
    expect(malformed.map((m) => m.count)).toEqual([1, 2]);
    expect(malformed[0].reason).toMatch(/invalid JSON/);
    expect(malformed[1].reason).toMatch(/price_dollars/);
    expect(client.stats.malformedFrames).toBe(2);
    expect(client.stats.framesReceived).toBe(4); // subscribed + 3
    expect(client.isConnected()).toBe(true);
  });

  it('passes private and public channel payloads through', async () => {
    const { server, events } = await subscribed();
    server.send({ type: 'trade', sid: 5, msg: { trade_id: 't', market_ticker: 'A-1', yes_price_dollars: '0.3000', count_fp: '2.00' } });
    server.send({
      type: 'fill',
      sid: 6,
      msg: { trade_id: 't', order_id: 'o', market_ticker: 'A-1', is_taker: false, yes_price_dollars: '0.3000', count_fp: '2.00', client_order_id: 'c' },
    });
    server.send({ type: 'market_lifecycle_v2', sid: 7, msg: { event_type: 'determined', market_ticker: 'A-1', result: 'no' } });
    await events.nth('market_lifecycle');
    expect(events.of('trade')[0].msg).toMatchObject({ yesPrice: 3000, noPrice: 7000, count: 200 });
    expect(events.of('fill')[0].msg).toMatchObject({ orderId: 'o', clientOrderId: 'c', isTaker: false });
    expect(events.of('market_lifecycle')[0].msg).toMatchObject({ eventType: 'determined', result: 'no' });
  });

  it('a refused subscribe rejects with the Kalshi error and rolls back its sibling channels', async () => {
    const { server, client, events } = await setup();
    server.reply = (cmd, ws) => {
      if (cmd.cmd !== 'subscribe' || (cmd.params?.channels as string[])[0] !== 'ticker') return false;
      ws.send(JSON.stringify({ id: cmd.id, type: 'error', msg: { code: 16, msg: 'Market not found', market_ticker: 'NOPE-1' } }));
      return true;
    };
    client.start();
    await events.nth('connected');
    const attempt = client.subscribe(['orderbook_delta', 'ticker'], ['NOPE-1']);
    await expect(attempt).rejects.toBeInstanceOf(KalshiWsCommandError);
    await expect(attempt).rejects.toMatchObject({ code: 16 });
    expect(events.of('server_error')[0]).toMatchObject({ code: 16, message: 'Market not found' });
    const unsub = await waitUntil(() => server.commandsOf('unsubscribe')[0], 'rollback unsubscribe');
    expect(unsub.params).toEqual({ sids: [1] });
    expect(() => client.requestSnapshot(1, ['NOPE-1'])).toThrow(/unknown/);
  });

  it('subscriptions made while disconnected are sent once connected; a listener error does not break the client', async () => {
    const { server, client, events } = await setup();
    client.onEvent((e) => {
      if (e.type === 'subscribed') throw new Error('consumer bug');
    });
    const sids = client.subscribe(['ticker']);
    client.start();
    expect(await sids).toEqual([1]);
    server.send({ type: 'ticker', sid: 1, msg: { market_ticker: 'A-1' } });
    await events.nth('ticker');
    expect(client.stats.listenerErrors).toBe(1);
    expect(client.stats.lastListenerError).toBe('consumer bug');
  });

  it('unsubscribe forgets the subscription: not re-sent after reconnect', async () => {
    const { server, client, events, clock, sid } = await subscribed(['A-1']);
    const [tickerSid] = await client.subscribe(['ticker']);
    client.unsubscribe([sid]);
    const unsub = await waitUntil(() => server.commandsOf('unsubscribe')[0], 'unsubscribe');
    expect(unsub.params).toEqual({ sids: [sid] });
    server.socket.terminate();
    await events.nth('disconnected');
    clock.advance(100);
    await events.nth('subscribed', 3);
    expect(server.commandsOf('subscribe').slice(2).map((c) => c.params?.channels)).toEqual([['ticker']]);
    expect(events.of('subscribed')[2]).toMatchObject({ channel: 'ticker', previousSid: tickerSid });
  });

  it('markets added while a resubscribe is in flight are sent once the new sid is known', async () => {
    const { server, client, events, clock, sid } = await subscribed(['A-1']);
    let held: (() => void) | undefined;
    server.reply = (cmd, ws) => {
      if (cmd.cmd !== 'subscribe') return false;
      held = () => ws.send(JSON.stringify({ id: cmd.id, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: 7 } }));
      return true;
    };
    server.socket.terminate();
    await events.nth('disconnected');
    clock.advance(100);
    await waitUntil(() => held, 'the resubscribe');
    client.addMarkets(sid, ['B-1']);
    expect(server.commandsOf('update_subscription')).toHaveLength(0);
    held?.();
    const update = await waitUntil(() => server.commandsOf('update_subscription')[0], 'add_markets');
    expect(update.params).toEqual({ sids: [7], market_tickers: ['B-1'], action: 'add_markets' });
    expect(server.commandsOf('subscribe')[1].params).toMatchObject({ market_tickers: ['A-1'] });
  });
});
