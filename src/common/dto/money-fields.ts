import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  Min,
  NotContains,
} from 'class-validator';

/**
 * The input rules every money request shares, in one place: ids, token amounts and descriptions
 * are validated (and documented) the same way on charges, credits and reservations.
 */

/** UUIDs are case-insensitive (RFC 4122): one user must never split in two by letter case. */
export const lowerCaseUuid = Transform(({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.toLowerCase() : value,
);

/** Any RFC 4122 UUID, lower-cased before it reaches the database. */
export function UuidProperty(description: string): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ format: 'uuid', description }),
    lowerCaseUuid,
    IsUUID('all'),
  );
}

/** A token amount: a JSON integer from 1 to 2^53-1 (never a string, never fractional). */
export function TokenAmountProperty(options: {
  description: string;
  example?: number;
  optional?: boolean;
}): PropertyDecorator {
  const schema = {
    type: 'integer',
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    description: options.description,
    ...(options.example === undefined ? {} : { example: options.example }),
  } as const;
  return applyDecorators(
    ...(options.optional ? [ApiPropertyOptional(schema), IsOptional()] : [ApiProperty(schema)]),
    IsInt(),
    Min(1),
    Max(Number.MAX_SAFE_INTEGER),
  );
}

/** A description: 1 to 1000 characters, no NUL (PostgreSQL text cannot hold one). */
export function DescriptionProperty(options: {
  description?: string;
  example?: string;
  optional?: boolean;
}): PropertyDecorator {
  const schema = {
    minLength: 1,
    maxLength: 1000,
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(options.example === undefined ? {} : { example: options.example }),
  };
  return applyDecorators(
    ...(options.optional ? [ApiPropertyOptional(schema), IsOptional()] : [ApiProperty(schema)]),
    IsString(),
    Length(1, 1000),
    NotContains('\u0000', { message: 'description must not contain NUL characters' }),
  );
}
