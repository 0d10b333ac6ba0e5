/**
 * The /v3/ws feed: turns the trading system's event stream (`SystemView.subscribe`) into the V3
 * console's `{type, data, timestamp}` envelopes and fans them out to every connected browser.
 *
 * On connect a client gets `connection`, `history_replay` (recent transitions and activity, so a
 * late joiner sees the startup sequence), `pnl_history`, and the current `trader_status` and
 * `trading_state`. Then: `system_activity` (transitions and notable events, with severity and
 * metadata), `trader_status` every `statusIntervalMs` (10 s), `trading_state` when its version
 * moves, and market / order / position / fill / actor updates. Per-key updates are coalesced
 * (latest wins, ≤ 1 per `coalesceIntervalMs` per ticker/order/actor) so a busy book cannot flood
 * a browser; fills are never coalesced. `ping` envelopes and WebSocket pings keep connections
 * alive and find dead ones.
 *
 * The trader must never wait for a browser: the view's listener only serialises once and queues
 * on each socket; a client whose unsent bytes exceed `maxBufferedBytes` is dropped. Timers run on
 * the injected Clock. Part of src/server; started by http-server.ts.
 */
import { WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { formatDollars } from '../core/money.ts';
import { Coalescer } from './coalescer.ts';
import {
  clockTime,
  plainActivity,
  presentComponent,
  presentFill,
  presentMarket,
  presentOrder,
  presentPosition,
  presentTradingState,
  transitionActivity,
  type ActivityData,
  type PnlPoint,
} from './present.ts';
import { redactSecrets } from './redact.ts';
import type { StatusReport, SystemEvent, SystemView, TradingState, TransitionRecord } from '../actors/system-view.ts';

export interface ConsoleFeedOptions {
  clock?: Clock;
  /** `trader_status` cadence (default 10 s, as in the original console). */
  statusIntervalMs?: number;
  /** `ping` cadence; a client that has not answered the previous WebSocket ping is dropped. */
  pingIntervalMs?: number;
  /** Minimum gap between two updates of the same ticker / order / actor (default 250 ms: ≤ 4/s). */
  coalesceIntervalMs?: number;
  /** A client with more unsent bytes than this is dropped, checked on every send (default 1 MiB). */
  maxBufferedBytes?: number;
  /** Connected clients at most; `hasRoom()` is false beyond (default 32). */
  maxClients?: number;
  /** Transitions replayed on connect (default 20). */
  historyReplayCount?: number;
  /** Non-transition activities kept for replay (default 50). */
  activityReplayCount?: number;
  /** P&L points kept for the chart (default 720, one per second at most). */
  pnlPoints?: number;
}

export type { PnlPoint };

export interface ConsoleFeedStats {
  clients: number;
  connectionsTotal: number;
  messagesSent: number;
  droppedSlowClients: number;
  droppedDeadClients: number;
  coalescedUpdates: number;
  listenerErrors: number;
}

/** What browsers may send: pings (answered), pongs and subscription requests (accepted, unused). */
const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping') }).loose(),
  z.object({ type: z.literal('pong') }).loose(),
  z.object({ type: z.literal('subscribe'), subscriptions: z.array(z.string().max(128)).max(100).optional() }).loose(),
]);

interface ClientState {
  id: string;
  answeredPing: boolean;
}

export class ConsoleFeed {
  private readonly clock: Clock;
  private readonly statusIntervalMs: number;
  private readonly pingIntervalMs: number;
  private readonly maxBufferedBytes: number;
  private readonly maxClients: number;
  private readonly historyReplayCount: number;
  private readonly activityReplayCount: number;
  private readonly pnlLimit: number;

  private readonly clients = new Map<WebSocket, ClientState>();
  private readonly markets: Coalescer<SystemEvent & { type: 'market_update' }>;
  private readonly orders: Coalescer<SystemEvent & { type: 'order_update' }>;
  private readonly positions: Coalescer<SystemEvent & { type: 'position_update' }>;
  private readonly actors: Coalescer<SystemEvent & { type: 'actor_snapshot' }>;
  private readonly tradingStates: Coalescer<TradingState>;

  private readonly recentActivities: ActivityData[] = [];
  private readonly sentTransitions = new Set<string>();
  private readonly pnl: PnlPoint[] = [];
  private lastTradingVersion = -1;
  private currentState = 'startup';

