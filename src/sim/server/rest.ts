/**
 * The simulator's Kalshi Trade API v2 REST surface (spec 3.30, kalshi-api.md §3–§4) as a Hono
 * sub-app mounted at `/trade-api/v2`: market data, V2 order writes, portfolio reads. Every query
 * and body is validated with zod; every failure is a Kalshi-shaped error, never a crash.
 * Fault injection (latency, injected statuses, order rejections) is applied here at the edge.
 * Part of src/sim/server; composed with the control API and the WebSocket server by
 * src/sim/simulator.ts.
 */
import { Hono, type Context } from 'hono';
import type { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import { formatCount, formatDollars, formatPrice, microsToCents, type Count, type Micros } from '../../core/money.ts';
import type { ExchangeApi, SimMarket, SimOrder, SimOrderRequest } from '../exchange.types.ts';
import type { SimFaults } from '../faults.ts';
import {
  badRequest,
  describeIssues,
  errorReply,
  exchangeErrorReply,
  faultReply,
  notFound,
  unauthorized,
  type ErrorReply,
} from './errors.ts';
import { signedHeadersFrom, type ApiKeyRegistry } from './keys.ts';
import { CursorError, pageInOrder, pageNewestFirst } from './pagination.ts';
import {
  balanceQuery,
  batchCancelBody,
  batchCreateBody,
  cancelQuery,
  createOrderV2Body,
  amendOrderV2Body,
  amendQuery,
  batchCandlesticksQuery,
  candlesticksQuery,
  eventQuery,
  eventsQuery,
  seriesListQuery,
  createOrderGroupBody,
  orderGroupQuery,
  updateOrderGroupLimitBody,
  decreaseOrderBody,
  queuePositionsQuery,
  fillsQuery,
  marketsQuery,
  orderbookQuery,
  ordersQuery,
  positionsQuery,
  readBodyText,
  settlementsQuery,
  tradesQuery,
  type CreateOrderV2Body,
} from './requests.ts';
import type { TradingFigures } from './stats.ts';
import type { SimRateLimits } from './rate-limits.ts';
import type { Candle, MarketCandles } from './candles.ts';
import { eventStatus, eventToWire, eventsOf, seriesOf, seriesTickerOf, seriesToWire } from './catalog.ts';
import { ENDPOINT_COSTS, DEFAULT_REQUEST_COST } from '../../core/rate-limits.ts';
import {
  orderGroupToWire,
  amendOrderResponse,
  createOrderResponse,
  eventPositionsToWire,
  fillToWire,
  MARKET_FILTER_STATUSES,
  marketToWire,
  orderbookToWire,
  orderToWire,
  positionToWire,
  rfc3339,
  settlementToWire,
  tradeToWire,
  unixSeconds,
} from './wire.ts';

export const API_BASE_PATH = '/trade-api/v2';

export interface TradeApiDeps {
  exchange: ExchangeApi;
  candles: MarketCandles;
  rateLimits: SimRateLimits;
  clock: Clock;
  keys: ApiKeyRegistry;
  faults: SimFaults;
  figures: TradingFigures;
}

type TradeApiEnv = { Variables: { userId: string } };
type Ctx = Context<TradeApiEnv>;

function send(c: Ctx, reply: ErrorReply): Response {
  return c.json(reply.body, reply.status);
}

/** Validates `c.req.query()` with `schema`; a failure is the 400 reply to send. */
function parseQuery<S extends z.ZodType>(c: Ctx, schema: S): { ok: true; value: z.output<S> } | { ok: false; reply: ErrorReply } {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) return { ok: false, reply: badRequest(describeIssues(parsed.error.issues)) };
  return { ok: true, value: parsed.data };
}

async function parseBody<S extends z.ZodType>(c: Ctx, schema: S): Promise<{ ok: true; value: z.output<S> } | { ok: false; reply: ErrorReply }> {
  const body = await readBodyText(c.req.raw);
  if (!body.ok) {
    // the client may still be sending: tell it not to reuse this connection
    c.header('Connection', 'close');
    return { ok: false, reply: errorReply(413, 'request_too_large', 'request body too large') };
  }
  let json: unknown;
  try {
    json = JSON.parse(body.text);
  } catch {
    return { ok: false, reply: badRequest('request body is not valid JSON', 'invalid_json') };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, reply: badRequest(describeIssues(parsed.error.issues)) };
  return { ok: true, value: parsed.data };
}

function paged<T>(fn: () => { page: T[]; cursor: string }): { ok: true; value: { page: T[]; cursor: string } } | { ok: false; reply: ErrorReply } {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (error instanceof CursorError) return { ok: false, reply: badRequest('invalid cursor') };
    throw error;
  }
}

