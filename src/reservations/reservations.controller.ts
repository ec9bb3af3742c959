import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiProblems } from '../http/api-problems.js';
import { EmptyBody, OptionalBody } from '../http/optional-body.js';
import { sendAnswer } from '../idempotency/answer.js';
import {
  ApiIdempotencyKey,
  Idempotent,
  REPLAY_HEADERS,
  type IdempotentRequest,
} from '../idempotency/idempotent-request.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
import {
  CaptureReservationDto,
  CaptureResultDto,
  CreateReservationDto,
  DEFAULT_TTL_SECONDS,
  ReservationDto,
  ReservationIdParams,
} from './dto/reservation.dto.js';
import type { ReservationRow } from './reservations.repository.js';
import { type Captured, ReservationsService } from './reservations.service.js';
import { RequiresScope } from '../http/auth/access.js';

function toDto(row: ReservationRow): ReservationDto {
  return {
    id: row.id,
    user_id: row.user_id,
    amount: row.amount,
    description: row.description,
    reference: row.reference,
    status: row.status,
    expires_at: row.expires_at.toISOString(),
    created_at: row.created_at.toISOString(),
    captured_amount: row.captured_amount,
    transaction_id: row.transaction_id,
  };
}

function toCaptureResult(result: Captured): CaptureResultDto {
  return {
    status: 'success',
    transaction_id: result.transactionId,
    balance: result.balance,
    available: result.available,
  };
}

@ApiTags('reservations')
@Controller('reservations')
export class ReservationsController {
  constructor(
    private readonly reservations: ReservationsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post()
  @RequiresScope('charge')
  @ApiOperation({
    summary: 'Hold tokens before a consultation',
    description:
      'Reserves `amount` tokens of the available balance (balance minus unexpired holds) until ' +
      `captured, released or expired (\`ttl_seconds\`, default ${DEFAULT_TTL_SECONDS}, ` +
      'by the database clock). ' +
      '402 when the available balance is too low or the account unknown.',
  })
  @ApiIdempotencyKey()
  @ApiCreatedResponse({ type: ReservationDto, headers: REPLAY_HEADERS })
  @ApiProblems(400, 402, 409, 413, 415, 422, 503)
  async hold(
    @Body() body: CreateReservationDto,
    @Idempotent() request: IdempotentRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const hold = {
      userId: body.user_id,
      amount: body.amount,
      description: body.description,
      reference: body.reference ?? null,
      client: request.client,
      ttlSeconds: body.ttl_seconds ?? DEFAULT_TTL_SECONDS,
    };
    const answer = await this.idempotency.perform(
      request,
      hold.userId,
      (db) => this.reservations.hold(hold, db),
      (row) => ({ status: 201, body: toDto(row) }),
    );
    sendAnswer(reply, answer);
  }

  @Get(':id')
  @RequiresScope('read')
  @ApiOperation({ summary: 'A reservation and its outcome' })
  @ApiOkResponse({ type: ReservationDto })
  @ApiProblems(400, 404, 503)
  async find(@Param() { id }: ReservationIdParams): Promise<ReservationDto> {
    return toDto(await this.reservations.find(id));
  }

  @Post(':id/capture')
  @RequiresScope('charge')
  @ApiOperation({
    summary: 'Debit a hold (the consultation has ended)',
    description:
      'Debits `amount` (default: the held amount), releases the rest of the hold, writes one ' +
      'ledger debit and counts one consultation. A reservation resolves exactly once: 409 ' +
      'RESERVATION_NOT_HELD or RESERVATION_EXPIRED otherwise.',
  })
  @ApiIdempotencyKey()
  @ApiBody({ type: CaptureReservationDto, required: false })
  @ApiOkResponse({ type: CaptureResultDto, headers: REPLAY_HEADERS })
  @ApiProblems(400, 402, 404, 409, 413, 415, 422, 503)
  async capture(
    @Param() { id }: ReservationIdParams,
    @OptionalBody(CaptureReservationDto) body: CaptureReservationDto,
    @Idempotent() request: IdempotentRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { user_id: userId } = await this.reservations.find(id);
    const capture = {
      userId,
      reservationId: id,
      amount: body.amount ?? null,
      allowOverage: body.allow_overage ?? false,
      description: body.description ?? null,
      reference: body.reference ?? null,
      client: request.client,
    };
    const answer = await this.idempotency.perform(
      request,
      userId,
      (db) => this.reservations.capture(capture, db),
      (result) => ({ status: 200, body: toCaptureResult(result) }),
    );
    sendAnswer(reply, answer);
  }

  @Post(':id/release')
  @RequiresScope('charge')
  @ApiOperation({
    summary: 'Release a hold (nothing debited)',
    description:
      'Frees the held tokens. 409 RESERVATION_NOT_HELD once captured or released, ' +
      'RESERVATION_EXPIRED once expired.',
  })
  @ApiIdempotencyKey()
  @ApiBody({
    required: false,
    description: 'Nothing, or an empty JSON object (anything else is 400).',
    schema: { type: 'object', maxProperties: 0, additionalProperties: false },
  })
  @ApiOkResponse({ type: ReservationDto, headers: REPLAY_HEADERS })
  @ApiProblems(400, 404, 409, 413, 415, 422, 503)
  async release(
    @Param() { id }: ReservationIdParams,
    @EmptyBody() _body: void,
    @Idempotent() request: IdempotentRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { user_id: userId } = await this.reservations.find(id);
    const answer = await this.idempotency.perform(
      request,
      userId,
      (db) => this.reservations.release(userId, id, db),
      (row) => ({ status: 200, body: toDto(row) }),
    );
    sendAnswer(reply, answer);
  }
}
