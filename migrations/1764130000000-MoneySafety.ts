import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Money safety (issue 3): who caused each ledger row (`client`) and what it paid for
 * (`reference`); idempotency keys stored with their answers; reservations (holds).
 *
 * `accounts.reserved` is the sum of the holds still in status 'held', including holds that are
 * past `expires_at` but not yet swept. Statements that take tokens lock the due holds
 * (FOR UPDATE) and add them back, so a hold stops counting exactly at `expires_at`, by the
 * database clock, without waiting for the sweep. The counter lives on the account row because
 * that row is what a conditional UPDATE re-reads after waiting for its lock (READ COMMITTED
 * re-checks the locked row, not a subquery over other tables).
 */
export class MoneySafety1764130000000 implements MigrationInterface {
  name = 'MoneySafety1764130000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `ALTER TABLE ledger_entries ADD COLUMN client text NOT NULL DEFAULT 'anonymous'`,
    );
    await db.query(`ALTER TABLE ledger_entries ALTER COLUMN client DROP DEFAULT`);
    await db.query(`
      ALTER TABLE ledger_entries ADD COLUMN reference text,
        ADD CONSTRAINT ledger_entries_reference_length CHECK (char_length(reference) <= 255)`);

    await db.query(`
      ALTER TABLE accounts ADD COLUMN reserved bigint NOT NULL DEFAULT 0,
        ADD CONSTRAINT accounts_reserved_nonnegative CHECK (reserved >= 0)`);

    await db.query(`
      CREATE TABLE reservations (
        user_id         uuid        NOT NULL REFERENCES accounts (user_id),
        id              uuid        NOT NULL DEFAULT gen_random_uuid(),
        amount          bigint      NOT NULL,
        description     text        NOT NULL,
        reference       text,
        client          text        NOT NULL,
        status          text        NOT NULL DEFAULT 'held',
        expires_at      timestamptz NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        resolved_at     timestamptz,
        captured_amount bigint,
        transaction_id  uuid,
        CONSTRAINT reservations_pkey PRIMARY KEY (user_id, id),
        CONSTRAINT reservations_amount_range CHECK (amount > 0 AND amount <= 9007199254740991),
        CONSTRAINT reservations_status CHECK (status IN ('held', 'captured', 'released', 'expired')),
        CONSTRAINT reservations_captured CHECK (
          (status = 'captured') = (captured_amount IS NOT NULL AND transaction_id IS NOT NULL)),
        CONSTRAINT reservations_reference_length CHECK (char_length(reference) <= 255)
      )`);
    // Look-up by id alone (the API's path has no user id).
    await db.query('CREATE INDEX reservations_id ON reservations (id)');
    // The holds still counted in accounts.reserved: per user (debits, holds), and by expiry (sweep).
    await db.query(`CREATE INDEX reservations_held_by_user ON reservations (user_id, expires_at)
                    WHERE status = 'held'`);
    await db.query(`CREATE INDEX reservations_held_by_expiry ON reservations (expires_at)
                    WHERE status = 'held'`);

    await db.query(`
      CREATE TABLE idempotency_keys (
        user_id        uuid        NOT NULL,
        client         text        NOT NULL,
        key            text        NOT NULL,
        request_hash   text        NOT NULL,
        status         integer,
        body           text,
        created_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT idempotency_keys_pkey PRIMARY KEY (user_id, client, key)
      )`);
    await db.query('CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE idempotency_keys');
    await db.query('DROP TABLE reservations');
    await db.query('ALTER TABLE accounts DROP COLUMN reserved');
    await db.query('ALTER TABLE ledger_entries DROP COLUMN reference, DROP COLUMN client');
  }
}
