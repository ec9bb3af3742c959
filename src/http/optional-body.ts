import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { InvalidInputError } from '../common/errors.js';
import { StrictValidationPipe } from './validation.pipe.js';

const pipe = new StrictValidationPipe();

/**
 * Controller parameter: a body that may be left out (no body, or `{}`), validated like any
 * other by the one validation path. Document it with @ApiBody({ required: false }).
 */
export const OptionalBody = createParamDecorator(
  (dto: new () => object, context: ExecutionContext): unknown => {
    const body = context.switchToHttp().getRequest<FastifyRequest>().body;
    // No body is `{}`; a JSON `null` is a body, and not an object (400 like any other).
    return pipe.transform(body === undefined ? {} : body, {
      type: 'body',
      metatype: dto,
      data: undefined,
    });
  },
);

/** Controller parameter check: the body, if any, must be `{}` (an operation without input). */
export const EmptyBody = createParamDecorator((_: unknown, context: ExecutionContext): void => {
  const body = context.switchToHttp().getRequest<FastifyRequest>().body;
  if (body === undefined) return;
  if (
    body === null ||
    typeof body !== 'object' ||
    Array.isArray(body) ||
    Object.keys(body).length > 0
  ) {
    throw new InvalidInputError('This operation takes no input: send no body, or {}.');
  }
});
