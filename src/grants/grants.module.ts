import { Module } from '@nestjs/common';
import { GrantsController } from './grants.controller.js';
import { GrantsRepository } from './grants.repository.js';
import { GrantsService } from './grants.service.js';

@Module({
  controllers: [GrantsController],
  providers: [GrantsService, GrantsRepository],
})
export class GrantsModule {}
