import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../http/api-problems.js';
import { RequiresScope } from '../http/auth/access.js';
import { UserIdParams } from '../common/dto/user-id.params.dto.js';
import { MonthQueryDto } from './dto/month-query.dto.js';
import { MonthlyUsageDto } from './dto/monthly-usage.dto.js';
import { UsageService } from './usage.service.js';

@ApiTags('usage')
@Controller()
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get('monthly-usage/:user_id')
  @RequiresScope('read')
  @ApiOperation({
    summary: "A user's token usage in a calendar month (UTC): the current one, or ?month=YYYY-MM",
    description:
      'Debits in [start_date, end_date): start_date is the first instant of the month in UTC ' +
      '(inclusive), end_date the first instant of the next month (exclusive). A user with no ' +
      'charges that month, or no account, gets 0 and 0. Read from a per-user monthly rollup ' +
      'kept in the same statement as each debit: constant time however long the history.',
  })
  @ApiOkResponse({ type: MonthlyUsageDto })
  @ApiProblems(400, 503)
  async monthlyUsage(
    @Param() { user_id }: UserIdParams,
    @Query() { month }: MonthQueryDto,
  ): Promise<MonthlyUsageDto> {
    const usage = await this.usage.monthlyUsage(user_id, month);
    return {
      user_id,
      tokens_consumed: usage.tokensConsumed,
      consultations_count: usage.consultationsCount,
      start_date: usage.start.toISOString(),
      end_date: usage.end.toISOString(),
    };
  }
}
