import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

export type EntryType = 'debit' | 'credit';

/**
 * The ledger: append-only (a trigger refuses UPDATE and DELETE). `amount` is signed (debits
 * negative), so a user's amounts sum to the balance, and each row stores the balance after it.
 * `seq` is a monotonic sequence: the deterministic newest-first order, even for rows written in one
 * statement (which share `created_at`).
 */
@Entity({ name: 'ledger_entries' })
@Index('ledger_entries_user_id_id_key', ['userId', 'id'], { unique: true })
export class LedgerEntry {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @PrimaryColumn({ type: 'bigint', generatedIdentity: 'ALWAYS' })
  seq!: number;

  @Column({ type: 'uuid' })
  id!: string;

  @Column({ type: 'text' })
  type!: EntryType;

  @Column({ type: 'bigint' })
  amount!: number;

  @Column({ name: 'balance_after', type: 'bigint' })
  balanceAfter!: number;

  @Column({ type: 'text' })
  description!: string;

  /** The calling client that caused this entry (`anonymous` without authentication). */
  @Column({ type: 'text' })
  client!: string;

  /** The caller's link to what the entry paid for (a consultation or agent-run id). */
  @Column({ type: 'text', nullable: true })
  reference!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
