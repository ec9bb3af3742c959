import { Module } from '@nestjs/common';
import { ChargesController } from './charges.controller.js';
import { ChargesRepository } from './charges.repository.js';
import { ChargesService } from './charges.service.js';
import { DebitBatcher } from './debit-batcher.js';
import { MetricsModule } from '../metrics/metrics.module.js';

@Module({
  imports: [MetricsModule],
  controllers: [ChargesController],
  providers: [ChargesService, ChargesRepository, DebitBatcher],
})
export class ChargesModule {}
