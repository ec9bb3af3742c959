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
  })
  @ApiOkResponse({ type: BalanceDto })
  @ApiProblems(400, 404, 503)
  async balance(@Param() { user_id }: UserIdParams): Promise<BalanceDto> {
    const { balance, reserved } = await this.balances.balance(user_id);
    return { user_id, balance, reserved, available: balance - reserved };
  }
}
