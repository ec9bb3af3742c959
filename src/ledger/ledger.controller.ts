import { Controller, Get, Param, Query, Res, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiProblems } from '../http/api-problems.js';
import { RequiresScope } from '../http/auth/access.js';
import { UserIdParams } from '../common/dto/user-id.params.dto.js';
import { HistoryQueryDto } from './dto/history-query.dto.js';
import { TransactionDto, toTransactionDto } from './dto/transaction.dto.js';
import { jsonArrayStream } from './json-array-stream.js';
import { LedgerService } from './ledger.service.js';

/** The same query with the next page's cursor: a relative URI reference (RFC 8288 allows it). */
function nextLink(userId: string, query: HistoryQueryDto, cursor: string): string {
  const params = new URLSearchParams();
  for (const key of ['limit', 'from', 'to', 'type'] as const) {
    const value = query[key];
    if (value !== undefined) params.set(key, value);
  }
  params.set('cursor', cursor);
  return `</billing/transactions/${userId}?${params.toString()}>; rel="next"`;
}

@ApiTags('transactions')
@Controller()
export class LedgerController {
  constructor(private readonly ledger: LedgerService) {}

  @Get('transactions/:user_id')
  @RequiresScope('read')
  @ApiOperation({
    summary: "A user's transaction history (debits and credits), newest first",
    description:
      'Without `limit`, every matching entry is returned as one JSON array, streamed from a ' +
      'database cursor; if the stream fails midway the connection is aborted (the array is ' +
      'never closed), so a truncated history cannot pass for a complete one. With `limit`, one ' +
      'page: follow the `Link` header (rel="next") for the next one, until it is absent. Pages ' +
      'are keyset-paginated on the ledger order: no entry is skipped or repeated while new ' +
      'entries are appended.',
  })
  @ApiOkResponse({
    type: TransactionDto,
    isArray: true,
    headers: {
      Link: {
        description:
          'Only with `limit`, and only when a further page exists: `</billing/transactions/' +
          '{user_id}?limit=…&cursor=…>; rel="next"` (the same filters, and the next cursor).',
        schema: { type: 'string' },
      },
    },
  })
  @ApiProblems(400, 404, 503)
  async history(
    @Param() { user_id }: UserIdParams,
    @Query() query: HistoryQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TransactionDto[] | StreamableFile> {
    const { limit, filter } = this.ledger.parse(query);
    if (limit === undefined) {
      const batches = await this.ledger.stream(user_id, filter);
      return new StreamableFile(jsonArrayStream(batches, toTransactionDto), {
        type: 'application/json; charset=utf-8',
      });
    }
    const page = await this.ledger.page(user_id, filter, limit);
    if (page.next !== undefined) void reply.header('link', nextLink(user_id, query, page.next));
    return page.rows.map(toTransactionDto);
  }
}
