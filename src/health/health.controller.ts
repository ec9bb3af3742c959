import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblem } from '../http/api-problems.js';
import { Public } from '../http/auth/access.js';
import { HealthDto } from './dto/health.dto.js';
import { HealthService } from './health.service.js';

const OK: HealthDto = { status: 'ok' };

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up (no dependency is checked)' })
  @ApiOkResponse({ type: HealthDto, description: 'The process is up.' })
  live(): HealthDto {
    return OK;
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness: the database answers in time and the service is not shutting down',
  })
  @ApiOkResponse({ type: HealthDto, description: 'Ready for traffic.' })
  @ApiProblem(503, 'DATABASE_UNAVAILABLE or SHUTTING_DOWN: send no traffic here for now.')
  async ready(): Promise<HealthDto> {
    await this.health.ready();
    return OK;
  }
}
