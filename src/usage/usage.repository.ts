import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';

export interface MonthTotals {
  /** First day of the month (UTC), 'YYYY-MM-DD'; the current one by the database clock. */
  month: string;
  tokensConsumed: number;
  consultationsCount: number;
}

/** One row of the rollup: constant time, however long the user's history. Without a month
 *  ($2 null), the current one by the database clock, the same clock that dated the debits.
 *  Exported on purpose: bench/ measures the service's own statement, so it cannot drift. */
export const MONTH: Statement = {
  name: 'usage_month',
  text: `
    SELECT m.month, coalesce(u.tokens_consumed, 0)::bigint AS tokens_consumed,
           coalesce(u.consultations_count, 0)::bigint AS consultations_count
      FROM (SELECT coalesce($2::date, date_trunc('month', now() AT TIME ZONE 'UTC')::date)
                   AS month) AS m
      LEFT JOIN monthly_usage AS u ON u.user_id = $1 AND u.month = m.month`,
};

interface TotalsRow {
  month: string;
  tokens_consumed: number;
  consultations_count: number;
}

@Injectable()
export class UsageRepository {
  constructor(private readonly sql: Sql) {}

  /** `firstDay`: the first day of the month, 'YYYY-MM-01'; null for the current month. */
  async month(userId: string, firstDay: string | null): Promise<MonthTotals> {
    const row = await this.sql.one<TotalsRow>(MONTH, [userId, firstDay]);
    return {
      month: row.month,
      tokensConsumed: row.tokens_consumed,
      consultationsCount: row.consultations_count,
    };
  }
}