  private unsubscribe: (() => void) | null = null;
  private statusTimer: TimerHandle | null = null;
  private pingTimer: TimerHandle | null = null;
  private nextClientNumber = 1;
  private closed = false;
  private readonly counts = { connectionsTotal: 0, messagesSent: 0, droppedSlowClients: 0, droppedDeadClients: 0, listenerErrors: 0 };

  constructor(
    private readonly view: SystemView,
    options: ConsoleFeedOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.statusIntervalMs = options.statusIntervalMs ?? 10_000;
    this.pingIntervalMs = options.pingIntervalMs ?? 30_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.maxClients = options.maxClients ?? 32;
    this.historyReplayCount = options.historyReplayCount ?? 20;
    this.activityReplayCount = options.activityReplayCount ?? 50;
    this.pnlLimit = options.pnlPoints ?? 720;
    const interval = options.coalesceIntervalMs ?? 250;
    this.markets = new Coalescer(this.clock, interval, (_k, e) => this.broadcast('market_update', presentMarket(e.data)));
    this.orders = new Coalescer(this.clock, interval, (_k, e) => this.broadcast('order_update', presentOrder(e.data)));
    this.positions = new Coalescer(this.clock, interval, (_k, e) => this.broadcast('position_update', presentPosition(e.data)));
    this.actors = new Coalescer(this.clock, interval, (_k, e) =>
      this.broadcast('actor_snapshot', { actor: e.data.actor, state: redactSecrets(e.data.state, { maxDepth: 6 }) }),
    );
    this.tradingStates = new Coalescer(this.clock, interval, (_k, t) => this.sendTradingState(t));
  }

  /** Subscribes to the view and starts the status and ping timers. */
  start(): void {
    if (this.unsubscribe || this.closed) return;
    this.currentState = this.view.health().state;
    this.unsubscribe = this.view.subscribe((event) => this.onSystemEvent(event));
    this.scheduleStatus();
    this.schedulePing();
  }

  /** False when `maxClients` are connected (or joining): the upgrade is then refused. */
  hasRoom(joining = 0): boolean {
    return this.clients.size + joining < this.maxClients;
  }

  /** Takes over an accepted WebSocket: greets it, replays history, then streams. */
  attach(ws: WebSocket): void {
    if (this.closed) {
      ws.close(1001, 'server shutting down');
      return;
    }
    const now = this.clock.now();
    const state: ClientState = { id: `client_${this.nextClientNumber++}_${Math.floor(now / 1000)}`, answeredPing: true };
    this.counts.connectionsTotal++;
    ws.on('pong', () => (state.answeredPing = true));
    ws.on('message', (raw, isBinary) => this.onClientMessage(ws, raw, isBinary));
    ws.on('close', () => this.clients.delete(ws));
    ws.on('error', () => this.clients.delete(ws));

    const report = this.safeStatus();
    this.sendText(ws, this.envelope('connection', { client_id: state.id, timestamp: clockTime(now), message: 'Connected to kalshiflow V3 console' }));
    const transitions = (report?.stateHistory ?? []).slice(0, this.historyReplayCount).reverse().map(transitionActivity);
    for (const t of transitions) this.sentTransitions.add(transitionKeyOf(t));
    this.sendText(
      ws,
      this.envelope('history_replay', { transitions, activities: [...this.recentActivities], count: transitions.length + this.recentActivities.length }),
    );
    this.sendText(ws, this.envelope('pnl_history', { points: [...this.pnl] }));
    if (report) {
      this.sendText(ws, this.envelope('trader_status', this.traderStatus(report, 1)));
      this.sendText(ws, this.envelope('trading_state', presentTradingState(report.trading)));
    }
    // added last, so nothing broadcast meanwhile can arrive before the greeting (and not at all
    // when the greeting already overran the buffer bound)
    if (ws.readyState === WebSocket.OPEN) this.clients.set(ws, state);
  }

  stats(): ConsoleFeedStats {
    return {
      clients: this.clients.size,
      ...this.counts,
      coalescedUpdates: this.markets.replaced + this.orders.replaced + this.positions.replaced + this.actors.replaced + this.tradingStates.replaced,
    };
  }

  /** The P&L series kept for the chart (oldest first). */
  pnlSeries(): PnlPoint[] {
    return [...this.pnl];
  }

