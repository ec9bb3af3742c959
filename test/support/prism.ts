import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort } from './free-port.js';
import { childEnv, exitOf } from './service-process.js';

/** Prism's validation proxy (`prism proxy DOCUMENT TARGET [--errors]`) on a free loopback port. */
export interface Prism {
  url: string;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

function prismCli(): string {
  const manifest = require.resolve('@stoplight/prism-cli/package.json');
  return path.join(path.dirname(manifest), 'dist', 'index.js');
}

export async function startPrism(
  documentPath: string,
  target: string,
  options: { errors: boolean; timeoutMs?: number },
): Promise<Prism> {
  const port = await freePort();
  const args = ['proxy', documentPath, target, '--host', '127.0.0.1', '--port', String(port)];
  if (options.errors) args.push('--errors');
  const child = spawn(process.execPath, [prismCli(), ...args], {
    env: childEnv({}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-10_000)));
  child.stderr.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-10_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    child.kill('SIGTERM');
    await exitOf(child, 5000);
  };
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!/Prism is listening/.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`prism proxy did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, stop };
}
