import {
  AudienceDefinitionViolation,
  audienceSetSchema,
  BUILT_IN_AUDIENCES,
  parseAudienceSet,
} from '../../../shared/audiences/audience-definition';

const setWith = (condition: unknown, id = 'a1') => ({
  audienceSetVersion: 1,
  audiences: [{ id, description: 'test', condition }],
});

/** The error `parseAudienceSet` throws for `raw`, as field and rule. */
function refusal(raw: unknown): { field: string; rule: string } {
  try {
    parseAudienceSet(raw);
  } catch (error) {
    if (!(error instanceof AudienceDefinitionViolation)) throw error;
    expect(error.name).toBe('AudienceDefinitionViolation');
    return { field: error.field, rule: error.rule };
  }
  throw new Error('expected a refusal');
}

describe('audience definitions', () => {
  it('accepts the built-in set, which also satisfies the published schema', () => {
    expect(parseAudienceSet(BUILT_IN_AUDIENCES)).toEqual(BUILT_IN_AUDIENCES);
    expect(audienceSetSchema.safeParse(BUILT_IN_AUDIENCES).success).toBe(true);
  });

  it('refuses a bad definition naming the exact field and the rule', () => {
    expect(refusal(setWith({ field: 'purchaseProbability' }))).toEqual({
      field: 'audiences.0.condition',
      rule: 'needs at least one of gt, gte, lt, lte, eq',
    });
    expect(refusal(setWith({ all: [{ field: 'nope', gte: 1 }] }))).toMatchObject({
      field: 'audiences.0.condition.all.0.field',
      rule: expect.stringContaining('must be a known field'),
    });
    expect(refusal(setWith({ any: [{ not: { field: 'lifecycle', in: ['sleepy'] } }] }))).toMatchObject({
      field: 'audiences.0.condition.any.0.not.in.0',
    });
    expect(refusal(setWith({ field: 'orders', gte: 'three' }))).toMatchObject({
      field: 'audiences.0.condition.gte',
    });
    expect(refusal(setWith({ all: [] }))).toEqual({
      field: 'audiences.0.condition.all',
      rule: 'must be a non-empty list of conditions',
    });
    expect(refusal(setWith({ all: [{ event: 'purchase', withinHours: 1 }], any: [] }))).toMatchObject({
      field: 'audiences.0.condition',
      rule: expect.stringContaining('exactly one of'),
    });
    expect(refusal(setWith({ event: 'login', withinHours: 1 }))).toMatchObject({
      field: 'audiences.0.condition.event',
    });
    expect(refusal(setWith({ similarTo: 'recent-buyers', gte: 2 }))).toMatchObject({
      field: 'audiences.0.condition.gte',
    });
    // A numeric field does not take a label operator.
    expect(refusal(setWith({ field: 'orders', in: ['x'] }))).toMatchObject({
      field: 'audiences.0.condition',
    });
    expect(refusal(setWith({ field: 'orders', gte: 1 }, 'Bad Id'))).toMatchObject({
      field: 'audiences.0.id',
    });
    const twice = {
      audienceSetVersion: 1,
      audiences: [
        ...setWith({ field: 'orders', gte: 1 }).audiences,
        ...setWith({ field: 'orders', gte: 2 }).audiences,
      ],
    };
    expect(refusal(twice)).toEqual({ field: 'audiences.1.id', rule: 'must be unique in the set' });
    expect(refusal({ audienceSetVersion: 2, audiences: [] })).toEqual({
      field: 'audienceSetVersion',
      rule: 'must be 1',
    });
  });
});
