/**
 * The operator HTTP API (Hono): health, status, the copy-paste status log, Prometheus metrics,
 * machine definitions and states for the live statechart view, and the dashboard's files.
 * Read-only over a `SystemView`; money is formatted by present.ts. With an auth token every
 * route but `/v3/health` and the dashboard's static shell (which holds no data) needs it. Every
 * route first passes the host guard: an unknown Host name or a foreign Origin is refused (403).
 * Part of src/server; `startHttpServer` mounts it next to the /v3/ws feed.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { readBoundedText } from '../adapters/http/body.ts';
import { marketTickerSchema } from '../core/tickers.ts';
import { secureHeaders } from 'hono/secure-headers';
import { hostAllowList, hostGuard, type HostAllowList } from '../adapters/http/host-guard.ts';
import type { Clock } from '../core/clock.ts';
import { requireToken } from './auth.ts';
import type { ConsoleFeed } from './console-feed.ts';
import { createOperatorMetrics } from './metrics.ts';
import { presentControlResult, presentStatus } from './present.ts';
import { redactSecrets, redactText } from './redact.ts';
import { StatechartStore } from './statecharts.ts';
import { CONTROL_ACTIONS, type ControlAction, type SystemView } from '../actors/system-view.ts';
import { DEFAULT_STATECHARTS_DIR, DEFAULT_WEB_ROOT, readAsset } from './web-assets.ts';

export interface ServerAppOptions {
  /** Host names browsers may reach the API by (default: loopback names only). */
  allowedHosts?: HostAllowList;
  /** When set, data routes need `Authorization: Bearer <token>` or `?token=<token>`. */
  authToken?: string;
  /** Built dashboard (default `web/dist`). */
  webRoot?: string;
  /** Exported machine definitions (default `statecharts/`). */
  statechartsDir?: string;
  /** The /v3/ws feed, for its figures in /v3/status and /metrics and its P&L series. */
  feed?: ConsoleFeed;
  /** Where the Stately inspector bridge is, when `--inspect` is on. */
  inspectorUrl?: string;
  clock?: Clock;
  /** Where unexpected route failures are reported (default: stderr), secrets scrubbed. */
  log?: (line: string) => void;
}


// Preact sets style attributes, hence 'unsafe-inline' for styles only; scripts come from 'self'.
const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const DASHBOARD_ROUTES = ['/', '/v3-trader', '/v3'];

/** A control request's body: `{}` or `{"ticker": "…"}` (cancel-all and flatten), nothing else. */
const CONTROL_BODY = z.strictObject({ ticker: marketTickerSchema.optional() });
const CONTROL_BODY_MAX_BYTES = 4 * 1024;

/** Hono middleware: no reply of the operator API is cached (status and books change by the second). */
function noStore(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.res.headers.set('Cache-Control', 'no-store');
  };
}

