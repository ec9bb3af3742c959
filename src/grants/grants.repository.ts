import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';
import { CONSUMPTION_ORDER } from './grant-sql.js';

export interface GrantRow {
  id: string;
  amount: number;
  remaining: number;
  priority: number;
  expires_at: Date | null;
  created_at: Date;
  description: string;
  reference: string | null;
}

/**
 * A page of a user's live grants (remainder > 0, not past expires_at), in consumption order,
 * after the grant `$2` (the keyset: its position in that order, which stays put even once it is
 * exhausted). Index grants_consumption: a page costs the same however deep.
 */
const PAGE: Statement = {
  name: 'grants_page',
  text: `
    SELECT g.id, g.amount, g.remaining, g.priority, nullif(g.expires_at, 'infinity') AS expires_at,
           g.created_at, g.description, g.reference
      FROM grants AS g
     WHERE g.user_id = $1 AND g.remaining > 0 AND g.expires_at > now()
       AND ($2::uuid IS NULL OR (g.priority, g.expires_at, g.seq) >
            (SELECT c.priority, c.expires_at, c.seq FROM grants AS c
              WHERE c.user_id = $1 AND c.id = $2::uuid))
     ORDER BY ${CONSUMPTION_ORDER}
     LIMIT $3::int`,
};

const ACCOUNT_EXISTS: Statement = {
  name: 'grants_account_exists',
  text: 'SELECT EXISTS (SELECT 1 FROM accounts WHERE user_id = $1) AS found',
};

@Injectable()
export class GrantsRepository {
  constructor(private readonly sql: Sql) {}

  page(userId: string, after: string | null, limit: number): Promise<GrantRow[]> {
    return this.sql.query<GrantRow>(PAGE, [userId, after, limit]);
  }

  async accountExists(userId: string): Promise<boolean> {
    const row = await this.sql.one<{ found: boolean }>(ACCOUNT_EXISTS, [userId]);
    return row.found;
  }
}
