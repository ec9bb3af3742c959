import { type DynamicModule, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { BalanceModule } from './balance/balance.module.js';
import { ChargesModule } from './charges/charges.module.js';
import { RequestTimeoutInterceptor } from './common/request-timeout.interceptor.js';
import { APP_CONFIG, type AppConfig } from './config/config.js';
import { DatabaseModule } from './database/database.module.js';
import { IdempotencyModule } from './idempotency/idempotency.module.js';
import { ReservationsModule } from './reservations/reservations.module.js';
import { TransactionsModule } from './transactions/transactions.module.js';
import { UsageModule } from './usage/usage.module.js';

/** A configuration whose database is known (DATABASE_URL, or the embedded one just started). */
export type RunConfig = AppConfig & { database: AppConfig['database'] & { url: string } };

@Module({})
export class AppModule {
  static forRoot(config: RunConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        DatabaseModule.forRoot(config.database),
        BalanceModule,
        IdempotencyModule,
        ChargesModule,
        ReservationsModule,
        TransactionsModule,
        UsageModule,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: APP_INTERCEPTOR, useClass: RequestTimeoutInterceptor },
      ],
      exports: [APP_CONFIG],
    };
  }
}