export function createServerApp(view: SystemView, opts: ServerAppOptions = {}): Hono {
  const app = new Hono();
  const webRoot = opts.webRoot ?? DEFAULT_WEB_ROOT;
  const charts = new StatechartStore(opts.statechartsDir ?? DEFAULT_STATECHARTS_DIR);
  const feed = opts.feed;
  const metrics = createOperatorMetrics(view, feed ? () => feed.stats() : undefined, opts.clock);

  // nosniff, no-referrer, no framing, and Cross-Origin-Resource-Policy: same-origin, so another
  // site cannot even embed a response (<script src>, <img>) without reading it
  app.use('*', secureHeaders({ xFrameOptions: 'DENY', strictTransportSecurity: false }));
  app.use('*', noStore());
  // before anything answers: a rebinding page must not even get the dashboard shell
  app.use('*', hostGuard({ allow: opts.allowedHosts ?? hostAllowList('127.0.0.1') }));

  app.get('/v3/health', (c) => {
    const h = view.health();
    return c.json(
      { healthy: h.healthy, status: h.status, state: h.state, degraded: h.degraded, degradedComponents: h.degradedComponents, uptime: h.uptime },
      h.healthy ? 200 : 503,
    );
  });

  app.use('/v3/*', requireToken(opts.authToken, { except: ['/v3/health'] }));
  app.use('/metrics', requireToken(opts.authToken));

  app.get('/v3/status', (c) => {
    const extra: Record<string, unknown> = { inspectorUrl: opts.inspectorUrl ?? null };
    if (feed) extra.ws = feed.stats();
    extra.controls = view.controls?.() ?? null;
    return c.json(presentStatus(view.status(), extra));
  });

  app.get('/v3/status/log', (c) => c.text(redactText(view.status().statusLog), 200, { 'Content-Type': 'text/plain; charset=utf-8' }));

  // state values can have regions named `orderbook`: drop only what is unambiguously a book
  const machineDropKeys = new Set(['book', 'books']);
  app.get('/v3/machines', (c) => c.json(redactSecrets(view.machineStates(), { dropKeys: machineDropKeys }) as object));

  app.get('/v3/pnl', (c) => c.json({ points: feed?.pnlSeries() ?? [] }));

  app.get('/v3/statecharts', async (c) => c.json(await charts.load()));

  // Controls. CSRF: a page on another site cannot send a JSON content type without a CORS
  // preflight (which nothing here answers), and the host guard refuses its Origin anyway.
  app.get('/v3/control', (c) => c.json({ controls: view.controls?.() ?? null }));
  app.post('/v3/control/:action', async (c) => {
    const action = c.req.param('action') as ControlAction;
    if (!CONTROL_ACTIONS.includes(action)) {
      return c.json({ error: 'not_found', message: `unknown control ${JSON.stringify(action.slice(0, 40))}: one of ${CONTROL_ACTIONS.join(', ')}` }, 404);
    }
    if (!view.control) return c.json({ error: 'not_supported', message: 'this system has no trader to control' }, 501);
    const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      return c.json({ error: 'unsupported_media_type', message: 'control requests take a JSON body: Content-Type: application/json' }, 415);
    }
    const raw = await readBoundedText(c.req.raw, CONTROL_BODY_MAX_BYTES);
    if (!raw.ok) return c.json({ error: 'payload_too_large', message: `the body is larger than ${CONTROL_BODY_MAX_BYTES} bytes` }, 413);
    let json: unknown = {};
    if (raw.text.trim() !== '') {
      try {
        json = JSON.parse(raw.text);
      } catch {
        return c.json({ error: 'bad_request', message: 'the body is not JSON' }, 400);
      }
    }
    const body = CONTROL_BODY.safeParse(json);
    if (!body.success) {
      const issue = body.error.issues[0];
      const where = issue.path.length > 0 ? issue.path.join('.') : 'body';
      return c.json({ error: 'bad_request', message: `${where}: ${issue.message}` }, 400);
    }
    if (body.data.ticker !== undefined && (action === 'pause' || action === 'resume')) {
      return c.json({ error: 'bad_request', message: `ticker: ${action} applies to the whole trader; only cancel-all and flatten take a ticker` }, 400);
    }
    const result = await view.control({ action, ...(body.data.ticker !== undefined ? { ticker: body.data.ticker } : {}) });
    return c.json(presentControlResult(result), result.applied ? 200 : 409);
  });

  app.get('/metrics', async (c) => c.body(await metrics.render(), 200, { 'Content-Type': metrics.contentType }));

  const dashboard = async (c: Context) => {
    const page = await readAsset(webRoot, 'index.html');
    if (!page) return c.text('The dashboard is not built: run `npm run build:web` (startHttpServer builds it on first start).', 503);
    return c.body(page.body as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': page.contentType, 'Content-Security-Policy': DASHBOARD_CSP });
  };
  for (const route of DASHBOARD_ROUTES) app.get(route, dashboard);

  app.get('/assets/*', async (c) => {
    const asset = await readAsset(webRoot, c.req.path.slice(1));
    if (!asset) return c.json({ error: 'not_found' }, 404);
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': asset.contentType });
  });

  app.notFound((c) => c.json({ error: 'not_found', path: c.req.path }, 404));
  // details stay in the process log, not in the reply: an exception text could carry anything
  const log = opts.log ?? ((line: string) => console.error(line));
  app.onError((error, c) => {
    log(`operator API: ${c.req.method} ${c.req.path} failed: ${redactText(error instanceof Error ? error.message : String(error))}`);
    return c.json({ error: 'internal_error' }, 500);
  });
  return app;
}
