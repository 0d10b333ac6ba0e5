/**
 * Kalshi's error bodies as the simulator sends them (kalshi-api.md §4.1): REST errors are wrapped
 * `{"error":{"code","message","service":"exchange"}}`, 429 is the bare string form
 * `{"error":"too many requests"}`, and batch items carry the unwrapped `{code, message}`.
 * Sits under src/sim/server; used by the REST app, the control API and fault injection.
 */
import type { SimError } from '../exchange.types.ts';

export type HttpErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503 | 504;

export interface KalshiErrorObject {
  code: string;
  message: string;
  service: 'exchange';
}

export type KalshiErrorBody = { error: KalshiErrorObject } | { error: 'too many requests' };

/** One error response: HTTP status plus the body Kalshi would send with it. */
export interface ErrorReply {
  status: HttpErrorStatus;
  body: KalshiErrorBody;
}

export function errorReply(status: HttpErrorStatus, code: string, message: string): ErrorReply {
  if (status === 429) return { status, body: { error: 'too many requests' } };
  return { status, body: { error: { code, message, service: 'exchange' } } };
}

/** The canned reply for a status injected by a fault (no more detail than Kalshi gives). */
export function faultReply(status: 429 | 500 | 503): ErrorReply {
  if (status === 429) return errorReply(429, 'too_many_requests', 'too many requests');
  if (status === 500) return errorReply(500, 'internal_server_error', 'internal server error');
  return errorReply(503, 'service_unavailable', 'service_unavailable');
}

export function exchangeErrorReply(error: SimError): ErrorReply {
  return errorReply(error.status, error.code, error.message);
}

export const unauthorized = (message: string): ErrorReply => errorReply(401, 'unauthorized', message);
export const badRequest = (message: string, code = 'invalid_parameters'): ErrorReply => errorReply(400, code, message);
export const notFound = (message: string, code = 'not_found'): ErrorReply => errorReply(404, code, message);

/** The unwrapped form used inside batch responses' `error` field. */
export function batchItemError(error: { code: string; message: string }): { code: string; message: string } {
  return { code: error.code, message: error.message };
}

/** Renders zod issues as a short, path-qualified message (no echo of the offending values). */
export function describeIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((issue) => (issue.path.length ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