const sleep = (clock: Clock, ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));

const inRange = (ms: number, minS: number | undefined, maxS: number | undefined) =>
  (minS === undefined || ms >= minS * 1000) && (maxS === undefined || ms <= maxS * 1000 + 999);

type TradeApp = Hono<TradeApiEnv>;

export function createTradeApi(deps: TradeApiDeps): TradeApp {
  const app = new Hono<TradeApiEnv>();
  // registration order is routing order: each group keeps its static paths before its parameters
  guardEdge(app, deps);
  exchangeRoutes(app, deps);
  eventRoutes(app, deps);
  marketRoutes(app, deps);
  orderCreateRoutes(app, deps);
  orderChangeRoutes(app, deps);
  orderGroupRoutes(app, deps);
  orderReadRoutes(app, deps);
  accountRoutes(app, deps);
  limitRoutes(app, deps);
  return app;
}

/** Injected latency and statuses first, then the signature on private routes. */
function guardEdge(app: TradeApp, { clock, keys, faults, rateLimits }: TradeApiDeps): void {
  app.use('*', async (c, next) => {
    const latency = faults.latencyMs();
    if (latency > 0) await sleep(clock, latency);
    const injected = faults.restStatusFor(c.req.path);
    if (injected !== undefined) return send(c, faultReply(injected));
    await next();
  });

  const requireAuth = async (c: Ctx, next: () => Promise<void>) => {
    const outcome = keys.authenticate(signedHeadersFrom((name) => c.req.header(name)), c.req.method, new URL(c.req.url).pathname);
    if (!outcome.ok) return send(c, unauthorized(outcome.message));
    c.set('userId', outcome.userId);
    const full = new URL(c.req.url).pathname;
    const path = full.startsWith(API_BASE_PATH) ? full.slice(API_BASE_PATH.length) : full;
    if (!rateLimits.charge(outcome.userId, c.req.method, path, path.endsWith('/batched') ? await batchItems(c.req.raw) : 1)) {
      return send(c, errorReply(429, 'too_many_requests', 'too many requests'));
    }
    await next();
  };
  app.use('/portfolio/*', requireAuth);
  app.use('/account/*', requireAuth);
  app.use('/markets/orderbooks', requireAuth);
  app.use('/markets/:ticker/orderbook', requireAuth);
}

/** Exchange status, schedule, user-data timestamp. */
function exchangeRoutes(app: TradeApp, { clock }: TradeApiDeps): void {
  app.get('/exchange/status', (c) =>
    c.json({
      exchange_active: true,
      trading_active: true,
      intra_exchange_transfers_active: true,
      exchange_estimated_resume_time: null,
      exchange_index_statuses: [
        { exchange_index: 0, description: 'default', exchange_active: true, trading_active: true, intra_exchange_transfers_active: true },
      ],
    }),
  );
  app.get('/exchange/schedule', (c) => c.json({ schedule: { standard_hours: [], maintenance_windows: [] } }));
  app.get('/exchange/user_data_timestamp', (c) => c.json({ as_of_time: rfc3339(clock.now()) }));
}

