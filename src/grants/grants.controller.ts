import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { UserIdParams } from '../common/dto/user-id.params.dto.js';
import { ApiProblems } from '../http/api-problems.js';
import { RequiresScope } from '../http/auth/access.js';
import { GrantDto, GrantsQueryDto, toGrantDto } from './dto/grant.dto.js';
import { GrantsService } from './grants.service.js';

const DEFAULT_LIMIT = 100;

@ApiTags('grants')
@Controller()
export class GrantsController {
  constructor(private readonly service: GrantsService) {}

  @Get('grants/:user_id')
  @RequiresScope('read')
  @ApiOperation({
    summary: "A user's live grants (remainder > 0, not expired), in consumption order",
    description:
      'Consumption order: lowest `priority` first; within a priority, soonest `expires_at` ' +
      'first (non-expiring last); then the oldest grant. Keyset-paginated: follow the `Link` ' +
      'header (rel="next") until it is absent.',
  })
  @ApiOkResponse({
    type: GrantDto,
    isArray: true,
    headers: {
      Link: {
        description:
          'Only when a further page exists: `</billing/grants/{user_id}?limit=…&cursor=…>; ' +
          'rel="next"`.',
        schema: { type: 'string' },
      },
    },
  })
  @ApiProblems(400, 404, 503)
  async grants(
    @Param() { user_id }: UserIdParams,
    @Query() query: GrantsQueryDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<GrantDto[]> {
    const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit);
    const page = await this.service.page(user_id, query.cursor, limit);
    if (page.next !== undefined) {
      const params = new URLSearchParams({ limit: String(limit), cursor: page.next });
      void reply.header('link', `</billing/grants/${user_id}?${params.toString()}>; rel="next"`);
    }
    return page.rows.map(toGrantDto);
  }
}
