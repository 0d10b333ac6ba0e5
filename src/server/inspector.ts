/**
 * `--inspect`: streams the actor system to the Stately inspector. `createInspectorBridge` starts a
 * local relay (a WebSocket server on 127.0.0.1, plus a page at `url` that embeds the Stately
 * inspector UI and feeds it from the relay — the same protocol as `@statelyai/inspect/server`,
 * but loopback-bound and on any port) and connects a `createWebSocketInspector` to it. Pass
 * `bridge.inspect` to `createActor(machine, { inspect })`.
 *
 * Contexts and events are sanitised before they leave the process: order books and secrets are
 * dropped (privateKey, book, books, credentials, …), actor references become their id, and arrays
 * and strings are cut, so a busy system cannot swamp the inspector or leak a key.
 * Part of src/server; wired by the CLI.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { AnyEventObject, InspectionEvent, MachineContext } from 'xstate';
import { isLoopbackHost } from '../adapters/http/host-guard.ts';
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
}

export interface InspectorBridge {
  /** Pass to `createActor(…, { inspect })`. */
  inspect: (event: InspectionEvent) => void;
  /** Page to open in a browser (the relay's page, or `serverUrl` when given). */
  url: string;
  /** The relay's WebSocket address. */
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

function bridgePage(wsUrl: string, inspectorUiUrl: string): string {
  // values are embedded as JSON string literals, so nothing in them can break out of the script
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>kalshiflow — Stately inspector</title>
<style>*{margin:0;padding:0}html,body{height:100%}iframe{width:100%;height:100%;border:none}</style></head>
<body><iframe id="inspector" src=${JSON.stringify(inspectorUiUrl)}></iframe>
<script>
const iframe = document.getElementById('inspector');
const buffer = [];
let connected = false;
window.addEventListener('message', (e) => {
  if (e.data && e.data.type === '@statelyai.connected') {
    connected = true;
    for (const event of buffer) iframe.contentWindow.postMessage(event, '*');
    buffer.length = 0;
  }
});
const ws = new WebSocket(${JSON.stringify(wsUrl)});
ws.onmessage = (event) => {
  const data = JSON.parse(event.data);
  if (connected) iframe.contentWindow.postMessage(data, '*');
  else buffer.push(data);
};
</script></body></html>`;
}

interface Relay {
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** Relays every message from one client to all others, replaying recent ones to newcomers. */
async function startRelay(host: string, port: number, inspectorUiUrl: string, replayLimit: number): Promise<Relay> {
  let page = '';
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' }).end(page);
  });
  const wss = new WebSocketServer({ server, maxPayload: 8 * 1024 * 1024 });
  const replay: string[] = [];
  wss.on('connection', (ws) => {
    for (const msg of replay) ws.send(msg);
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = data.toString();
      replay.push(msg);
      if (replay.length > replayLimit) replay.shift();
      for (const client of wss.clients) {
        // a viewer that stopped reading must not make the relay hoard memory
        if (client !== ws && client.readyState === WebSocket.OPEN) {
          if (client.bufferedAmount > 16 * 1024 * 1024) client.terminate();
          else client.send(msg);
        }
      }
    });
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
  const wsUrl = `ws://${hostPart}:${actual}`;
  page = bridgePage(wsUrl, inspectorUiUrl);
  return {
    url: `http://${hostPart}:${actual}/`,
    wsUrl,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
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

  const relay = options.serverUrl ? null : await startRelay(host, options.port ?? 0, options.inspectorUiUrl ?? 'https://stately.ai/inspect', options.replayLimit ?? 500);
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
    url: wsUrl,
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
