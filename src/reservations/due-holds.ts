/**
 * SQL shared by the statements that take tokens (debit, hold): a CTE `due` whose one row is the
 * sum of the user's holds still counted in `accounts.reserved` but past `expires_at` by the
 * database clock. They are locked (FOR UPDATE) so that the sweep cannot mark them expired, and so
 * subtract them from `reserved`, between this read and the account update; holds created after
 * this statement's snapshot are not yet due, and the account row, re-read after its lock wait,
 * already counts them. $1 is the user id. Available = balance - reserved + due.amount.
 *
 * Lock order: a statement that locks several holds of one user locks them in HOLD_LOCK_ORDER
 * (the capture too, its target among them), so two such statements never wait on each other in
 * a cycle (the sweep skips locked holds).
 *
 * Owned by reservations/ and exported on purpose (see .dependency-cruiser.cjs): the debit in
 * charges/ includes it.
 */
export const HOLD_LOCK_ORDER = 'ORDER BY expires_at, id';

export function dueHolds(): string {
  return `
    due AS (
      SELECT coalesce(sum(amount), 0)::bigint AS amount FROM (
        SELECT amount FROM reservations
         WHERE user_id = $1 AND status = 'held' AND expires_at <= now()
         ${HOLD_LOCK_ORDER}
         FOR UPDATE) AS past_expiry
    )`;
}
