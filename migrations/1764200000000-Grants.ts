import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Grants: every credit is a grant with a remainder, a priority and an optional expiry; debits
 * take tokens from grants in consumption order and record which grants they drew from.
 *
 * - `grants.remaining` is the part of the grant still in the balance: for every account,
 *   balance = sum(remaining). Non-expiring grants store `expires_at = 'infinity'` (the API says
 *   null), so that the consumption order (priority, expires_at, seq) is one btree order.
 * - `accounts.next_expiry` is a lower bound of the soonest `expires_at` of a grant with a
 *   remainder (null: none expires). It lives on the account row because that row is what every
 *   statement locks and re-reads after a lock wait: a statement decides whether it must expire
 *   grants from it, without scanning the user's grants.
 * - `debit_draws` records which grants each debit drew from (refunds return there).
 *
 * Every key starts with user_id (distribution column). Existing balances become one non-expiring
 * grant of priority 50 per account, so balance = sum(remaining) holds from the start.
 */
export class Grants1764200000000 implements MigrationInterface {
  name = 'Grants1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE accounts ADD COLUMN next_expiry timestamptz`);
    await db.query(`CREATE INDEX accounts_next_expiry ON accounts (next_expiry)
                    WHERE next_expiry IS NOT NULL`);

    await db.query(`ALTER TABLE ledger_entries ADD COLUMN grant_id uuid`);
    await db.query(`ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_type_sign`);
    await db.query(`
      ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_type_sign CHECK (
        (type = 'debit' AND amount < 0) OR (type = 'credit' AND amount > 0)
        OR (type = 'expiry' AND amount < 0 AND grant_id IS NOT NULL))`);

    await db.query(`
      CREATE TABLE grants (
        user_id     uuid        NOT NULL REFERENCES accounts (user_id),
        id          uuid        NOT NULL,
        seq         bigint      NOT NULL,
        amount      bigint      NOT NULL,
        remaining   bigint      NOT NULL,
        priority    smallint    NOT NULL DEFAULT 50,
        expires_at  timestamptz NOT NULL DEFAULT 'infinity',
        description text        NOT NULL,
        reference   text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT grants_pkey PRIMARY KEY (user_id, id),
        CONSTRAINT grants_remaining_range CHECK (
          remaining >= 0 AND remaining <= 9007199254740991),
        CONSTRAINT grants_amount_range CHECK (amount >= 0 AND amount <= 9007199254740991),
        CONSTRAINT grants_priority_range CHECK (priority BETWEEN 0 AND 100)
      )`);
    // Consumption order among grants with a remainder: a debit walks it from the start and
    // stops when its amount is covered (O(grants touched)).
    await db.query(`CREATE INDEX grants_consumption ON grants (user_id, priority, expires_at, seq)
                    WHERE remaining > 0`);
    // Due remainders of one user (expiry) and the soonest expiry (balance, next_expiry).
    await db.query(`CREATE INDEX grants_expiring ON grants (user_id, expires_at, seq)
                    WHERE remaining > 0 AND expires_at < 'infinity'`);

    await db.query(`
      CREATE TABLE debit_draws (
        user_id  uuid   NOT NULL,
        debit_id uuid   NOT NULL,
        grant_id uuid   NOT NULL,
        amount   bigint NOT NULL,
        CONSTRAINT debit_draws_pkey PRIMARY KEY (user_id, debit_id, grant_id),
        CONSTRAINT debit_draws_amount_range CHECK (amount > 0)
      )`);

    // Existing balances: one non-expiring grant per account, older than any later credit.
    await db.query(`
      INSERT INTO grants (user_id, id, seq, amount, remaining, priority, description, created_at)
      SELECT user_id, gen_random_uuid(), 0, balance, balance, 50, 'balance before grants', now()
        FROM accounts`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE debit_draws');
    await db.query('DROP TABLE grants');
    await db.query(`ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_type_sign`);
    await db.query(`
      ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_type_sign CHECK (
        (type = 'debit' AND amount < 0) OR (type = 'credit' AND amount > 0))`);
    await db.query('ALTER TABLE ledger_entries DROP COLUMN grant_id');
    await db.query('ALTER TABLE accounts DROP COLUMN next_expiry');
  }
}
