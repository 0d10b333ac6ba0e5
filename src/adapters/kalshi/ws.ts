/**
 * KalshiWsClient: one authenticated WebSocket connection to Kalshi's v2 stream (or the embedded
 * simulator), kept alive forever. It signs the upgrade, reconnects with backoff + jitter, re-sends
 * every remembered subscription after a reconnect, watches liveness (any frame or ping), and
 * guards order-book consistency per subscription: sequence gaps and deltas that arrive before
 * their market's snapshot are reported as `gap` — never passed on as applicable deltas — and a
 * fresh snapshot is requested automatically.
 *
 * Adapter layer: imports core (money units, Clock) and the Kalshi auth/backoff helpers; the
 * market-subscription and trader actors consume its events. Wire formats live in ws.schemas.ts.
 */
import WebSocket from 'ws';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import type { Count, Price } from '../../core/money.ts';
import { assertMarketTickers } from '../../core/tickers.ts';
import { WS_SIGN_PATH, signRequest, type KalshiCredentials } from './auth.ts';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './retry.ts';
import {
  isFrameError,
  parseServerFrame,
  subscribeCommand,
  unsubscribeCommand,
  updateSubscriptionCommand,
  type EventLifecycleMsg,
  type OrderGroupUpdateMsg,
  type FillMsg,
  type MarketLifecycleMsg,
  type MarketPositionMsg,
  type OrderbookDeltaMsg,
  type OutcomeSide,
  type ParsedFrame,
  type TickerMsg,
  type TradeMsg,
  type UpdateAction,
  type UserOrderMsg,
  type WsCommand,
} from './ws.schemas.ts';

export interface KalshiWsOptions {
  /** e.g. wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2 */
  url: string;
  /** Signs the upgrade request; omit only for a server that does not check (tests). */
  credentials?: KalshiCredentials;
  clock?: Clock;
  /** Jitter source for the backoff, in [0, 1). */
  random?: () => number;
  backoff?: BackoffPolicy;
  /** No frame and no ping for this long → the connection is considered dead and replaced. */
  heartbeatTimeoutMs?: number;
  /** An upgrade that has not completed after this long is abandoned and retried. */
  connectTimeoutMs?: number;
  /** Sent explicitly on orderbook subscriptions, since Kalshi announced the default will flip. */
  useYesPrice?: boolean;
  WebSocketImpl?: typeof WebSocket;
}

/**
 * The largest frame accepted from the server (1 MiB; a full deci-cent book is far smaller): a
 * bigger one closes the connection (1009) instead of being buffered, and the client reconnects.
 */
export const MAX_FRAME_BYTES = 1024 * 1024;

export type GapReason = 'seq_gap' | 'delta_before_snapshot';

export type WsClientEvent =
  | { type: 'connected'; attempt: number }
  | { type: 'disconnected'; code: number; reason: string; willReconnect: boolean }
  | { type: 'connect_failed'; error: string; status?: number; nextAttemptMs: number }
  /** A subscription is live on the current connection; `previousSid` is its sid before a reconnect. */
  | { type: 'subscribed'; channel: string; sid: number; tickers: string[]; previousSid?: number }
  | { type: 'snapshot'; sid: number; seq: number; ticker: string; yes: [Price, Count][]; no: [Price, Count][] }
  | {
      type: 'delta';
      sid: number;
      seq: number;
      ticker: string;
      side: OutcomeSide;
      price: Price;
      delta: Count;
      clientOrderId?: string;
      tsMs?: number;
    }
  /**
   * The books of `tickers` are in an unknown state: drop them and wait for the next `snapshot`
   * (already requested). Deltas for them are withheld until that snapshot arrives.
   */
  | { type: 'gap'; sid: number; channel: string; expected: number; received: number; tickers: string[]; reason: GapReason }
  | { type: 'ticker'; sid: number; msg: TickerMsg }
  | { type: 'trade'; sid: number; msg: TradeMsg }
  | { type: 'fill'; sid: number; msg: FillMsg }
  | { type: 'market_position'; sid: number; msg: MarketPositionMsg }
  | { type: 'user_order'; sid: number; msg: UserOrderMsg }
  | { type: 'market_lifecycle'; sid: number; msg: MarketLifecycleMsg }
  | { type: 'event_lifecycle'; sid: number; msg: EventLifecycleMsg }
  /** `seq` numbers the subscription's order-group updates (a jump means one was missed: re-read the groups). */
  | { type: 'order_group_update'; sid: number; seq: number | undefined; msg: OrderGroupUpdateMsg }
  | { type: 'heartbeat' }
  | { type: 'malformed'; reason: string; count: number }
  | { type: 'server_error'; id?: number; code: number; message: string };

