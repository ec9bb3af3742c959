import type pg from 'pg';
import { verifyLedger } from '../../src/ledger/ledger-verify.js';
import type { Op } from './workload.js';

/**
 * The end-of-run checks against the database: every acknowledged movement is in the ledger, no
 * refused one is, every key had at most one effect, the balances are what the acknowledged
 * operations imply, and ledger:verify passes.
 */
export async function check(
  pool: pg.Pool,
  ops: Op[],
  initial: Map<string, number>,
): Promise<string[]> {
  const violations: string[] = [];
  const ledger = await pool.query<{ id: string; reference: string | null; amount: string }>(
    'SELECT id, reference, amount FROM ledger_entries',
  );
  const byReference = new Map<string, { id: string; amount: number }[]>();
  for (const row of ledger.rows) {
    if (row.reference === null) continue;
    const list = byReference.get(row.reference) ?? [];
    list.push({ id: row.id, amount: Number(row.amount) });
    byReference.set(row.reference, list);
  }
  const holds = await pool.query<{ id: string; reference: string | null; status: string }>(
    'SELECT id, reference, status FROM reservations',
  );
  const holdsByReference = new Map<string, number>();
  const holdStatus = new Map<string, string>();
  for (const row of holds.rows) {
    holdStatus.set(row.id, row.status);
    if (row.reference !== null) {
      holdsByReference.set(row.reference, (holdsByReference.get(row.reference) ?? 0) + 1);
    }
  }
  for (const [reference, rows] of byReference) {
    if (rows.length > 1) violations.push(`key ${reference} has ${rows.length} ledger entries`);
  }
  for (const [reference, n] of holdsByReference) {
    if (n > 1) violations.push(`key ${reference} created ${n} reservations`);
  }

  const expected = new Map(initial);
  for (const op of ops) {
    const entries = byReference.get(op.key) ?? [];
    if (op.outcome === 'unknown' || op.outcome === 'pending') {
      violations.push(`${op.kind} ${op.key} never settled`);
      continue;
    }
    if (op.outcome === 'refused') {
      if (entries.length > 0) violations.push(`refused ${op.kind} ${op.key} is in the ledger`);
      if (op.kind === 'hold' && holdsByReference.has(op.key)) {
        violations.push(`refused hold ${op.key} has a reservation`);
      }
      continue;
    }
    const answer = op.answer ?? {};
    if (op.kind === 'credit' || op.kind === 'charge' || op.kind === 'capture') {
      const entry = entries[0];
      if (entry === undefined || entry.id !== answer.transaction_id) {
        violations.push(`acknowledged ${op.kind} ${op.key} is not in the ledger`);
        continue;
      }
      expected.set(op.userId, (expected.get(op.userId) ?? 0) + entry.amount);
      const asked =
        op.kind === 'capture' ? Number(op.body.amount ?? op.hold?.amount) : Number(op.body.amount);
      if (Math.abs(entry.amount) !== asked) {
        violations.push(`${op.kind} ${op.key}: ledger amount ${entry.amount}, asked ${asked}`);
      }
    }
    if (op.kind === 'hold' && holdsByReference.get(op.key) !== 1) {
      violations.push(`acknowledged hold ${op.key} has no reservation`);
    }
    if (op.kind === 'release' && holdStatus.get(op.hold?.id ?? '') !== 'released') {
      violations.push(`acknowledged release of ${op.hold?.id} but the hold is not released`);
    }
  }

  const accounts = await pool.query<{ user_id: string; balance: string }>(
    'SELECT user_id, balance FROM accounts',
  );
  for (const row of accounts.rows) {
    const want = expected.get(row.user_id);
    if (want !== Number(row.balance)) {
      violations.push(
        `user ${row.user_id}: balance ${row.balance}, acknowledged operations imply ${want}`,
      );
    }
  }

  for (const v of await verifyLedger(pool)) {
    violations.push(`ledger:verify ${v.user_id}: ${v.check}: ${v.detail}`);
  }
  return violations;
}
