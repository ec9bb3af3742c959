import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../http/api-problems.js';
import { RequiresScope } from '../http/auth/access.js';
import { UserIdParams } from '../common/dto/user-id.params.dto.js';
import { BalanceService } from './balance.service.js';
import { BalanceDto } from './dto/balance.dto.js';

@ApiTags('balance')
@Controller()
export class BalanceController {
  constructor(private readonly balances: BalanceService) {}

  @Get('balance/:user_id')
  @RequiresScope('read')
  @ApiOperation({
    summary: "A user's token balance, the tokens held by unexpired reservations, and the rest",
    description:
      'Grant remainders past their expiry no longer count, even before a statement has written ' +
      'their expiry. `next_expiry` is the soonest-expiring remainder of a live grant, or null.',
  })
  @ApiOkResponse({ type: BalanceDto })
  @ApiProblems(400, 404, 503)
  async balance(@Param() { user_id }: UserIdParams): Promise<BalanceDto> {
    const found = await this.balances.balance(user_id);
    const { balance, reserved, next_expiry_at: at, next_expiry_amount: amount } = found;
    return {
      user_id,
      balance,
      reserved,
      available: balance - reserved,
      next_expiry: at === null || amount === null ? null : { amount, expires_at: at.toISOString() },
    };
  }
}
