import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, NotContains } from 'class-validator';

/** DTO property: the optional `reference` (a consultation or agent-run id) stored on the ledger
 *  row: the durable link from a debit to what it paid for, long after keys are purged. */
export function ReferenceProperty(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      minLength: 1,
      maxLength: 255,
      description:
        "The caller's reference (e.g. a consultation or agent-run id), stored on the ledger " +
        'entry and returned in the transaction list.',
      example: 'run_01HZX3',
    }),
    IsOptional(),
    IsString(),
    Length(1, 255),
    NotContains('\u0000', { message: 'reference must not contain NUL characters' }),
  );
}
