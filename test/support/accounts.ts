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
