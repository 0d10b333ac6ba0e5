/**
 * `--inspect`: streams the actor system to the Stately inspector. `createInspectorBridge` starts a
 * local relay (a WebSocket server on 127.0.0.1, plus a page at `url` that embeds the Stately
 * inspector UI and feeds it from the relay — the same protocol as `@statelyai/inspect/server`,
 * but loopback-bound and on any port) and connects a `createWebSocketInspector` to it. Pass
 * `bridge.inspect` to `createActor(machine, { inspect })`. The relay only takes messages from
 * this process's inspector (a secret path), serves its page and viewers on another secret path
 * behind the host guard, bounds what it keeps and what a viewer may owe by bytes, and the page
 * posts to the inspector frame's own origin only.
 *
 * Contexts and events are sanitised before they leave the process: order books and secrets are
 * dropped (privateKey, book, books, credentials, …), actor references become their id, and arrays
 * and strings are cut, so a busy system cannot swamp the inspector or leak a key.
 * Part of src/server; wired by the CLI.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { AnyEventObject, InspectionEvent, MachineContext } from 'xstate';
import { checkHostAndOrigin, hostAllowList, isLoopbackHost } from '../adapters/http/host-guard.ts';
import { BindRefusedError } from './auth.ts';
import { redactSecrets } from './redact.ts';

export interface InspectorBridgeOptions {
  /** Relay address (default 127.0.0.1; loopback only: the relay has no authentication). */
  host?: string;
  /** Relay port (default 0: any free port). */
  port?: number;
  /** Connect to an inspector server that is already running (e.g. `ws://127.0.0.1:8080`) instead. */
  serverUrl?: string;
  /** The inspector UI the bridge page embeds (default https://stately.ai/inspect). */
  inspectorUiUrl?: string;
  /** Keys dropped from contexts and events, in addition to the defaults. */
  dropKeys?: string[];
  maxArrayLength?: number;
  maxStringLength?: number;
  /** Events not worth inspecting (default: none). */
  ignoreEvent?: (type: string) => boolean;
  /** Messages the relay keeps for inspectors that connect late (default 500). */
  replayLimit?: number;
  /** Bytes those kept messages may take in all (default 8 MiB; older ones go first). */
  replayBytes?: number;
  /** A viewer (and the bridge page, before the UI is ready) holding more unsent bytes than this is cut (default 8 MiB). */
  maxBufferedBytes?: number;
}

export interface InspectorBridge {
  /** Pass to `createActor(…, { inspect })`. */
  inspect: (event: InspectionEvent) => void;
  /** Page to open in a browser (the relay's page, with its secret path, or `serverUrl` when given). */
  url: string;
  /** Where viewers connect to the relay (secret path; the page uses it). */
  wsUrl: string;
  close(): Promise<void>;
}

export const DEFAULT_DROPPED_KEYS = [
  'privateKey',
  'privateKeyPem',
  'private_key',
  'credentials',
  'secret',
  'book',
  'books',
  'orderbook',
  'orderBook',
  'orderbooks',
  'signer',
];

function isActorRef(value: object): value is { id: string; sessionId: string } {
  const v = value as { sessionId?: unknown; send?: unknown; getSnapshot?: unknown };
  return typeof v.sessionId === 'string' && typeof v.send === 'function' && typeof v.getSnapshot === 'function';
}

