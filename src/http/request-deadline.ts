import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnavailableError } from '../common/errors.js';
import { sendProblem } from './problem-details.filter.js';

const TIMER = Symbol('requestDeadline');
const DEADLINE = Symbol('requestDeadlineSignal');
const PASSED = Symbol('requestDeadlinePassed');

type TimedRequest = FastifyRequest & {
  [TIMER]?: NodeJS.Timeout;
  [DEADLINE]?: AbortController;
  [PASSED]?: boolean;
};

/** Aborted when the request's deadline has answered it (503): work not yet sent to the database
 *  is to be dropped. Made on first use only (most requests never ask). */
export function deadlineSignal(request: FastifyRequest): AbortSignal {
  const timed = request as TimedRequest;
  timed[DEADLINE] ??= new AbortController();
  if (timed[PASSED] === true) timed[DEADLINE].abort();
  return timed[DEADLINE].signal;
}

/**
 * No request hangs past REQUEST_TIMEOUT_MS: from the moment its handler is reached (the body is
 * in), a request whose answer has not started by then gets 503 DATABASE_UNAVAILABLE (the database is what a
 * request waits on). Its effect may still commit afterwards, so the outcome is unknown to the
 * caller: a retry with the same Idempotency-Key settles it. Whatever the handler produces later
 * is dropped (see BillingFastifyAdapter and sendProblem), and a charge still queued for the batch
 * statement is dropped unsent (DebitBatcher, through deadlineSignal).
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
      request[PASSED] = true;
      request[DEADLINE]?.abort();
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

/** Controller parameter: the request's deadline as an AbortSignal (see deadlineSignal). */
export const Deadline = createParamDecorator((_: unknown, context: ExecutionContext): AbortSignal =>
  deadlineSignal(context.switchToHttp().getRequest<FastifyRequest>()),
);
