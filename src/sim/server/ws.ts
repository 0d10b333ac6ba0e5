/**
 * The simulator's Kalshi WebSocket v2 endpoint (`/trade-api/ws/v2`, kalshi-api.md §2.2 and §5):
 * signed upgrade, the subscribe / unsubscribe / update_subscription / list_subscriptions
 * commands with Kalshi's reply shapes and error codes, and the data channels fed by exchange
 * events — orderbook_delta (snapshot then deltas, one `seq` stream per sid), ticker, trade, fill,
 * market_positions, user_orders, market_lifecycle_v2, order_group_updates. Pings every 10 s of clock time.
 *
 * Uses `ws` in noServer mode on the simulator's node http server. Implements the connection-level
 * faults (drop, malformed frame) and honours the others (refused upgrades, latency, seq skip).
 * Part of src/sim/server.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { z } from 'zod';
import { WS_SIGN_PATH } from '../../core/request-signature.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { ExchangeApi, ExchangeEvent } from '../exchange.types.ts';
import type { SimFaults, WebSocketFaultTarget } from '../faults.ts';
import { signedHeadersFrom, type ApiKeyRegistry } from './keys.ts';
import type { TradingFigures } from './stats.ts';
import {
  deltaMsg,
  eventLifecycleMsg,
  fillMsg,
  lifecycleMsg,
  marketIdFor,
  marketPositionMsg,
  orderGroupUpdateMsg,
  snapshotMsg,
  tickerMsg,
  tradeMsg,
  userOrderMsg,
} from './wire.ts';

export const WS_PATH = WS_SIGN_PATH;

export const CHANNELS = [
  'orderbook_delta',
  'ticker',
  'trade',
  'fill',
  'market_positions',
  'user_orders',
  'market_lifecycle_v2',
  'order_group_updates',
] as const;
export type Channel = (typeof CHANNELS)[number];

/** Kalshi's WS error codes (kalshi-api.md §5.3). */
export const WS_ERROR = {
  unableToProcess: { code: 1, msg: 'Unable to process message' },
  paramsRequired: { code: 2, msg: 'Params required' },
  channelsRequired: { code: 3, msg: 'Channels required' },
  sidsRequired: { code: 4, msg: 'Subscription IDs required' },
  unknownCommand: { code: 5, msg: 'Unknown command' },
  alreadySubscribed: { code: 6, msg: 'Already subscribed' },
  unknownSid: { code: 7, msg: 'Unknown subscription ID' },
  unknownChannel: { code: 8, msg: 'Unknown channel name' },
  invalidParameter: { code: 11, msg: 'Invalid parameter' },
  exactlyOneSid: { code: 12, msg: 'Exactly one subscription ID is required' },
  unsupportedAction: { code: 13, msg: 'Unsupported action' },
  tickerRequired: { code: 14, msg: 'Market Ticker required' },
  actionRequired: { code: 15, msg: 'Action required' },
  marketNotFound: { code: 16, msg: 'Market not found' },
  internal: { code: 17, msg: 'Internal error' },
  bufferOverflow: { code: 25, msg: 'Subscription buffer overflow' },
} as const;
type WsError = (typeof WS_ERROR)[keyof typeof WS_ERROR];

/** Channels that carry only the connected user's own data. */
const PRIVATE_CHANNELS = new Set<Channel>(['fill', 'market_positions', 'user_orders', 'order_group_updates']);
/** Channels with no market filter: every subscriber gets every message of its kind. */
const UNSCOPED_CHANNELS = new Set<Channel>(['market_lifecycle_v2', 'order_group_updates']);

/** A frame that is deliberately not JSON, for the malformed-frame fault. */
export const MALFORMED_FRAME = '{"type":"orderbook_delta","sid":1,"seq":';

export interface SimWebSocketOptions {
  exchange: ExchangeApi;
  clock: Clock;
  keys: ApiKeyRegistry;
  faults: SimFaults;
  figures: TradingFigures;
  /** Kalshi pings every 10 s. */
  pingIntervalMs?: number;
  /** A connection whose unsent data exceeds this gets error 25 and is closed. */
  maxBufferedBytes?: number;
}

