import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../common/api-problems.js';
import { RequiresScope } from '../common/auth/access.js';
import { ChargesService } from './charges.service.js';
import { MoneyMovementDto, MoneyMovementResultDto } from './dto/money-movement.dto.js';

function toResult(result: { transactionId: string; balance: number }): MoneyMovementResultDto {
  return { status: 'success', transaction_id: result.transactionId, balance: result.balance };
}

@ApiTags('charges')
@Controller()
export class ChargesController {
  constructor(private readonly charges: ChargesService) {}

  @Post('charge-tokens')
  @RequiresScope('charge')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Debit tokens from a user (internal)',
    description:
      'Atomically debits `amount` tokens and appends a debit to the ledger. Refused with 402 ' +
      '(nothing written) when the account is unknown or its balance is below the amount.',
  })
  @ApiOkResponse({ type: MoneyMovementResultDto })
  @ApiProblems(400, 402, 413, 415, 503)
  async charge(@Body() body: MoneyMovementDto): Promise<MoneyMovementResultDto> {
    return toResult(await this.charges.charge(toMovement(body)));
  }

  @Post('credit-tokens')
  @RequiresScope('credit')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Credit tokens to a user (internal: top-up, grant, adjustment)',
    description:
      'Adds `amount` tokens and appends a credit to the ledger; creates the account on first ' +
      'credit. Refused with 422 BALANCE_LIMIT if the balance would pass 2^53-1.',
  })
  @ApiOkResponse({ type: MoneyMovementResultDto })
  @ApiProblems(400, 413, 415, 422, 503)
  async credit(@Body() body: MoneyMovementDto): Promise<MoneyMovementResultDto> {
    return toResult(await this.charges.credit(toMovement(body)));
  }
}

function toMovement(body: MoneyMovementDto) {
  return { userId: body.user_id, amount: body.amount, description: body.description };
}
