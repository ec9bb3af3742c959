import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsISO8601, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { ReferenceProperty } from '../../common/dto/reference.js';
import {
  DescriptionProperty,
  TokenAmountProperty,
  UuidProperty,
} from '../../common/dto/money-fields.js';

/** Body of a debit (charge-tokens) or a credit (credit-tokens). */
export class MoneyMovementDto {
  @UuidProperty("The user's id (any RFC 4122 UUID).")
  user_id!: string;

  @TokenAmountProperty({
    description: 'Tokens to move: a JSON integer from 1 to 2^53-1.',
    example: 120,
  })
  amount!: number;

  @DescriptionProperty({ example: 'Consultation 7f3a: 120 tokens' })
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

/** RFC 3339 date-time with Z or an offset (never a local time). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/i;

/** Body of a credit (credit-tokens): a grant, with when it expires and its priority. */
export class CreditDto extends MoneyMovementDto {
  @ApiPropertyOptional({
    type: 'string',
    format: 'date-time',
    description:
      'When the unused remainder of this grant expires (RFC 3339 with Z or an offset): in the ' +
      'future by the database clock and at most 10 years ahead. Omitted: never expires.',
    example: '2027-01-01T00:00:00Z',
  })
  @IsOptional()
  @IsString()
  @Matches(RFC3339, { message: 'expires_at must be an RFC 3339 date-time with Z or an offset' })
  @IsISO8601({ strict: true }, { message: 'expires_at must be a valid date-time' })
  expires_at?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 100,
    default: 50,
    description: 'Consumption priority: grants with a lower priority are consumed first.',
    example: 10,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  priority?: number;
}
