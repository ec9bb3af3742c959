import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';

const PING: Statement = { name: 'health_ping', text: 'SELECT 1 AS ok' };

@Injectable()
export class HealthRepository {
  constructor(private readonly sql: Sql) {}

  /** Resolves when the database answers a trivial query; rejects with UnavailableError if not. */
  async ping(): Promise<void> {
    await this.sql.one(PING, []);
  }
}
