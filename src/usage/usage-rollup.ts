/**
 * SQL fragment: a CTE `usage` adding one consultation of `tokens` to the current month (database
 * clock, UTC) for each row of the CTE `source` (which has a user_id column). Written by the same
 * statement as the debit it counts, so the rollup never disagrees with the ledger. Owned by usage/
 * and exported on purpose (see .dependency-cruiser.cjs): the debits in charges/ and reservations/
 * include it.
 */
export function countConsultation(source: string, tokens: string): string {
  return `
    usage AS (
      INSERT INTO monthly_usage AS u (user_id, month, tokens_consumed, consultations_count)
      SELECT user_id, date_trunc('month', now() AT TIME ZONE 'UTC')::date, ${tokens}, 1
        FROM ${source}
      ON CONFLICT (user_id, month) DO UPDATE
        SET tokens_consumed = u.tokens_consumed + excluded.tokens_consumed,
            consultations_count = u.consultations_count + 1
    )`;
}