export interface WsClientStats {
  framesReceived: number;
  malformedFrames: number;
  /** Connection attempts made after the first one. */
  reconnects: number;
  gaps: number;
  /** Clock time of the last frame or ping; null before the first. */
  lastMessageAtMs: number | null;
  connects: number;
  duplicateFrames: number;
  /** Deltas withheld because their book was in an unknown state. */
  withheldDeltas: number;
  /** Orderbook frames for a sid that is not (or no longer) ours. */
  strayFrames: number;
  unknownFrames: number;
  listenerErrors: number;
  lastListenerError: string | null;
}

/** A command the server answered with an `error` frame. */
export class KalshiWsCommandError extends Error {
  override readonly name = 'KalshiWsCommandError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`Kalshi WS error ${code}: ${message}`);
  }
}

/** One channel subscription as the caller asked for it; survives reconnects. */
interface Subscription {
  channel: string;
  tickers: string[];
  /** Server sid on the current connection. */
  sid: number | undefined;
  /** Sid on the previous connection, reported as `previousSid` once resubscribed. */
  lastSid: number | undefined;
  removed: boolean;
  waiter: { resolve: (sid: number) => void; reject: (e: Error) => void } | undefined;
}

type PendingCommand =
  | { kind: 'subscribe'; sub: Subscription; tickers: string[] }
  | { kind: 'update'; sub: Subscription; action: UpdateAction; tickers: string[] }
  | { kind: 'unsubscribe' };

/** Sequence and book-validity tracking of one orderbook sid. */
interface SeqState {
  lastSeq: number | undefined;
  /** Tickers whose snapshot has arrived since (re)subscribe or the last gap. */
  valid: Set<string>;
  /** Tickers with a snapshot requested and not yet received. */
  awaiting: Set<string>;
}

interface Connection {
  socket: WebSocket;
  opened: boolean;
  /** Set once this attempt/connection has been accounted for; later socket events are ignored. */
  done: boolean;
  /** Overrides the close code/reason reported when we killed the socket ourselves. */
  closeCause: { code: number; reason: string } | undefined;
  closed: Promise<void>;
}

/** The channel whose subscriptions carry the order books (one seq stream per sid). */
export const ORDERBOOK_CHANNEL = 'orderbook_delta';

export class KalshiWsClient {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly heartbeatTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly WebSocketImpl: typeof WebSocket;

  private running = false;
  private conn: Connection | undefined;
  /** Drives the backoff: attempts that failed, or connections that did not stay up, in a row. */
  private failures = 0;
  /** Attempts since the last connection was up (reported as `connected.attempt`). */
  private attemptsSinceUp = 0;
  private attemptsMade = 0;
  private openedAtMs = 0;
  private reconnectTimer: TimerHandle | undefined;
  private connectTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private lastActivityMs = 0;
  private nextCommandId = 1;

  private readonly listeners = new Set<(e: WsClientEvent) => void>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly bySid = new Map<number, Subscription>();
  /** Sids of earlier connections → their subscription, so callers' old sids keep working. */
  private readonly aliases = new Map<number, Subscription>();
  private readonly pending = new Map<number, PendingCommand>();
  private readonly seqBySid = new Map<number, SeqState>();

  readonly stats: WsClientStats = {
    framesReceived: 0,
    malformedFrames: 0,
    reconnects: 0,
    gaps: 0,
    lastMessageAtMs: null,
    connects: 0,
    duplicateFrames: 0,
    withheldDeltas: 0,
    strayFrames: 0,
    unknownFrames: 0,
    listenerErrors: 0,
    lastListenerError: null,
  };

  constructor(private readonly opts: KalshiWsOptions) {
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 30_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.WebSocketImpl = opts.WebSocketImpl ?? WebSocket;
  }

