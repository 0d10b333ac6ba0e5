/**
 * Errors raised by the Kalshi adapters (REST client, and the WebSocket client beside it).
 * Each class says what failed and where (method + signed path) and whether trying again can help;
 * none ever carries request headers, signatures or key material, so they are safe to log and to
 * show in `/v3/status`.
 */

/** HTTP statuses after which the same request may succeed later (rate limit, overload, gateway). */
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** Longest piece of a response body we quote in an error (bodies from proxies can be pages of HTML). */
const MAX_QUOTED = 200;

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_QUOTED ? `${flat.slice(0, MAX_QUOTED)}…` : flat;
}

export interface KalshiErrorBody {
  code: string | null;
  message: string | null;
}

/**
 * Reads Kalshi's error body. Two shapes exist on the wire: `{"error":{"code","message","service"}}`
 * and the rate limiter's `{"error":"too many requests"}`; batch items carry the unwrapped
 * `{code, message, details}`. Anything else (HTML from a proxy, empty) keeps a short quote.
 */
export function parseKalshiErrorBody(text: string): KalshiErrorBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { code: null, message: text.trim() === '' ? null : quote(text) };
  }
  return errorFromJson(parsed) ?? { code: null, message: text.trim() === '' ? null : quote(text) };
}

function errorFromJson(value: unknown): KalshiErrorBody | null {
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  const inner = 'error' in record ? record.error : record;
  if (typeof inner === 'string') return { code: null, message: quote(inner) };
  if (typeof inner !== 'object' || inner === null) return null;
  const fields = inner as Record<string, unknown>;
  const code = typeof fields.code === 'string' && fields.code !== '' ? fields.code : null;
  const message = typeof fields.message === 'string' && fields.message !== '' ? quote(fields.message) : null;
  if (code === null && message === null) return null;
  return { code, message };
}

export class KalshiApiError extends Error {
  override readonly name = 'KalshiApiError';
  readonly status: number;
  /** Kalshi's machine-readable code (`order_already_exists`, `invalid_price`, …) when it sent one. */
  readonly code: string | null;
  readonly kalshiMessage: string | null;
  readonly method: string;
  readonly path: string;
  readonly retryable: boolean;

  constructor(init: { status: number; code: string | null; kalshiMessage: string | null; method: string; path: string }) {
    const detail = [init.code, init.kalshiMessage].filter((part) => part !== null).join(': ');
    super(`Kalshi ${init.method} ${init.path} → HTTP ${init.status}${detail ? ` ${detail}` : ''}`);
    this.status = init.status;
    this.code = init.code;
    this.kalshiMessage = init.kalshiMessage;
    this.method = init.method;
    this.path = init.path;
    this.retryable = isRetryableStatus(init.status);
  }

  static fromResponse(status: number, bodyText: string, method: string, path: string): KalshiApiError {
    const body = parseKalshiErrorBody(bodyText);
    return new KalshiApiError({ status, code: body.code, kalshiMessage: body.message, method, path });
  }
}

