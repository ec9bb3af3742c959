import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { BalanceModule } from './balance/balance.module.js';
import { ChargesModule } from './charges/charges.module.js';
import { AuthGuard } from './http/auth/auth.guard.js';
import { RateLimitGuard } from './http/auth/rate-limit.guard.js';
import { APP_CONFIG, type AppConfig } from './config/config.js';
import { DatabaseModule } from './database/database.module.js';
import { GrantsModule } from './grants/grants.module.js';
import { HealthModule } from './health/health.module.js';
import { LifecycleModule } from './lifecycle/lifecycle.module.js';
import { IdempotencyModule } from './idempotency/idempotency.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { ReservationsModule } from './reservations/reservations.module.js';
import { LedgerModule } from './ledger/ledger.module.js';
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
        GrantsModule,
        IdempotencyModule,
        ChargesModule,
        ReservationsModule,
        LedgerModule,
        UsageModule,
        LifecycleModule,
        HealthModule,
        MetricsModule,
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        // Global guards run in this order: who is calling, then whether they are over their limit.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
      exports: [APP_CONFIG],
    };
  }
}
