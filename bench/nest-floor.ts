import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Module, Param, Post, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { LimitWork } from './limit-work.js';

/**
 * The framework's own floor, run as its own process like the service: a minimal NestJS-on-Fastify
 * application (one controller; no guards, pipes, hooks, logger or validation) running the same
 * statements as the bare Fastify + pg server, and the per-charge limit's bare debit. It is not a
 * limit the service is held to: it shows how much of the gap to bare Fastify is NestJS itself, and
 * how much is the service's own work (authentication, validation, idempotency, metrics, logs).
 * Arguments: port, database URL, pool size.
 */
const [port, url, poolSize] = process.argv.slice(2);
const work = new LimitWork(url, Number(poolSize));

@Controller()
class FloorController {
  @Post('json')
  @HttpCode(200)
  json() {
    return LimitWork.charged;
  }

  @Post('debit')
  @HttpCode(200)
  debit(@Body() body: { user_id: string; amount: number }) {
    return work.debit(body.user_id, body.amount);
  }

  @Get('balance/:id')
  balance(@Param('id') id: string) {
    return work.balance(id);
  }

  @Get('monthly-usage/:id')
  usage(@Param('id') id: string) {
    return work.usage(id);
  }

  @Get('transactions/:id')
  page(@Param('id') id: string, @Query('limit') limit: string) {
    return work.page(id, Number(limit));
  }
}

@Module({ controllers: [FloorController] })
class FloorModule {}

const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter(), {
  logger: false,
});
await app.listen({ port: Number(port), host: '127.0.0.1' });
work.stopOnSigterm(app);
