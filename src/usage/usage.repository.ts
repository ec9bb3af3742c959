import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';

export interface MonthTotals {
  /** First day of the current month (UTC) by the database clock, 'YYYY-MM-DD'. */
  month: string;
  tokensConsumed: number;
  consultationsCount: number;
}

/** One row of the rollup: constant time, however long the user's history. The month is taken
 *  from the database clock, the same clock that dated the debits. */
const CURRENT_MONTH: Statement = {
  name: 'usage_current_month',
  text: `
    SELECT m.month, coalesce(u.tokens_consumed, 0)::bigint AS tokens_consumed,
           coalesce(u.consultations_count, 0)::bigint AS consultations_count
      FROM (SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date AS month) AS m
      LEFT JOIN monthly_usage AS u ON u.user_id = $1 AND u.month = m.month`,
};

@Injectable()
export class UsageRepository {
  constructor(private readonly sql: Sql) {}

  async currentMonth(userId: string): Promise<MonthTotals> {
    const row = await this.sql.one<{
      month: string;
      tokens_consumed: number;
      consultations_count: number;
    }>(CURRENT_MONTH, [userId]);
    return {
      month: row.month,
      tokensConsumed: row.tokens_consumed,
      consultationsCount: row.consultations_count,
    };
  }
}
