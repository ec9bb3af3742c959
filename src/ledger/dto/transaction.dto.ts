import { ApiProperty } from '@nestjs/swagger';
import type { LedgerRow } from '../ledger.repository.js';

export class TransactionDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  user_id!: string;

  /** Signed: debits negative, credits positive. A user's amounts sum to the balance. */
  @ApiProperty({ type: 'integer', example: -120 })
  amount!: number;

  @ApiProperty({ enum: ['debit', 'credit'] })
  type!: 'debit' | 'credit';

  /** The balance right after this entry. */
  @ApiProperty({ type: 'integer', minimum: 0, example: 880 })
  balance_after!: number;

  description!: string;

  /** The caller's reference given with the charge, credit or reservation (null if none). */
  @ApiProperty({ type: 'string', nullable: true, maxLength: 255 })
  reference!: string | null;

  /** ISO 8601, UTC. */
  @ApiProperty({ format: 'date-time' })
  created_at!: string;
}

export function toTransactionDto(row: LedgerRow): TransactionDto {
  return {
    id: row.id,
    user_id: row.user_id,
    amount: row.amount,
    type: row.type,
    balance_after: row.balance_after,
    description: row.description,
    reference: row.reference,
    created_at: row.created_at.toISOString(),
  };
}
