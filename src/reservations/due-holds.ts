/**
 * SQL shared by every statement that takes tokens (debit, hold, capture): a CTE `due` whose one
 * row is the sum of the user's holds still counted in `accounts.reserved` but past `expires_at` by
 * the database clock. They are locked (FOR UPDATE) so that the sweep cannot mark them expired, and
 * so subtract them from `reserved`, between this read and the account update; holds created
 * after this statement's snapshot are not yet due, and the account row, re-read after its lock
 * wait, already counts them. $1 is the user id. Available = balance - reserved + due.amount.
 */
export function dueHolds(excludeReservationParam?: string): string {
  const exclude = excludeReservationParam ? `AND id <> ${excludeReservationParam}` : '';
  return `
    due AS (
      SELECT coalesce(sum(amount), 0)::bigint AS amount FROM (
        SELECT amount FROM reservations
         WHERE user_id = $1 AND status = 'held' AND expires_at <= now() ${exclude}
         FOR UPDATE) AS past_expiry
    )`;
}
