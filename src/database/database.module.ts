import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { type DatabaseSettings, dataSourceOptions } from './data-source-options.js';
import { Sql } from './sql.js';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(settings: DatabaseSettings): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRoot({
          ...dataSourceOptions(settings),
          retryAttempts: 5,
          retryDelay: 1000,
        }),
      ],
      providers: [Sql],
      exports: [Sql],
    };
  }
}
