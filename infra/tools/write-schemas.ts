/**
 * Regenerates the JSON Schemas committed beside the code (`npm run schemas`), formatted the way the
 * linter expects. Tests fail when a committed schema differs from what the code would generate.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';
import { SCHEMA_FILES } from './schema-files';

async function main(): Promise<void> {
  for (const { file, generate } of SCHEMA_FILES) {
    const target = path.resolve(__dirname, '../..', file);
    const options = (await resolveConfig(target)) ?? {};
    writeFileSync(target, await format(JSON.stringify(generate()), { ...options, filepath: target }));
    console.log(`wrote ${file}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
