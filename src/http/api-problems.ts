import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ProblemDto } from '../common/dto/problem.dto.js';
import { problem } from './problem-details.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (code VALIDATION_FAILED, with field errors).',
  401: 'UNAUTHENTICATED: no bearer token, or one that belongs to no client (see WWW-Authenticate).',
  402:
    'Payment refused: ACCOUNT_NOT_FOUND or INSUFFICIENT_BALANCE (the available balance, ' +
    'balance minus unexpired holds, is too low). Nothing was written.',
  403: 'FORBIDDEN: the client lacks the scope this operation needs.',
  404: 'ACCOUNT_NOT_FOUND (no account for this user) or RESERVATION_NOT_FOUND.',
  409:
    'RESERVATION_NOT_HELD or RESERVATION_EXPIRED (the reservation has already resolved), or ' +
    'IDEMPOTENCY_KEY_IN_USE (a request with this key is in flight; see Retry-After).',
  413: 'PAYLOAD_TOO_LARGE: the body is over the limit.',
  414: 'URI_TOO_LONG: a path parameter is over 100 characters.',
  415: 'UNSUPPORTED_MEDIA_TYPE: the body is not JSON.',
  422:
    'BALANCE_LIMIT (the balance would pass 2^53-1), CAPTURE_EXCEEDS_HOLD, or ' +
    'IDEMPOTENCY_KEY_REUSED (the key was used with a different request). Nothing was written.',
  429: 'RATE_LIMITED: the client is over its rate limit; retry after Retry-After seconds.',
  503:
    'DATABASE_UNAVAILABLE: the database is unavailable or the request timed out; retry later ' +
    '(a money movement with the same Idempotency-Key, which settles its unknown outcome).',
};

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer', minimum: 0 },
  },
};

/** Headers a problem of this status may carry (see problemHeaders in problem-details.ts). */
const HEADERS: Record<number, Record<string, object>> = {
  401: {
    'WWW-Authenticate': {
      description:
        'The bearer challenge; `error="invalid_token"` when a token was sent but is unknown.',
      schema: { type: 'string', example: 'Bearer realm="billing-service"' },
    },
  },
  409: {
    'Retry-After': {
      ...RETRY_AFTER['Retry-After'],
      description: 'With IDEMPOTENCY_KEY_IN_USE: seconds to wait before retrying.',
    },
  },
  429: RETRY_AFTER,
};

/** Example bodies per status (code, detail), built by the same function as real answers, so that
 *  Swagger UI shows each status with its own code rather than one example for all. */
const EXAMPLES: Record<number, [code: string, detail: string][]> = {
  400: [['VALIDATION_FAILED', 'amount must be a JSON integer (got a string)']],
  402: [
    ['INSUFFICIENT_BALANCE', 'The balance is less than the 120 tokens asked for.'],
    ['ACCOUNT_NOT_FOUND', 'No account for user 3fa85f64-5717-4562-b3fc-2c963f66afa6.'],
  ],
  404: [['ACCOUNT_NOT_FOUND', 'No account for user 3fa85f64-5717-4562-b3fc-2c963f66afa6.']],
  413: [['PAYLOAD_TOO_LARGE', 'The request body is larger than the service accepts.']],
  415: [
    ['UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be JSON (Content-Type: application/json).'],
  ],
  401: [['UNAUTHENTICATED', 'A bearer token is required.']],
  403: [['FORBIDDEN', 'This client lacks the charge scope.']],
  409: [
    ['RESERVATION_NOT_HELD', 'The reservation is already captured.'],
    ['IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still in progress.'],
  ],
  422: [['BALANCE_LIMIT', 'Crediting 120 tokens would take the balance past 9007199254740991.']],
  429: [['RATE_LIMITED', 'Too many requests from this client; retry after 1 second(s).']],
  503: [
    ['DATABASE_UNAVAILABLE', 'The database is unavailable or did not answer in time; retry later.'],
  ],
};

function examplesFor(status: number) {
  const bodies = (EXAMPLES[status] ?? []).map(([code, detail]) => {
    const errors =
      code === 'VALIDATION_FAILED' ? [{ field: 'amount', message: detail }] : undefined;
    return { code, value: problem(status, code, detail, undefined, errors) };
  });
  if (bodies.length === 0) return {};
  if (bodies.length === 1) return { example: bodies[0].value };
  return { examples: Object.fromEntries(bodies.map((b) => [b.code, { value: b.value }])) };
}

/** The documented error response for a status: problem-details schema, description, example. */
export function problemResponse(status: number, description = DESCRIPTIONS[status] ?? 'Error.') {
  return {
    description,
    ...(HEADERS[status] ? { headers: HEADERS[status] } : {}),
    content: {
      'application/problem+json': {
        schema: { $ref: getSchemaPath(ProblemDto) },
        ...examplesFor(status),
      },
    },
  };
}

/** Documents one error response of an operation, with the problem-details schema. */
export function ApiProblem(status: number, description?: string) {
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ApiResponse({ status, ...problemResponse(status, description) }),
  );
}

/** Documents error responses of an operation, each with the problem-details schema. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(...statuses.map((status) => ApiProblem(status)));
}
