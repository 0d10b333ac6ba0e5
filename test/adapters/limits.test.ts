/**
 * The Kalshi adapters' input bounds, over real loopback sockets: a REST body beyond the byte cap
 * is refused unread, a WebSocket frame beyond 1 MiB closes the connection (1009) and the client
 * reconnects, and tickers outside the charset or length never reach a URL or a frame.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiValidationError } from '../../src/adapters/kalshi/errors.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { KalshiWsClient, MAX_FRAME_BYTES, type WsClientEvent } from '../../src/adapters/kalshi/ws.ts';
import { VirtualClock } from '../../src/core/clock.ts';

let server: Server;
let wss: WebSocketServer;
let base = '';
const requests: string[] = [];
const sockets: ServerSocket[] = [];

const market = (ticker: string, title = 'x') => ({
  ticker,
  event_ticker: 'KXE',
  title,
  status: 'active',
  close_time: '2026-12-01T15:00:00Z',
  yes_bid_dollars: '0.4200',
  yes_ask_dollars: '0.4400',
  last_price_dollars: '0.4300',
  volume_fp: '10.00',
  volume_24h_fp: '1.00',
  open_interest_fp: '5.00',
  price_level_structure: 'linear_cent',
  price_ranges: [{ start: '0.0000', end: '1.0000', step: '0.0100' }],
});

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const big = (req.url ?? '').includes('KXBIG');
    // a body far beyond the cap: the client must stop reading, not buffer it
    const body = JSON.stringify({ market: market(big ? 'KXBIG' : 'KXSMALL', big ? 'y'.repeat(3 * 1024 * 1024) : 'x') });
    res.writeHead(200, { 'Content-Type': 'application/json', ...(big && req.url?.includes('CHUNKED') ? {} : { 'Content-Length': Buffer.byteLength(body) }) });
    res.end(body);
  });
  wss = new WebSocketServer({ server, maxPayload: 8 * MAX_FRAME_BYTES });
  wss.on('connection', (ws) => sockets.push(ws));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function rest(maxResponseBytes?: number): KalshiRestClient {
  return new KalshiRestClient({
    endpoints: endpointsFor('sim', { restBaseUrl: `${base}/trade-api/v2`, wsUrl: `${base.replace('http', 'ws')}/trade-api/ws/v2` }),
    timeoutMs: 5_000,
    retry: { attempts: 1, backoff: { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 } },
    ...(maxResponseBytes !== undefined ? { maxResponseBytes } : {}),
  });
}

describe('REST response bodies', () => {
  it('are refused beyond the byte cap, declared or streamed', async () => {
    const client = rest(1024 * 1024);
    await expect(client.getMarket('KXBIG')).rejects.toBeInstanceOf(KalshiValidationError);
    await expect(client.getMarket('KXBIG')).rejects.toThrow(/response body exceeds 1048576 bytes/);
    // no Content-Length: cut while streaming
    await expect(client.getMarket('KXBIG-CHUNKED')).rejects.toThrow(/exceeds 1048576 bytes/);
    expect((await client.getMarket('KXSMALL')).ticker).toBe('KXSMALL');
  });
});

describe('tickers at the adapter', () => {
  it('REST refuses a ticker outside the charset or length before any request', async () => {
    const client = rest();
    const before = requests.length;
    for (const bad of ['../portfolio/orders', 'kxlower', 'KX A', 'KX/B', 'K'.repeat(101), '']) {
      await expect(client.getMarket(bad), bad).rejects.toThrow(RangeError);
      await expect(client.getOrderbook(bad), bad).rejects.toThrow(RangeError);
    }
    await expect(client.getMarkets({ tickers: ['KXOK', 'KX?x=1'] })).rejects.toThrow(/not a market ticker/);
    expect(requests.length).toBe(before);
  });

  it('the WebSocket client refuses them in subscribe and update commands', async () => {
    const client = new KalshiWsClient({ url: `${base.replace('http', 'ws')}/trade-api/ws/v2`, clock: new VirtualClock(0) });
    await expect(client.subscribe(['orderbook_delta'], ['KXOK', 'bad ticker'])).rejects.toThrow(/not a market ticker/);
    expect(() => client.requestSnapshot(1, ['KX"]}'])).toThrow(RangeError);
    await client.stop();
  });
});

describe('WebSocket frames', () => {
  it('a frame beyond 1 MiB closes the connection (1009, message too big) and the client reconnects', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const client = new KalshiWsClient({ url: `${base.replace('http', 'ws')}/trade-api/ws/v2`, clock, random: () => 0.5, backoff: { initialMs: 100, maxMs: 100, factor: 1, jitter: 0 } });
    const events: WsClientEvent[] = [];
    client.onEvent((e) => events.push(e));
    const waitFor = async (what: string, check: () => boolean) => {
      const deadline = Date.now() + 5_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    try {
      const connected = sockets.length;
      client.start();
      await waitFor('connected', () => events.some((e) => e.type === 'connected') && sockets.length > connected);
      const frame = JSON.stringify({ type: 'ticker', sid: 1, msg: { market_ticker: 'KXOK', pad: 'z'.repeat(MAX_FRAME_BYTES + 1) } });
      const serverCloses: number[] = [];
      sockets[sockets.length - 1].on('close', (code) => serverCloses.push(code));
      sockets[sockets.length - 1].send(frame);
      await waitFor('disconnected', () => events.some((e) => e.type === 'disconnected'));
      expect(events.find((e) => e.type === 'disconnected')).toMatchObject({ willReconnect: true });
      await waitFor('the server to see 1009 (message too big)', () => serverCloses.includes(1009));
      clock.advance(100);
      await waitFor('reconnected', () => events.filter((e) => e.type === 'connected').length === 2);
    } finally {
      await client.stop();
    }
  });
});
