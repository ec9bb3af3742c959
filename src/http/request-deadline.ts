import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnavailableError } from '../common/errors.js';
import { sendProblem } from './problem-details.filter.js';

const TIMER = Symbol('requestDeadline');

type TimedRequest = FastifyRequest & { [TIMER]?: NodeJS.Timeout };

/**
 * No request hangs past REQUEST_TIMEOUT_MS: from the moment its handler is reached (the body is
 * in), a request whose answer has not started by then gets 503 DATABASE_UNAVAILABLE (the database is what a
 * request waits on). Its effect may still commit afterwards, so the outcome is unknown to the
 * caller: a retry with the same Idempotency-Key settles it. Whatever the handler produces later
 * is dropped (see BillingFastifyAdapter and sendProblem), and a charge still queued for the batch
 * statement is dropped unsent (DebitBatcher).
 *
 * One timer per request from plain Fastify hooks: an rxjs timeout interceptor cost a sixth of the
 * throughput of a balance read, and Fastify 5.12's own `handlerTimeout` is cleared as soon as a
 * POST body has been read (fastify/fastify#6725), so it never fires on the money routes.
 */
function timedOut(request: FastifyRequest, ms: number): string {
  const late = `The request did not complete within ${ms} ms`;
  if (request.method === 'GET') return `${late}; retry later.`;
  return request.headers['idempotency-key'] === undefined
    ? `${late}; its outcome is unknown. Without an Idempotency-Key a retry may apply it twice: ` +
        'check the balance or the transactions first.'
    : `${late}; its outcome is unknown. Retry with the same Idempotency-Key to settle it.`;
}

export function enforceRequestDeadline(fastify: FastifyInstance, ms: number): void {
  fastify.addHook('preHandler', (request: TimedRequest, reply, done) => {
    request[TIMER] = setTimeout(() => {
      if (reply.sent) return;
      sendProblem(
        new UnavailableError('DATABASE_UNAVAILABLE', timedOut(request, ms)),
        request,
        reply,
      );
    }, ms);
    done();
  });
  // The deadline is for the answer to start: once it is being sent (a long history streams for as
  // long as the client reads), or the client has gone, there is nothing left to cut short.
  const clear = (request: TimedRequest): void => clearTimeout(request[TIMER]);
  fastify.addHook('onSend', (request: TimedRequest, _reply, payload, done) => {
    clear(request);
    done(null, payload);
  });
  fastify.addHook('onRequestAbort', (request: TimedRequest, done) => {
    clear(request);
    done();
  });
}
