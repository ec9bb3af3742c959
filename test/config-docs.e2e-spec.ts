import { readdir, readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../src/config/config.js';
import {
  parseEnvExample,
  readmeWithConfigTable,
  variablesReadByConfig,
} from './support/config-docs.js';

/** `npm run docs:config` runs this file with UPDATE_CONFIG_DOCS=1: it then rewrites the table. */
describe('configuration docs', () => {
  it('.env.example lists exactly the variables the configuration reads, each once', async () => {
    const documented = parseEnvExample(await readFile('.env.example', 'utf8')).map((v) => v.name);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...(await variablesReadByConfig())].sort());
  });

  it('.env.example states the real defaults (its active lines change nothing)', async () => {
    const variables = parseEnvExample(await readFile('.env.example', 'utf8'));
    const defaults = Object.fromEntries(
      variables.flatMap((v) => (v.defaultValue === undefined ? [] : [[v.name, v.defaultValue]])),
    );
    expect(Object.keys(defaults).length).toBeGreaterThan(20);
    expect(loadConfig(defaults)).toEqual(loadConfig({}));
  });

  it("the README's configuration table is the one generated from .env.example", async () => {
    const readme = await readFile('README.md', 'utf8');
    const generated = await readmeWithConfigTable(readme, await readFile('.env.example', 'utf8'));
    if (process.env.UPDATE_CONFIG_DOCS === '1') await writeFile('README.md', generated);
    else expect(readme).toBe(generated); // if this fails: npm run docs:config
  });
});

describe('user docs', () => {
  it('never refer to the tracker ("issue N"): README.md and docs/', async () => {
    const files = [
      'README.md',
      ...(await readdir('docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
    ];
    const found: string[] = [];
    for (const file of files) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (/\bissue\s+#?\d+/i.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(files.length).toBeGreaterThan(3);
    expect(found).toEqual([]);
  });
});
