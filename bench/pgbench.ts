import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { benchUserSql, type Measurement, summarise } from './measurement.js';
import { BARE_DEBIT, LIMIT_DESCRIPTION } from './pg-limit.js';

const run = promisify(execFile);

/** pgbench's path, or undefined when it is not installed (Debian: postgresql-client). */
export async function findPgbench(): Promise<string | undefined> {
  try {
    const { stdout } = await run('sh', ['-c', 'command -v pgbench']);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The same bare debit run by pgbench (prepared, `clients` connections, 2 threads); latencies
 * from its per-transaction log. `users` 0 means the one hot user (index 0).
 */
export async function runPgbench(
  binary: string,
  name: string,
  url: string,
  users: number,
  clients: number,
  seconds: number,
): Promise<Measurement> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'billing-pgbench-'));
  try {
    const pick = users > 0 ? `\\set n random(1, ${users})\n` : '\\set n 0\n';
    const text = BARE_DEBIT.text
      .replaceAll('$1', benchUserSql(':n::int'))
      .replaceAll('$2', '1')
      .replaceAll('$3', `'${LIMIT_DESCRIPTION}'`)
      .replace(/\s+/g, ' ')
      .trim();
    await writeFile(path.join(dir, 'debit.sql'), `${pick}${text};\n`);
    const args = ['-n', '-M', 'prepared', '-c', String(clients), '-j', '2', '-T', String(seconds)];
    args.push('-f', 'debit.sql', '-l', '--log-prefix', path.join(dir, 'log'), url);
    const { stdout } = await run(binary, args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    const latencies: number[] = [];
    for (const file of (await readdir(dir)).filter((f) => f.startsWith('log'))) {
      for (const line of (await readFile(path.join(dir, file), 'utf8')).split('\n')) {
        const fields = line.split(' ');
        if (fields.length >= 3) latencies.push(Number(fields[2]) / 1000);
      }
    }
    const failed = /number of failed transactions: (\d+)/.exec(stdout);
    const measured = summarise(name, latencies, Number(failed?.[1] ?? 0), seconds);
    const tps = /tps = ([\d.]+)/.exec(stdout);
    return tps ? { ...measured, rate: Number(tps[1]) } : measured;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
