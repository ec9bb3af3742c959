import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import type { GrantRow } from '../grants.repository.js';

/** A live grant: a credit whose remainder still counts. */
export class GrantDto {
  /** The credit's transaction id. */
  @ApiProperty({ format: 'uuid' })
  grant_id!: string;

  /** Tokens granted by the credit. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 1000 })
  amount!: number;

  /** Tokens of the grant still in the balance (held ones included). */
  @ApiProperty({ type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, example: 640 })
  remaining!: number;

  /** Consumption priority: lower is consumed first. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100, example: 50 })
  priority!: number;

  /** When the remainder expires; null: never. */
  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    example: '2027-01-01T00:00:00.000Z',
  })
  expires_at!: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  description!: string;

  /** The credit's reference (null if none). */
  @ApiProperty({ type: 'string', nullable: true, maxLength: 255 })
  reference!: string | null;
}

export function toGrantDto(row: GrantRow): GrantDto {
  return {
    grant_id: row.id,
    amount: row.amount,
    remaining: row.remaining,
    priority: row.priority,
    expires_at: row.expires_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    description: row.description,
    reference: row.reference,
  };
}

/** Query string of GET /grants/{user_id} (text, no implicit conversion, as the history's). */
export class GrantsQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 100,
    description:
      'Page size (default 100). A `Link: <…>; rel="next"` header names the next page when there ' +
      'is one.',
  })
  @IsOptional()
  @IsString()
  @Matches(/^(?:[1-9]\d{0,2}|1000)$/, { message: 'limit must be an integer from 1 to 1000' })
  limit?: string;

  @ApiPropertyOptional({
    description: "Opaque position from a previous page's `Link` header: grants after it.",
    maxLength: 64,
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'cursor is not a cursor given by this service' })
  cursor?: string;
}
