import { ApiProperty } from '@nestjs/swagger';
import type { EntryType, LedgerRow } from '../ledger.repository.js';

export class TransactionDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  user_id!: string;

  /** Signed: debits negative, credits positive. A user's amounts sum to the balance. */
  @ApiProperty({ type: 'integer', example: -120 })
  amount!: number;

  /** `expiry`: the unused remainder of a grant that expired (negative; `grant_id` names it). */
  @ApiProperty({ enum: ['debit', 'credit', 'expiry'] })
  type!: EntryType;

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

  /** On an expiry: the grant (its credit's transaction id) whose remainder expired; else null. */
  @ApiProperty({ type: 'string', format: 'uuid', nullable: true, example: null })
  grant_id!: string | null;

  /** On a credit: when the grant's remainder expires (null: never, and on other entries). */
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: null })
  expires_at!: string | null;

  /** On a credit: the grant's consumption priority (lower first); null on other entries. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100, nullable: true, example: null })
  priority!: number | null;
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
    grant_id: row.grant_id,
    expires_at: row.expires_at?.toISOString() ?? null,
    priority: row.priority,
  };
}
