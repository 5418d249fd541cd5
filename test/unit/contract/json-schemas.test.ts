import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SCHEMA_FILES } from '../../../infra/tools/schema-files';

describe('committed JSON Schemas', () => {
  it.each(SCHEMA_FILES.map((s) => [s.file, s.generate] as const))(
    '%s matches the code (run `npm run schemas` after changing a schema)',
    (file, generate) => {
      const committed = JSON.parse(readFileSync(path.resolve(__dirname, '../../..', file), 'utf8'));
      expect(committed).toEqual(JSON.parse(JSON.stringify(generate())));
    },
  );
});
