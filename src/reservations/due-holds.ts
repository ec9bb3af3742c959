/**
 * SQL shared by the statements that take tokens (debit, single and batched; hold): a CTE `due`
 * (user_id, amount), for each user of `users` (a uuid[] expression) that has some, the sum of its
 * holds still counted in `accounts.reserved` but past `expires_at` by the database clock. They are
 * locked (FOR UPDATE) so that the sweep cannot mark them expired, and so subtract them from
 * `reserved`, between this read and the account update; holds created after this statement's
 * snapshot are not yet due, and the account row, re-read after its lock wait, already counts them.
 * Available = balance - reserved + due.amount.
 *
 * Lock order: a statement that locks several holds locks them in (user_id, HOLD_LOCK_ORDER)
 * (the capture too, its target among them), and before any account row, so two such statements
 * never wait on each other in a cycle (the sweep skips locked holds).
 *
 * Owned by reservations/ and exported on purpose (see .dependency-cruiser.cjs): the debit in
 * charges/ includes it.
 */
export const HOLD_LOCK_ORDER = 'ORDER BY expires_at, id';

export function dueHoldsOf(users: string): string {
  return `
    due AS MATERIALIZED (
      SELECT user_id, sum(amount)::bigint AS amount FROM (
        SELECT user_id, amount FROM reservations
         WHERE user_id = ANY (${users}) AND status = 'held' AND expires_at <= now()
         ORDER BY user_id, expires_at, id
         FOR UPDATE) AS past_expiry
       GROUP BY user_id
    )`;
}
