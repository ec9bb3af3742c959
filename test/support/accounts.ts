import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import type { Client } from './http.js';

/** A new user whose account is created by a credit of `balance` through the API. */
export async function fundedUser(api: Client, balance: number): Promise<string> {
  const user = randomUUID();
  const answer = await api.post('/billing/credit-tokens', {
    user_id: user,
    amount: balance,
    description: 'grant',
  });
  expect(answer.status).toBe(200);
  return user;
}

/**
 * Accounts written straight into the database (no ledger row), each with the one non-expiring
 * grant that holds its whole balance, as the grants migration gives an account that existed
 * before it: every statement that takes tokens draws them from grants.
 */
export async function insertAccounts(
  pool: { query: (text: string, values: unknown[]) => Promise<unknown> },
  accounts: { user: string; balance: number; reserved?: number }[],
): Promise<void> {
  await pool.query(
    `WITH a AS (
       INSERT INTO accounts (user_id, balance, reserved)
       SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[])
       RETURNING user_id, balance
     )
     INSERT INTO grants (user_id, id, seq, amount, remaining, description)
     SELECT user_id, gen_random_uuid(), 0, balance, balance, 'balance before grants' FROM a`,
    [
      accounts.map((a) => a.user),
      accounts.map((a) => a.balance),
      accounts.map((a) => a.reserved ?? 0),
    ],
  );
}
