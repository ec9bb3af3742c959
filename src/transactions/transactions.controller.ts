import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../common/api-problems.js';
import { RequiresScope } from '../common/auth/access.js';
import { UserIdParams } from '../common/dto/user-id.params.dto.js';
import { TransactionDto } from './dto/transaction.dto.js';
import type { LedgerRow } from './transactions.repository.js';
import { TransactionsService } from './transactions.service.js';

function toDto(row: LedgerRow): TransactionDto {
  return {
    id: row.id,
    user_id: row.user_id,
    amount: row.amount,
    type: row.type,
    balance_after: row.balance_after,
    description: row.description,
    reference: row.reference,
    created_at: row.created_at.toISOString(),
  };
}

@ApiTags('transactions')
@Controller()
export class TransactionsController {
  constructor(private readonly transactions: TransactionsService) {}

  @Get('transactions/:user_id')
  @RequiresScope('read')
  @ApiOperation({
    summary: "A user's transaction history (debits and credits), newest first",
  })
  @ApiOkResponse({ type: TransactionDto, isArray: true })
  @ApiProblems(400, 404, 503)
  async history(@Param() { user_id }: UserIdParams): Promise<TransactionDto[]> {
    return (await this.transactions.history(user_id)).map(toDto);
  }
}
