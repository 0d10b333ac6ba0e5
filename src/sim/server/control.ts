/**
 * The simulator's control API under `/_sim/`: fault injection, settling markets, registering API
 * keys and a state summary, for tests, scripted sessions and operators. JSON in and out, no
 * signatures, and by default only reachable from loopback addresses. A web page in the user's
 * browser must not drive it either: the shared host guard refuses unknown Host names (DNS
 * rebinding) and foreign Origins, and every POST must say `Content-Type: application/json`
 * (a form or text/plain POST is a "simple" cross-site request that needs no preflight). Part of src/sim/server;
 * mounted next to the Trade API by src/sim/simulator.ts.
 */
import type { HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { hostAllowList, hostGuard, type HostAllowList } from '../../adapters/http/host-guard.ts';
import type { Clock } from '../../core/clock.ts';
import { isLoopbackHost } from '../../core/hosts.ts';
import { formatCount, formatDollars, formatPrice } from '../../core/money.ts';
import type { ExchangeApi } from '../exchange.types.ts';
import type { SimFaults } from '../faults.ts';
import { badRequest, describeIssues, errorReply, exchangeErrorReply, type ErrorReply } from './errors.ts';
import { KeyConflictError, KeyRegistrationError, type ApiKeyRegistry } from './keys.ts';
import { readBodyText } from './requests.ts';
import { topOfBook } from './wire.ts';

export interface ControlApiDeps {
  exchange: ExchangeApi;
  clock: Clock;
  keys: ApiKeyRegistry;
  faults: SimFaults;
  /** Users whose accounts the state summary lists (key holders and synthetic participants). */
  knownUsers: () => string[];
  /** Registers a key and opens its account (the simulator façade's registerKey). */
  registerKey: (keyId: string, publicKeyPem: string, userId?: string) => string;
  /** Open WebSocket connections, for the state summary. */
  connectionCount: () => number;
  /** Accept control requests from non-loopback addresses (off by default). */
  allowRemote?: boolean;
  /** Host names the control API answers to (default: loopback names). */
  allowedHosts?: HostAllowList;
}

type ControlEnv = { Bindings: HttpBindings };

const durationMs = z.number().positive().max(7 * 24 * 3600 * 1000);
const schemas = {
  refuse: z.object({ durationMs }),
  rest: z.object({ status: z.union([z.literal(429), z.literal(500), z.literal(503)]), pathPrefix: z.string().min(1).max(512), durationMs }),
  seqSkip: z.object({ ticker: z.string().min(1).max(128) }),
  latency: z.object({ ms: z.number().int().min(0).max(600_000), durationMs }),
  createDelay: z.object({ ms: z.number().int().min(0).max(600_000), durationMs }),
  reject: z.object({ count: z.number().int().min(0).max(1_000_000), status: z.union([z.literal(400), z.literal(503)]).default(400) }),
  settle: z.object({ ticker: z.string().min(1).max(128), result: z.enum(['yes', 'no']) }),
  key: z.object({ keyId: z.string().min(1).max(128), publicKeyPem: z.string().min(1).max(20_000), userId: z.string().min(1).max(128).optional() }),
};

/** `application/json`, with or without parameters (`; charset=utf-8`). */
function isJson(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0].trim().toLowerCase() === 'application/json';
}

function send(c: Context, reply: ErrorReply): Response {
  return c.json(reply.body, reply.status);
}

async function body<S extends z.ZodType>(c: Context, schema: S): Promise<{ ok: true; value: z.output<S> } | { ok: false; reply: ErrorReply }> {
  const raw = await readBodyText(c.req.raw);
  if (!raw.ok) return { ok: false, reply: errorReply(413, 'request_too_large', 'request body too large') };
  let json: unknown;
  try {
    json = raw.text.trim() === '' ? {} : JSON.parse(raw.text);
  } catch {
    return { ok: false, reply: badRequest('request body is not valid JSON', 'invalid_json') };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, reply: badRequest(describeIssues(parsed.error.issues)) };
  return { ok: true, value: parsed.data };
}