/** Markets, trades, order books (static paths before `/markets/:ticker`). */
function marketRoutes(app: TradeApp, { exchange, clock, figures }: TradeApiDeps): void {
  app.get('/markets', (c) => {
    const q = parseQuery(c, marketsQuery);
    if (!q.ok) return send(c, q.reply);
    const f = q.value;
    const tickers = f.tickers ? new Set(f.tickers.split(',').map((t) => t.trim()).filter(Boolean)) : null;
    const statuses = f.status ? new Set<string>(MARKET_FILTER_STATUSES[f.status]) : null;
    const markets = exchange.listMarkets().filter(
      (m) =>
        (!tickers || tickers.has(m.ticker)) &&
        (!statuses || statuses.has(m.status)) &&
        (f.event_ticker === undefined || m.eventTicker === f.event_ticker) &&
        (f.series_ticker === undefined || m.eventTicker === f.series_ticker || m.eventTicker.startsWith(`${f.series_ticker}-`)) &&
        inRange(m.closeTimeMs, f.min_close_ts, f.max_close_ts) &&
        inRange(m.openTimeMs, f.min_created_ts, f.max_created_ts) &&
        inRange(m.updatedTimeMs, f.min_updated_ts, f.max_updated_ts) &&
        (f.min_settled_ts === undefined && f.max_settled_ts === undefined
          ? true
          : m.settledTimeMs !== null && inRange(m.settledTimeMs, f.min_settled_ts, f.max_settled_ts)) &&
        f.mve_filter !== 'only',
    );
    const p = paged(() => pageInOrder(markets, f.limit ?? 100, f.cursor));
    if (!p.ok) return send(c, p.reply);
    const now = clock.now();
    return c.json({
      markets: p.value.page.map((m) => marketToWire(m, exchange.bookLevels(m.ticker), now, { volume24h: figures.volume24h(m.ticker, now) })),
      cursor: p.value.cursor,
    });
  });

  // registered before /markets/:ticker so the static segment wins
  app.get('/markets/trades', (c) => {
    const q = parseQuery(c, tradesQuery);
    if (!q.ok) return send(c, q.reply);
    const f = q.value;
    if (f.is_block_trade === 'true') return c.json({ trades: [], cursor: '' });
    const trades = exchange.listTrades(f.ticker ? { ticker: f.ticker } : undefined).filter((t) => inRange(t.tsMs, f.min_ts, f.max_ts));
    const p = paged(() => pageNewestFirst(trades, f.limit ?? 100, f.cursor));
    if (!p.ok) return send(c, p.reply);
    return c.json({ trades: p.value.page.map(tradeToWire), cursor: p.value.cursor });
  });

  app.get('/markets/orderbooks', (c) => {
    const tickers = (c.req.queries('tickers') ?? []).flatMap((t) => t.split(',')).filter(Boolean);
    if (tickers.length < 1 || tickers.length > 100) return send(c, badRequest('tickers: between 1 and 100 tickers are required'));
    const orderbooks = [];
    for (const ticker of tickers) {
      const book = exchange.bookLevels(ticker);
      if (!book) return send(c, notFound(`market ${ticker} not found`, 'market_not_found'));
      orderbooks.push({ ticker, ...orderbookToWire(book, 0) });
    }
    return c.json({ orderbooks });
  });

  app.get('/markets/:ticker', (c) => {
    const market = exchange.getMarket(c.req.param('ticker'));
    if (!market) return send(c, notFound('market not found', 'market_not_found'));
    const now = clock.now();
    return c.json({ market: marketToWire(market, exchange.bookLevels(market.ticker), now, { volume24h: figures.volume24h(market.ticker, now) }) });
  });

  app.get('/markets/:ticker/orderbook', (c) => {
    const q = parseQuery(c, orderbookQuery);
    if (!q.ok) return send(c, q.reply);
    const book = exchange.bookLevels(c.req.param('ticker'));
    if (!book) return send(c, notFound('market not found', 'market_not_found'));
    return c.json(orderbookToWire(book, q.value.depth ?? 0));
  });
}

/** V2 creates, one and batched (what the simulator cannot honour is refused first). */
function orderCreateRoutes(app: TradeApp, { exchange, clock, faults }: TradeApiDeps): void {
  /** The create-delay fault: the exchange takes the order only after the delay (the client may be gone by then). */
  const holdCreate = async () => {
    const delay = faults.orderCreateDelayMs();
    if (delay > 0) await sleep(clock, delay);
  };

  /** Checks what the simulator cannot honour, then asks the exchange. */
  const placeOrder = (userId: string, body: CreateOrderV2Body) => {
    if (body.subaccount !== undefined && body.subaccount !== 0) {
      return { ok: false as const, error: { status: 400 as const, code: 'invalid_parameters', message: 'the simulator only has subaccount 0' } };
    }
    const rejection = faults.takeOrderRejection();
    if (rejection) return { ok: false as const, error: rejection };
    const req: SimOrderRequest = {
      userId,
      ticker: body.ticker,
      side: body.side,
      price: body.price,
      count: body.count,
      timeInForce: body.time_in_force,
      selfTradePrevention: body.self_trade_prevention_type,
      ...(body.client_order_id !== undefined ? { clientOrderId: body.client_order_id } : {}),
      ...(body.expiration_time !== undefined ? { expirationTime: body.expiration_time } : {}),
      ...(body.post_only !== undefined ? { postOnly: body.post_only } : {}),
      ...(body.reduce_only !== undefined ? { reduceOnly: body.reduce_only } : {}),
      ...(body.cancel_order_on_pause !== undefined ? { cancelOrderOnPause: body.cancel_order_on_pause } : {}),
      ...(body.order_group_id !== undefined ? { orderGroupId: body.order_group_id } : {}),
    };
    return exchange.createOrder(req);
  };

  app.post('/portfolio/events/orders', async (c) => {
    const body = await parseBody(c, createOrderV2Body);
    if (!body.ok) return send(c, body.reply);
    await holdCreate();
    const outcome = placeOrder(c.get('userId'), body.value);
    if (!outcome.ok) return send(c, exchangeErrorReply(outcome.error));
    return c.json(createOrderResponse(outcome.value.order, outcome.value.fills, clock.now()), 201);
  });

  app.post('/portfolio/events/orders/batched', async (c) => {
    const body = await parseBody(c, batchCreateBody);
    if (!body.ok) return send(c, body.reply);
    await holdCreate();
    const userId = c.get('userId');
    const orders = body.value.orders.map((item) => {
      const parsed = createOrderV2Body.safeParse(item);
      if (!parsed.success) {
        return { client_order_id: null, error: { code: 'invalid_parameters', message: describeIssues(parsed.error.issues) } };
      }
      const outcome = placeOrder(userId, parsed.data);
      if (!outcome.ok) {
        return {
          client_order_id: parsed.data.client_order_id ?? null,
          error: { code: outcome.error.code, message: outcome.error.message },
        };
      }
      return createOrderResponse(outcome.value.order, outcome.value.fills, clock.now());
    });
    return c.json({ orders }, 201);
  });
}

