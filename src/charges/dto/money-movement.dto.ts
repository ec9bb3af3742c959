import { ApiProperty } from '@nestjs/swagger';
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
