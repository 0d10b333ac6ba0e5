/**
 * Starts the operator server: one node http server on `host:port` (127.0.0.1:8005 by default)
 * answering the Hono app (app.ts) and upgrading `/v3/ws` to the console feed (console-feed.ts)
 * with the `ws` package on the same port. Refuses to listen beyond loopback without an auth
 * token; the token then guards the WebSocket too. HTTP routes and the upgrade share one host
 * guard (adapters/http/host-guard.ts): loopback names, the bound host and `allowedHosts` only.
 * Builds the dashboard on first start when `web/dist` is missing. Part of src/server; called by
 * the CLI's `start` command.
 */
import { getRequestListener } from '@hono/node-server';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Clock } from '../core/clock.ts';
import { checkHostAndOrigin, hostAllowList } from '../adapters/http/host-guard.ts';
import { createServerApp } from './app.ts';
import { assertBindAllowed, presentedToken, tokenMatches } from './auth.ts';
import { ConsoleFeed, type ConsoleFeedOptions } from './console-feed.ts';
import { redactText } from './redact.ts';
import type { SystemView } from '../actors/system-view.ts';
import { DEFAULT_WEB_ROOT, ensureWebBuild } from './web-assets.ts';

export const DEFAULT_PORT = 8005;
export const WS_PATH = '/v3/ws';

export interface HttpServerOptions {
  /** Default 127.0.0.1. Anything else needs `authToken`. */
  host?: string;
  /** Default 8005; 0 picks a free port. */
  port?: number;
  authToken?: string;
  /**
   * Host names (besides loopback and `host`) browsers may use, e.g. the name a reverse proxy
   * forwards. Any other Host header is refused (DNS rebinding guard).
   */
  allowedHosts?: string[];
  /** The Stately inspector bridge, when `--inspect` is on (its page is linked from the dashboard). */
  inspect?: { url: string };
  clock?: Clock;
  /** Feed cadences and bounds (tests shorten them). */
  feed?: ConsoleFeedOptions;
  webRoot?: string;
  statechartsDir?: string;
  /** Build the dashboard when `webRoot` has none (default true). */
  buildWeb?: boolean;
  log?: (line: string) => void;
}

export interface RunningHttpServer {
  url: string;
  host: string;
  port: number;
  feed: ConsoleFeed;
  close(): Promise<void>;
}

function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  if (socket.writable) {
    const body = JSON.stringify({ error: reason });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  } else {
    socket.destroy();
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startHttpServer(view: SystemView, options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_PORT;
  const authToken = options.authToken || undefined;
  assertBindAllowed(host, authToken);
  const log = options.log ?? ((line: string) => console.error(line));

  const webRoot = options.webRoot ?? DEFAULT_WEB_ROOT;
  if (options.buildWeb !== false) {
    try {
      if (await ensureWebBuild(webRoot)) log(`operator API: built the dashboard into ${webRoot}`);
    } catch (error) {
      // the API stays useful without the dashboard; `/` then says how to build it
      log(`operator API: could not build the dashboard: ${redactText((error as Error).message)}`);
    }
  }

  const feed = new ConsoleFeed(view, { ...options.feed, ...(options.clock ? { clock: options.clock } : {}) });
  const allowedHosts = hostAllowList(host, options.allowedHosts);
  const app = createServerApp(view, {
    allowedHosts,
    ...(authToken ? { authToken } : {}),
    webRoot,
    ...(options.statechartsDir ? { statechartsDir: options.statechartsDir } : {}),
    feed,
    ...(options.inspect ? { inspectorUrl: options.inspect.url } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    log,
  });

  // overrideGlobalObjects would swap the process-wide Request/Response under other code
  const server = createServer(getRequestListener(app.fetch, { overrideGlobalObjects: false }));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://operator.invalid');
    } catch {
      return rejectUpgrade(socket, 400, 'Bad Request');
    }
    if (checkHostAndOrigin(req.headers.host, req.headers.origin, allowedHosts)) return rejectUpgrade(socket, 403, 'Forbidden');
    if (url.pathname !== WS_PATH) return rejectUpgrade(socket, 404, 'Not Found');
    if (authToken && !tokenMatches(authToken, presentedToken(req.headers.authorization, url))) return rejectUpgrade(socket, 401, 'Unauthorized');
    // every client costs a buffer of up to maxBufferedBytes: their number is bounded too
    if (!feed.hasRoom()) return rejectUpgrade(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => feed.attach(ws));
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  feed.start();
  const actualPort = (server.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost(host)}:${actualPort}`,
    host,
    port: actualPort,
    feed,
    close() {
      closing ??= new Promise<void>((resolve) => {
        feed.close();
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
