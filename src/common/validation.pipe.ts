import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { type ValidationError, validateSync } from 'class-validator';
import { type FieldError, InvalidInputError } from './errors.js';

const PRIMITIVES: unknown[] = [String, Number, Boolean, Array, Object];

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * The one validation path for everything from outside (bodies, path and query parameters): DTO
 * classes with class-validator rules. No implicit type conversion ("10" is not 10), unknown
 * fields are refused, and a body must be a JSON object (not an array, null or a scalar).
 */
@Injectable()
export class StrictValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const { metatype, type } = metadata;
    if (type === 'custom' || !metatype || PRIMITIVES.includes(metatype)) return value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidInputError(
        type === 'body' ? 'The request body must be a JSON object.' : `Invalid ${type} parameters.`,
      );
    }
    const instance: object = plainToInstance(metatype as new () => object, value, {
      enableImplicitConversion: false,
    });
    const errors = validateSync(instance, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
    });
    if (errors.length > 0) {
      const fieldErrors = flatten(errors);
      throw new InvalidInputError(
        fieldErrors.map((e) => e.message).join('; ') || 'Invalid request.',
        fieldErrors,
      );
    }
    return instance;
  }
}