  /** Stops the timers, leaves the view and closes every client (1001 going away). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.statusTimer !== null) this.clock.clearTimeout(this.statusTimer);
    if (this.pingTimer !== null) this.clock.clearTimeout(this.pingTimer);
    for (const c of [this.markets, this.orders, this.positions, this.actors, this.tradingStates]) c.clear();
    for (const ws of this.clients.keys()) ws.close(1001, 'server shutting down');
    this.clients.clear();
  }

  private onSystemEvent(event: SystemEvent): void {
    // this runs inside the trading system's notification: it must never throw into it
    try {
      switch (event.type) {
        case 'market_update':
          this.markets.offer(event.data.ticker, event);
          break;
        case 'order_update':
          this.orders.offer(event.data.clientOrderId, event);
          break;
        case 'position_update':
          this.positions.offer(event.data.ticker, event);
          break;
        case 'actor_snapshot':
          this.actors.offer(event.data.actor, event);
          break;
        case 'fill':
          this.broadcast('fill', presentFill(event.data));
          break;
        case 'trading_state':
          if (event.data.version > this.lastTradingVersion) this.tradingStates.offer('trading', event.data);
          break;
        case 'system_activity':
          this.onActivity(event.data);
          break;
        default:
          break;
      }
    } catch {
      this.counts.listenerErrors++;
    }
  }

  private onActivity(activity: Extract<SystemEvent, { type: 'system_activity' }>['data']): void {
    const meta = activity.metadata ?? {};
    if (activity.activity_type === 'state_transition') {
      const to = typeof meta.to_state === 'string' ? meta.to_state : undefined;
      if (to) this.currentState = to;
      // the history holds the timed record (with the time spent in the previous state): prefer it
      const report = this.safeStatus();
      if (report && this.broadcastNewTransitions(report.stateHistory, meta)) return;
    }
    const data = plainActivity(this.clock.now(), this.currentState, activity);
    this.recentActivities.push(data);
    if (this.recentActivities.length > this.activityReplayCount) this.recentActivities.shift();
    this.broadcast('system_activity', data);
  }

  /**
   * Broadcasts history records not yet sent (oldest first). Returns true when the activity that
   * prompted it (by from/to) is covered by a record, sent now or before.
   */
  private broadcastNewTransitions(history: TransitionRecord[], meta: Record<string, unknown> = {}): boolean {
    const fresh: TransitionRecord[] = [];
    let covered = false;
    for (const record of history.slice(0, this.historyReplayCount)) {
      const key = transitionKey(record);
      if (record.from === meta.from_state && record.to === meta.to_state) covered = true;
      if (this.sentTransitions.has(key)) break;
      fresh.push(record);
    }
    for (const record of fresh.reverse()) {
      this.sentTransitions.add(transitionKey(record));
      this.currentState = record.to;
      this.broadcast('system_activity', transitionActivity(record));
    }
    if (this.sentTransitions.size > 4 * this.historyReplayCount) {
      const keep = new Set(history.slice(0, this.historyReplayCount).map(transitionKey));
      for (const key of this.sentTransitions) if (!keep.has(key)) this.sentTransitions.delete(key);
    }
    return covered;
  }

  private sendTradingState(t: TradingState): void {
    if (t.version <= this.lastTradingVersion) return;
    this.lastTradingVersion = t.version;
    this.recordPnl(t);
    this.broadcast('trading_state', presentTradingState(t));
  }

  private recordPnl(t: TradingState): void {
    const now = this.clock.now();
    const total = t.realizedPnl + t.unrealizedPnl;
    const point: PnlPoint = {
      atMs: now,
      realized: formatDollars(t.realizedPnl),
      unrealized: formatDollars(t.unrealizedPnl),
      total: formatDollars(total),
      raw: { realized: t.realizedPnl, unrealized: t.unrealizedPnl, total },
    };
    const last = this.pnl[this.pnl.length - 1];
    // one point per second is plenty for a chart; the latest value within a second wins
    if (last && now - last.atMs < 1000) this.pnl[this.pnl.length - 1] = { ...point, atMs: last.atMs };
    else this.pnl.push(point);
    if (this.pnl.length > this.pnlLimit) this.pnl.shift();
  }