/** V2 cancels (one, batched, all), decrease, amend. */
function orderChangeRoutes(app: TradeApp, { exchange, clock, faults }: TradeApiDeps): void {
  app.delete('/portfolio/events/orders/batched', async (c) => {
    const body = await parseBody(c, batchCancelBody);
    if (!body.ok) return send(c, body.reply);
    const userId = c.get('userId');
    const ids = 'ids' in body.value ? body.value.ids : body.value.orders.map((o) => o.order_id);
    const orders = ids.map((orderId) => {
      const outcome = exchange.cancelOrder(userId, orderId);
      if (!outcome.ok) return { order_id: orderId, client_order_id: null, reduced_by: '0.00', error: { code: outcome.error.code, message: outcome.error.message } };
      return cancelResponse(outcome.value.order, outcome.value.reducedBy, clock.now());
    });
    return c.json({ orders });
  });

  app.delete('/portfolio/events/orders', (c) => {
    const q = parseQuery(c, cancelQuery);
    if (!q.ok) return send(c, q.reply);
    const userId = c.get('userId');
    for (const order of exchange.listOrders(userId, { status: 'resting' })) exchange.cancelOrder(userId, order.orderId);
    return c.body(null, 204);
  });

  app.delete('/portfolio/events/orders/:orderId', (c) => {
    const q = parseQuery(c, cancelQuery);
    if (!q.ok) return send(c, q.reply);
    const outcome = exchange.cancelOrder(c.get('userId'), c.req.param('orderId'));
    if (!outcome.ok) return send(c, exchangeErrorReply(outcome.error));
    return c.json(cancelResponse(outcome.value.order, outcome.value.reducedBy, clock.now()));
  });

  app.post('/portfolio/events/orders/:orderId/decrease', async (c) => {
    const body = await parseBody(c, decreaseOrderBody);
    if (!body.ok) return send(c, body.reply);
    const userId = c.get('userId');
    const orderId = c.req.param('orderId');
    let reduceBy: Count;
    if (body.value.reduce_by !== undefined) {
      reduceBy = body.value.reduce_by;
    } else {
      const order = exchange.getOrder(userId, orderId);
      if (!order) return send(c, notFound('order not found'));
      reduceBy = order.remainingCount - (body.value.reduce_to ?? 0);
      if (reduceBy <= 0) return send(c, badRequest('reduce_to must be below the remaining count'));
    }
    if (reduceBy <= 0) return send(c, badRequest('reduce_by must be positive'));
    const outcome = exchange.decreaseOrder(userId, orderId, reduceBy);
    if (!outcome.ok) return send(c, exchangeErrorReply(outcome.error));
    const order = outcome.value;
    return c.json({ order_id: order.orderId, client_order_id: order.clientOrderId, remaining_count: formatCount(order.remainingCount), ts_ms: clock.now() });
  });

  app.post('/portfolio/events/orders/:orderId/amend', async (c) => {
    const q = parseQuery(c, amendQuery);
    if (!q.ok) return send(c, q.reply);
    const body = await parseBody(c, amendOrderV2Body);
    if (!body.ok) return send(c, body.reply);
    const b = body.value;
    const userId = c.get('userId');
    const orderId = c.req.param('orderId');
    const current = exchange.getOrder(userId, orderId);
    if (!current) return send(c, notFound('order not found', 'order_not_found'));
    // the body names the order it amends; a mismatch is a client bug, not a new order
    if (current.ticker !== b.ticker || current.side !== b.side) return send(c, badRequest('ticker and side must be those of the order'));
    if (b.client_order_id !== undefined && b.client_order_id !== current.clientOrderId) {
      return send(c, badRequest('client_order_id is not the order\'s'));
    }
    const rejection = faults.takeOrderRejection();
    if (rejection) return send(c, exchangeErrorReply(rejection));
    const outcome = exchange.amendOrder(userId, orderId, {
      price: b.price,
      count: b.count,
      ...(b.expiration_time !== undefined ? { expirationTime: b.expiration_time } : {}),
      ...(b.updated_client_order_id !== undefined ? { updatedClientOrderId: b.updated_client_order_id } : {}),
    });
    if (!outcome.ok) return send(c, exchangeErrorReply(outcome.error));
    return c.json(amendOrderResponse(outcome.value.order, outcome.value.fills, clock.now()));
  });
}

