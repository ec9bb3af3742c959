import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import {
  getMetadataStorage,
  type ValidationError,
  ValidationTypes,
  validateSync,
} from 'class-validator';
import { type FieldError, InvalidInputError } from '../common/errors.js';
import { assertJsonShape } from './json-gate.js';
import { fieldMessage } from './validation-messages.js';

const PRIMITIVES: unknown[] = [String, Number, Boolean, Array, Object];

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const message = fieldMessage(field, error);
    const own = message === undefined ? [] : [{ field, message }];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** The properties a DTO class declares (any class-validator rule), and those validated nested. */
function declaredProperties(dto: object): { all: Set<string>; nested: Set<string> } {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(
    dto as new () => object,
    '',
    true,
    false,
  );
  return {
    all: new Set(metadata.map((m) => m.propertyName)),
    nested: new Set(
      metadata
        .filter((m) => m.type === ValidationTypes.NESTED_VALIDATION)
        .map((m) => m.propertyName),
    ),
  };
}

/**
 * Fields not declared on the DTO, decided by the input's OWN keys (Object.keys) against the DTO's
 * declared properties, at every nested DTO too. Neither library can be trusted with this:
 * class-transformer silently drops a key whose name is an inherited method (`toString`,
 * `valueOf`, …), and class-validator's whitelist looks names up in a plain object, so an
 * inherited name such as `hasOwnProperty` counts as declared.
 */
function undeclaredFields(plain: object, dto: object, prefix = ''): FieldError[] {
  const { all, nested } = declaredProperties(dto);
  return Object.keys(plain).flatMap((key) => {
    const field = prefix ? `${prefix}.${key}` : key;
    if (!all.has(key)) return [{ field, message: `${field} is not a field of this request` }];
    const value = (plain as Record<string, unknown>)[key];
    const type = nested.has(key) ? nestedType(dto, key) : undefined;
    if (type === undefined || value === null || typeof value !== 'object') return [];
    const items: unknown[] = Array.isArray(value) ? value : [value];
    return items.flatMap((item, i) =>
      item !== null && typeof item === 'object'
        ? undeclaredFields(item, type, Array.isArray(value) ? `${field}[${i}]` : field)
        : [],
    );
  });
}

/** The class of a nested DTO property, as class-transformer instantiates it (its @Type). */
function nestedType(dto: object, key: string): object | undefined {
  const sample: unknown = (
    plainToInstance(dto as new () => object, { [key]: {} }) as Record<string, unknown>
  )[key];
  const type = (sample as object | null)?.constructor;
  return type === undefined || type === Object ? undefined : type;
}

/**
 * The one validation path for everything from outside (bodies, path and query parameters): DTO
 * classes with class-validator rules. The input passes the JSON gate first (depth, size,
 * prototype-named keys); no implicit type conversion ("10" is not 10); fields the DTO does not
 * declare are refused; a body must be a JSON object (not an array, null or a scalar). One message
 * per field: the first rule it fails.
 */
@Injectable()
export class StrictValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const { metatype, type } = metadata;
    if (type === 'custom' || !metatype || PRIMITIVES.includes(metatype)) return value;
    assertJsonShape(value);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidInputError(
        type === 'body' ? 'The request body must be a JSON object.' : `Invalid ${type} parameters.`,
      );
    }
    const undeclared = undeclaredFields(value, metatype);
    const instance: object = plainToInstance(metatype as new () => object, value, {
      enableImplicitConversion: false,
    });
    const errors = validateSync(instance, {
      // Undeclared fields are found above, by own keys; these options stay as a second line.
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
    });
    const reported = new Set(undeclared.map((e) => e.field));
    const fieldErrors = [...flatten(errors).filter((e) => !reported.has(e.field)), ...undeclared];
    if (fieldErrors.length > 0) {
      throw new InvalidInputError(fieldErrors.map((e) => e.message).join('; '), fieldErrors);
    }
    return instance;
  }
}
