/**
 * Regenerates the JSON Schemas committed beside the code (`npm run schemas`). Tests fail when a
 * committed schema differs from what the code would generate.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SCHEMA_FILES } from './schema-files';

for (const { file, generate } of SCHEMA_FILES) {
  writeFileSync(path.resolve(__dirname, '../..', file), JSON.stringify(generate(), null, 2) + '\n');
  console.log(`wrote ${file}`);
}