interface Subscription {
  sid: number;
  channel: Channel;
  /** null = every market (channels where the market filter is optional). */
  tickers: Set<string> | null;
  seq: number;
  useYesPrice: boolean;
  skipTickerAck: boolean;
}

interface Connection {
  ws: WebSocket;
  userId: string;
  subs: Map<number, Subscription>;
  nextSid: number;
  outbox: Array<{ dueMs: number; text: string }>;
  lastDueMs: number;
  flushTimer: TimerHandle | null;
}

const command = z.object({
  id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  cmd: z.string().max(64),
  params: z.record(z.string(), z.unknown()).optional(),
});

const tickerSpec = z.string().min(1).max(128);

export class SimWebSocketServer implements WebSocketFaultTarget {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, clientTracking: false });
  private readonly connections = new Set<Connection>();
  private readonly unsubscribeExchange: () => void;
  private pingTimer: TimerHandle | null = null;
  private closed = false;
  /** Exchange events that could not be rendered (a bug; counted rather than crashing the simulator). */
  forwardErrors = 0;
  private readonly pingIntervalMs: number;
  private readonly maxBufferedBytes: number;

  constructor(private readonly opts: SimWebSocketOptions) {
    this.pingIntervalMs = opts.pingIntervalMs ?? 10_000;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.unsubscribeExchange = opts.exchange.subscribe((event) => {
      // the exchange rethrows listener errors asynchronously, which would take the process down
      try {
        this.forward(event);
      } catch {
        this.forwardErrors++;
      }
    });
    opts.faults.attachWebSockets(this);
    this.schedulePing();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** The node http server's `upgrade` handler. */
  acceptUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.closed) return rejectUpgrade(socket, 503, 'service_unavailable', 'simulator is shutting down');
    const path = new URL(req.url ?? '/', 'http://sim.invalid').pathname;
    if (path !== WS_PATH) return rejectUpgrade(socket, 404, 'not_found', 'not found');
    if (this.opts.faults.isRefusingWebSocketUpgrades()) return rejectUpgrade(socket, 503, 'service_unavailable', 'service_unavailable');
    const auth = this.opts.keys.authenticate(signedHeadersFrom((name) => req.headers[name]), 'GET', WS_SIGN_PATH);
    if (!auth.ok) return rejectUpgrade(socket, 401, 'unauthorized', auth.message);
    const accept = () => {
      if (this.closed || socket.destroyed) return void socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.attach(ws, auth.userId));
    };
    const latency = this.opts.faults.latencyMs();
    if (latency > 0) this.opts.clock.setTimeout(accept, latency);
    else accept();
  }

  dropAll(): number {
    const n = this.connections.size;
    for (const conn of [...this.connections]) {
      this.detach(conn);
      conn.ws.terminate();
    }
    return n;
  }

  sendMalformedFrame(): number {
    for (const conn of this.connections) this.sendText(conn, MALFORMED_FRAME);
    return this.connections.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribeExchange();
    if (this.pingTimer !== null) this.opts.clock.clearTimeout(this.pingTimer);
    this.dropAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  // ---- connections ----

  private attach(ws: WebSocket, userId: string): void {
    const conn: Connection = { ws, userId, subs: new Map(), nextSid: 1, outbox: [], lastDueMs: 0, flushTimer: null };
    this.connections.add(conn);
    ws.on('message', (data, isBinary) => this.receive(conn, data, isBinary));
    ws.on('close', () => this.detach(conn));
    ws.on('error', () => this.detach(conn));
  }

  private detach(conn: Connection): void {
    this.connections.delete(conn);
    if (conn.flushTimer !== null) this.opts.clock.clearTimeout(conn.flushTimer);
    conn.flushTimer = null;
    conn.outbox = [];
  }

  private schedulePing(): void {
    this.pingTimer = this.opts.clock.setTimeout(() => {
      for (const conn of this.connections) {
        if (conn.ws.readyState === WebSocket.OPEN) conn.ws.ping('heartbeat');
      }
      if (!this.closed) this.schedulePing();
    }, this.pingIntervalMs);
  }

  // ---- sending (in order, delayed while a latency fault is active) ----

  /** Every server frame carries the time it was sent, `sending_ts_ms` (spec 3.31 AsyncAPI). */
  private send(conn: Connection, frame: object): void {
    this.sendText(conn, JSON.stringify({ ...frame, sending_ts_ms: this.opts.clock.now() }));
  }

  private sendText(conn: Connection, text: string): void {
    const latency = this.opts.faults.latencyMs();
    if (latency === 0 && conn.outbox.length === 0) return this.write(conn, text);
    // frames already queued keep their place: a frame never overtakes an earlier one
    const dueMs = Math.max(this.opts.clock.now() + latency, conn.lastDueMs);
    conn.lastDueMs = dueMs;
    conn.outbox.push({ dueMs, text });
    if (conn.flushTimer === null) this.scheduleFlush(conn);
  }

  private scheduleFlush(conn: Connection): void {
    const head = conn.outbox[0];
    if (!head) return;
    conn.flushTimer = this.opts.clock.setTimeout(() => {
      conn.flushTimer = null;
      const now = this.opts.clock.now();
      while (conn.outbox.length && conn.outbox[0].dueMs <= now) this.write(conn, conn.outbox.shift()!.text);
      this.scheduleFlush(conn);
    }, Math.max(0, head.dueMs - this.opts.clock.now()));
  }

  private write(conn: Connection, text: string): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    if (conn.ws.bufferedAmount > this.maxBufferedBytes) {
      conn.ws.send(JSON.stringify({ type: 'error', msg: WS_ERROR.bufferOverflow }));
      this.detach(conn);
      conn.ws.close(1008, 'Subscription buffer overflow');
      return;
    }
    conn.ws.send(text);
  }

  private sendError(conn: Connection, id: number | undefined, error: WsError, marketTicker?: string): void {
    this.send(conn, {
      ...(id ? { id } : {}),
      type: 'error',
      msg: { code: error.code, msg: error.msg, ...(marketTicker !== undefined ? { market_ticker: marketTicker } : {}) },
    });
  }

  // ---- commands ----

  private receive(conn: Connection, data: RawData, isBinary: boolean): void {
    if (isBinary) return this.sendError(conn, undefined, WS_ERROR.unableToProcess);
    let json: unknown;
    try {
      json = JSON.parse(data.toString());
    } catch {
      return this.sendError(conn, undefined, WS_ERROR.unableToProcess);
    }
    const parsed = command.safeParse(json);
    if (!parsed.success) {
      const id = typeof (json as { id?: unknown })?.id === 'number' ? ((json as { id: number }).id) : undefined;
      return this.sendError(conn, Number.isSafeInteger(id) ? id : undefined, WS_ERROR.unableToProcess);
    }
    const { id, cmd, params } = parsed.data;
    try {
      switch (cmd) {
        case 'subscribe':
          return this.subscribe(conn, id, params);
        case 'unsubscribe':
          return this.unsubscribe(conn, id, params);
        case 'update_subscription':
          return this.updateSubscription(conn, id, params);
        case 'list_subscriptions':
          return this.send(conn, {
            ...(id ? { id } : {}),
            type: 'ok',
            msg: [...conn.subs.values()].map((s) => ({ channel: s.channel, sid: s.sid })),
          });
        default:
          return this.sendError(conn, id, WS_ERROR.unknownCommand);
      }
    } catch {
      return this.sendError(conn, id, WS_ERROR.internal);
    }
  }

  /** `market_ticker` XOR `market_tickers` → list; undefined when neither is given. */
  private tickersParam(params: Record<string, unknown>): { ok: true; tickers: string[] | undefined } | { ok: false } {
    const one = params.market_ticker;
    const many = params.market_tickers;
    if (one !== undefined && many !== undefined) return { ok: false };
    if (one !== undefined) {
      const t = tickerSpec.safeParse(one);
      return t.success ? { ok: true, tickers: [t.data] } : { ok: false };
    }
    if (many !== undefined) {
      const t = z.array(tickerSpec).max(10_000).safeParse(many);
      if (!t.success) return { ok: false };
      return { ok: true, tickers: t.data.length ? [...new Set(t.data)] : undefined };
    }
    return { ok: true, tickers: undefined };
  }

  private unknownMarket(tickers: string[]): string | undefined {
    return tickers.find((t) => this.opts.exchange.getMarket(t) === undefined);
  }

  private subscribe(conn: Connection, id: number | undefined, params: Record<string, unknown> | undefined): void {
    if (!params) return this.sendError(conn, id, WS_ERROR.paramsRequired);
    const channels = z.array(z.string()).min(1).max(32).safeParse(params.channels);
    if (!channels.success) return this.sendError(conn, id, WS_ERROR.channelsRequired);
    if (channels.data.some((c) => !(CHANNELS as readonly string[]).includes(c))) return this.sendError(conn, id, WS_ERROR.unknownChannel);
    let spec = this.tickersParam(params);
    if (!spec.ok) return this.sendError(conn, id, WS_ERROR.invalidParameter);
    if (params.market_id !== undefined || params.market_ids !== undefined) {
      // market ids select markets on the ticker channel only (AsyncAPI subscribe params)
      if (spec.tickers !== undefined || channels.data.some((c) => c !== 'ticker')) return this.sendError(conn, id, WS_ERROR.invalidParameter);
      const ids = z
        .array(z.string().min(1).max(64))
        .min(1)
        .max(10_000)
        .safeParse(params.market_ids ?? [params.market_id]);
      if (!ids.success || (params.market_id !== undefined && params.market_ids !== undefined)) return this.sendError(conn, id, WS_ERROR.invalidParameter);
      const byId = new Map(this.opts.exchange.listMarkets().map((m) => [marketIdFor(m.ticker), m.ticker]));
      const unknown = ids.data.find((mid) => !byId.has(mid));
      if (unknown !== undefined) return this.sendError(conn, id, WS_ERROR.marketNotFound);
      spec = { ok: true, tickers: [...new Set(ids.data.map((mid) => byId.get(mid)!))] };
    }
    const flags = z
      .object({ use_yes_price: z.boolean().optional(), skip_ticker_ack: z.boolean().optional(), send_initial_snapshot: z.boolean().optional() })
      .safeParse(params);
    if (!flags.success) return this.sendError(conn, id, WS_ERROR.invalidParameter);
    const tickers = spec.tickers;
    if (tickers) {
      const missing = this.unknownMarket(tickers);
      if (missing !== undefined) return this.sendError(conn, id, WS_ERROR.marketNotFound, missing);
    }
    for (const channel of new Set(channels.data as Channel[])) {
      if (channel === 'orderbook_delta' && !tickers) {
        this.sendError(conn, id, WS_ERROR.tickerRequired);
        continue;
      }
      const scope = UNSCOPED_CHANNELS.has(channel) ? null : tickers ? new Set(tickers) : null;
      const overlapping = [...conn.subs.values()].some(
        (s) => s.channel === channel && (s.tickers === null || scope === null || [...scope].some((t) => s.tickers!.has(t))),
      );
      if (overlapping) {
        this.sendError(conn, id, WS_ERROR.alreadySubscribed);
        continue;
      }
      const sub: Subscription = {
        sid: conn.nextSid++,
        channel,
        tickers: scope,
        seq: 0,
        useYesPrice: flags.data.use_yes_price ?? false,
        skipTickerAck: flags.data.skip_ticker_ack ?? false,
      };
      conn.subs.set(sub.sid, sub);
      this.send(conn, { ...(id ? { id } : {}), type: 'subscribed', msg: { channel, sid: sub.sid } });
      if (channel === 'orderbook_delta') for (const t of scope!) this.sendSnapshot(conn, sub, t);
      if (channel === 'ticker' && flags.data.send_initial_snapshot) {
        for (const m of this.opts.exchange.listMarkets()) if (!scope || scope.has(m.ticker)) this.sendTicker(conn, sub, m.ticker);
      }
    }
  }

  private unsubscribe(conn: Connection, id: number | undefined, params: Record<string, unknown> | undefined): void {
    if (!params) return this.sendError(conn, id, WS_ERROR.paramsRequired);
    const sids = z.array(z.number().int()).min(1).max(1000).safeParse(params.sids);
    if (!sids.success) return this.sendError(conn, id, WS_ERROR.sidsRequired);
    for (const sid of sids.data) {
      const sub = conn.subs.get(sid);
      if (!sub) {
        this.sendError(conn, id, WS_ERROR.unknownSid);
        continue;
      }
      conn.subs.delete(sid);
      this.send(conn, { ...(id ? { id } : {}), sid, seq: sub.seq, type: 'unsubscribed' });
    }
  }

  private updateSubscription(conn: Connection, id: number | undefined, params: Record<string, unknown> | undefined): void {
    if (!params) return this.sendError(conn, id, WS_ERROR.paramsRequired);
    let sid: number;
    if (params.sid !== undefined) {
      if (!Number.isSafeInteger(params.sid)) return this.sendError(conn, id, WS_ERROR.invalidParameter);
      sid = params.sid as number;
    } else if (params.sids !== undefined) {
      const sids = z.array(z.number().int()).safeParse(params.sids);
      if (!sids.success) return this.sendError(conn, id, WS_ERROR.invalidParameter);
      if (sids.data.length !== 1) return this.sendError(conn, id, WS_ERROR.exactlyOneSid);
      sid = sids.data[0];
    } else {
      return this.sendError(conn, id, WS_ERROR.sidsRequired);
    }
    if (params.action === undefined) return this.sendError(conn, id, WS_ERROR.actionRequired);
    const action = params.action;
    if (action !== 'add_markets' && action !== 'delete_markets' && action !== 'get_snapshot') {
      return this.sendError(conn, id, WS_ERROR.unsupportedAction);
    }
    const sub = conn.subs.get(sid);
    if (!sub) return this.sendError(conn, id, WS_ERROR.unknownSid);
    if (UNSCOPED_CHANNELS.has(sub.channel) || (action === 'get_snapshot' && sub.channel !== 'orderbook_delta')) {
      return this.sendError(conn, id, WS_ERROR.unsupportedAction);
    }
    const spec = this.tickersParam(params);
    if (!spec.ok) return this.sendError(conn, id, WS_ERROR.invalidParameter);
    if (!spec.tickers) return this.sendError(conn, id, WS_ERROR.tickerRequired);
    const missing = this.unknownMarket(spec.tickers);
    if (missing !== undefined) return this.sendError(conn, id, WS_ERROR.marketNotFound, missing);

    let snapshots: string[] = [];
    if (action === 'add_markets') {
      if (sub.tickers !== null) {
        snapshots = spec.tickers.filter((t) => !sub.tickers!.has(t));
        for (const t of snapshots) sub.tickers.add(t);
      }
    } else if (action === 'delete_markets') {
      if (sub.tickers === null) return this.sendError(conn, id, WS_ERROR.unsupportedAction);
      for (const t of spec.tickers) sub.tickers.delete(t);
    } else {
      const outside = spec.tickers.find((t) => !sub.tickers!.has(t));
      if (outside !== undefined) return this.sendError(conn, id, WS_ERROR.invalidParameter, outside);
      snapshots = spec.tickers;
    }
    // the ok carries the seq reached so far; any snapshots follow it with seq + 1, + 2, …
    this.send(conn, {
      ...(id ? { id } : {}),
      sid,
      seq: sub.seq,
      type: 'ok',
      ...(sub.skipTickerAck ? {} : { msg: { market_tickers: sub.tickers ? [...sub.tickers] : [] } }),
    });
    if (sub.channel === 'orderbook_delta') for (const t of snapshots) this.sendSnapshot(conn, sub, t);
  }

  // ---- data frames ----

  private sendSnapshot(conn: Connection, sub: Subscription, ticker: string): void {
    const book = this.opts.exchange.bookLevels(ticker) ?? { yes: [], no: [] };
    sub.seq += 1;
    this.send(conn, { type: 'orderbook_snapshot', sid: sub.sid, seq: sub.seq, msg: snapshotMsg(ticker, book, sub.useYesPrice) });
  }

  private sendTicker(conn: Connection, sub: Subscription, ticker: string): void {
    const market = this.opts.exchange.getMarket(ticker);
    if (!market) return;
    const msg = tickerMsg(market, this.opts.exchange.bookLevels(ticker), this.opts.clock.now(), this.opts.figures.ticker(ticker));
    this.send(conn, { type: 'ticker', sid: sub.sid, msg });
  }

  /** Every subscription of `channel` that covers `ticker` (and, for private channels, `userId`). */
  private *matching(channel: Channel, ticker: string | null, userId?: string): Generator<[Connection, Subscription]> {
    for (const conn of this.connections) {
      if (PRIVATE_CHANNELS.has(channel) && conn.userId !== userId) continue;
      for (const sub of conn.subs.values()) {
        if (sub.channel !== channel) continue;
        if (ticker !== null && sub.tickers !== null && !sub.tickers.has(ticker)) continue;
        yield [conn, sub];
      }
    }
  }

  private forward(event: ExchangeEvent): void {
    if (this.connections.size === 0) return;
    switch (event.type) {
      case 'book_delta': {
        const skip = this.opts.faults.hasSeqSkip(event.ticker);
        let delivered = false;
        for (const [conn, sub] of this.matching('orderbook_delta', event.ticker)) {
          sub.seq += skip ? 2 : 1;
          delivered = true;
          const own = event.userId !== undefined && event.userId === conn.userId ? event.clientOrderId : undefined;
          const msg = deltaMsg(event.ticker, event.side, event.price, event.delta, event.tsMs, sub.useYesPrice, own);
          this.send(conn, { type: 'orderbook_delta', sid: sub.sid, seq: sub.seq, msg });
        }
        if (skip && delivered) this.opts.faults.consumeSeqSkip(event.ticker);
        return;
      }
      case 'trade': {
        let msg: ReturnType<typeof tradeMsg> | undefined;
        for (const [conn, sub] of this.matching('trade', event.trade.ticker)) {
          msg ??= tradeMsg(event.trade);
          this.send(conn, { type: 'trade', sid: sub.sid, msg });
        }
        return;
      }
      case 'fill':
        for (const [conn, sub] of this.matching('fill', event.fill.ticker, event.fill.userId)) {
          this.send(conn, { type: 'fill', sid: sub.sid, msg: fillMsg(event.fill) });
        }
        return;
      case 'order_update':
        for (const [conn, sub] of this.matching('user_orders', event.order.ticker, event.order.userId)) {
          this.send(conn, { type: 'user_order', sid: sub.sid, msg: userOrderMsg(event.order) });
        }
        return;
      case 'position':
        for (const [conn, sub] of this.matching('market_positions', event.position.ticker, event.userId)) {
          const volume = this.opts.figures.userVolumeIn(event.userId, event.position.ticker);
          this.send(conn, { type: 'market_position', sid: sub.sid, msg: marketPositionMsg(event.userId, event.position, volume) });
        }
        return;
      case 'market_lifecycle':
        for (const [conn, sub] of this.matching('market_lifecycle_v2', null)) {
          this.send(conn, { type: 'market_lifecycle_v2', sid: sub.sid, msg: lifecycleMsg(event) });
        }
        return;
      case 'event_created':
        // the AsyncAPI carries event_lifecycle messages on the market_lifecycle_v2 subscription
        for (const [conn, sub] of this.matching('market_lifecycle_v2', null)) {
          this.send(conn, { type: 'event_lifecycle', sid: sub.sid, msg: eventLifecycleMsg(event.eventTicker, event.title) });
        }
        return;
      case 'order_group':
        // order_group_updates carries a seq per subscription (AsyncAPI), like the order book
        for (const [conn, sub] of this.matching('order_group_updates', null, event.userId)) {
          sub.seq += 1;
          this.send(conn, { type: 'order_group_updates', sid: sub.sid, seq: sub.seq, msg: orderGroupUpdateMsg(event.event, event.orderGroupId, event.contractsLimit) });
        }
        return;
      case 'ticker': {
        let msg: ReturnType<typeof tickerMsg> | undefined;
        for (const [conn, sub] of this.matching('ticker', event.ticker)) {
          if (!msg) {
            const market = this.opts.exchange.getMarket(event.ticker);
            if (!market) return;
            msg = tickerMsg(market, this.opts.exchange.bookLevels(event.ticker), event.tsMs, this.opts.figures.ticker(event.ticker));
          }
          this.send(conn, { type: 'ticker', sid: sub.sid, msg });
        }
        return;
      }
    }
  }
}

const REASONS: Record<number, string> = { 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' };

/** Answers an upgrade request with a plain HTTP error (Kalshi error body) and closes the socket. */
function rejectUpgrade(socket: Duplex, status: 401 | 404 | 503, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message, service: 'exchange' } });
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
