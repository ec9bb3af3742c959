import { hash } from 'node:crypto';
import { applyDecorators, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { callerOf, type RequestWithCaller } from '../http/caller.js';
import { InvalidInputError } from '../common/errors.js';

/** What an idempotency key is checked against: who sent which request, under which key. */
export interface IdempotentRequest {
  /** The Idempotency-Key header, or undefined when the request has none. */
  key: string | undefined;
  /** The calling client: keys are scoped to it (and to the user). */
  client: string;
  /** SHA-256 of method, path and canonical body; '' without a key (nothing to compare it with). */
  hash: string;
  /** The request path, the `instance` of a stored problem. */
  instance: string;
}

const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** JSON with object keys sorted at every level: the same request always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function requestHash(method: string, path: string, body: unknown): string {
  return hash('sha256', `${method}\n${path}\n${canonical(body ?? {})}`, 'hex');
}

export function idempotentRequestOf(request: RequestWithCaller): IdempotentRequest {
  const header = request.headers['idempotency-key'];
  // Node joins repeated headers into one value ("a, b"): count them in the raw headers.
  const sent = (request.raw?.rawHeaders ?? []).filter(
    (name, i) => i % 2 === 0 && name.toLowerCase() === 'idempotency-key',
  ).length;
  if (Array.isArray(header) || sent > 1) {
    throw new InvalidInputError('Send at most one Idempotency-Key header.', [
      { field: 'Idempotency-Key', message: 'must appear once' },
    ]);
  }
  if (header !== undefined && !KEY_PATTERN.test(header)) {
    throw new InvalidInputError('Idempotency-Key must be 1 to 255 printable ASCII characters.', [
      { field: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' },
    ]);
  }
  return {
    key: header,
    client: callerOf(request).name,
    hash:
      header === undefined
        ? ''
        : requestHash(request.method, request.url.split('?')[0], request.body),
    instance: request.url,
  };
}

/** Controller parameter: the request as idempotency sees it (the header validated here). */
export const Idempotent = createParamDecorator(
  (_: unknown, context: ExecutionContext): IdempotentRequest =>
    idempotentRequestOf(context.switchToHttp().getRequest<RequestWithCaller>()),
);

/** OpenAPI: the Idempotency-Key header of a money-moving operation. */
export function ApiIdempotencyKey(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes the request safe to retry (1-255 printable ASCII characters, scoped to the calling ' +
        'client and the user; kept at least 24 hours). The first answer (2xx, or a 402/404/409/422 ' +
        'decided by the operation) is stored with the effect, in the same transaction, and ' +
        'replayed byte for byte, with `Idempotent-Replayed: true`, for any retry of the same ' +
        'request. The same key with a different request is 422 IDEMPOTENCY_KEY_REUSED; while the ' +
        'first request is still in flight a retry waits for it, or gets 409 IDEMPOTENCY_KEY_IN_USE ' +
        'with Retry-After. 400, 413, 415 and 5xx answers are not stored.',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7E]+$' },
    }),
  );
}

/** OpenAPI: the header on an answer replayed from an Idempotency-Key. */
export const REPLAY_HEADERS = {
  'Idempotent-Replayed': {
    description: '`true` when this answer is the stored answer of an earlier request with the key.',
    schema: { type: 'string', enum: ['true'] },
  },
};
