import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** One row per user: the current ledger balance. Changed only by the conditional statements in
 *  the charges repository; the ledger holds the history that explains it. */
@Entity({ name: 'accounts' })
@Check('accounts_balance_range', 'balance >= 0 AND balance <= 9007199254740991')
export class Account {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ type: 'bigint' })
  balance!: number;

  /** Sum of the holds in status 'held' (some may be past expires_at until the sweep marks them). */
  @Column({ type: 'bigint' })
  reserved!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