/** The relay page: embeds the inspector UI and hands it the relay's messages, to its origin only. */
function bridgePage(wsUrl: string, inspectorUiUrl: string, maxBufferedBytes: number, nonce: string): string {
  const uiOrigin = new URL(inspectorUiUrl).origin;
  // values are embedded as JSON string literals, so nothing in them can break out of the script
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>kalshiflow — Stately inspector</title>
<style>*{margin:0;padding:0}html,body{height:100%}iframe{width:100%;height:100%;border:none}</style></head>
<body><iframe id="inspector" src=${JSON.stringify(inspectorUiUrl)}></iframe>
<script nonce="${nonce}">
const UI_ORIGIN = ${JSON.stringify(uiOrigin)};
const MAX_BUFFERED_CHARS = ${maxBufferedBytes};
const iframe = document.getElementById('inspector');
// until the inspector UI says it is ready, keep the newest messages, bounded in size
const buffer = [];
let buffered = 0;
let connected = false;
const deliver = (text) => iframe.contentWindow.postMessage(JSON.parse(text), UI_ORIGIN);
window.addEventListener('message', (e) => {
  if (e.origin !== UI_ORIGIN || e.source !== iframe.contentWindow) return;
  if (e.data && e.data.type === '@statelyai.connected') {
    connected = true;
    for (const text of buffer) deliver(text);
    buffer.length = 0;
    buffered = 0;
  }
});
const ws = new WebSocket(${JSON.stringify(wsUrl)});
ws.onmessage = (event) => {
  if (typeof event.data !== 'string') return;
  if (connected) return deliver(event.data);
  buffer.push(event.data);
  buffered += event.data.length;
  while (buffered > MAX_BUFFERED_CHARS && buffer.length > 0) buffered -= buffer.shift().length;
};
</script></body></html>`;
}

interface Relay {
  url: string;
  /** Where viewers (the bridge page) connect. */
  wsUrl: string;
  /** Where this process's own inspector connects (never shown). */
  sourceUrl: string;
  close(): Promise<void>;
}

interface RelayLimits {
  /** Messages kept for viewers that connect late. */
  replayLimit: number;
  /** Bytes those messages may take in all. */
  replayBytes: number;
  /** A viewer with more unsent bytes than this is dropped. */
  maxBufferedBytes: number;
}

const SOURCE_MAX_PAYLOAD = 8 * 1024 * 1024;

/**
 * Relays what this process's inspector sends to the viewers, replaying recent messages (bounded
 * by count and bytes) to newcomers. Two secrets in the paths: one for the source, known only to
 * this process, one for the page and its viewers; anything else is 404. Viewers must come from
 * the page's own origin and their messages are ignored.
 */
async function startRelay(host: string, port: number, inspectorUiUrl: string, limits: RelayLimits): Promise<Relay> {
  const viewerKey = randomBytes(18).toString('base64url');
  const sourceKey = randomBytes(18).toString('base64url');
  const pagePath = `/${viewerKey}/`;
  const viewerPath = `/${viewerKey}/ws`;
  const sourcePath = `/${sourceKey}/source`;
  const allowed = hostAllowList(host);
  const uiOrigin = new URL(inspectorUiUrl).origin;
  let page = '';
  let wsOrigin = '';
  const nonce = randomBytes(16).toString('base64');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (checkHostAndOrigin(req.headers.host, req.headers.origin, allowed)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('forbidden');
      return;
    }
    if (req.method !== 'GET' || path !== pagePath) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res
      .writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; frame-src ${uiOrigin}; connect-src ${wsOrigin}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
      })
      .end(page);
  });
  const sources = new WebSocketServer({ noServer: true, maxPayload: SOURCE_MAX_PAYLOAD, perMessageDeflate: false });
  // viewers only listen: anything they send beyond a small frame closes them
  const viewers = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024, perMessageDeflate: false });
  const replay: string[] = [];
  let replayBytes = 0;

  const sendToViewer = (viewer: WebSocket, msg: string) => {
    if (viewer.readyState !== WebSocket.OPEN) return;
    // a viewer that stopped reading must not make the relay hoard memory
    if (viewer.bufferedAmount > limits.maxBufferedBytes) viewer.terminate();
    else viewer.send(msg);
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '/').split('?')[0];
    if (checkHostAndOrigin(req.headers.host, req.headers.origin, allowed)) return refuseUpgrade(socket, 403, 'Forbidden');
    if (path === sourcePath) {
      // our own inspector runs in this process and sends no Origin
      if (req.headers.origin !== undefined) return refuseUpgrade(socket, 403, 'Forbidden');
      sources.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => ws.terminate());
        ws.on('message', (data, isBinary) => {
          if (isBinary) return;
          const msg = data.toString();
          const bytes = Buffer.byteLength(msg);
          if (bytes <= limits.replayBytes) {
            replay.push(msg);
            replayBytes += bytes;
            while (replay.length > limits.replayLimit || replayBytes > limits.replayBytes) replayBytes -= Buffer.byteLength(replay.shift()!);
          }
          for (const viewer of viewers.clients) sendToViewer(viewer, msg);
        });
      });
      return;
    }
    if (path === viewerPath) {
      viewers.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => ws.terminate());
        for (const msg of replay) sendToViewer(ws, msg);
      });
      return;
    }
    refuseUpgrade(socket, 404, 'Not Found');
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  wsOrigin = `ws://${hostPart}:${actual}`;
  const wsUrl = `${wsOrigin}${viewerPath}`;
  page = bridgePage(wsUrl, inspectorUiUrl, limits.maxBufferedBytes, nonce);
  return {
    url: `http://${hostPart}:${actual}${pagePath}`,
    wsUrl,
    sourceUrl: `${wsOrigin}${sourcePath}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const wss of [sources, viewers]) {
          for (const client of wss.clients) client.terminate();
          wss.close();
        }
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  else socket.destroy();
}

export async function createInspectorBridge(options: InspectorBridgeOptions = {}): Promise<InspectorBridge> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new BindRefusedError(`the inspector relay has no authentication and only listens on loopback, not ${host}`);
  const dropKeys = new Set([...DEFAULT_DROPPED_KEYS, ...(options.dropKeys ?? [])]);
  const limits = {
    dropKeys,
    maxDepth: 8,
    maxArrayLength: options.maxArrayLength ?? 50,
    maxStringLength: options.maxStringLength ?? 2_000,
    summarize: (value: object) => (isActorRef(value) ? { actorRef: value.id || value.sessionId } : undefined),
  };
  const sanitizeContext = (context: MachineContext): MachineContext => (redactSecrets(context ?? {}, limits) ?? {}) as MachineContext;
  const sanitizeEvent = (event: AnyEventObject): AnyEventObject => ({ ...(redactSecrets(event, limits) as object), type: event.type });

  const relay = options.serverUrl
    ? null
    : await startRelay(host, options.port ?? 0, options.inspectorUiUrl ?? 'https://stately.ai/inspect', {
        replayLimit: options.replayLimit ?? 500,
        replayBytes: options.replayBytes ?? 8 * 1024 * 1024,
        maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
      });
  const wsUrl = options.serverUrl ?? relay!.wsUrl;
  const ignore = options.ignoreEvent;
  // a machine config carries its initial context (and anything else it was written with)
  const sanitizeDefinition = (definition: string | undefined): string | undefined => {
    if (definition === undefined) return undefined;
    try {
      // state keys may well be named like dropped context keys (a region called `orderbook`):
      // only the initial context gets the context rules, the rest only loses secrets
      const parsed = JSON.parse(definition) as Record<string, unknown>;
      const { context, ...rest } = parsed;
      const clean = redactSecrets(rest, { maxDepth: 64, maxArrayLength: 10_000, maxStringLength: 100_000 }) as Record<string, unknown>;
      if (context !== undefined) clean.context = redactSecrets(context, limits);
      return JSON.stringify(clean);
    } catch {
      return undefined;
    }
  };
  const lean = (snapshot: unknown) => {
    const snap = (snapshot ?? {}) as { status?: unknown; value?: unknown; context?: MachineContext; output?: unknown; error?: unknown };
    return { status: snap.status, value: snap.value, context: snap.context, output: snap.output, error: snap.error };
  };
  const inspector = createWebSocketInspector({
    url: options.serverUrl ?? relay!.sourceUrl,
    sanitizeContext,
    sanitizeEvent,
    // actor registrations carry the live snapshot (children, internals): keep what the UI shows
    serialize: (event) =>
      event.type === '@xstate.actor'
        ? { ...event, snapshot: lean(event.snapshot) as typeof event.snapshot, definition: sanitizeDefinition(event.definition) }
        : event,
  });

  return {
    inspect(event: InspectionEvent) {
      if (ignore && event.type === '@xstate.event' && ignore(event.event.type)) return;
      if (event.type === '@xstate.snapshot') {
        // hand the inspector a lean snapshot: it would otherwise serialise children and the full
        // context before sanitising
        const snapshot = lean(event.snapshot);
        inspector.inspect.next?.({ ...event, snapshot: { ...snapshot, context: sanitizeContext(snapshot.context ?? {}) } } as unknown as InspectionEvent);
        return;
      }
      inspector.inspect.next?.(event);
    },
    url: options.serverUrl ? options.serverUrl.replace(/^ws/, 'http') : relay!.url,
    wsUrl,
    async close() {
      inspector.stop();
      await relay?.close();
    },
  };
}
