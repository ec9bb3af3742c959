import { describe, expect, it } from '@jest/globals';
import { NotFoundException } from '@nestjs/common';
import {
  InvalidInputError,
  NotFoundError,
  PaymentRefusedError,
  UnavailableError,
  UnprocessableError,
} from '../common/errors.js';
import { toProblem } from './problem-details.js';

describe('toProblem', () => {
  it('maps each kind of domain error to its status, keeping the code', () => {
    expect(
      toProblem(new InvalidInputError('bad', [{ field: 'amount', message: 'm' }]), '/x'),
    ).toEqual({
      type: 'urn:billing-service:problem:validation-failed',
      title: 'Request validation failed',
      status: 400,
      detail: 'bad',
      code: 'VALIDATION_FAILED',
      instance: '/x',
      errors: [{ field: 'amount', message: 'm' }],
    });
    expect(toProblem(new PaymentRefusedError('INSUFFICIENT_BALANCE', 'no'), undefined).status).toBe(
      402,
    );
    expect(toProblem(new UnprocessableError('BALANCE_LIMIT', 'no'), undefined).status).toBe(422);
    expect(toProblem(new UnavailableError('DATABASE_UNAVAILABLE', 'later'), undefined).status).toBe(
      503,
    );
  });

  it('gives one code two statuses by operation: 402 on a debit, 404 on a read', () => {
    const debit = toProblem(new PaymentRefusedError('ACCOUNT_NOT_FOUND', 'x'), undefined);
    const read = toProblem(new NotFoundError('ACCOUNT_NOT_FOUND', 'x'), undefined);
    expect([debit.status, debit.code]).toEqual([402, 'ACCOUNT_NOT_FOUND']);
    expect([read.status, read.code]).toEqual([404, 'ACCOUNT_NOT_FOUND']);
  });

  it('maps a lost database connection to 503 DATABASE_UNAVAILABLE', () => {
    const lost = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    expect(toProblem(lost, undefined)).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
    expect(toProblem(new Error('Connection terminated unexpectedly'), undefined).status).toBe(503);
  });

  it('keeps framework statuses (router 404, Fastify 415)', () => {
    expect(toProblem(new NotFoundException(), '/nope')).toMatchObject({
      status: 404,
      code: 'NOT_FOUND',
    });
    const fastify415 = Object.assign(new Error('Unsupported Media Type'), {
      statusCode: 415,
      code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    });
    expect(toProblem(fastify415, undefined)).toMatchObject({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  });

  it('hides the details of an unexpected error behind a bare 500', () => {
    const problem = toProblem(new Error('relation "secret_table" does not exist'), undefined);
    expect(problem).toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    expect(JSON.stringify(problem)).not.toContain('secret_table');
  });
});