export function createControlApi(deps: ControlApiDeps): Hono<ControlEnv> {
  const { exchange, clock, faults } = deps;
  const app = new Hono<ControlEnv>();

  app.use('*', async (c, next) => {
    const remote = c.env?.incoming?.socket?.remoteAddress ?? '';
    if (!deps.allowRemote && !isLoopbackHost(remote)) return send(c, errorReply(403, 'forbidden', 'the control API only answers loopback clients'));
    await next();
  });
  app.use('*', hostGuard({ allow: deps.allowedHosts ?? hostAllowList('127.0.0.1'), refuse: (c, message) => send(c, errorReply(403, 'forbidden', message)) }));
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !isJson(c.req.header('content-type'))) {
      return send(c, errorReply(415, 'unsupported_media_type', 'control requests must be sent as Content-Type: application/json'));
    }
    await next();
  });

  app.post('/faults/ws/drop', (c) => c.json({ dropped: faults.dropWebSockets() }));
  app.post('/faults/ws/malformed', (c) => c.json({ sent: faults.sendMalformedFrame() }));

  app.post('/faults/ws/refuse', async (c) => {
    const b = await body(c, schemas.refuse);
    if (!b.ok) return send(c, b.reply);
    faults.refuseWebSocketUpgrades(b.value.durationMs);
    return c.json({ faults: faults.state() });
  });

  app.post('/faults/rest', async (c) => {
    const b = await body(c, schemas.rest);
    if (!b.ok) return send(c, b.reply);
    faults.failRest(b.value.status, b.value.pathPrefix, b.value.durationMs);
    return c.json({ faults: faults.state() });
  });

  app.post('/faults/seq-skip', async (c) => {
    const b = await body(c, schemas.seqSkip);
    if (!b.ok) return send(c, b.reply);
    if (!exchange.getMarket(b.value.ticker)) return send(c, errorReply(404, 'market_not_found', 'market not found'));
    faults.skipSeq(b.value.ticker);
    return c.json({ faults: faults.state() });
  });

  app.post('/faults/latency', async (c) => {
    const b = await body(c, schemas.latency);
    if (!b.ok) return send(c, b.reply);
    faults.addLatency(b.value.ms, b.value.durationMs);
    return c.json({ faults: faults.state() });
  });

  app.post('/faults/delay-creates', async (c) => {
    const b = await body(c, schemas.createDelay);
    if (!b.ok) return send(c, b.reply);
    faults.delayOrderCreates(b.value.ms, b.value.durationMs);
    return c.json({ faults: faults.state() });
  });

  app.post('/faults/reject-orders', async (c) => {
    const b = await body(c, schemas.reject);
    if (!b.ok) return send(c, b.reply);
    faults.rejectNextOrders(b.value.count, b.value.status);
    return c.json({ faults: faults.state() });
  });

  app.post('/faults/clear', (c) => {
    faults.clear();
    return c.json({ faults: faults.state() });
  });

  app.post('/markets/settle', async (c) => {
    const b = await body(c, schemas.settle);
    if (!b.ok) return send(c, b.reply);
    const outcome = faults.settleMarket(b.value.ticker, b.value.result);
    if (!outcome.ok) return send(c, exchangeErrorReply(outcome.error));
    return c.json({ ticker: outcome.value.ticker, status: outcome.value.status, result: outcome.value.result });
  });

  app.post('/keys', async (c) => {
    const b = await body(c, schemas.key);
    if (!b.ok) return send(c, b.reply);
    try {
      const userId = deps.registerKey(b.value.keyId, b.value.publicKeyPem, b.value.userId);
      return c.json({ keyId: b.value.keyId, userId }, 201);
    } catch (error) {
      if (error instanceof KeyConflictError) return send(c, errorReply(409, 'key_already_registered', error.message));
      if (error instanceof KeyRegistrationError) return send(c, badRequest(error.message));
      throw error;
    }
  });

  app.get('/state', (c) => {
    const markets = exchange.listMarkets().map((m) => {
      const top = topOfBook(exchange.bookLevels(m.ticker));
      return {
        ticker: m.ticker,
        event_ticker: m.eventTicker,
        status: m.status,
        result: m.result,
        price_level_structure: m.priceLevelStructure,
        yes_bid_dollars: top.yesBid === null ? null : formatPrice(top.yesBid),
        yes_ask_dollars: top.yesAsk === null ? null : formatPrice(top.yesAsk),
        last_price_dollars: m.lastPrice === null ? null : formatPrice(m.lastPrice),
        volume_fp: formatCount(m.volume),
        open_interest_fp: formatCount(m.openInterest),
      };
    });
    const accounts = [...new Set(deps.knownUsers())].map((userId) => ({
      user_id: userId,
      balance_dollars: formatDollars(exchange.balance(userId)),
      open_orders: exchange.listOrders(userId, { status: 'resting' }).length,
      positions: exchange.listPositions(userId).filter((p) => p.position !== 0).length,
    }));
    return c.json({
      now_ms: clock.now(),
      markets,
      accounts,
      keys: deps.keys.list(),
      websocket_connections: deps.connectionCount(),
      faults: faults.state(),
    });
  });

  return app;
}
