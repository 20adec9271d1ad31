import { z } from 'zod';
import { isShopctlError, ServiceUnavailableError } from '../errors.js';

// One error shape for every answer that is not a success:
//   { "error": { "code": "invalid_request", "message": "...", "details": [{ "field", "message" }] } }
// with the status that says whose fault it is (4xx: the request's, 503: a service is away,
// 500: ours). Codes are stable snake_case: clients may match on them.

export interface ErrorDetail {
  field?: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, 'not_found', what);

export interface ErrorBody {
  error: { code: string; message: string; details: ErrorDetail[] };
}

/** A zod failure on part of a request (`body`, `query`, `path`) as a 400 naming each field. */
export function invalidRequest(where: 'body' | 'query' | 'path', error: z.ZodError): ApiError {
  // An unknown field is named on its own path, one detail per field (as config errors are).
  const details = error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: [where, ...issue.path, key].join('.'), message: 'unknown field' }))
      : [{ field: [where, ...issue.path].join('.'), message: issue.message }],
  );
  const [first] = details;
  return new ApiError(400, 'invalid_request', first ? `${first.field}: ${first.message}` : `invalid ${where}`, details);
}

// ShopctlError codes (the command line's) and the status each means over HTTP.
const STATUS_OF: Record<string, number> = {
  USAGE: 400,
  UNKNOWN_REFERENCE: 422,
  INSUFFICIENT_STOCK: 422,
  ID_CONFLICT: 409,
  STORE_STALE: 409,
  RESERVATION_CLOSED: 409,
  RESERVATION_NOT_FOUND: 404,
};

/** Fastify's own errors (bad JSON, too large, unknown media type, timeouts) keep their status. */
interface FrameworkError {
  statusCode?: number;
  code?: string;
  message: string;
}

const frameworkCode = (status: number): string =>
  ({ 400: 'invalid_request', 404: 'not_found', 405: 'method_not_allowed', 406: 'not_acceptable', 408: 'request_timeout', 413: 'payload_too_large', 415: 'unsupported_media_type', 503: 'service_unavailable' })[status] ??
  (status >= 500 ? 'internal' : 'invalid_request');

/** Any error thrown while answering, as a status, headers and the one error body. */
export function toErrorAnswer(error: unknown): { status: number; body: ErrorBody; headers: Record<string, string>; internal: boolean } {
  const answer = (status: number, code: string, message: string, details: ErrorDetail[] = [], headers: Record<string, string> = {}) => ({
    status,
    body: { error: { code, message, details } },
    headers,
    internal: status >= 500 && status !== 503,
  });
  if (error instanceof ApiError) return answer(error.status, error.code, error.message, error.details, error.headers);
  if (error instanceof z.ZodError) return answer(400, 'invalid_request', invalidRequest('body', error).message, invalidRequest('body', error).details);
  if (error instanceof ServiceUnavailableError) {
    // The service's name, never its address (a URI may carry a password).
    return answer(503, 'service_unavailable', `${error.service === 'kafka' ? 'Kafka' : 'MongoDB'} is not reachable: try again later`, [], { 'retry-after': '5' });
  }
  if (isShopctlError(error)) {
    const status = STATUS_OF[error.code] ?? 422;
    return answer(status, error.code.toLowerCase(), error.message, error.details.map((message) => ({ message })));
  }
  const framework = error as FrameworkError;
  if (typeof framework?.statusCode === 'number' && framework.statusCode >= 400 && framework.statusCode < 500) {
    const status = framework.statusCode;
    const accepted = status === 415 ? ': send application/json, multipart/form-data or application/x-www-form-urlencoded' : '';
    return answer(status, frameworkCode(status), `${framework.message}${accepted}`);
  }
  if (framework?.statusCode === 503) return answer(503, 'service_unavailable', framework.message);
  return answer(500, 'internal', 'internal error: see the server log (request id in x-request-id)');
}
