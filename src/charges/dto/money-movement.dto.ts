import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, IsUUID, Length, Max, Min, NotContains } from 'class-validator';
import { ReferenceProperty } from '../../common/dto/reference.js';
import { lowerCaseUuid } from '../../common/dto/user-id.params.dto.js';

/** Body of a debit (charge-tokens) or a credit (credit-tokens). */
export class MoneyMovementDto {
  @ApiProperty({ format: 'uuid', description: "The user's id (any RFC 4122 UUID)." })
  @lowerCaseUuid
  @IsUUID('all')
  user_id!: string;

  @ApiProperty({
    type: 'integer',
    description: 'Tokens to move: a JSON integer from 1 to 2^53-1.',
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    example: 120,
  })
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  amount!: number;

  @ApiProperty({ minLength: 1, maxLength: 1000, example: 'Consultation 7f3a: 120 tokens' })
  @IsString()
  @Length(1, 1000)
  @NotContains('\u0000', { message: 'description must not contain NUL characters' })
  description!: string;

  @ReferenceProperty()
  reference?: string;
}

export class MoneyMovementResultDto {
  @ApiProperty({ enum: ['success'] })
  status!: 'success';

  /** The ledger entry written. */
  @ApiProperty({ format: 'uuid' })
  transaction_id!: string;

  /** The ledger balance after this movement. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 880 })
  balance!: number;
}
