import type { FastifyRequest } from 'fastify';

/** Who is calling: the named client that authenticated (see the auth guard), or `anonymous` while
 *  the service runs without configured clients. Recorded on ledger rows; scopes idempotency keys. */
export interface Caller {
  name: string;
}

export const ANONYMOUS: Caller = { name: 'anonymous' };

export type RequestWithCaller = FastifyRequest & { caller?: Caller };

export function callerOf(request: RequestWithCaller): Caller {
  return request.caller ?? ANONYMOUS;
}
