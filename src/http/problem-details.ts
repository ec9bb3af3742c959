import { HttpException } from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/database-errors.js';
import {
  DomainError,
  type DomainErrorKind,
  type FieldError,
  InvalidInputError,
  UnauthenticatedError,
} from '../common/errors.js';

/** RFC 9457 problem details, the body of every error response. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: FieldError[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

const TITLES: Record<string, string> = {
  VALIDATION_FAILED: 'Request validation failed',
  ACCOUNT_NOT_FOUND: 'Account not found',
  INSUFFICIENT_BALANCE: 'Insufficient balance',
  BALANCE_LIMIT: 'Balance limit exceeded',
  DATABASE_UNAVAILABLE: 'Database unavailable',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key reused with a different request',
  IDEMPOTENCY_KEY_IN_USE: 'Idempotency key in use',
  RESERVATION_NOT_FOUND: 'Reservation not found',
  RESERVATION_NOT_HELD: 'Reservation no longer held',
  RESERVATION_EXPIRED: 'Reservation expired',
  CAPTURE_EXCEEDS_HOLD: 'Capture exceeds the hold',
  SHUTTING_DOWN: 'Shutting down',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Forbidden',
  RATE_LIMITED: 'Too many requests',
  NOT_FOUND: 'Not found',
  METHOD_NOT_ALLOWED: 'Method not allowed',
  PAYLOAD_TOO_LARGE: 'Payload too large',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  URI_TOO_LONG: 'URI too long',
  INTERNAL_ERROR: 'Internal server error',
  HTTP_ERROR: 'Request failed',
};

function statusOf(kind: DomainErrorKind): number {
  switch (kind) {
    case 'invalid':
      return 400;
    case 'payment_refused':
      return 402;
    case 'unauthenticated':
      return 401;
    case 'forbidden':
      return 403;
    case 'not_found':
      return 404;
    case 'unprocessable':
      return 422;
    case 'conflict':
      return 409;
    case 'rate_limited':
      return 429;
    case 'unavailable':
      return 503;
    default: {
      const unreachable: never = kind;
      throw new Error(`unmapped error kind ${String(unreachable)}`);
    }
  }
}

/** Framework-level failures (routing, body parsing) keep their HTTP status; this names them. */
function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'VALIDATION_FAILED';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'METHOD_NOT_ALLOWED';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 414:
      return 'URI_TOO_LONG';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    default:
      return status >= 500 ? 'INTERNAL_ERROR' : 'HTTP_ERROR';
  }
}

export function problem(
  status: number,
  code: string,
  detail: string,
  instance?: string,
  errors?: FieldError[],
): Problem {
  const body: Problem = {
    type: `urn:billing-service:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[code] ?? TITLES.HTTP_ERROR,
    status,
    detail,
    code,
  };
  if (instance !== undefined) body.instance = instance;
  if (errors !== undefined) body.errors = errors;
  return body;
}

/** The status of an error raised by Fastify itself (FST_ERR_*) or by the framework. */
function frameworkStatus(error: unknown): number | undefined {
  if (error instanceof HttpException) return error.getStatus();
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : undefined;
}

function frameworkDetail(error: unknown, status: number): string {
  if (status === 404) return 'No such route.';
  if (status === 405 && error instanceof HttpException) return error.message;
  if (status === 413) return 'The request body is larger than the service accepts.';
  if (status === 415) return 'Request bodies must be JSON (Content-Type: application/json).';
  if (status === 400 && error instanceof Error) {
    // Fastify's JSON and URL errors describe the input, not the service: safe to pass on.
    return error.message.replace(/^Bad Request:?\s*/, '') || 'Malformed request.';
  }
  return 'The request could not be served.';
}

/** Response headers some problems carry: the challenge of a 401, the wait of a 429. */
export function problemHeaders(error: unknown): Record<string, string> | undefined {
  if (error instanceof UnauthenticatedError) {
    return {
      'www-authenticate': error.invalidToken
        ? 'Bearer realm="billing-service", error="invalid_token"'
        : 'Bearer realm="billing-service"',
    };
  }
  // Any domain error that knows when to come back (RATE_LIMITED, and others that may).
  const retryAfter = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  if (error instanceof DomainError && typeof retryAfter === 'number') {
    return { 'retry-after': String(retryAfter) };
  }
  return undefined;
}

/**
 * The one mapping from anything thrown to a problem. Unexpected errors become a bare 500 (the
 * caller logs them, with the request's id; never in the response).
 */
export function toProblem(error: unknown, instance: string | undefined): Problem {
  if (error instanceof DomainError) {
    const errors = error instanceof InvalidInputError ? error.fieldErrors : undefined;
    return problem(statusOf(error.kind), error.code, error.detail, instance, errors);
  }
  if (isDatabaseUnavailable(error)) {
    return problem(
      503,
      'DATABASE_UNAVAILABLE',
      'The database is unavailable or did not answer in time; retry later.',
      instance,
    );
  }
  const status = frameworkStatus(error);
  if (status !== undefined && status < 500) {
    return problem(status, codeForStatus(status), frameworkDetail(error, status), instance);
  }
  return problem(500, 'INTERNAL_ERROR', 'An unexpected error occurred.', instance);
}
