import { ApiProperty } from '@nestjs/swagger';

export class MonthlyUsageDto {
  @ApiProperty({ format: 'uuid' })
  user_id!: string;

  /** Sum of the debits in the period. */
  @ApiProperty({ type: 'integer', minimum: 0, example: 4200 })
  tokens_consumed!: number;

  /** Number of debits in the period (each successful charge is one consultation). */
  @ApiProperty({ type: 'integer', minimum: 0, example: 35 })
  consultations_count!: number;

  /** First instant of the calendar month, UTC (inclusive). */
  @ApiProperty({ format: 'date-time', example: '2026-11-01T00:00:00.000Z' })
  start_date!: string;

  /** First instant of the next calendar month, UTC (exclusive). */
  @ApiProperty({ format: 'date-time', example: '2026-12-01T00:00:00.000Z' })
  end_date!: string;
}
