import { z } from 'zod';
import { fieldRuleFromZod } from '../../shared/errors';

function failureOf(schema: z.ZodType, input: unknown): z.ZodError {
  const parsed = schema.safeParse(input);
  if (parsed.success) throw new Error('expected the input to fail the schema');
  return parsed.error;
}

describe('fieldRuleFromZod', () => {
  const schema = z.object({
    context: z.object({ device: z.enum(['mobile', 'desktop'], { message: 'must be a known device' }) }),
    layers: z.array(z.object({ bias: z.number({ message: 'must be a number' }) })),
  });

  it('names a nested field by its dotted path, with the rule and the value found there', () => {
    // Prepare
    const input = { context: { device: 'fridge' }, layers: [] };
    // Act
    const issue = fieldRuleFromZod(failureOf(schema, input), input, '(record)');
    // Assess
    expect(issue).toEqual({ field: 'context.device', rule: 'must be a known device', value: 'fridge' });
  });

  it('includes array indices in the path and reports an absent value as undefined', () => {
    // Prepare
    const input = { context: { device: 'mobile' }, layers: [{ bias: 1 }, {}] };
    // Act
    const issue = fieldRuleFromZod(failureOf(schema, input), input, '(record)');
    // Assess
    expect(issue).toEqual({ field: 'layers.1.bias', rule: 'must be a number', value: undefined });
  });

  it('uses the root name when the whole input is at fault', () => {
    // Act
    const issue = fieldRuleFromZod(failureOf(z.object({}, { message: 'must be an object' }), 7), 7, '(root)');
    // Assess
    expect(issue).toEqual({ field: '(root)', rule: 'must be an object', value: 7 });
  });

  it('reports only the first issue', () => {
    // Prepare
    const input = { context: {}, layers: 'none' };
    const error = failureOf(schema, input);
    // Act
    const issue = fieldRuleFromZod(error, input, '(record)');
    // Assess
    expect(error.issues.length).toBeGreaterThan(1);
    expect(issue.field).toBe(error.issues[0]!.path.join('.'));
  });
});