  /** `joining`: a client being greeted, not yet in the broadcast set but already connected. */
  private traderStatus(report: StatusReport, joining = 0) {
    const feed = this.stats();
    const live = report.markets.filter((m) => m.subscription === 'live').length;
    const deltas = report.markets.reduce((sum, m) => sum + m.deltas, 0);
    const timeInStateMs = report.stateHistory[0] ? Math.max(0, this.clock.now() - report.stateHistory[0].atMs) : report.uptime * 1000;
    return {
      timestamp: clockTime(this.clock.now()),
      state: report.state,
      degraded: report.degraded,
      health: report.components.every((c) => c.healthy) ? 'healthy' : report.state === 'ready' || report.state === 'acting' ? 'degraded' : 'unhealthy',
      metrics: {
        uptime: report.uptime,
        state: report.state,
        time_in_state: Math.round(timeInStateMs) / 1000,
        environment: report.environment,
        strategy: report.strategy,
        markets_connected: live,
        markets_total: report.markets.length,
        deltas_received: deltas,
        ws_clients: feed.clients + joining,
        ws_messages_sent: feed.messagesSent,
        ws_dropped_clients: feed.droppedSlowClients + feed.droppedDeadClients,
        last_sync_ms: report.sync.lastSyncMs,
        sync_count: report.sync.syncCount,
        counters: report.counters,
      },
      trader: report.trader,
      components: report.components.map(presentComponent),
    };
  }

  private scheduleStatus(): void {
    this.statusTimer = this.clock.setTimeout(() => {
      this.statusTimer = null;
      if (this.closed) return;
      const report = this.safeStatus();
      if (report) {
        this.broadcastNewTransitions(report.stateHistory);
        this.currentState = report.state;
        if (report.trading.version > this.lastTradingVersion) this.tradingStates.offer('trading', report.trading);
        else this.recordPnl(report.trading);
        this.broadcast('trader_status', this.traderStatus(report));
      }
      this.scheduleStatus();
    }, this.statusIntervalMs);
  }

  private schedulePing(): void {
    this.pingTimer = this.clock.setTimeout(() => {
      this.pingTimer = null;
      if (this.closed) return;
      const text = JSON.stringify({ type: 'ping', timestamp: this.clock.now() });
      for (const [ws, state] of [...this.clients]) {
        if (!state.answeredPing) {
          this.counts.droppedDeadClients++;
          this.drop(ws);
          continue;
        }
        state.answeredPing = false;
        if (!this.sendText(ws, text)) continue;
        try {
          ws.ping();
        } catch {
          this.drop(ws);
        }
      }
      this.schedulePing();
    }, this.pingIntervalMs);
  }

  private onClientMessage(ws: WebSocket, raw: RawData, isBinary: boolean): void {
    if (isBinary) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString());
    } catch {
      return;
    }
    const message = clientMessageSchema.safeParse(parsed);
    if (message.success && message.data.type === 'ping') this.sendText(ws, JSON.stringify({ type: 'pong', timestamp: this.clock.now() }));
  }

  private safeStatus(): StatusReport | null {
    try {
      return this.view.status();
    } catch {
      this.counts.listenerErrors++;
      return null;
    }
  }

  private envelope(type: string, data: unknown): string {
    return JSON.stringify({ type, data, timestamp: this.clock.now() });
  }

  private broadcast(type: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const text = this.envelope(type, data);
    for (const ws of [...this.clients.keys()]) this.sendText(ws, text);
  }

  /** Sends unless the client is too far behind, in which case it is dropped. Every send comes here (pongs too). */
  private sendText(ws: WebSocket, text: string): boolean {
    if (ws.readyState !== WebSocket.OPEN) {
      if (ws.readyState !== WebSocket.CONNECTING) this.clients.delete(ws);
      return false;
    }
    if (ws.bufferedAmount > this.maxBufferedBytes) {
      this.counts.droppedSlowClients++;
      this.drop(ws);
      return false;
    }
    ws.send(text);
    this.counts.messagesSent++;
    return true;
  }

  private drop(ws: WebSocket): void {
    this.clients.delete(ws);
    // terminate, not close: a slow reader would also be slow to complete a closing handshake
    ws.terminate();
  }
}

function transitionKey(t: { atMs: number; from: string; to: string }): string {
  return `${t.atMs}|${t.from}|${t.to}`;
}

function transitionKeyOf(a: ActivityData): string {
  return `${a.atMs}|${a.from_state ?? ''}|${a.to_state ?? ''}`;
}
