import { Body, Controller, Post, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiProblems } from '../http/api-problems.js';
import { Deadline } from '../http/request-deadline.js';
import { renderAnswer, sendAnswer } from '../idempotency/answer.js';
import {
  ApiIdempotencyKey,
  Idempotent,
  REPLAY_HEADERS,
  type IdempotentRequest,
} from '../idempotency/idempotent-request.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
import type { MoneyMovement } from './charges.repository.js';
import { ChargesService, decideCharge, type MoneyMovementResult } from './charges.service.js';
import type { KeyedDebit } from './debit-batcher.js';
import { RequiresScope } from '../http/auth/access.js';
import { CreditDto, MoneyMovementDto, MoneyMovementResultDto } from './dto/money-movement.dto.js';

function toResult(result: MoneyMovementResult) {
  const dto: MoneyMovementResultDto = {
    status: 'success',
    transaction_id: result.transactionId,
    balance: result.balance,
  };
  return { status: 200, body: dto };
}

function toMovement(body: MoneyMovementDto, request: IdempotentRequest): MoneyMovement {
  return {
    userId: body.user_id,
    amount: body.amount,
    description: body.description,
    reference: body.reference ?? null,
    client: request.client,
  };
}

@ApiTags('charges')
@Controller()
export class ChargesController {
  constructor(
    private readonly charges: ChargesService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post('charge-tokens')
  @RequiresScope('charge')
  @ApiOperation({
    summary: 'Debit tokens from a user (internal)',
    description:
      'Atomically debits `amount` tokens from the available balance (balance minus unexpired ' +
      'holds) and appends a debit to the ledger. Refused with 402 (nothing written) when the ' +
      'account is unknown or its available balance is below the amount.',
  })
  @ApiIdempotencyKey()
  @ApiOkResponse({ type: MoneyMovementResultDto, headers: REPLAY_HEADERS })
  @ApiProblems(400, 402, 409, 413, 415, 422, 503)
  async charge(
    @Body() body: MoneyMovementDto,
    @Idempotent() request: IdempotentRequest,
    @Deadline() signal: AbortSignal,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const movement = toMovement(body, request);
    if (request.key === undefined) {
      const { status, body: result } = toResult(await this.charges.charge(movement, signal));
      sendAnswer(reply, { status, body: JSON.stringify(result), replayed: false });
      return;
    }
    const keyed: KeyedDebit = {
      claim: {
        userId: movement.userId,
        client: request.client,
        key: request.key,
        requestHash: request.hash,
      },
      render: (outcome) =>
        renderAnswer(request.instance, () => decideCharge(movement, outcome), toResult),
    };
    sendAnswer(reply, await this.charges.chargeKeyed(movement, keyed, signal));
  }

  @Post('credit-tokens')
  @RequiresScope('credit')
  @ApiOperation({
    summary: 'Credit tokens to a user (internal: top-up, grant, adjustment)',
    description:
      'Adds `amount` tokens and appends a credit to the ledger; creates the account on first ' +
      'credit. Every credit is a grant named by its `transaction_id`: with `expires_at` its ' +
      'unused remainder stops counting at that instant (database clock); `priority` (0-100, ' +
      'default 50) orders consumption, lowest first, then soonest expiry, then oldest grant. ' +
      '400 when `expires_at` is not in the future or more than 10 years ahead; 422 ' +
      'BALANCE_LIMIT if the balance would pass 2^53-1.',
  })
  @ApiIdempotencyKey()
  @ApiOkResponse({ type: MoneyMovementResultDto, headers: REPLAY_HEADERS })
  @ApiProblems(400, 409, 413, 415, 422, 503)
  async credit(
    @Body() body: CreditDto,
    @Idempotent() request: IdempotentRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const movement = toMovement(body, request);
    const answer = await this.idempotency.perform(
      request,
      movement.userId,
      (db) =>
        this.charges.credit(
          movement,
          { expiresAt: body.expires_at ?? null, priority: body.priority ?? 50 },
          db,
        ),
      toResult,
    );
    sendAnswer(reply, answer);
  }
}
