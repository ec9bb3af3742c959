import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** A caller's id is kept only if it is plainly an id (it goes into every log line). */
const ACCEPTABLE = /^[A-Za-z0-9._:/+=-]{1,128}$/;

/** The request's id: the caller's `x-request-id` when it is acceptable, else a new UUID. */
export function requestId(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
}
