import { ApiProperty } from '@nestjs/swagger';

export class FieldErrorDto {
  /** The offending field (dotted path for nested fields). */
  field!: string;
  message!: string;
}

/** RFC 9457 problem details: the body of every error response. */
export class ProblemDto {
  /** A URI naming the kind of problem. */
  @ApiProperty({ example: 'urn:billing-service:problem:insufficient-balance' })
  type!: string;
  @ApiProperty({ example: 'Insufficient balance' })
  title!: string;
  @ApiProperty({ type: 'integer', example: 402 })
  status!: number;
  /** What went wrong with this request, for a person. */
  detail!: string;
  /** Stable machine-readable cause, e.g. INSUFFICIENT_BALANCE, ACCOUNT_NOT_FOUND, VALIDATION_FAILED. */
  @ApiProperty({ example: 'INSUFFICIENT_BALANCE' })
  code!: string;
  /** The request path. */
  instance?: string;
  /** Field errors, for VALIDATION_FAILED. */
  errors?: FieldErrorDto[];
}
