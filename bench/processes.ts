import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { BENCH_HEADERS } from './client-token.js';

export interface Running {
  name: string;
  url: string;
  /** Spawn to first successful answer, ms. */
  readyMs: number;
  /** Highest resident set size sampled so far, bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return kb ? Number(kb[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function waitReady(child: ChildProcess, probe: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    try {
      const answer = await fetch(probe, { headers: BENCH_HEADERS });
      if (answer.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`not ready within ${timeoutMs} ms`);
}

/** Starts a Node process, waits until `probePath` answers 2xx, samples its RSS until stopped. */
export async function startProcess(options: {
  name: string;
  script: string;
  args?: string[];
  env?: Record<string, string>;
  port: number;
  probePath: string;
  logFile: string;
}): Promise<Running> {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const started = Date.now();
  const child = spawn(process.execPath, [options.script, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitReady(child, `${url}${options.probePath}`, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${options.name}: ${String(error)} (log: ${options.logFile})`, {
      cause: error,
    });
  }
  const readyMs = Date.now() - started;
  let peak = await rssOf(child.pid ?? 0);
  const sampler = setInterval(() => {
    void rssOf(child.pid ?? 0).then((rss) => {
      peak = Math.max(peak, rss);
    });
  }, 200);
  return {
    name: options.name,
    url,
    readyMs,
    peakRss: () => peak,
    stop: async () => {
      clearInterval(sampler);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
}