  onEvent(listener: (e: WsClientEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  isConnected(): boolean {
    return this.conn !== undefined && this.conn.opened && !this.conn.done;
  }

  /** Starts connecting (and reconnecting, forever, until stop()). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.failures = 0;
    this.attemptsSinceUp = 0;
    this.connect();
  }

  /**
   * Closes the connection (code 1000) and cancels every timer. subscribe() calls still waiting
   * for confirmation reject and are cancelled; confirmed subscriptions are remembered, and a later
   * start() re-sends them.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.clearTimer('reconnectTimer');
    this.clearTimer('connectTimer');
    this.clearTimer('heartbeatTimer');
    for (const sub of this.subscriptions) {
      if (sub.waiter) {
        sub.waiter.reject(new Error('Kalshi WS client stopped before the subscription was confirmed'));
        sub.waiter = undefined;
      }
    }
    const conn = this.conn;
    if (!conn) return;
    const { socket } = conn;
    if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'client stop');
    else if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    await conn.closed;
  }

  /**
   * Subscribes to `channels` (one wire command per channel, so each reply maps to exactly one
   * sid) and resolves with their sids, in order. Remembered and re-sent after every reconnect,
   * where the server assigns new sids (reported by `subscribed` events with `previousSid`; the
   * old sids stay accepted by the methods below). If any channel is refused, the others are
   * unsubscribed and the promise rejects with a KalshiWsCommandError.
   */
  subscribe(channels: string[], tickers: string[] = []): Promise<number[]> {
    if (channels.length === 0) return Promise.reject(new Error('subscribe needs at least one channel'));
    try {
      assertMarketTickers(tickers);
    } catch (error) {
      return Promise.reject(error);
    }
    const subs = channels.map((channel): Subscription => ({
      channel,
      tickers: [...new Set(tickers)],
      sid: undefined,
      lastSid: undefined,
      removed: false,
      waiter: undefined,
    }));
    const confirmations = subs.map(
      (sub) =>
        new Promise<number>((resolve, reject) => {
          sub.waiter = { resolve, reject };
        }),
    );
    for (const sub of subs) {
      this.subscriptions.add(sub);
      if (this.isConnected()) this.sendSubscribe(sub);
    }
    return Promise.all(confirmations).catch((error: unknown) => {
      for (const sub of subs) this.removeSubscription(sub);
      throw error;
    });
  }

  /** Forgets these subscriptions (current or earlier sids) and unsubscribes them on the wire. */
  unsubscribe(sids: number[]): void {
    // unknown sids are ignored: unsubscribing twice (e.g. racing a reconnect) is not an error
    for (const sid of sids) {
      const sub = this.bySid.get(sid) ?? this.aliases.get(sid);
      if (sub) this.removeSubscription(sub);
    }
  }

  addMarkets(sid: number, tickers: string[]): void {
    assertMarketTickers(tickers);
    const sub = this.resolveSid(sid);
    const added = tickers.filter((t) => !sub.tickers.includes(t));
    if (added.length === 0) return;
    sub.tickers.push(...added);
    this.sendUpdate(sub, 'add_markets', added);
  }

  deleteMarkets(sid: number, tickers: string[]): void {
    assertMarketTickers(tickers);
    const sub = this.resolveSid(sid);
    const gone = new Set(tickers);
    sub.tickers = sub.tickers.filter((t) => !gone.has(t));
    if (sub.sid !== undefined) {
      const seq = this.seqBySid.get(sub.sid);
      for (const t of gone) {
        seq?.valid.delete(t);
        seq?.awaiting.delete(t);
      }
    }
    this.sendUpdate(sub, 'delete_markets', tickers);
  }

  /** Asks for fresh snapshots of these markets without changing the subscription. */
  requestSnapshot(sid: number, tickers: string[]): void {
    assertMarketTickers(tickers);
    const sub = this.resolveSid(sid);
    this.sendUpdate(sub, 'get_snapshot', tickers);
  }

  // ─── connection lifecycle ──────────────────────────────────────────────────────────────────

  private connect(): void {
    if (!this.running) return;
    if (this.attemptsMade > 0) this.stats.reconnects += 1;
    this.attemptsMade += 1;
    this.attemptsSinceUp += 1;
    let socket: WebSocket;
    try {
      const headers = this.opts.credentials
        ? signRequest(this.opts.credentials, 'GET', WS_SIGN_PATH, this.clock.now())
        : undefined;
      socket = new this.WebSocketImpl(this.opts.url, { headers, maxPayload: MAX_FRAME_BYTES });
    } catch (error) {
      this.conn = undefined;
      this.scheduleReconnect({ error: describeError(error) });
      return;
    }
    let closedResolve!: () => void;
    const conn: Connection = {
      socket,
      opened: false,
      done: false,
      closeCause: undefined,
      closed: new Promise<void>((resolve) => {
        closedResolve = resolve;
      }),
    };
    this.conn = conn;
    this.connectTimer = this.clock.setTimeout(() => {
      this.connectTimer = undefined;
      if (conn.done || conn.opened) return;
      this.failAttempt(conn, { error: `connect timeout after ${this.connectTimeoutMs} ms` });
    }, this.connectTimeoutMs);

    socket.on('open', () => {
      if (conn.done) return;
      this.onOpen(conn);
    });
    socket.on('unexpected-response', (_req, res) => {
      res.resume();
      if (conn.done) return;
      const status = res.statusCode ?? 0;
      this.failAttempt(conn, { error: `upgrade refused: HTTP ${status} ${res.statusMessage ?? ''}`.trim(), status });
    });
    socket.on('error', (error) => {
      // before open this is the attempt failing; after open a 'close' always follows
      if (conn.done || conn.opened) return;
      this.failAttempt(conn, { error: describeError(error) });
    });
    socket.on('close', (code, reasonBuffer) => {
      closedResolve();
      if (conn.done) return;
      if (!conn.opened) {
        this.failAttempt(conn, { error: `closed before the upgrade completed (code ${code})` });
        return;
      }
      const cause = conn.closeCause ?? { code, reason: reasonBuffer.toString() };
      this.onConnectionLost(conn, cause);
    });
    socket.on('message', (data) => {
      if (conn.done) return;
      this.noteActivity();
      this.onText(typeof data === 'string' ? data : Array.isArray(data) ? Buffer.concat(data).toString() : data.toString());
    });
    socket.on('ping', () => {
      if (conn.done) return;
      this.noteActivity();
      this.emit({ type: 'heartbeat' });
    });
    socket.on('pong', () => {
      if (!conn.done) this.noteActivity();
    });
  }

  private onOpen(conn: Connection): void {
    this.clearTimer('connectTimer');
    conn.opened = true;
    const attempt = this.attemptsSinceUp;
    this.attemptsSinceUp = 0;
    this.openedAtMs = this.clock.now();
    this.stats.connects += 1;
    this.noteActivity();
    this.armHeartbeat(this.heartbeatTimeoutMs);
    this.emit({ type: 'connected', attempt });
    // a listener may have stopped us
    if (conn.done || !this.running) return;
    for (const sub of this.subscriptions) this.sendSubscribe(sub);
  }

  /** The attempt did not produce a connection: tear it down and schedule the next one. */
  private failAttempt(conn: Connection, failure: { error: string; status?: number }): void {
    conn.done = true;
    this.clearTimer('connectTimer');
    conn.socket.terminate();
    if (this.conn === conn) this.conn = undefined;
    if (!this.running) return;
    this.scheduleReconnect(failure);
  }

  private scheduleReconnect(failure: { error: string; status?: number }): void {
    const delay = backoffDelay(this.failures, this.backoff, this.random);
    this.failures += 1;
    const event: WsClientEvent = { type: 'connect_failed', error: failure.error, nextAttemptMs: delay };
    if (failure.status !== undefined) event.status = failure.status;
    this.reconnectTimer = this.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
    this.emit(event);
  }

  private onConnectionLost(conn: Connection, cause: { code: number; reason: string }): void {
    conn.done = true;
    if (this.conn === conn) this.conn = undefined;
    this.clearTimer('heartbeatTimer');
    this.pending.clear();
    this.seqBySid.clear();
    for (const sub of this.subscriptions) {
      if (sub.sid !== undefined) {
        this.aliases.set(sub.sid, sub);
        sub.lastSid = sub.sid;
        sub.sid = undefined;
      }
    }
    this.bySid.clear();
    // Only a connection that outlived a liveness window resets the backoff; one the server drops
    // right after the upgrade (a flapping endpoint) keeps the delays growing.
    if (this.clock.now() - this.openedAtMs >= this.heartbeatTimeoutMs) this.failures = 0;
    const willReconnect = this.running;
    if (willReconnect) {
      const delay = backoffDelay(this.failures, this.backoff, this.random);
      this.failures += 1;
      this.reconnectTimer = this.clock.setTimeout(() => {
        this.reconnectTimer = undefined;
        this.connect();
      }, delay);
    }
    this.emit({ type: 'disconnected', code: cause.code, reason: cause.reason, willReconnect });
  }

  // Liveness: one timer per timeout window, re-armed for the remainder, instead of resetting a
  // timer on every frame (which at 100k frames/s would dominate the CPU).
  private noteActivity(): void {
    const now = this.clock.now();
    this.lastActivityMs = now;
    this.stats.lastMessageAtMs = now;
  }

  private armHeartbeat(ms: number): void {
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = undefined;
      const conn = this.conn;
      if (!conn || conn.done || !conn.opened) return;
      const idle = this.clock.now() - this.lastActivityMs;
      if (idle < this.heartbeatTimeoutMs) {
        this.armHeartbeat(this.heartbeatTimeoutMs - idle);
        return;
      }
      conn.closeCause = { code: 4000, reason: `no message or ping for ${idle} ms` };
      conn.socket.terminate();
    }, ms);
  }

