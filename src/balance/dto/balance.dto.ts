import { ApiProperty } from '@nestjs/swagger';

export class BalanceDto {
  @ApiProperty({ format: 'uuid' })
  user_id!: string;

  /** The ledger balance: the sum of the user's ledger amounts. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 1000 })
  balance!: number;

  /** Tokens held by reservations not yet captured, released or expired. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 200 })
  reserved!: number;

  /** balance - reserved: what a charge or a new hold may take. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 800 })
  available!: number;
}
