import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';

export class MonthQueryDto {
  @ApiPropertyOptional({
    description: 'The calendar month (UTC) to report, YYYY-MM. Default: the current month.',
    pattern: '^[1-9]\\d{3}-(0[1-9]|1[0-2])$',
    example: '2026-10',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[1-9]\d{3}-(0[1-9]|1[0-2])$/, { message: 'month must be a calendar month, YYYY-MM' })
  month?: string;
}