  private clearTimer(name: 'reconnectTimer' | 'connectTimer' | 'heartbeatTimer'): void {
    const handle = this[name];
    if (handle !== undefined) {
      this.clock.clearTimeout(handle);
      this[name] = undefined;
    }
  }

  // ─── commands ──────────────────────────────────────────────────────────────────────────────

  private send(command: WsCommand): boolean {
    const conn = this.conn;
    if (!conn || !conn.opened || conn.done || conn.socket.readyState !== WebSocket.OPEN) return false;
    conn.socket.send(JSON.stringify(command));
    return true;
  }

  private sendSubscribe(sub: Subscription): void {
    const id = this.nextCommandId++;
    const command = subscribeCommand(id, [sub.channel], {
      marketTickers: sub.tickers,
      useYesPrice: sub.channel === ORDERBOOK_CHANNEL ? (this.opts.useYesPrice ?? false) : undefined,
    });
    if (this.send(command)) this.pending.set(id, { kind: 'subscribe', sub, tickers: [...sub.tickers] });
  }

  private sendUpdate(sub: Subscription, action: UpdateAction, tickers: string[]): void {
    // Without a live sid there is nothing to update on the wire; the next (re)subscribe carries
    // the remembered tickers anyway.
    if (sub.sid === undefined || tickers.length === 0) return;
    const id = this.nextCommandId++;
    if (this.send(updateSubscriptionCommand(id, sub.sid, action, tickers))) {
      this.pending.set(id, { kind: 'update', sub, action, tickers: [...tickers] });
    }
  }

