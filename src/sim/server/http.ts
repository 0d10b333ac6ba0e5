/**
 * One node http server for the whole simulator: the Trade API at `/trade-api/v2`, the control
 * API at `/_sim`, and the WebSocket endpoint at `/trade-api/ws/v2` on the same port (upgrade
 * requests go to the `ws` server in noServer mode). Anything unexpected becomes a Kalshi-shaped
 * 404/500 instead of a dropped connection. Part of src/sim/server; started by src/sim/simulator.ts.
 */
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import { Hono } from 'hono';
import { createControlApi, type ControlApiDeps } from './control.ts';
import { errorReply, notFound } from './errors.ts';
import { API_BASE_PATH, createTradeApi, type TradeApiDeps } from './rest.ts';
import { SimWebSocketServer } from './ws.ts';

export interface SimHttpDeps extends TradeApiDeps {
  knownUsers: ControlApiDeps['knownUsers'];
  registerKey: ControlApiDeps['registerKey'];
  allowRemoteControl?: boolean;
  /** Host names the control API answers to (default: loopback names). */
  allowedHosts?: ControlApiDeps['allowedHosts'];
  pingIntervalMs?: number;
}

export interface SimHttpServer {
  server: Server;
  webSockets: SimWebSocketServer;
  app: Hono<{ Bindings: HttpBindings }>;
}

export function createSimHttpServer(deps: SimHttpDeps): SimHttpServer {
  const webSockets = new SimWebSocketServer({
    exchange: deps.exchange,
    clock: deps.clock,
    keys: deps.keys,
    faults: deps.faults,
    figures: deps.figures,
    ...(deps.pingIntervalMs !== undefined ? { pingIntervalMs: deps.pingIntervalMs } : {}),
  });
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.route(API_BASE_PATH, createTradeApi(deps));
  app.route(
    '/_sim',
    createControlApi({
      exchange: deps.exchange,
      clock: deps.clock,
      keys: deps.keys,
      faults: deps.faults,
      knownUsers: deps.knownUsers,
      registerKey: deps.registerKey,
      connectionCount: () => webSockets.connectionCount,
      ...(deps.allowRemoteControl !== undefined ? { allowRemote: deps.allowRemoteControl } : {}),
      ...(deps.allowedHosts ? { allowedHosts: deps.allowedHosts } : {}),
    }),
  );
  app.notFound((c) => c.json(notFound('not found').body, 404));
  // a bug in a handler must answer like Kalshi's 500, not kill the connection or the process
  app.onError((_error, c) => c.json(errorReply(500, 'internal_server_error', 'internal server error').body, 500));

  // overrideGlobalObjects would swap the process-wide Request/Response, which other code in the
  // same process (the trader's fetch client) must not see
  const server = createServer(getRequestListener(app.fetch, { overrideGlobalObjects: false }));
  server.on('upgrade', (req, socket, head) => webSockets.acceptUpgrade(req, socket, head));
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  return { server, webSockets, app };
}