/** Order groups (kalshi-api.md §3.12). */
function orderGroupRoutes(app: TradeApp, { exchange }: TradeApiDeps): void {
  /** Optional ?subaccount / ?exchange_index on every order-group call; only 0 exists here. */
  const groupQuery = (c: Ctx) => {
    const q = parseQuery(c, orderGroupQuery);
    if (!q.ok) return q.reply;
    if ((q.value.subaccount ?? 0) !== 0) return badRequest('the simulator only has subaccount 0');
    return null;
  };
  const groupAnswer = (c: Ctx, outcome: ReturnType<ExchangeApi['resetOrderGroup']>) =>
    outcome.ok ? c.json({}) : send(c, exchangeErrorReply(outcome.error));

  app.post('/portfolio/order_groups/create', async (c) => {
    const body = await parseBody(c, createOrderGroupBody);
    if (!body.ok) return send(c, body.reply);
    if ((body.value.subaccount ?? 0) !== 0) return send(c, badRequest('the simulator only has subaccount 0'));
    const outcome = exchange.createOrderGroup(c.get('userId'), body.value.limit ?? null);
    if (!outcome.ok) return send(c, exchangeErrorReply(outcome.error));
    return c.json({ order_group_id: outcome.value.orderGroupId, subaccount: 0, exchange_index: 0 }, 201);
  });

  app.get('/portfolio/order_groups', (c) => {
    const bad = groupQuery(c);
    if (bad) return send(c, bad);
    return c.json({ order_groups: exchange.listOrderGroups(c.get('userId')).map((g) => ({ id: g.orderGroupId, ...orderGroupToWire(g) })) });
  });

  app.get('/portfolio/order_groups/:groupId', (c) => {
    const bad = groupQuery(c);
    if (bad) return send(c, bad);
    const group = exchange.getOrderGroup(c.get('userId'), c.req.param('groupId'));
    if (!group) return send(c, notFound('order group not found', 'order_group_not_found'));
    return c.json({ ...orderGroupToWire(group), orders: group.orderIds });
  });

  app.delete('/portfolio/order_groups/:groupId', (c) => {
    const bad = groupQuery(c);
    if (bad) return send(c, bad);
    return groupAnswer(c, exchange.deleteOrderGroup(c.get('userId'), c.req.param('groupId')));
  });

  app.put('/portfolio/order_groups/:groupId/reset', (c) => {
    const bad = groupQuery(c);
    if (bad) return send(c, bad);
    return groupAnswer(c, exchange.resetOrderGroup(c.get('userId'), c.req.param('groupId')));
  });

  app.put('/portfolio/order_groups/:groupId/trigger', (c) => {
    const bad = groupQuery(c);
    if (bad) return send(c, bad);
    return groupAnswer(c, exchange.triggerOrderGroup(c.get('userId'), c.req.param('groupId')));
  });

  app.put('/portfolio/order_groups/:groupId/limit', async (c) => {
    const bad = groupQuery(c);
    if (bad) return send(c, bad);
    const body = await parseBody(c, updateOrderGroupLimitBody);
    if (!body.ok) return send(c, body.reply);
    return groupAnswer(c, exchange.updateOrderGroupLimit(c.get('userId'), c.req.param('groupId'), body.value.limit as number));
  });
}

