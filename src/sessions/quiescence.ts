/**
 * Knowing when a scripted session may move its virtual clock: the system is quiescent when no
 * database query or runner task is in flight and an event-loop turn passes without anything
 * happening (no REST exchange, no WebSocket chunk, no query starting or ending). The wrappers here
 * count that work around the injected transports — the REST client's `fetch`, the `ws` class the
 * stream client instantiates, the pg pool — and give each trader runtime a kill switch, so a
 * `trader_crash` cuts its sockets and makes its late writes fail like a dead process's would.
 *
 * Part of src/sessions (wiring layer); nothing here changes what the adapters do with the data.
 */
import type { Pool, PoolClient, QueryResult } from 'pg';
import type WebSocket from 'ws';
import type { Clock } from '../core/clock.ts';

/** Counts progress and in-flight blocking work across the whole session. */
export class ActivityTracker {
  /** Bumped by every observable step (request sent/answered, query started/ended, task done). */
  progress = 0;
  private blocking = 0;
  private waiters: Array<() => void> = [];

  get inFlight(): number {
    return this.blocking;
  }

  bump(): void {
    this.progress++;
  }

  /** Marks the start of work the clock must wait for; call the returned function once when done. */
  begin(): () => void {
    this.blocking++;
    this.progress++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.blocking--;
      this.progress++;
      if (this.blocking === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  /** Holds the clock until `promise` settles. */
  track<T>(promise: Promise<T>): Promise<T> {
    const end = this.begin();
    return promise.finally(end);
  }

  /** Resolves once no blocking work is in flight. */
  whenIdle(): Promise<void> {
    if (this.blocking === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Thrown into a crashed runtime's late I/O. */
export class RuntimeKilledError extends Error {
  override readonly name = 'RuntimeKilledError';
  constructor(what: string) {
    super(`${what}: trader process was killed`);
  }
}

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export interface TrackedFetch {
  fetch: typeof fetch;
  /** Fails every pending and later request, as if the process died. */
  kill(): void;
}

/**
 * Wraps a fetch: counts each exchange as progress, reads the whole body before answering (so the
 * caller never waits on a half-read stream), and, when `timeoutMs` is given, fails a request that
 * has no answer after that long on `clock` — the virtual-time twin of the REST client's own
 * wall-clock timeout. Requests do not hold the clock: an answer may be waiting on virtual time
 * (an injected latency).
 */
export function trackFetch(inner: typeof fetch, tracker: ActivityTracker, clock: Clock, timeoutMs?: number): TrackedFetch {
  let dead = false;
  const pending = new Set<(error: Error) => void>();
  const wrapped = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (dead) throw new TypeError('fetch failed', { cause: new RuntimeKilledError('REST request') });
    tracker.bump();
    return await new Promise<Response>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        pending.delete(fail);
        if (timer !== undefined) clock.clearTimeout(timer);
        tracker.bump();
        fn();
      };
      const fail = (error: Error) => finish(() => reject(new TypeError('fetch failed', { cause: error })));
      pending.add(fail);
      const timer = timeoutMs === undefined ? undefined : clock.setTimeout(() => fail(new Error(`no answer after ${timeoutMs} ms`)), timeoutMs);
      (async () => {
        const response = await inner(input, init);
        const body = NULL_BODY_STATUSES.has(response.status) ? null : await response.arrayBuffer();
        return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
      })().then(
        (response) => finish(() => (dead ? reject(new TypeError('fetch failed', { cause: new RuntimeKilledError('REST request') })) : resolve(response))),
        (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
      );
    });
  }) as typeof fetch;
  return {
    fetch: wrapped,
    kill() {
      dead = true;
      for (const fail of [...pending]) fail(new RuntimeKilledError('REST request'));
    },
  };
}

export interface TrackedWebSockets {
  WebSocketImpl: typeof WebSocket;
  /** Cuts every open connection without a close handshake and refuses new ones. */
  kill(): void;
}

/** Subclasses a `ws` WebSocket class so every instance is known (for the crash kill switch). */
export function trackWebSockets(Base: typeof WebSocket, tracker: ActivityTracker): TrackedWebSockets {
  const open = new Set<WebSocket>();
  let dead = false;
  class TrackedWebSocket extends (Base as unknown as new (...args: unknown[]) => WebSocket) {
    constructor(...args: unknown[]) {
      super(...args);
      tracker.bump();
      open.add(this);
      this.once('close', () => open.delete(this));
      if (dead) queueMicrotask(() => this.terminate());
    }
  }
  return {
    WebSocketImpl: TrackedWebSocket as unknown as typeof WebSocket,
    kill() {
      dead = true;
      for (const socket of [...open]) socket.terminate();
    },
  };
}

export interface TrackedPool {
  /** Use where a Pool is expected: query and connect are counted and guarded. */
  pool: Pool;
  /** Later queries fail; queries already sent complete (the database got them). */
  kill(): void;
}

type QueryFn = (...args: unknown[]) => Promise<QueryResult>;

/**
 * A pool facade for one runtime: every query holds the clock until the database answers (the
 * embedded PGlite is real I/O on a loopback socket), and after kill() new queries fail with
 * RuntimeKilledError. Supports what the store uses: promise-style query, connect/release.
 */
export function trackPool(pool: Pool, tracker: ActivityTracker): TrackedPool {
  let dead = false;
  const guard = (run: () => Promise<QueryResult>): Promise<QueryResult> => {
    if (dead) return Promise.reject(new RuntimeKilledError('database query'));
    return tracker.track(run());
  };
  const facade = {
    query: (...args: unknown[]) => guard(() => (pool.query as unknown as QueryFn).apply(pool, args)),
    connect: async (): Promise<PoolClient> => {
      if (dead) throw new RuntimeKilledError('database connection');
      const client = await tracker.track(pool.connect());
      const query = client.query.bind(client) as unknown as QueryFn;
      const wrapped = Object.create(client) as PoolClient;
      (wrapped as unknown as { query: QueryFn }).query = (...args: unknown[]) => guard(() => query(...args));
      (wrapped as unknown as { release: (e?: unknown) => void }).release = (error?: unknown) => client.release(error as Error | boolean | undefined);
      return wrapped;
    },
    on: (...args: unknown[]) => {
      (pool.on as unknown as (...a: unknown[]) => unknown).apply(pool, args);
      return facade;
    },
    end: () => Promise.resolve(),
    get totalCount() {
      return pool.totalCount;
    },
    get idleCount() {
      return pool.idleCount;
    },
    get waitingCount() {
      return pool.waitingCount;
    },
  };
  return {
    pool: facade as unknown as Pool,
    kill() {
      dead = true;
    },
  };
}
