import { z } from 'zod';
import { eventInputSchema } from '../../shared/contract/event-contract';

/**
 * The contract as a JSON Schema (draft 2020-12) for producers in any language.
 *
 * zod cannot express the cross-field rules of `superRefine`, so they are added here as `allOf`
 * conditions; the contract test checks the committed file against this function's output.
 */
export function eventJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(eventInputSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  const needs = (types: string[], required: string[]) => ({
    if: { properties: { type: { enum: types } }, required: ['type'] },
    then: { required },
  });
  return {
    $schema: generated.$schema,
    $id: 'https://profile-stream.dev/schemas/event-contract.v1.schema.json',
    title: 'profile-stream behaviour event, contract v1',
    description:
      'One JSON object per Kinesis record, UTF-8, at most 16 KB. Unknown fields are dropped. ' +
      'context.ip, context.userAgent and context.email are personal data: accepted, never stored. ' +
      'occurredAt may not be more than 5 minutes ahead of the arrival of the record in Kinesis nor before 2000-01-01.',
    ...Object.fromEntries(Object.entries(generated).filter(([k]) => k !== '$schema')),
    allOf: [
      { anyOf: [{ required: ['userId'] }, { required: ['anonymousId'] }] },
      needs(['identify'], ['userId', 'anonymousId']),
      needs(['product_view', 'add_to_cart', 'remove_from_cart', 'add_to_wishlist'], ['productId']),
      needs(['search'], ['query']),
      needs(['purchase'], ['orderId']),
      {
        if: { properties: { type: { const: 'purchase' } }, required: ['type'] },
        then: { anyOf: [{ required: ['revenue'] }, { required: ['price'] }] },
      },
    ],
  };
}