  private removeSubscription(sub: Subscription): void {
    if (sub.removed) return;
    sub.removed = true;
    this.subscriptions.delete(sub);
    if (sub.waiter) {
      sub.waiter.reject(new Error(`subscription to ${sub.channel} was cancelled`));
      sub.waiter = undefined;
    }
    for (const [alias, target] of this.aliases) if (target === sub) this.aliases.delete(alias);
    if (sub.sid !== undefined) {
      this.bySid.delete(sub.sid);
      this.seqBySid.delete(sub.sid);
      const id = this.nextCommandId++;
      if (this.send(unsubscribeCommand(id, [sub.sid]))) this.pending.set(id, { kind: 'unsubscribe' });
      sub.sid = undefined;
    }
  }

  private resolveSid(sid: number): Subscription {
    const sub = this.bySid.get(sid) ?? this.aliases.get(sid);
    if (!sub) throw new Error(`unknown Kalshi WS subscription id ${sid}`);
    return sub;
  }

  // ─── frames ────────────────────────────────────────────────────────────────────────────────

  private onText(text: string): void {
    this.stats.framesReceived += 1;
    const frame = parseServerFrame(text);
    if (isFrameError(frame)) {
      this.stats.malformedFrames += 1;
      this.emit({ type: 'malformed', reason: frame.reason.slice(0, 300), count: this.stats.malformedFrames });
      return;
    }
    this.onFrame(frame);
  }

