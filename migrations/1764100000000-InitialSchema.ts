import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Accounts, the append-only ledger and the monthly usage rollup. Portable to PostgreSQL 14+
 * (gen_random_uuid() is core since 13). Every table carries user_id, and every primary key and
 * unique index includes it, so that user_id can become a distribution column (Citus) later.
 */
export class InitialSchema1764100000000 implements MigrationInterface {
  name = 'InitialSchema1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE accounts (
        user_id    uuid        PRIMARY KEY,
        balance    bigint      NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT accounts_balance_range CHECK (balance >= 0 AND balance <= 9007199254740991)
      )`);

    await db.query(`
      CREATE TABLE ledger_entries (
        user_id       uuid        NOT NULL REFERENCES accounts (user_id),
        seq           bigint      GENERATED ALWAYS AS IDENTITY,
        id            uuid        NOT NULL DEFAULT gen_random_uuid(),
        type          text        NOT NULL,
        amount        bigint      NOT NULL,
        balance_after bigint      NOT NULL,
        description   text        NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ledger_entries_pkey PRIMARY KEY (user_id, seq),
        CONSTRAINT ledger_entries_user_id_id_key UNIQUE (user_id, id),
        CONSTRAINT ledger_entries_type_sign CHECK (
          (type = 'debit' AND amount < 0) OR (type = 'credit' AND amount > 0)),
        CONSTRAINT ledger_entries_balance_after_range CHECK (
          balance_after >= 0 AND balance_after <= 9007199254740991)
      )`);
    // The primary key (user_id, seq) already serves "this user's rows, newest first" by a
    // backward index scan; no second index is needed.

    await db.query(`
      CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger_entries is append-only: % is not allowed', TG_OP
          USING ERRCODE = 'restrict_violation';
      END $$`);
    await db.query(`
      CREATE TRIGGER ledger_entries_append_only
        BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()`);
    await db.query(`
      CREATE TRIGGER ledger_entries_no_truncate
        BEFORE TRUNCATE ON ledger_entries
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()`);

    await db.query(`
      CREATE TABLE monthly_usage (
        user_id             uuid   NOT NULL,
        month               date   NOT NULL,
        tokens_consumed     bigint NOT NULL DEFAULT 0,
        consultations_count bigint NOT NULL DEFAULT 0,
        CONSTRAINT monthly_usage_pkey PRIMARY KEY (user_id, month),
        CONSTRAINT monthly_usage_month_is_first_day CHECK (extract(day FROM month) = 1),
        CONSTRAINT monthly_usage_nonnegative CHECK (tokens_consumed >= 0 AND consultations_count >= 0)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE monthly_usage');
    await db.query('DROP TABLE ledger_entries');
    await db.query('DROP FUNCTION ledger_entries_append_only()');
    await db.query('DROP TABLE accounts');
  }
}