/** Orders and queue positions (static paths before `/portfolio/orders/:orderId`). */
function orderReadRoutes(app: TradeApp, { exchange }: TradeApiDeps): void {
  app.get('/portfolio/orders', (c) => {
    const q = parseQuery(c, ordersQuery);
    if (!q.ok) return send(c, q.reply);
    const f = q.value;
    const events = f.event_ticker ? new Set(f.event_ticker.split(',').map((e) => e.trim()).filter(Boolean)) : null;
    const orders = exchange
      .listOrders(c.get('userId'), { ...(f.ticker ? { ticker: f.ticker } : {}), ...(f.status ? { status: f.status } : {}) })
      .filter(
        (o) => inRange(o.createdTimeMs, f.min_ts, f.max_ts) && (!events || events.has(exchange.getMarket(o.ticker)?.eventTicker ?? '')),
      );
    const p = paged(() => pageNewestFirst(orders, f.limit ?? 100, f.cursor));
    if (!p.ok) return send(c, p.reply);
    return c.json({ orders: p.value.page.map(orderToWire), cursor: p.value.cursor });
  });

  // registered before /portfolio/orders/:orderId so "queue_positions" is never taken for an order id
  app.get('/portfolio/orders/queue_positions', (c) => {
    const q = parseQuery(c, queuePositionsQuery);
    if (!q.ok) return send(c, q.reply);
    const f = q.value;
    const tickers = f.market_tickers ? new Set(f.market_tickers.split(',').map((t) => t.trim()).filter(Boolean)) : null;
    const userId = c.get('userId');
    const queuePositions = [];
    for (const order of exchange.listOrders(userId, { status: 'resting' }).reverse()) {
      if (tickers && !tickers.has(order.ticker)) continue;
      if (f.event_ticker !== undefined && exchange.getMarket(order.ticker)?.eventTicker !== f.event_ticker) continue;
      const ahead = exchange.queuePosition(userId, order.orderId);
      if (ahead === null) continue;
      queuePositions.push({ order_id: order.orderId, market_ticker: order.ticker, queue_position_fp: formatCount(ahead) });
    }
    return c.json({ queue_positions: queuePositions });
  });

  app.get('/portfolio/orders/:orderId/queue_position', (c) => {
    const userId = c.get('userId');
    const orderId = c.req.param('orderId');
    if (!exchange.getOrder(userId, orderId)) return send(c, notFound('order not found', 'order_not_found'));
    const ahead = exchange.queuePosition(userId, orderId);
    // Kalshi documents no answer for an order that no longer rests; it has no place in a queue
    if (ahead === null) return send(c, errorReply(409, 'order_not_resting', 'order is not resting'));
    return c.json({ queue_position_fp: formatCount(ahead) });
  });

  app.get('/portfolio/orders/:orderId', (c) => {
    const order = exchange.getOrder(c.get('userId'), c.req.param('orderId'));
    if (!order) return send(c, notFound('order not found'));
    return c.json({ order: orderToWire(order) });
  });
}

