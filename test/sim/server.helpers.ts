/**
 * Shared set-up for the simulator server tests: a simulator on loopback (virtual clock, no
 * synthetic activity unless asked), a registered key, signed REST calls and a WebSocket probe
 * that collects frames and waits for the ones a test expects (bounded in time).
 */
import { createPrivateKey } from 'node:crypto';
import { WebSocket } from 'ws';
import { createCredentials, generateKeyPair, signRequest, WS_SIGN_PATH, type KalshiCredentials } from '../../src/adapters/kalshi/auth.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import type { MarketSpec } from '../../src/sim/activity/markets.ts';
import { startSimulator, type RunningSimulator, type StartSimulatorOptions } from '../../src/sim/simulator.ts';

export const LINEAR = 'KXTEST-26JAN01-T50';
export const DECI = 'KXDECI-26JAN01-T50';

export const TEST_MARKETS: MarketSpec[] = [
  { ticker: LINEAR, fair: 0.5, volatility: 0, eventTicker: 'KXTEST-26JAN01' },
  { ticker: DECI, fair: 0.5, volatility: 0, eventTicker: 'KXDECI-26JAN01', priceLevelStructure: 'deci_cent' },
];

/** One key pair for the whole test run: RSA generation is the slow part of set-up. */
let sharedPair: { publicKeyPem: string; privateKeyPem: string } | null = null;
export function testKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  sharedPair ??= generateKeyPair();
  return sharedPair;
}

export interface RestReply {
  status: number;
  json: any;
  text: string;
}

export interface Harness {
  sim: RunningSimulator;
  clock: VirtualClock;
  keyId: string;
  userId: string;
  creds: KalshiCredentials;
  /** A signed call (path relative to /trade-api/v2; the query is not signed, as at Kalshi). */
  rest(method: string, path: string, body?: unknown, opts?: { sign?: boolean; rawBody?: string; creds?: KalshiCredentials; timestampMs?: number }): Promise<RestReply>;
  control(path: string, body?: unknown): Promise<RestReply>;
  ws(opts?: { headers?: Record<string, string> }): Promise<WsProbe>;
  close(): Promise<void>;
}

export async function startHarness(opts: Partial<StartSimulatorOptions> = {}): Promise<Harness> {
  const clock = opts.clock instanceof VirtualClock ? opts.clock : new VirtualClock(Date.UTC(2026, 0, 1, 12));
  const pair = testKeyPair();
  const keyId = 'test-key-1';
  const sim = await startSimulator({ markets: TEST_MARKETS, activity: false, seed: 42, ...opts, clock, keys: [{ keyId, publicKeyPem: pair.publicKeyPem, userId: 'alice' }, ...(opts.keys ?? [])] });
  const creds = createCredentials(keyId, createPrivateKey(pair.privateKeyPem));
  const probes: WsProbe[] = [];

  const rest: Harness['rest'] = async (method, path, body, o = {}) => {
    const url = new URL(sim.restUrl + path);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (o.sign !== false) Object.assign(headers, signRequest(o.creds ?? creds, method, url.pathname, o.timestampMs ?? clock.now()));
    const payload = o.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const res = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  };

  const control: Harness['control'] = async (path, body) => {
    const res = await fetch(sim.controlUrl + path, {
      method: body === undefined && path === '/state' ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
  };

  const ws: Harness['ws'] = async (o = {}) => {
    const headers = o.headers ?? signRequest(creds, 'GET', WS_SIGN_PATH, clock.now());
    const probe = await WsProbe.connect(sim.wsUrl, headers);
    probes.push(probe);
    return probe;
  };

  return {
    sim,
    clock,
    keyId,
    userId: 'alice',
    creds,
    rest,
    control,
    ws,
    close: async () => {
      for (const p of probes) p.terminate();
      await sim.close();
    },
  };
}

/** Collects a WebSocket connection's frames; `next` waits for one matching frame (≤ 5 s). */
export class WsProbe {
  readonly frames: any[] = [];
  readonly raw: string[] = [];
  pings = 0;
  closed = false;
  /** JSON frames that came without a numeric `sending_ts_ms`. */
  unstamped = 0;
  private cursor = 0;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const text = data.toString();
      this.raw.push(text);
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = { type: '__malformed__', text };
      }
      // every server frame carries sending_ts_ms (spec 3.31); it is counted here and taken off, so
      // tests compare frames without the send time
      if (frame !== null && typeof frame === 'object' && (frame as { type?: unknown }).type !== '__malformed__') {
        const stamped = frame as { sending_ts_ms?: unknown };
        if (typeof stamped.sending_ts_ms === 'number') delete stamped.sending_ts_ms;
        else this.unstamped++;
      }
      this.frames.push(frame);
      this.wake();
    });
    socket.on('ping', () => {
      this.pings++;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(url: string, headers: Record<string, string>): Promise<WsProbe> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      const probe = new WsProbe(socket);
      socket.once('open', () => resolve(probe));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body })));
      });
      socket.once('error', reject);
    });
  }

  send(command: object): void {
    this.socket.send(JSON.stringify(command));
  }

  /** Waits for the next frame (after those already consumed) that satisfies `match`. */
  async next(match: (frame: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const frame = this.frames[this.cursor++];
        if (match(frame)) return frame;
      }
      if (this.closed) throw new Error('connection closed while waiting for a frame');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`);
      await this.changed(left);
    }
  }

  /** Waits until `predicate()` holds (e.g. a ping count or the socket closing), ≤ 5 s. */
  async until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`condition not reached within ${timeoutMs} ms`);
      await this.changed(left);
    }
  }

  /** Frames received after the current read position, without consuming them. */
  pending(): any[] {
    return this.frames.slice(this.cursor);
  }

  /** Round trip: everything the server sent before answering this is in `frames` afterwards. */
  async sync(): Promise<void> {
    const id = 900_000 + Math.floor(Math.random() * 99_999);
    this.send({ id, cmd: 'list_subscriptions' });
    const mark = this.cursor;
    await this.next((f) => f.id === id && f.type === 'ok');
    this.cursor = mark;
  }

  terminate(): void {
    this.socket.terminate();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  private changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

export const ORDER = (over: Record<string, unknown> = {}) => ({
  ticker: LINEAR,
  side: 'bid',
  count: '5',
  price: '0.4000',
  time_in_force: 'good_till_canceled',
  self_trade_prevention_type: 'taker_at_cross',
  ...over,
});
