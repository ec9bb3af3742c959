import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/** The constraints that back the application's rules, checked straight in the database. */
describe('schema backstops', () => {
  let db: TestDatabase;
  const user = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.pool.query(`INSERT INTO accounts (user_id, balance) VALUES ($1, 10)`, [user]);
    await db.pool.query(
      `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client)
       VALUES ($1, 'credit', 10, 10, 'seed', 'test')`,
      [user],
    );
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('refuses to UPDATE, DELETE or TRUNCATE ledger rows (append-only)', async () => {
    await expect(
      db.pool.query(`UPDATE ledger_entries SET amount = 99 WHERE user_id = $1`, [user]),
    ).rejects.toThrow(/append-only/);
    await expect(
      db.pool.query(`DELETE FROM ledger_entries WHERE user_id = $1`, [user]),
    ).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`TRUNCATE ledger_entries CASCADE`)).rejects.toThrow(/append-only/);
    const { rows } = await db.pool.query(`SELECT amount FROM ledger_entries WHERE user_id = $1`, [
      user,
    ]);
    expect(rows).toEqual([{ amount: '10' }]);
  });

  it('refuses a negative balance even if a statement tried to write one', async () => {
    await expect(
      db.pool.query(`UPDATE accounts SET balance = -1 WHERE user_id = $1`, [user]),
    ).rejects.toThrow(/accounts_balance_range/);
  });

  it('refuses a balance past 2^53-1', async () => {
    await expect(
      db.pool.query(`UPDATE accounts SET balance = 9007199254740992 WHERE user_id = $1`, [user]),
    ).rejects.toThrow(/accounts_balance_range/);
  });

  it('refuses a debit with a positive amount or a credit with a negative one', async () => {
    await expect(
      db.pool.query(
        `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client) VALUES ($1, 'debit', 5, 5, 'x', 'test')`,
        [user],
      ),
    ).rejects.toThrow(/ledger_entries_type_sign/);
    await expect(
      db.pool.query(
        `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client) VALUES ($1, 'credit', -5, 5, 'x', 'test')`,
        [user],
      ),
    ).rejects.toThrow(/ledger_entries_type_sign/);
  });

  it('refuses a ledger row for an account that does not exist', async () => {
    await expect(
      db.pool.query(
        `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client) VALUES ($1, 'credit', 5, 5, 'x', 'test')`,
        [randomUUID()],
      ),
    ).rejects.toThrow(/foreign key/);
  });
});