/** Fills, positions, balance, settlements. */
function accountRoutes(app: TradeApp, { exchange, clock }: TradeApiDeps): void {
  app.get('/portfolio/fills', (c) => {
    const q = parseQuery(c, fillsQuery);
    if (!q.ok) return send(c, q.reply);
    const f = q.value;
    const fills = exchange.listFills(c.get('userId'), {
      ...(f.ticker ? { ticker: f.ticker } : {}),
      ...(f.order_id ? { orderId: f.order_id } : {}),
      ...(f.min_ts !== undefined ? { minTsMs: f.min_ts * 1000 } : {}),
      ...(f.max_ts !== undefined ? { maxTsMs: f.max_ts * 1000 + 999 } : {}),
    });
    const p = paged(() => pageNewestFirst(fills, f.limit ?? 100, f.cursor));
    if (!p.ok) return send(c, p.reply);
    return c.json({ fills: p.value.page.map(fillToWire), cursor: p.value.cursor });
  });

  app.get('/portfolio/positions', (c) => {
    const q = parseQuery(c, positionsQuery);
    if (!q.ok) return send(c, q.reply);
    const f = q.value;
    const eventOf = (ticker: string) => exchange.getMarket(ticker)?.eventTicker ?? '';
    const filters = f.count_filter ? new Set(f.count_filter.split(',')) : null;
    // spec 3.31 settlement_status: a position is settled once its market is; Kalshi does not say
    // what is returned without the parameter, and we keep answering every position ('all')
    const settled = (ticker: string) => exchange.getMarket(ticker)?.status === 'finalized';
    const status = f.settlement_status ?? 'all';
    const positions = exchange
      .listPositions(c.get('userId'))
      .filter(
        (p) =>
          (f.ticker === undefined || p.ticker === f.ticker) &&
          (f.event_ticker === undefined || eventOf(p.ticker) === f.event_ticker) &&
          (status === 'all' || settled(p.ticker) === (status === 'settled')) &&
          (!filters || (filters.has('position') && p.position !== 0) || (filters.has('total_traded') && p.totalTraded !== 0)),
      )
      .sort((a, b) => (a.ticker < b.ticker ? -1 : a.ticker > b.ticker ? 1 : 0));
    const p = paged(() => pageInOrder(positions, f.limit ?? 100, f.cursor));
    if (!p.ok) return send(c, p.reply);
    return c.json({
      market_positions: p.value.page.map(positionToWire),
      event_positions: eventPositionsToWire(positions, eventOf),
      cursor: p.value.cursor,
    });
  });

  app.get('/portfolio/balance', (c) => {
    const q = parseQuery(c, balanceQuery);
    if (!q.ok) return send(c, q.reply);
    const userId = c.get('userId');
    const cash = exchange.balance(userId);
    // Kalshi's portfolio_value is the current value of the positions held, marked here at the
    // executable side of the book (long YES at the YES bid, long NO at the NO bid)
    let positionsValue: Micros = 0;
    for (const p of exchange.listPositions(userId)) {
      if (p.position === 0) continue;
      const book = exchange.bookLevels(p.ticker);
      const bid = p.position > 0 ? book?.yes.at(-1)?.[0] : book?.no.at(-1)?.[0];
      positionsValue += (bid ?? 0) * Math.abs(p.position);
    }
    return c.json({
      balance: microsToCents(cash),
      balance_dollars: formatDollars(cash),
      // one shard, so the breakdown is the whole balance (spec 3.30 balance_breakdown)
      balance_breakdown: [{ exchange_index: 0, balance: formatDollars(cash) }],
      portfolio_value: microsToCents(positionsValue),
      updated_ts: unixSeconds(clock.now()),
    });
  });

  app.get('/portfolio/settlements', (c) => {
    const q = parseQuery(c, settlementsQuery);
    if (!q.ok) return send(c, q.reply);
    const f = q.value;
    const settlements = exchange
      .listSettlements(c.get('userId'))
      .filter(
        (s) =>
          (f.ticker === undefined || s.ticker === f.ticker) &&
          (f.event_ticker === undefined || s.eventTicker === f.event_ticker) &&
          inRange(s.settledTimeMs, f.min_ts, f.max_ts),
      );
    const p = paged(() => pageNewestFirst(settlements, f.limit ?? 100, f.cursor));
    if (!p.ok) return send(c, p.reply);
    return c.json({ settlements: p.value.page.map(settlementToWire), cursor: p.value.cursor });
  });
}

