import type { FastifyReply } from 'fastify';
import { DomainError } from '../common/errors.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../http/problem-details.js';

/** A response exactly as sent: status and body text (stored under a key, replayed verbatim). */
export interface Answer {
  status: number;
  body: string;
  replayed: boolean;
}

/** An answer as the HTTP edge renders it for storage: status and the exact body text. */
export interface RenderedAnswer {
  status: number;
  body: string;
}

/** A result as a route maps it to HTTP (the body still an object). */
export interface Rendered {
  status: number;
  body: object;
}

/** Answers decided by the money operation itself: stored under the key and replayed. Anything
 *  else (invalid input, overload, 5xx) leaves the key free for a retry. */
export const STORED_STATUSES = new Set([402, 404, 409, 422]);

/**
 * The HTTP edge's rendering of a keyed command's outcome into the bytes stored with its effect:
 * the result as `render` maps it, or a refusal the operation decided as problem details. Any other
 * error is thrown (nothing is stored; the effect's transaction rolls back).
 */
export function renderAnswer<T>(
  instance: string,
  decide: () => T,
  render: (value: T) => Rendered,
): RenderedAnswer {
  let rendered: Rendered;
  try {
    rendered = render(decide());
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    const problem = toProblem(error, instance);
    if (!STORED_STATUSES.has(problem.status)) throw error;
    rendered = { status: problem.status, body: problem };
  }
  return { status: rendered.status, body: JSON.stringify(rendered.body) };
}

export const REPLAYED_HEADER = 'idempotent-replayed';

export function sendAnswer(reply: FastifyReply, answer: Answer): void {
  // The request timeout may already have answered 503; the outcome stays with the key.
  if (reply.sent) return;
  if (answer.replayed) void reply.header(REPLAYED_HEADER, 'true');
  void reply
    .status(answer.status)
    .header(
      'content-type',
      answer.status >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json; charset=utf-8',
    )
    .send(answer.body);
}
