import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Per-user, per-calendar-month (UTC) totals of debits, kept in the same statement as each debit
 *  so that monthly usage is read in constant time instead of by scanning the ledger. */
@Entity({ name: 'monthly_usage' })
export class MonthlyUsage {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId!: string;

  /** First day of the month, UTC. */
  @PrimaryColumn({ type: 'date' })
  month!: string;

  @Column({ name: 'tokens_consumed', type: 'bigint' })
  tokensConsumed!: number;

  @Column({ name: 'consultations_count', type: 'bigint' })
  consultationsCount!: number;
}
