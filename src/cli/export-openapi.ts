import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import { loadConfig } from '../config/config.js';
import { createApp } from '../http-app.js';
import { buildOpenApiDocument } from '../openapi.js';

/**
 * Writes the OpenAPI document generated from the code (`export-openapi.js FILE`), or with
 * `--check FILE` fails when the committed FILE differs from it (drift). Needs no database: the
 * application is built in preview mode, without instantiating providers.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const file = args.find((a) => !a.startsWith('--')) ?? 'openapi.json';

  const config = loadConfig({});
  const app = await createApp(
    { ...config, database: { ...config.database, url: 'postgres://preview@127.0.0.1/none' } },
    { preview: true, logger: false },
  );
  const text = `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`;
  await app.close();

  if (!check) {
    await writeFile(file, text);
    console.log(`wrote ${file}`);
    return;
  }
  const committed = await readFile(file, 'utf8').catch(() => '');
  if (committed !== text) {
    console.error(
      `${file} is out of date with the code: run \`npm run openapi\` and commit the result.`,
    );
    process.exit(1);
  }
  console.log(`${file} matches the code`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
