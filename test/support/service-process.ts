import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './free-port.js';

/**
 * The built service (`node dist/src/main.js`) as a child process, the way the image runs it: for
 * the browser, contract and deployment checks. Output is kept for failure messages; stop() sends
 * SIGTERM and kills the process if it has not exited within the bound.
 */
export interface ServiceProcess {
  url: string;
  port: number;
  output(): string;
  /** Resolves with the exit code (null if it had to be killed). */
  stop(boundMs?: number): Promise<number | null>;
}

export interface ServiceOptions {
  /** Defaults to the repository root. */
  cwd?: string;
  env: Record<string, string>;
  /** A path answered with 200 once the service is up. */
  readyPath?: string;
  startTimeoutMs?: number;
}

/** The node that runs the service: SERVICE_NODE (CI points it at the image's Node 24) or this one. */
export const serviceNode = process.env.SERVICE_NODE ?? process.execPath;

/** Environment for a child that carries none of this process's settings (DATABASE_URL etc.). */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LOG_LEVEL: 'warn', ...env };
}

export function exitOf(child: ChildProcess, boundMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, boundMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function waitUntilUp(
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`the service exited with ${child.exitCode}:\n${output()}`);
    }
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the service did not answer ${url} within ${timeoutMs} ms:\n${output()}`);
}

export async function startService(options: ServiceOptions): Promise<ServiceProcess> {
  const port = Number(options.env.PORT ?? (await freePort()));
  const child = spawn(serviceNode, ['dist/src/main.js'], {
    cwd: options.cwd ?? process.cwd(),
    env: childEnv({ HOST: '127.0.0.1', ...options.env, PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const service: ServiceProcess = {
    url,
    port,
    output: () => log,
    stop: async (boundMs = 30_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exitOf(child, boundMs);
    },
  };
  try {
    await waitUntilUp(
      `${url}${options.readyPath ?? '/billing/docs-json'}`,
      child,
      service.output,
      options.startTimeoutMs ?? 30_000,
    );
  } catch (error) {
    await service.stop(5000);
    throw error;
  }
  return service;
}

/** Runs a command to completion, bounded; resolves with its exit code and output. */
export async function runToEnd(
  command: string,
  args: string[],
  options: { cwd?: string; env: Record<string, string>; timeoutMs: number },
): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = once(child, 'close').catch(() => undefined);
  const code = await exitOf(child, options.timeoutMs);
  await exited;
  return { code, output };
}