export class KalshiTimeoutError extends Error {
  override readonly name = 'KalshiTimeoutError';
  readonly retryable = true;
  readonly method: string;
  readonly path: string;
  readonly timeoutMs: number;
  constructor(method: string, path: string, timeoutMs: number) {
    super(`Kalshi ${method} ${path}: no complete response within ${timeoutMs} ms`);
    this.method = method;
    this.path = path;
    this.timeoutMs = timeoutMs;
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  // undici reports "fetch failed" and hides the useful part (ECONNREFUSED, ENOTFOUND…) one level down
  const inner = cause.cause instanceof Error ? cause.cause : null;
  const code = inner && 'code' in inner && typeof inner.code === 'string' ? inner.code : null;
  return [cause.message, code ?? inner?.message].filter(Boolean).join(': ');
}

export class KalshiNetworkError extends Error {
  override readonly name = 'KalshiNetworkError';
  readonly retryable = true;
  readonly method: string;
  readonly path: string;
  constructor(method: string, path: string, cause: unknown) {
    super(`Kalshi ${method} ${path}: network error: ${describeCause(cause)}`, { cause });
    this.method = method;
    this.path = path;
  }
}

export interface ValidationIssue {
  /** Dotted location inside the body, e.g. `markets.3.yes_bid_dollars`. */
  path: string;
  message: string;
}

/** A response body that is not JSON or does not match its schema. Names the fields, never dumps the body. */
export class KalshiValidationError extends Error {
  override readonly name = 'KalshiValidationError';
  readonly retryable = false;
  readonly method: string;
  readonly path: string;
  readonly issues: ValidationIssue[];
  constructor(method: string, path: string, issues: ValidationIssue[]) {
    const shown = issues.slice(0, 5).map((issue) => `${issue.path || '(body)'}: ${issue.message}`);
    const more = issues.length > 5 ? ` (+${issues.length - 5} more)` : '';
    super(`Kalshi ${method} ${path}: unexpected response: ${shown.join('; ')}${more}`);
    this.method = method;
    this.path = path;
    this.issues = issues;
  }
}

/**
 * An order-writing call where orders must not go: a read-only environment (production) or a host
 * that is not a venue of the configured environment (see environments.ts). Raised before any I/O.
 */
export class ReadOnlyEnvironmentError extends Error {
  override readonly name = 'ReadOnlyEnvironmentError';
  readonly operation: string;
  readonly environment: string;
  constructor(operation: string, environment: string, reason = `the ${environment} environment is read-only`) {
    super(`${operation} refused: ${reason} (orders go to the simulator and Kalshi's demo exchange only)`);
    this.operation = operation;
    this.environment = environment;
  }
}

/** A call that needs an API key was made by a client constructed without credentials. Raised before any I/O. */
export class MissingCredentialsError extends Error {
  override readonly name = 'MissingCredentialsError';
  readonly operation: string;
  constructor(operation: string) {
    super(`${operation} needs Kalshi credentials (KALSHI_API_KEY_ID and a private key), and none were configured`);
    this.operation = operation;
  }
}

/** An order request that cannot be sent as given (bad price, count, missing client_order_id). Raised before any I/O. */
export class InvalidOrderRequestError extends Error {
  override readonly name = 'InvalidOrderRequestError';
}

/**
 * A create was sent, its answer was lost (timeout, network, 429/5xx), and looking the order up by
 * `client_order_id` failed as well: the order may or may not exist. The caller must keep it in an
 * "unknown" state and resolve it later by `clientOrderId` — never send a new order in its place.
 */
export class KalshiOrderOutcomeUnknownError extends Error {
  override readonly name = 'KalshiOrderOutcomeUnknownError';
  readonly clientOrderId: string;
  readonly ticker: string;
  /** Some send of it may have been accepted (see `createMayHaveLanded`): it may still land. */
  readonly mayHaveLanded: boolean;
  constructor(clientOrderId: string, ticker: string, cause: unknown, mayHaveLanded = true) {
    super(
      `order ${clientOrderId} on ${ticker}: outcome unknown (send failed and the lookup by client_order_id failed: ${
        cause instanceof Error ? cause.message : String(cause)
      })`,
      { cause },
    );
    this.clientOrderId = clientOrderId;
    this.ticker = ticker;
    this.mayHaveLanded = mayHaveLanded;
  }
}

/** Connection codes that mean the request never reached a server. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function causeCode(error: Error): string | null {
  for (let cause: unknown = error.cause; cause instanceof Error; cause = cause.cause) {
    if ('code' in cause && typeof cause.code === 'string') return cause.code;
  }
  return null;
}

/**
 * Whether a failed create may still have been accepted by the venue, so that "not found" is no
 * answer until it can no longer land. Not for a venue answer that refused it before doing anything
 * (429, 503) or a connection never made; yes for a timeout, a connection lost after sending, a
 * gateway error (500/502/504) and anything unrecognised.
 */
export function createMayHaveLanded(error: unknown): boolean {
  if (error instanceof KalshiOrderOutcomeUnknownError) return error.mayHaveLanded;
  if (error instanceof KalshiApiError) return error.status === 500 || error.status === 502 || error.status === 504;
  if (error instanceof KalshiNetworkError) return !NEVER_CONNECTED.has(causeCode(error) ?? '');
  return true;
}

/** True for failures after which an identical request may succeed. */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof KalshiApiError) return error.retryable;
  return error instanceof KalshiTimeoutError || error instanceof KalshiNetworkError;
}
