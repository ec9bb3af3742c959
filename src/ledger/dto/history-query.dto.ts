import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Matches } from 'class-validator';

/** ISO 8601 instant: a date (midnight UTC) or a date-time with Z or an offset, never local time. */
const INSTANT =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const INSTANT_MESSAGE =
  '$property must be an ISO 8601 date (YYYY-MM-DD, UTC) or date-time with Z or an offset';

/**
 * Query string of GET /transactions/{user_id}. Query values arrive as text and are kept as text
 * here (no implicit conversion): the rules below admit only well-formed values, which the service
 * then parses explicitly.
 */
export class HistoryQueryDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    description:
      'Page size. With it the answer is one page, and a `Link: <…>; rel="next"` header names the ' +
      'next page when there may be one. Without it every row is returned (streamed).',
  })
  @IsOptional()
  @IsString()
  @Matches(/^(?:[1-9]\d{0,2}|1000)$/, { message: 'limit must be an integer from 1 to 1000' })
  limit?: string;

  @ApiPropertyOptional({
    description: "Opaque position from a previous page's `Link` header: rows older than it.",
    maxLength: 64,
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'cursor is not a cursor given by this service' })
  cursor?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Only entries created at or after this instant (inclusive), ISO 8601.',
    example: '2026-11-01T00:00:00Z',
  })
  @IsOptional()
  @IsString()
  @Matches(INSTANT, { message: INSTANT_MESSAGE })
  @IsISO8601({ strict: true }, { message: INSTANT_MESSAGE })
  from?: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'Only entries created before this instant (exclusive), ISO 8601.',
    example: '2026-12-01T00:00:00Z',
  })
  @IsOptional()
  @IsString()
  @Matches(INSTANT, { message: INSTANT_MESSAGE })
  @IsISO8601({ strict: true }, { message: INSTANT_MESSAGE })
  to?: string;

  @ApiPropertyOptional({
    enum: ['debit', 'credit', 'expiry'],
    description: 'Only entries of this type.',
  })
  @IsOptional()
  @IsIn(['debit', 'credit', 'expiry'])
  type?: 'debit' | 'credit' | 'expiry';
}
