import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { validate } from 'dockerfile-utils';

/** One Dockerfile instruction, continuation lines joined. */
interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

function instructions(text: string): Instruction[] {
  const result: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let joined = lines[i];
    while (joined.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      joined = `${joined.trimEnd().slice(0, -1)} ${lines[++i].trim()}`;
    }
    const trimmed = joined.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [keyword, ...rest] = trimmed.split(/\s+/);
    result.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: start + 1 });
  }
  return result;
}

/** Instructions grouped by build stage (each starts at a FROM). */
function stages(all: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const instruction of all) {
    if (instruction.keyword === 'FROM') result.push([]);
    result.at(-1)?.push(instruction);
  }
  return result;
}

function envOf(stage: Instruction[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const { args } of stage.filter((i) => i.keyword === 'ENV')) {
    for (const [, name, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
      env.set(name, value.replace(/^"|"$/g, ''));
    }
  }
  return env;
}

describe('Dockerfile', () => {
  const load = async () => readFile('Dockerfile', 'utf8');

  it('passes the Dockerfile linter with no error or warning', async () => {
    const diagnostics = validate(await load()).map(
      (d) =>
        `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
    );
    expect(diagnostics).toEqual([]);
  });

  it('builds in one stage and ships another, both on an exactly pinned Node 24 image', async () => {
    const all = instructions(await load());
    const args = new Map(
      all
        .filter((i) => i.keyword === 'ARG')
        .map((i) => i.args.split('=') as [string, string | undefined]),
    );
    const froms = all.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      const image = from.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? '');
      expect(image).toMatch(/^node:24\.\d+\.\d+-[a-z0-9-]+(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('pins the Node version CI tests with (.ci/run NODE24_VERSION)', async () => {
    const ci = await readFile('.ci/run', 'utf8');
    const tested = /^NODE24_VERSION=(\S+)/m.exec(ci)?.[1];
    expect(tested).toMatch(/^24\.\d+\.\d+$/);
    expect(await load()).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${tested}-`, 'm'));
  });

  it('ships only production dependencies, as a non-root user, with node as PID 1', async () => {
    const runtime = stages(instructions(await load())).at(-1) ?? [];
    const runs = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runtime.some((i) => i.keyword === 'COPY' && i.args.startsWith('--from=build'))).toBe(
      true,
    );

    const env = envOf(runtime);
    expect(env.get('NODE_ENV')).toBe('production');
    expect(env.get('HOST')).toBe('0.0.0.0');

    const users = runtime.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);

    expect(runtime.some((i) => i.keyword === 'EXPOSE' && i.args === env.get('PORT'))).toBe(true);
    const cmd = runtime.filter((i) => i.keyword === 'CMD').at(-1);
    // Exec form: no shell as PID 1 swallowing SIGTERM.
    expect(JSON.parse(cmd?.args ?? 'null')).toEqual(['node', 'dist/src/main.js']);
    expect(runtime.some((i) => i.keyword === 'ENTRYPOINT')).toBe(false);
  });

  it('bakes no secret into a layer', async () => {
    const all = instructions(await load());
    const names = all
      .filter((i) => i.keyword === 'ENV' || i.keyword === 'ARG')
      .flatMap((i) => [...i.args.matchAll(/(\w+)(=|\s|$)/g)].map((m) => m[1]));
    expect(names.filter((n) => /secret|token|password|database_url|clients/i.test(n))).toEqual([]);
    const copies = all.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
    expect(copies.filter((i) => /(^|\s|\/)(\.env|\.npmrc)\b/.test(i.args))).toEqual([]);
  });

  it('keeps local state and secrets out of the build context', async () => {
    const rules = (await readFile('.dockerignore', 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    // Everything is excluded first; only named build inputs are let back in.
    expect(rules[0]).toBe('**');
    const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1));
    for (const path of allowed) {
      expect(path).not.toMatch(/^(\.env|\.data|\.git|node_modules|dist|artifacts)/);
    }
  });
});
