import type { FastifyReply } from 'fastify';
import { PROBLEM_CONTENT_TYPE } from '../http/problem-details.js';

/** A response exactly as sent: status and body text (stored under a key, replayed verbatim). */
export interface Answer {
  status: number;
  body: string;
  replayed: boolean;
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