  private onFrame(frame: ParsedFrame): void {
    switch (frame.type) {
      case 'orderbook_delta':
        return this.onDelta(frame.sid, frame.seq, frame.msg);
      case 'orderbook_snapshot':
        return this.onSnapshot(frame.sid, frame.seq, frame.msg.ticker, frame.msg.yes, frame.msg.no);
      case 'ticker':
      case 'trade':
      case 'fill':
      case 'market_position':
      case 'user_order':
      case 'event_lifecycle':
        return this.emit({ type: frame.type, sid: frame.sid, msg: frame.msg } as WsClientEvent);
      case 'market_lifecycle_v2':
        return this.emit({ type: 'market_lifecycle', sid: frame.sid, msg: frame.msg });
      case 'order_group_updates':
        return this.emit({ type: 'order_group_update', sid: frame.sid, seq: frame.seq, msg: frame.msg });
      case 'subscribed':
        return this.onSubscribed(frame.id, frame.channel, frame.sid);
      case 'unsubscribed':
        if (frame.id !== undefined) this.pending.delete(frame.id);
        this.seqBySid.delete(frame.sid);
        return;
      case 'ok':
        if (frame.id !== undefined) this.pending.delete(frame.id);
        if (frame.sid !== undefined && frame.seq !== undefined) this.onControlSeq(frame.sid, frame.seq);
        return;
      case 'error':
        return this.onServerError(frame.id, frame.code, frame.message, frame.marketTicker);
      case 'unknown':
        this.stats.unknownFrames += 1;
        return;
    }
  }

  private onSubscribed(id: number | undefined, channel: string, sid: number): void {
    let command = id !== undefined ? this.pending.get(id) : undefined;
    let commandId = id;
    if (command === undefined || command.kind !== 'subscribe') {
      // a server that does not echo ids: pair with the oldest pending subscribe of that channel
      for (const [pid, p] of this.pending) {
        if (p.kind === 'subscribe' && p.sub.channel === channel) {
          command = p;
          commandId = pid;
          break;
        }
      }
    }
    if (command === undefined || command.kind !== 'subscribe' || commandId === undefined) return;
    this.pending.delete(commandId);
    const sub = command.sub;
    if (sub.removed) {
      // cancelled while the subscribe was in flight
      const uid = this.nextCommandId++;
      if (this.send(unsubscribeCommand(uid, [sid]))) this.pending.set(uid, { kind: 'unsubscribe' });
      return;
    }
    sub.sid = sid;
    this.bySid.set(sid, sub);
    if (this.aliases.get(sid) !== undefined && this.aliases.get(sid) !== sub) this.aliases.delete(sid);
    if (sub.channel === ORDERBOOK_CHANNEL) {
      this.seqBySid.set(sid, { lastSeq: undefined, valid: new Set(), awaiting: new Set() });
    }
    const event: WsClientEvent = { type: 'subscribed', channel: sub.channel, sid, tickers: [...sub.tickers] };
    if (sub.lastSid !== undefined) event.previousSid = sub.lastSid;
    const waiter = sub.waiter;
    sub.waiter = undefined;
    this.emit(event);
    waiter?.resolve(sid);
    // markets added or deleted while the subscribe was in flight
    const sent = new Set(command.tickers);
    const added = sub.tickers.filter((t) => !sent.has(t));
    const deleted = command.tickers.filter((t) => !sub.tickers.includes(t));
    this.sendUpdate(sub, 'add_markets', added);
    this.sendUpdate(sub, 'delete_markets', deleted);
  }

  private onServerError(id: number | undefined, code: number, message: string, marketTicker: string | undefined): void {
    const command = id !== undefined ? this.pending.get(id) : undefined;
    if (id !== undefined) this.pending.delete(id);
    if (command?.kind === 'subscribe' && command.sub.waiter) {
      const waiter = command.sub.waiter;
      command.sub.waiter = undefined;
      waiter.reject(new KalshiWsCommandError(code, message));
    } else if (command?.kind === 'update' && command.action === 'add_markets') {
      // keep the remembered subscription resubscribable: forget what the server refused
      const refused = new Set(marketTicker !== undefined ? [marketTicker] : command.tickers);
      command.sub.tickers = command.sub.tickers.filter((t) => !refused.has(t));
    }
    const event: WsClientEvent = { type: 'server_error', code, message };
    if (id !== undefined) event.id = id;
    this.emit(event);
  }

