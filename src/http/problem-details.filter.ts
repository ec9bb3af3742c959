import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problemHeaders, toProblem } from './problem-details.js';

/** A request answered with a problem remembers its code (the metrics label charges by it). */
export type RequestWithProblem = FastifyRequest & { problemCode?: string };

/** Sends `error` as RFC 9457 problem details; an unexpected one is logged with the request id. */
export function sendProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  // Already answered (503 by the request timeout): the late outcome has no one to go to.
  if (reply.sent) return;
  const body = toProblem(error, request.url);
  if (body.status >= 500 && body.code === 'INTERNAL_ERROR') {
    request.log.error({ err: error }, 'unexpected error');
  }
  (request as RequestWithProblem).problemCode = body.code;
  const headers = problemHeaders(error);
  if (headers !== undefined) void reply.headers(headers);
  void reply.status(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
}

/** Every error leaves the service as RFC 9457 problem details. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendProblem(error, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }
}
