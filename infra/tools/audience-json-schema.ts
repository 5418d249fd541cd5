import { z } from 'zod';
import { audienceSetSchema } from '../../shared/audiences/audience-definition';

/**
 * The audience set document as a JSON Schema (draft 2020-12), for editors and CI of teams that write
 * definitions; `parseAudienceSet` is what ingest and the CLI enforce, with the same grammar.
 */
export function audienceSetJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(audienceSetSchema, { unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: generated.$schema,
    $id: 'https://profile-stream.dev/schemas/audience-set.v1.schema.json',
    ...Object.fromEntries(Object.entries(generated).filter(([k]) => k !== '$schema')),
  };
}
