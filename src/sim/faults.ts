/**
 * Fault injection for the simulator: the in-process switches that the REST app, the WebSocket
 * server and the control API (`/_sim/…`) consult. Durations run on the injected clock, so a
 * scripted session on a VirtualClock sees faults start and end at exact virtual times.
 *
 * Sits in src/sim beside the exchange; the WebSocket server registers itself as the target of
 * the connection-level faults (drop, malformed frame) through `attachWebSockets`.
 */
import type { Clock } from '../core/clock.ts';
import type { ExchangeApi, Result, SimMarket } from './exchange.types.ts';

export type RestFaultStatus = 429 | 500 | 503;
export type OrderRejectStatus = 400 | 503;

/** What the WebSocket server offers to fault injection. */
export interface WebSocketFaultTarget {
  /** Cuts every connection without a close handshake; returns how many were cut. */
  dropAll(): number;
  /** Sends a frame that is not valid JSON to every connection; returns how many got it. */
  sendMalformedFrame(): number;
}

export interface RestStatusFault {
  status: RestFaultStatus;
  pathPrefix: string;
  untilMs: number;
}

export interface FaultState {
  wsRefusedUntilMs: number | null;
  restStatus: Array<{ status: RestFaultStatus; pathPrefix: string; untilMs: number }>;
  latency: { ms: number; untilMs: number } | null;
  createDelay: { ms: number; untilMs: number } | null;
  rejectOrders: { remaining: number; status: OrderRejectStatus } | null;
  pendingSeqSkips: string[];
}

const API_PREFIX = '/trade-api/v2';

export class SimFaults {
  private wsTarget: WebSocketFaultTarget | null = null;
  private wsRefusedUntil = -Infinity;
  private restFaults: RestStatusFault[] = [];
  private latency = { ms: 0, untilMs: -Infinity };
  private createDelay = { ms: 0, untilMs: -Infinity };
  private rejections = { remaining: 0, status: 400 as OrderRejectStatus };
  private readonly seqSkips = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly exchange: Pick<ExchangeApi, 'settleMarket'>,
  ) {}

  attachWebSockets(target: WebSocketFaultTarget): void {
    this.wsTarget = target;
  }

  // ---- WebSocket faults ----

  dropWebSockets(): number {
    return this.wsTarget?.dropAll() ?? 0;
  }

  /** Answers every WebSocket upgrade with HTTP 503 for `durationMs` of clock time. */
  refuseWebSocketUpgrades(durationMs: number): void {
    this.wsRefusedUntil = this.clock.now() + requireDuration(durationMs);
  }

  isRefusingWebSocketUpgrades(): boolean {
    return this.clock.now() < this.wsRefusedUntil;
  }

  /** The next orderbook delta on `ticker` jumps its subscriptions' seq by 2 (a gap of one). */
  skipSeq(ticker: string): void {
    this.seqSkips.add(ticker);
  }

  hasSeqSkip(ticker: string): boolean {
    return this.seqSkips.has(ticker);
  }

  /** Called by the WebSocket server once a skip has been applied to at least one subscriber. */
  consumeSeqSkip(ticker: string): void {
    this.seqSkips.delete(ticker);
  }

  sendMalformedFrame(): number {
    return this.wsTarget?.sendMalformedFrame() ?? 0;
  }

  // ---- REST faults ----

  /**
   * Answers REST requests whose path starts with `pathPrefix` with `status` for `durationMs`.
   * The prefix may be given with or without the `/trade-api/v2` base (e.g. `/portfolio`).
   */
  failRest(status: RestFaultStatus, pathPrefix: string, durationMs: number): void {
    const prefix = pathPrefix.startsWith('/') ? pathPrefix : `/${pathPrefix}`;
    this.restFaults.push({ status, pathPrefix: prefix, untilMs: this.clock.now() + requireDuration(durationMs) });
  }

  /** The injected status for a request path, if a REST fault covers it now. */
  restStatusFor(path: string): RestFaultStatus | undefined {
    const now = this.clock.now();
    this.restFaults = this.restFaults.filter((f) => now < f.untilMs);
    const apiPath = path.startsWith(API_PREFIX) ? path.slice(API_PREFIX.length) : path;
    for (const f of this.restFaults) {
      if (path.startsWith(f.pathPrefix) || apiPath.startsWith(f.pathPrefix)) return f.status;
    }
    return undefined;
  }

  /** Delays REST responses and outgoing WebSocket frames by `ms` for `durationMs`. */
  addLatency(ms: number, durationMs: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('latency must be a non-negative number of milliseconds');
    this.latency = { ms, untilMs: this.clock.now() + requireDuration(durationMs) };
  }

  latencyMs(): number {
    return this.clock.now() < this.latency.untilMs ? this.latency.ms : 0;
  }

  /**
   * For `durationMs`, every order create that arrives is held `ms` before the exchange takes it
   * (then answered): the order lands late, and a client that gave up waiting — or was killed —
   * never hears of it. Decided when the request arrives, so clearing the fault does not release
   * creates already held. Other requests are not slowed.
   */
  delayOrderCreates(ms: number, durationMs: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('delay must be a non-negative number of milliseconds');
    this.createDelay = { ms, untilMs: this.clock.now() + requireDuration(durationMs) };
  }

  /** How long an order create arriving now is held before the exchange takes it. */
  orderCreateDelayMs(): number {
    return this.clock.now() < this.createDelay.untilMs ? this.createDelay.ms : 0;
  }

  /** The next `count` order creations are refused with `status` (400 invalid_order or 503). */
  rejectNextOrders(count: number, status: OrderRejectStatus): void {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
    this.rejections = { remaining: count, status };
  }

  /** Takes one pending rejection, if any; each call consumes one. */
  takeOrderRejection(): { status: OrderRejectStatus; code: string; message: string } | undefined {
    if (this.rejections.remaining <= 0) return undefined;
    this.rejections.remaining--;
    return this.rejections.status === 503
      ? { status: 503, code: 'service_unavailable', message: 'service_unavailable' }
      : { status: 400, code: 'invalid_order', message: 'order rejected (injected fault)' };
  }

  // ---- market faults ----

  settleMarket(ticker: string, result: 'yes' | 'no'): Result<SimMarket> {
    return this.exchange.settleMarket(ticker, result);
  }

  /** Ends every timed fault and pending rejection/skip. */
  clear(): void {
    this.wsRefusedUntil = -Infinity;
    this.restFaults = [];
    this.latency = { ms: 0, untilMs: -Infinity };
    this.createDelay = { ms: 0, untilMs: -Infinity };
    this.rejections = { remaining: 0, status: 400 };
    this.seqSkips.clear();
  }

  state(): FaultState {
    const now = this.clock.now();
    return {
      wsRefusedUntilMs: now < this.wsRefusedUntil ? this.wsRefusedUntil : null,
      restStatus: this.restFaults.filter((f) => now < f.untilMs).map((f) => ({ ...f })),
      latency: now < this.latency.untilMs ? { ...this.latency } : null,
      createDelay: now < this.createDelay.untilMs ? { ...this.createDelay } : null,
      rejectOrders: this.rejections.remaining > 0 ? { ...this.rejections } : null,
      pendingSeqSkips: [...this.seqSkips],
    };
  }
}

function requireDuration(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError('duration must be a positive number of milliseconds');
  return ms;
}