  // ─── order-book sequencing ─────────────────────────────────────────────────────────────────
  // Kalshi numbers every orderbook frame of a sid (all its markets) with one seq stream. A delta is
  // passed on only when it is the next seq AND its market has had a snapshot since the stream
  // (re)started; anything else would be applied to a book in an unknown state.

  private onDelta(sid: number, seq: number, msg: OrderbookDeltaMsg): void {
    const state = this.seqBySid.get(sid);
    if (!state) {
      this.stats.strayFrames += 1;
      return;
    }
    if (state.lastSeq !== undefined) {
      if (seq <= state.lastSeq) {
        this.stats.duplicateFrames += 1;
        return;
      }
      if (seq > state.lastSeq + 1) {
        const expected = state.lastSeq + 1;
        state.lastSeq = seq;
        this.stats.withheldDeltas += 1;
        this.raiseGap(sid, state, expected, seq, this.tickersOf(sid, state), 'seq_gap');
        return;
      }
    }
    state.lastSeq = seq;
    if (!state.valid.has(msg.ticker)) {
      this.stats.withheldDeltas += 1;
      if (!state.awaiting.has(msg.ticker)) this.raiseGap(sid, state, seq, seq, [msg.ticker], 'delta_before_snapshot');
      return;
    }
    const event: WsClientEvent = {
      type: 'delta',
      sid,
      seq,
      ticker: msg.ticker,
      side: msg.side,
      price: msg.price,
      delta: msg.delta,
    };
    if (msg.clientOrderId !== undefined) event.clientOrderId = msg.clientOrderId;
    if (msg.tsMs !== undefined) event.tsMs = msg.tsMs;
    this.emit(event);
  }

  private onSnapshot(sid: number, seq: number, ticker: string, yes: [Price, Count][], no: [Price, Count][]): void {
    const state = this.seqBySid.get(sid);
    if (!state) {
      this.stats.strayFrames += 1;
      return;
    }
    if (state.lastSeq !== undefined && seq > state.lastSeq + 1) {
      // frames were lost; the snapshot makes its own market whole, but not the others of the sid
      const others = this.tickersOf(sid, state).filter((t) => t !== ticker);
      if (others.length > 0) this.raiseGap(sid, state, state.lastSeq + 1, seq, others, 'seq_gap');
    }
    // The snapshot is the new base of the stream, whether the server continued its numbering
    // or restarted it for a get_snapshot (Kalshi does not document which).
    state.lastSeq = seq;
    state.valid.add(ticker);
    state.awaiting.delete(ticker);
    this.emit({ type: 'snapshot', sid, seq, ticker, yes, no });
  }

  /** A control reply (`ok`) carrying a seq occupies a place in the sid's stream. */
  private onControlSeq(sid: number, seq: number): void {
    const state = this.seqBySid.get(sid);
    if (!state || state.lastSeq === undefined || seq <= state.lastSeq) return;
    if (seq > state.lastSeq + 1) {
      const expected = state.lastSeq + 1;
      state.lastSeq = seq;
      this.raiseGap(sid, state, expected, seq, this.tickersOf(sid, state), 'seq_gap');
      return;
    }
    state.lastSeq = seq;
  }

  private tickersOf(sid: number, state: SeqState): string[] {
    const sub = this.bySid.get(sid);
    const all = new Set(sub?.tickers ?? []);
    for (const t of state.valid) all.add(t);
    for (const t of state.awaiting) all.add(t);
    return [...all];
  }

  private raiseGap(sid: number, state: SeqState, expected: number, received: number, tickers: string[], reason: GapReason): void {
    for (const t of tickers) {
      state.valid.delete(t);
      state.awaiting.add(t);
    }
    this.stats.gaps += 1;
    const sub = this.bySid.get(sid);
    this.emit({ type: 'gap', sid, channel: sub?.channel ?? ORDERBOOK_CHANNEL, expected, received, tickers, reason });
    if (sub && tickers.length > 0) this.sendUpdate(sub, 'get_snapshot', tickers);
  }

  private emit(event: WsClientEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // a consumer's bug must not derail the connection or the sequencing state
        this.stats.listenerErrors += 1;
        this.stats.lastListenerError = describeError(error);
      }
    }
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
