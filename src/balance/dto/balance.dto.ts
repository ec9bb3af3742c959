import { ApiProperty } from '@nestjs/swagger';

export interface NextExpiry {
  amount: number;
  expires_at: string;
}

export class BalanceDto {
  @ApiProperty({ format: 'uuid' })
  user_id!: string;

  /** The ledger balance (the sum of the user's ledger amounts), less grant remainders already
   *  past their expiry that no statement has expired yet. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 1000 })
  balance!: number;

  /** Tokens held by reservations not yet captured, released or expired. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 200 })
  reserved!: number;

  /** balance - reserved: what a charge or a new hold may take. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 800 })
  available!: number;

  // Inline schema, not a $ref under allOf: `nullable` must apply to the object itself.
  /** The soonest-expiring remainder of a live grant, or null when no live grant expires. */
  @ApiProperty({
    type: 'object',
    nullable: true,
    required: ['amount', 'expires_at'],
    properties: {
      amount: {
        type: 'integer',
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Tokens of live grants that expire at `expires_at`, unless spent before.',
      },
      expires_at: { type: 'string', format: 'date-time' },
    },
    example: { amount: 300, expires_at: '2027-01-01T00:00:00.000Z' },
  })
  next_expiry!: NextExpiry | null;
}
