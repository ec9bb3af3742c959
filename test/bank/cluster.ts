import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type EmbeddedDatabase,
  startEmbeddedPostgres,
} from '../../src/database/embedded-postgres.js';

/** The one client the workload calls as: the services run in production mode, where
 *  authentication is required. A fresh token per run, never written anywhere but the env. */
const BANK_TOKEN = randomBytes(24).toString('hex');
export const BANK_CLIENTS = `bank:read,charge,credit:${BANK_TOKEN}`;
export const BANK_AUTH = { authorization: `Bearer ${BANK_TOKEN}` };

/** The system under test: one PostgreSQL (restartable) and service processes (killable). */
export class Database {
  private server: EmbeddedDatabase | undefined;
  url = '';

  constructor(
    private readonly dataDir: string,
    private readonly port: number,
  ) {}

  async start(): Promise<void> {
    this.server = await startEmbeddedPostgres({
      dataDir: this.dataDir,
      port: this.port,
      database: 'bank',
      log: () => undefined,
    });
    this.url = this.server.url;
  }

  /** Fast shutdown (SIGINT: active transactions rolled back, clean stop). */
  async stopFast(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }

  /** Immediate shutdown (SIGQUIT: no checkpoint, crash recovery at the next start). */
  async stopImmediate(): Promise<void> {
    const pidFile = await readFile(path.join(this.dataDir, 'postmaster.pid'), 'utf8');
    const pid = Number(pidFile.split('\n')[0]);
    process.kill(pid, 'SIGQUIT');
    for (let i = 0; i < 100; i += 1) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(50);
    }
    this.server = undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One service process (the built dist/), with its log in a file. */
export class Service {
  private child: ChildProcess | undefined;
  /** Exits the test did not cause. */
  readonly crashes: string[] = [];
  private killing = false;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}/billing`;
  }

  start(): void {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['dist/src/main.js'], {
      env: { ...process.env, ...this.env, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on('exit', (code, signal) => {
      if (this.child === child && !this.killing) {
        this.crashes.push(`${this.name} exited (code ${code}, signal ${signal})`);
      }
    });
    this.child = child;
    this.killing = false;
  }

  /** SIGKILL: no drain, no shutdown hooks. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.killing = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.killing = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
  }

  /** Until the service answers with its database (a 404 for an unknown account). */
  async ready(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      try {
        const answer = await fetch(`${this.base}/balance/00000000-0000-4000-8000-000000000000`, {
          headers: BANK_AUTH,
          signal: AbortSignal.timeout(2000),
        });
        if (answer.status === 404) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`${this.name} did not become ready in ${timeoutMs} ms (log: ${this.logFile})`);
  }
}
