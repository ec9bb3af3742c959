import { readFile } from 'node:fs/promises';
import prettier from 'prettier';

/**
 * `.env.example` is the one list of configuration variables: each is one `NAME=default` line (or
 * `# NAME=example` when unset by default) under the comment lines that explain it. The README's
 * configuration table is generated from it, between two marker comments.
 */
export interface DocumentedVariable {
  name: string;
  /** undefined: unset by default. */
  defaultValue: string | undefined;
  example: string | undefined;
  meaning: string;
}

export function parseEnvExample(text: string): DocumentedVariable[] {
  const variables: DocumentedVariable[] = [];
  let comments: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const assignment = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (assignment !== null) {
      const [, commented, name, value] = assignment;
      variables.push({
        name,
        defaultValue: commented === undefined ? value : undefined,
        example: commented === undefined ? undefined : value,
        meaning: comments.join(' '),
      });
      comments = [];
    } else if (line.startsWith('#')) {
      comments.push(line.replace(/^#\s?/, ''));
    } else {
      comments = []; // a blank line ends a comment that belongs to no variable (the header)
    }
  }
  return variables;
}

const START = /<!-- config-table:[^>]*-->\n/;
const END = '<!-- config-table: end -->';

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

export function configTable(variables: DocumentedVariable[]): string {
  const rows = variables.map((v) => {
    const fallback = v.defaultValue === undefined ? 'unset' : `\`${v.defaultValue || '""'}\``;
    return `| \`${v.name}\` | ${fallback} | ${cell(v.meaning)} |`;
  });
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The README with its configuration table regenerated (and formatted as the repo's Prettier does). */
export async function readmeWithConfigTable(readme: string, envExample: string): Promise<string> {
  const start = START.exec(readme);
  const end = readme.indexOf(END);
  if (start === null || end < 0) throw new Error('README.md lacks the config-table markers');
  const head = readme.slice(0, start.index + start[0].length);
  const table = configTable(parseEnvExample(envExample));
  const next = `${head}\n${table}\n\n${readme.slice(end)}`;
  const options = (await prettier.resolveConfig('README.md')) ?? {};
  return prettier.format(next, { ...options, parser: 'markdown' });
}

/** Every variable name src/config/config.ts reads. */
export async function variablesReadByConfig(): Promise<Set<string>> {
  const source = await readFile('src/config/config.ts', 'utf8');
  const names = [
    ...source.matchAll(/\(\s*env,\s*'([A-Z][A-Z0-9_]*)'/g),
    ...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g),
  ].map((m) => m[1]);
  return new Set(names);
}
