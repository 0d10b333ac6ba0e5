/**
 * The simulator without sockets: the same exchange, synthetic activity, fault switches, Hono
 * Trade API and `ws`-based WebSocket server as `startSimulator`, reached in-process. REST goes
 * through the Hono app's `fetch`; a WebSocket connection runs over an in-memory stream pair into
 * the simulator's (never listening) node http server, which parses the signed upgrade and hands
 * it to the WebSocket server exactly as a loopback socket would. Clients keep their full logic
 * (signing, framing, validation, retries, seq tracking) while a scripted session on a
 * VirtualClock can tell when nothing is in flight, which real sockets cannot show.
 *
 * Part of src/sim; used by src/sessions. Faults act here as they do on loopback: ws_drop cuts the
 * stream pair, refused upgrades answer 503 on it, latency delays frames and responses on the clock.
 */
import { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { ClientRequestArgs } from 'node:http';
import { API_BASE_PATH } from './server/rest.ts';
import { WS_PATH } from './server/ws.ts';
import { assembleSimulator, type RunningSimulator, type StartSimulatorOptions } from './simulator.ts';

/**
 * The authority of in-process URLs; never resolved, the transport ignores it. A `.localhost` name
 * (RFC 6761: loopback by definition), so the venue rule (adapters/kalshi/environments.ts) treats
 * it as the loopback simulator it stands for.
 */
export const IN_PROCESS_HOST = 'sim.in-process.localhost';

export interface InProcessSimulator extends RunningSimulator {
  /** A `fetch` answered by the simulator's HTTP app, with no socket in between. */
  fetch: typeof fetch;
  /** A `ws` WebSocket class whose connections run over in-memory streams into the simulator. */
  WebSocketImpl: typeof WebSocket;
  /** Chunks moved through the in-memory WebSocket streams so far (a progress signal for drivers). */
  readonly transfers: number;
  /** Open in-memory WebSocket stream pairs. */
  readonly openStreams: number;
}

interface PipeStats {
  transfers: number;
  open: Set<PipeEnd>;
}

/**
 * One end of an in-memory, full-duplex byte stream. Writes are pushed to the peer; ending or
 * destroying one end ends the peer's readable side, as a FIN would on TCP. Carries the few socket
 * methods that node's http client/server and `ws` call on a net.Socket.
 */
class PipeEnd extends Duplex {
  peer: PipeEnd | null = null;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly remoteFamily = 'IPv4';
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;

  constructor(private readonly stats: PipeStats) {
    super({ allowHalfOpen: false });
    stats.open.add(this);
    this.once('close', () => stats.open.delete(this));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.deliver([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.deliver(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  /** Chunks written in one tick reach the peer together, on a later tick, as a socket would batch them. */
  private outgoing: Buffer[] = [];

  private deliver(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed || peer.readableEnded) {
      callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      return;
    }
    this.stats.transfers++;
    // a reply must never arrive inside send(): delivery waits for a later tick
    if (this.outgoing.length === 0) process.nextTick(() => this.flushTo(peer));
    for (const chunk of chunks) this.outgoing.push(chunk);
    callback();
  }

  private flushTo(peer: PipeEnd): void {
    const chunks = this.outgoing;
    this.outgoing = [];
    if (peer.destroyed || peer.readableEnded || chunks.length === 0) return;
    peer.push(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.endPeer();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.endPeer();
    callback(error);
  }

  private endPeer(): void {
    const peer = this.peer;
    this.peer = null;
    if (!peer) return;
    this.stats.transfers++;
    // after the chunks already in flight, like a FIN behind the data
    process.nextTick(() => {
      this.flushTo(peer);
      if (!peer.destroyed && !peer.readableEnded) peer.push(null);
    });
  }

  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

function pipePair(stats: PipeStats): [PipeEnd, PipeEnd] {
  const a = new PipeEnd(stats);
  const b = new PipeEnd(stats);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

type InProcessOptions = Omit<StartSimulatorOptions, 'host' | 'port' | 'allowRemoteControl'>;

/** Starts the simulator in-process (no port). Same options and behaviour as `startSimulator`. */
export function startInProcessSimulator(opts: InProcessOptions = {}): InProcessSimulator {
  const sim = assembleSimulator(opts);
  const { clock, exchange, faults, specs, activity, replay, registerKey, server, app } = sim;
  sim.begin();

  const stats: PipeStats = { transfers: 0, open: new Set() };
  let closed = false;

  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (closed) throw new TypeError('fetch failed: simulator closed');
    const request = input instanceof Request && init === undefined ? input : new Request(input, init);
    // the server sees the path and headers it would see over a socket; the authority is ignored
    return app.fetch(request);
  }) as typeof fetch;

  const connect = (): PipeEnd => {
    const [clientEnd, serverEnd] = pipePair(stats);
    if (closed) {
      queueMicrotask(() => clientEnd.destroy());
      return clientEnd;
    }
    server.emit('connection', serverEnd);
    return clientEnd;
  };

  class InProcessWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[] | WebSocket.ClientOptions | ClientRequestArgs, options?: WebSocket.ClientOptions | ClientRequestArgs) {
      let opts = options;
      let protos = protocols;
      if (protos !== undefined && typeof protos === 'object' && !Array.isArray(protos)) {
        opts = protos;
        protos = undefined;
      }
      super(address, protos ?? [], {
        ...(opts ?? {}),
        perMessageDeflate: false,
        createConnection: () => connect() as unknown as import('node:net').Socket,
      });
    }
  }

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed = true;
    closing ??= sim.shutdown(async () => {
      for (const end of [...stats.open]) end.destroy();
    });
    return closing;
  };

  return {
    restUrl: `http://${IN_PROCESS_HOST}${API_BASE_PATH}`,
    wsUrl: `ws://${IN_PROCESS_HOST}${WS_PATH}`,
    controlUrl: `http://${IN_PROCESS_HOST}/_sim`,
    host: IN_PROCESS_HOST,
    port: 0,
    clock,
    exchange,
    faults,
    markets: specs,
    activity,
    replay,
    registerKey,
    close,
    fetch: fetchImpl,
    WebSocketImpl: InProcessWebSocket as unknown as typeof WebSocket,
    get transfers() {
      return stats.transfers;
    },
    get openStreams() {
      return stats.open.size / 2;
    },
  };
}
