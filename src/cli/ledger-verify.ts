import pg from 'pg';
import { loadConfig } from '../config/config.js';
import { verifyLedger } from '../ledger/ledger-verify.js';
import { cliDatabase } from './cli-database.js';

/** `npm run ledger:verify`: audits the ledger of DATABASE_URL (unset: the embedded database);
 *  exits 1 listing the offending accounts. Read-only. */
async function main(): Promise<void> {
  const database = await cliDatabase(loadConfig(), (m) => console.log(`[ledger:verify] ${m}`));
  const client = new pg.Client({ connectionString: database.url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const violations = await verifyLedger(client);
    const { rows } = await client.query<{ accounts: string }>(
      'SELECT count(*) AS accounts FROM accounts',
    );
    await client.query('COMMIT');
    if (violations.length === 0) {
      console.log(`[ledger:verify] ok: ${rows[0].accounts} account(s), no violations`);
      return;
    }
    for (const v of violations)
      console.error(`[ledger:verify] ${v.user_id}: ${v.check}: ${v.detail}`);
    console.error(`[ledger:verify] ${violations.length} violation(s)`);
    process.exitCode = 1;
  } finally {
    await client.end().catch(() => undefined);
    await database.stop();
  }
}

main().catch((error: unknown) => {
  console.error(
    `[ledger:verify] failed: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
