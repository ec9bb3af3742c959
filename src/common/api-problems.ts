import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ProblemDto } from './dto/problem.dto.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (code VALIDATION_FAILED, with field errors).',
  402:
    'Payment refused: ACCOUNT_NOT_FOUND or INSUFFICIENT_BALANCE (the available balance, ' +
    'balance minus unexpired holds, is too low). Nothing was written.',
  404: 'ACCOUNT_NOT_FOUND (no account for this user) or RESERVATION_NOT_FOUND.',
  409:
    'RESERVATION_NOT_HELD or RESERVATION_EXPIRED (the reservation has already resolved), or ' +
    'IDEMPOTENCY_KEY_IN_USE (a request with this key is in flight; see Retry-After).',
  413: 'PAYLOAD_TOO_LARGE: the body is over the limit.',
  415: 'UNSUPPORTED_MEDIA_TYPE: the body is not JSON.',
  422:
    'BALANCE_LIMIT (the balance would pass 2^53-1), CAPTURE_EXCEEDS_HOLD, or ' +
    'IDEMPOTENCY_KEY_REUSED (the key was used with a different request). Nothing was written.',
  503:
    'DATABASE_UNAVAILABLE: the database is unavailable or the request timed out; retry later ' +
    '(a money movement with the same Idempotency-Key, which settles its unknown outcome).',
};

const RETRY_AFTER = {
  'Retry-After': {
    description: 'With IDEMPOTENCY_KEY_IN_USE: seconds to wait before retrying.',
    schema: { type: 'integer', minimum: 1 },
  },
};

/** Documents error responses of an operation, each with the problem-details schema. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error.',
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDto) } } },
        ...(status === 409 ? { headers: RETRY_AFTER } : {}),
      }),
    ),
  );
}