/** Events, series and candlesticks (registered before the market routes: /markets/candlesticks is not a ticker). */
function eventRoutes(app: TradeApp, { exchange, clock, figures, candles }: TradeApiDeps): void {
  const marketsWire = (markets: SimMarket[]) => {
    const now = clock.now();
    return markets.map((m) => marketToWire(m, exchange.bookLevels(m.ticker), now, { volume24h: figures.volume24h(m.ticker, now) }));
  };

  app.get('/events', (c) => {
    const q = parseQuery(c, eventsQuery);
    if (!q.ok) return send(c, q.reply);
    const f = q.value;
    const tickers = f.tickers ? new Set(f.tickers.split(',').map((t) => t.trim()).filter(Boolean)) : null;
    const events = eventsOf(exchange.listMarkets()).filter(
      (e) =>
        (!tickers || tickers.has(e.eventTicker)) &&
        (f.series_ticker === undefined || e.seriesTicker === f.series_ticker) &&
        (f.status === undefined || eventStatus(e) === f.status) &&
        (f.min_close_ts === undefined || e.markets.some((m) => m.closeTimeMs >= f.min_close_ts! * 1000)),
    );
    const p = paged(() => pageInOrder(events, f.limit ?? 200, f.cursor));
    if (!p.ok) return send(c, p.reply);
    return c.json({
      events: p.value.page.map((e) => eventToWire(e, f.with_nested_markets ? marketsWire(e.markets) : undefined)),
      ...(f.with_milestones ? { milestones: [] } : {}),
      cursor: p.value.cursor,
    });
  });

  app.get('/events/:eventTicker', (c) => {
    const q = parseQuery(c, eventQuery);
    if (!q.ok) return send(c, q.reply);
    const event = eventsOf(exchange.listMarkets()).find((e) => e.eventTicker === c.req.param('eventTicker'));
    if (!event) return send(c, notFound('event not found', 'event_not_found'));
    const markets = marketsWire(event.markets);
    return c.json({ event: eventToWire(event, q.value.with_nested_markets ? markets : undefined), markets });
  });

  app.get('/series', (c) => {
    const q = parseQuery(c, seriesListQuery);
    if (!q.ok) return send(c, q.reply);
    const all = [...seriesOf(exchange.listMarkets())].map(([ticker, events]) => seriesToWire(ticker, events));
    return c.json({ series: all.filter((s) => q.value.category === undefined || s.category === q.value.category) });
  });

  app.get('/series/:seriesTicker', (c) => {
    const ticker = c.req.param('seriesTicker');
    const events = seriesOf(exchange.listMarkets()).get(ticker);
    if (!events) return send(c, notFound('series not found', 'series_not_found'));
    return c.json({ series: seriesToWire(ticker, events) });
  });

  app.get('/series/:seriesTicker/markets/:ticker/candlesticks', (c) => {
    const q = parseQuery(c, candlesticksQuery);
    if (!q.ok) return send(c, q.reply);
    const market = exchange.getMarket(c.req.param('ticker'));
    if (!market || seriesTickerOf(market.eventTicker) !== c.req.param('seriesTicker')) return send(c, notFound('market not found', 'market_not_found'));
    const f = q.value;
    return c.json({ ticker: market.ticker, candlesticks: candles.candles(market.ticker, f.start_ts, f.end_ts, f.period_interval).map(candleToWire) });
  });

  app.get('/markets/candlesticks', (c) => {
    const q = parseQuery(c, batchCandlesticksQuery);
    if (!q.ok) return send(c, q.reply);
    const f = q.value;
    const tickers = f.market_tickers.split(',').map((t) => t.trim()).filter(Boolean);
    if (tickers.length > 100) return send(c, badRequest('market_tickers: at most 100'));
    const unknown = tickers.find((t) => !exchange.getMarket(t));
    if (unknown !== undefined) return send(c, notFound(`market ${unknown} not found`, 'market_not_found'));
    return c.json({
      markets: tickers.map((t) => ({ market_ticker: t, candlesticks: candles.candles(t, f.start_ts, f.end_ts, f.period_interval).map(candleToWire) })),
    });
  });
}

function candleToWire(k: Candle) {
  const ohlc = (o: { open: number; low: number; high: number; close: number }) => ({
    open_dollars: formatPrice(o.open),
    low_dollars: formatPrice(o.low),
    high_dollars: formatPrice(o.high),
    close_dollars: formatPrice(o.close),
  });
  return {
    end_period_ts: k.endPeriodTs,
    yes_bid: ohlc(k.yesBid),
    yes_ask: ohlc(k.yesAsk),
    price: {
      ...(k.price ? { ...ohlc(k.price), mean_dollars: formatPrice(k.price.mean), min_dollars: formatPrice(k.price.low), max_dollars: formatPrice(k.price.high) } : {}),
      ...(k.previousPrice !== null ? { previous_dollars: formatPrice(k.previousPrice) } : {}),
    },
    volume_fp: formatCount(k.volume),
    open_interest_fp: formatCount(k.openInterest),
  };
}

/** How many orders a batch body carries (each is billed); 1 when it cannot be read — the handler then answers 400. */
async function batchItems(req: Request): Promise<number> {
  const body = await readBodyText(req.clone());
  if (!body.ok) return 1;
  try {
    const json = JSON.parse(body.text) as { orders?: unknown; ids?: unknown };
    const list = Array.isArray(json.orders) ? json.orders : Array.isArray(json.ids) ? json.ids : [];
    return Math.max(1, list.length);
  } catch {
    return 1;
  }
}

/** The account's rate limits and endpoint costs (kalshi-api.md §3.13). */
function limitRoutes(app: TradeApp, { rateLimits }: TradeApiDeps): void {
  app.get('/account/limits', (c) => {
    const l = rateLimits.limits;
    return c.json({
      usage_tier: l.usageTier,
      read: { refill_rate: l.read.refillRate, bucket_capacity: l.read.bucketCapacity },
      write: { refill_rate: l.write.refillRate, bucket_capacity: l.write.bucketCapacity },
      grants: [],
    });
  });
  app.get('/account/endpoint_costs', (c) => c.json({ default_cost: DEFAULT_REQUEST_COST, endpoint_costs: ENDPOINT_COSTS }));
}

function cancelResponse(order: SimOrder, reducedBy: Count, nowMs: number) {
  return { order_id: order.orderId, client_order_id: order.clientOrderId, reduced_by: formatCount(reducedBy), ts_ms: nowMs };
}
