/**
 * SQL fragments shared by every statement that takes tokens (the debit, single and batched, in
 * charges/; the hold and the capture in reservations/). Owned by grants/ and exported on purpose
 * (see .dependency-cruiser.cjs). Each fragment is a list of CTEs over the CTEs named below, for
 * any number of users, so the batch and the one-user statements run the same SQL.
 *
 * The decision is taken on the locked account row (balance, reserved, next_expiry). The grant
 * rows are read in the statement's snapshot, which under READ COMMITTED is older than the locked
 * row when the statement waited for the lock. Every change to a grant updates its account row in
 * the same transaction, so the snapshot's grants are current exactly when the snapshot's account
 * row is the locked one: `current` compares the two row versions (xmin). A statement that is not
 * current for a user writes nothing for that user and says so ('stale'); running it again, after
 * the lock is taken, sees the current grants.
 *
 * Consumption order: priority ascending, then expires_at ascending (non-expiring grants store
 * 'infinity', so they come last), then the oldest grant (seq) first. Tokens whose grant is past
 * expires_at by the database clock are never drawn; they are expired (ledger row `expiry`) by the
 * same statement, except tokens that unexpired holds still reserve (a hold is a guarantee).
 */

export const CONSUMPTION_ORDER = 'priority, expires_at, seq';

/**
 * CTE `acct`: the users' account rows, locked (in user_id order, after the due holds), with
 * `reserved` net of holds past expiry and `current` (see above). `users` is a uuid[] expression;
 * `dueHolds` names a CTE (user_id, amount) of the users' holds past expiry, already locked.
 */
export function lockedAccounts(users: string, dueHolds: string): string {
  return `
    seen AS (
      SELECT a.user_id, a.xmin::text AS version FROM accounts AS a WHERE a.user_id = ANY (${users})
    ), locked AS MATERIALIZED (
      SELECT a.user_id, a.balance, a.reserved, a.next_expiry, a.xmin::text AS version
        FROM accounts AS a
       WHERE a.user_id = ANY (${users}) AND (SELECT count(*) FROM ${dueHolds}) >= 0
       ORDER BY a.user_id
         FOR UPDATE
    ), acct AS (
      SELECT l.user_id, l.balance, l.reserved - coalesce(h.amount, 0) AS reserved,
             coalesce(l.next_expiry <= now(), false) AS expiring,
             s.version IS NOT DISTINCT FROM l.version AS current
        FROM locked AS l
        LEFT JOIN seen AS s ON s.user_id = l.user_id
        LEFT JOIN ${dueHolds} AS h ON h.user_id = l.user_id
    )`;
}

/**
 * CTE `due_grants`: the remainders past expires_at of the current users whose locked row says a
 * grant may be due, earliest first, with the running sum `upto` (O(due grants): index
 * grants_expiring). CTE `due_totals` (user_id, amount).
 */
export function dueGrants(): string {
  return `
    due_grants AS (
      SELECT g.user_id, g.id, g.remaining,
             sum(g.remaining) OVER (PARTITION BY g.user_id ORDER BY g.expires_at, g.seq) AS upto
        FROM acct AS a JOIN grants AS g ON g.user_id = a.user_id
       WHERE a.current AND a.expiring
         AND g.remaining > 0 AND g.expires_at <= now() AND g.expires_at < 'infinity'
    ), due_totals AS (
      SELECT user_id, sum(remaining) AS amount FROM due_grants GROUP BY user_id
    )`;
}

/**
 * CTE `expired` (user_id, id, amount, upto): what each due grant loses. `plan` names a CTE with
 * (user_id, drawn, expirable): the first `drawn` tokens of the due remainders (earliest first) go
 * to the statement's own debit (a capture of held tokens), then up to `expirable` of what is left
 * expires. `upto` is the user's running total of expired tokens (for balance_after).
 * CTE `due_drawn` (user_id, id, amount): the due tokens drawn.
 */
export function grantExpiry(plan: string): string {
  return `
    due_left AS (
      SELECT g.user_id, g.id,
             least(g.remaining, greatest(0, p.drawn - (g.upto - g.remaining))) AS drawn,
             greatest(0, least(g.remaining, g.upto - p.drawn)) AS left_over,
             greatest(0, g.upto - p.drawn) AS left_upto, p.expirable
        FROM due_grants AS g JOIN ${plan} AS p ON p.user_id = g.user_id
    ), expired AS (
      SELECT user_id, id,
             least(left_over, expirable - (left_upto - left_over)) AS amount,
             least(left_upto, expirable) AS upto
        FROM due_left
       WHERE left_over > 0 AND left_upto - left_over < expirable
    ), due_drawn AS (
      SELECT user_id, id, drawn AS amount FROM due_left WHERE drawn > 0
    )`;
}

