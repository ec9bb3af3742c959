import { UnavailableError } from '../common/errors.js';

/** SQLSTATE classes and codes meaning "the database cannot serve this now", not "the request is
 *  wrong": connection exceptions, shutdowns, resource exhaustion, timeouts, lock waits. */
const UNAVAILABLE_SQLSTATE_CLASSES = ['08', '53', '57P'];
const UNAVAILABLE_SQLSTATES = new Set(['57014', '55P03', '40001', '40P01', '25P03']);
const UNAVAILABLE_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'is not queryable',
  'Cannot use a pool after calling end',
  'Query read timeout',
];

/** Duck-typed, not `instanceof Error`: errors raised by Node itself (ECONNREFUSED) come from
 *  another realm under jest's VM modules, and a driver may reject with an error-like object. */
function errorLike(value: unknown): value is { message: string; code?: unknown; cause?: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!errorLike(error)) return false;
  const code = error.code;
  if (typeof code === 'string') {
    if (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_NODE_CODES.has(code)) return true;
    if (UNAVAILABLE_SQLSTATE_CLASSES.some((prefix) => code.startsWith(prefix))) return true;
  }
  if (UNAVAILABLE_MESSAGES.some((m) => error.message.includes(m))) return true;
  const cause = error.cause;
  return cause !== undefined && cause !== error && isDatabaseUnavailable(cause);
}

/** Turns a driver error into a domain error where it means "unavailable"; anything else is
 *  returned as it is (a bug, reported as 500 without internals). */
export function translateDatabaseError(error: unknown): unknown {
  if (error instanceof UnavailableError) return error;
  if (isDatabaseUnavailable(error)) {
    const unavailable = new UnavailableError(
      'DATABASE_UNAVAILABLE',
      'The database is unavailable or did not answer in time; retry later.',
    );
    unavailable.cause = error; // kept for isLockTimeout(); never rendered
    return unavailable;
  }
  return error;
}

/** A lock wait passed lock_timeout (SQLSTATE 55P03), before or after translation. */
export function isLockTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if ((error as { code?: unknown }).code === '55P03') return true;
  return error.cause !== undefined && error.cause !== error && isLockTimeout(error.cause);
}
