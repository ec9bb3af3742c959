import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { ReferenceProperty } from '../../common/dto/reference.js';
import {
  DescriptionProperty,
  TokenAmountProperty,
  UuidProperty,
} from '../../common/dto/money-fields.js';

/** How long a hold lasts when the request names no `ttl_seconds`. */
export const DEFAULT_TTL_SECONDS = 600;

/** Body of POST /reservations: a hold on the available balance. */
export class CreateReservationDto {
  @UuidProperty("The user's id (any RFC 4122 UUID).")
  user_id!: string;

  @TokenAmountProperty({
    description: 'Tokens to hold: a JSON integer from 1 to 2^53-1.',
    example: 500,
  })
  amount!: number;

  @DescriptionProperty({ example: 'Consultation 7f3a (estimate)' })
  description!: string;

  @ReferenceProperty()
  reference?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 86_400,
    default: DEFAULT_TTL_SECONDS,
    description: 'Seconds until the hold expires (by the database clock) and its tokens are free.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86_400)
  ttl_seconds?: number;
}

/** Body of POST /reservations/{id}/capture; empty or `{}` captures the held amount. */
export class CaptureReservationDto {
  @TokenAmountProperty({
    optional: true,
    example: 500,
    description:
      'Tokens to debit (default: the held amount). More than held is 422 CAPTURE_EXCEEDS_HOLD ' +
      'unless allow_overage is true. The rest of the hold is released.',
  })
  amount?: number;

  @ApiPropertyOptional({
    default: false,
    description:
      'Debit an amount above the hold: the excess comes from the available balance, or the ' +
      'capture is 402 and the hold stays held.',
  })
  @IsOptional()
  @IsBoolean()
  allow_overage?: boolean;

  @DescriptionProperty({
    optional: true,
    description: "The ledger entry's description (default: the reservation's).",
  })
  description?: string;

  @ReferenceProperty()
  reference?: string;
}

export class ReservationIdParams {
  @UuidProperty("The reservation's id.")
  id!: string;
}

export class ReservationDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  user_id!: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    example: 500,
    description: 'Tokens held.',
  })
  amount!: number;

  description!: string;

  @ApiProperty({ type: 'string', nullable: true })
  reference!: string | null;

  /** `expired` once the database clock reaches expires_at, even before the sweep. */
  @ApiProperty({ enum: ['held', 'captured', 'released', 'expired'] })
  status!: 'held' | 'captured' | 'released' | 'expired';

  @ApiProperty({ format: 'date-time' })
  expires_at!: string;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  /** Tokens debited by the capture (null until captured). */
  @ApiProperty({ type: 'integer', nullable: true, minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
  captured_amount!: number | null;

  /** The capture's ledger entry (null until captured). */
  @ApiProperty({ type: 'string', format: 'uuid', nullable: true })
  transaction_id!: string | null;
}

export class CaptureResultDto {
  @ApiProperty({ enum: ['success'] })
  status!: 'success';

  /** The capture's ledger entry. */
  @ApiProperty({ format: 'uuid' })
  transaction_id!: string;

  /** The ledger balance after the capture. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 880 })
  balance!: number;

  /** Balance minus unexpired holds, after the capture. */
  @ApiProperty({ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, example: 380 })
  available!: number;
}