/**
 * CTE `walk`: for each row (user_id, total) of `source`, the live grants (remainder > 0, not past
 * expires_at) in consumption order, one index probe each, stopping as soon as `total` is covered:
 * O(grants touched), however many grants the user has. `upto` is the running sum of remainders.
 * CTE `live_drawn` (user_id, id, amount): what each of them gives.
 */
export function liveDraws(source: string): string {
  const live = `g.remaining > 0 AND g.expires_at > now()`;
  return `
    walk AS (
      SELECT s.user_id, s.priority, s.expires_at, s.seq, s.id, s.remaining,
             s.remaining AS upto, t.total
        FROM ${source} AS t CROSS JOIN LATERAL (
          SELECT g.user_id, g.priority, g.expires_at, g.seq, g.id, g.remaining FROM grants AS g
           WHERE g.user_id = t.user_id AND ${live}
           ORDER BY ${CONSUMPTION_ORDER} LIMIT 1) AS s
       WHERE t.total > 0
      UNION ALL
      SELECT n.user_id, n.priority, n.expires_at, n.seq, n.id, n.remaining,
             w.upto + n.remaining, w.total
        FROM walk AS w CROSS JOIN LATERAL (
          SELECT g.user_id, g.priority, g.expires_at, g.seq, g.id, g.remaining FROM grants AS g
           WHERE g.user_id = w.user_id AND ${live}
             AND (g.priority, g.expires_at, g.seq) > (w.priority, w.expires_at, w.seq)
           ORDER BY ${CONSUMPTION_ORDER} LIMIT 1) AS n
       WHERE w.upto < w.total
    ), live_drawn AS (
      SELECT user_id, id, least(remaining, total - (upto - remaining)) AS amount, upto, remaining
        FROM walk WHERE upto - remaining < total
    ), live_covered AS (
      SELECT t.user_id, coalesce(max(w.upto), 0) >= t.total AS covered
        FROM ${source} AS t LEFT JOIN walk AS w ON w.user_id = t.user_id GROUP BY t.user_id, t.total
    )`;
}

/**
 * The condition, for the account UPDATE's WHERE, that refuses (aborts) a statement whose live
 * grants would not cover its debit: balance = sum(remaining) was broken before it (ledger:verify
 * reports it). Never reached while that invariant holds.
 */
export function assertCovered(user: string): string {
  return `coalesce((SELECT lc.covered FROM live_covered AS lc WHERE lc.user_id = ${user}), true)
          OR ('grants do not cover the debit of ' || ${user}::text)::boolean`;
}

/**
 * CTE `grants_taken`: takes the expired and drawn tokens off the grants of the users in `updated`
 * (the CTE of the account UPDATE, with user_id). `draws` lists further CTEs (user_id, id, amount).
 */
export function takeFromGrants(draws: string[]): string {
  const sources = ['expired', ...draws].map((d) => `SELECT user_id, id, amount FROM ${d}`);
  return `
    grants_taken AS (
      UPDATE grants AS g SET remaining = g.remaining - x.amount
        FROM (SELECT user_id, id, sum(amount) AS amount
                FROM (${sources.join(' UNION ALL ')}) AS parts GROUP BY user_id, id) AS x
       WHERE g.user_id = x.user_id AND g.id = x.id
         AND x.user_id IN (SELECT user_id FROM updated)
    )`;
}

/**
 * The new accounts.next_expiry of `user` once `expired` is taken: the soonest expiry of a grant
 * that keeps a remainder (a lower bound: grants exhausted by this statement's draws may still
 * count, which only makes a later statement look at the due grants and find none).
 */
export function nextExpiry(user: string): string {
  return `(SELECT min(g.expires_at) FROM grants AS g
            WHERE g.user_id = ${user} AND g.remaining > 0 AND g.expires_at < 'infinity'
              AND NOT EXISTS (SELECT 1 FROM expired AS e
                               WHERE e.user_id = g.user_id AND e.id = g.id
                                 AND e.amount = g.remaining))`;
}

/** Ledger rows of the expiries of `user`'s grants: (phase 0, ordered by `upto`) before the
 *  statement's own rows. Columns as `ledgerRow` below. `balance` is the balance before them. */
export function expiryRows(balance: string): string {
  return `
    SELECT e.user_id, 'expiry' AS type, -e.amount AS amount, ${balance} - e.upto AS balance_after,
           'grant expired' AS description, NULL::text AS reference, 'system' AS client,
           e.id AS grant_id, 0 AS phase, e.upto AS position
      FROM expired AS e`;
}
