/**
 * Domain errors. Services throw these; they never throw HTTP exceptions. Each carries a stable
 * `code` naming the cause; its HTTP status follows from its class (the operation), so the same code
 * can mean 402 on a debit and 404 on a read. The one mapping to HTTP is in problem-details.ts.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'ACCOUNT_NOT_FOUND'
  | 'INSUFFICIENT_BALANCE'
  | 'BALANCE_LIMIT'
  | 'DATABASE_UNAVAILABLE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'IDEMPOTENCY_KEY_IN_USE'
  | 'RESERVATION_NOT_FOUND'
  | 'RESERVATION_NOT_HELD'
  | 'RESERVATION_EXPIRED'
  | 'CAPTURE_EXCEEDS_HOLD'
  | 'SHUTTING_DOWN'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'RATE_LIMITED';

/** The messages several services give, one wording each (the OpenAPI examples use them too). */
export const messages = {
  noAccount: (userId: string) => `No account for user ${userId}.`,
  insufficientBalance: (amount: number) =>
    `The available balance is less than the ${amount} tokens asked for.`,
};

export interface FieldError {
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

/** The request itself is malformed (400). */
export class InvalidInputError extends DomainError {
  readonly kind = 'invalid';
  constructor(
    detail: string,
    readonly fieldErrors: FieldError[] = [],
  ) {
    super('VALIDATION_FAILED', detail);
  }
}

/** A debit was refused: unknown account or not enough tokens (402). Nothing was written. */
export class PaymentRefusedError extends DomainError {
  readonly kind = 'payment_refused';
  constructor(code: 'ACCOUNT_NOT_FOUND' | 'INSUFFICIENT_BALANCE', detail: string) {
    super(code, detail);
  }
}

/** What a read asked for does not exist (404). */
export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  constructor(code: 'ACCOUNT_NOT_FOUND' | 'RESERVATION_NOT_FOUND', detail: string) {
    super(code, detail);
  }
}

/** Well-formed, but the operation cannot be carried out as asked (422). */
export class UnprocessableError extends DomainError {
  readonly kind = 'unprocessable';
  constructor(
    code: 'BALANCE_LIMIT' | 'CAPTURE_EXCEEDS_HOLD' | 'IDEMPOTENCY_KEY_REUSED',
    detail: string,
  ) {
    super(code, detail);
  }
}

/** The target's current state forbids the operation (409): a reservation no longer held, or an
 *  idempotency key still in use by a request in flight (retry after `retryAfterSeconds`). */
export class ConflictError extends DomainError {
  readonly kind = 'conflict';
  constructor(
    code: 'RESERVATION_NOT_HELD' | 'RESERVATION_EXPIRED' | 'IDEMPOTENCY_KEY_IN_USE',
    detail: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(code, detail);
  }
}

/** A dependency (the database) is unreachable, timed out or shed the request, or the service is
 *  shutting down (503). */
export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
  constructor(code: 'DATABASE_UNAVAILABLE' | 'SHUTTING_DOWN', detail: string) {
    super(code, detail);
  }
}

/** No bearer token, or one that belongs to no client (401). */
export class UnauthenticatedError extends DomainError {
  readonly kind = 'unauthenticated';
  constructor(
    detail: string,
    /** The token was presented but is not valid (RFC 6750 `invalid_token`). */
    readonly invalidToken: boolean,
  ) {
    super('UNAUTHENTICATED', detail);
  }
}

/** The client is known but lacks the scope the operation needs (403). */
export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden';
  constructor(detail: string) {
    super('FORBIDDEN', detail);
  }
}

/** The client is over its rate limit (429). */
export class RateLimitedError extends DomainError {
  readonly kind = 'rate_limited';
  constructor(
    detail: string,
    readonly retryAfterSeconds: number,
  ) {
    super('RATE_LIMITED', detail);
  }
}

export type DomainErrorKind =
  | InvalidInputError['kind']
  | PaymentRefusedError['kind']
  | NotFoundError['kind']
  | UnprocessableError['kind']
  | ConflictError['kind']
  | UnavailableError['kind']
  | UnauthenticatedError['kind']
  | ForbiddenError['kind']
  | RateLimitedError['kind'];
