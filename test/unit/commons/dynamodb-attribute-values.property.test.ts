import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { marshallItem, unmarshallItem } from '../../../functions/commons/dynamodb-attribute-values';

/** The outcome of a call: its value, or the error it threw (class and message). */
function outcome(fn: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: fn() };
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return { error: `${error.constructor.name}: ${error.message}` };
  }
}

class Point {
  constructor(readonly x = 1) {}
}

/** Every kind of value a caller could hand the marshaller, the plain data the codec writes first. */
const { value: nativeValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER + 1,
      Number.MIN_SAFE_INTEGER - 1,
      -0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.constant(() => 1),
    fc.bigInt(),
    fc.uint8Array({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
    fc.float32Array({ maxLength: 3 }),
    fc.uniqueArray(fc.string(), { maxLength: 3 }).map((values) => new Set(values)),
    fc.uniqueArray(fc.integer(), { maxLength: 3 }).map((values) => new Set(values)),
    fc.constant(new Point()),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.sparseArray(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
    fc
      .dictionary(fc.string(), tie('value'), { maxKeys: 3, noNullPrototype: false })
      .map((entries) => new Map(Object.entries(entries))),
  ),
}));

const item = fc.oneof(
  fc.dictionary(fc.string(), nativeValue, { maxKeys: 6 }),
  fc.dictionary(fc.string(), nativeValue, { maxKeys: 3, noNullPrototype: false }),
);

/** DynamoDB JSON as a reader could meet it, well-formed (as the SDK builds it) and not. */
const { attribute } = fc.letrec<{ attribute: AttributeValue }>((tie) => ({
  attribute: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string().map((S) => ({ S })),
    fc.oneof(fc.double().map(String), fc.bigInt().map(String), fc.string()).map((N) => ({ N })),
    fc.boolean().map((BOOL) => ({ BOOL })),
    fc.constant({ NULL: true }),
    fc.uint8Array({ maxLength: 8 }).map((B) => ({ B })),
    fc.array(tie('attribute'), { maxLength: 4 }).map((L) => ({ L })),
    fc.dictionary(fc.string(), tie('attribute'), { maxKeys: 4 }).map((M) => ({ M })),
    fc.array(fc.integer().map(String), { maxLength: 3 }).map((NS) => ({ NS })),
    fc.array(fc.string(), { maxLength: 3 }).map((SS) => ({ SS })),
    fc.array(fc.uint8Array({ maxLength: 3 }), { maxLength: 2 }).map((BS) => ({ BS })),
    fc.constant({ S: undefined, N: '1' } as unknown as AttributeValue),
    fc.constant({ N: '2', S: 'x' } as unknown as AttributeValue),
    fc.constant({} as AttributeValue),
    fc.constant({ $unknown: ['X', 1] } as AttributeValue),
  ),
}));

describe('marshallItem', () => {
  it("returns what util-dynamodb's marshall returns, or throws its error", () => {
    fc.assert(
      fc.property(item, (value) => {
        // Act
        const fast = outcome(() => marshallItem(value));
        const library = outcome(() => marshall(value, { removeUndefinedValues: true }));
        // Assess
        expect(fast).toStrictEqual(library);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes a profile-shaped item as the library does', () => {
    // Prepare
    const profile = {
      profileId: 'u-1',
      version: 3,
      act: { v: [2, 0.5, 0.25, 0.125], p: 1 },
      cat: { 'a.b': 0.75 },
      views: [['p-1', 12]],
      cart: [],
      embedding: [0.02, new Uint8Array([1, 2, 3])],
      churnRisk: undefined,
      scoreStatus: 'scored',
      frozen: false,
      note: null,
    };
    // Act
    const fast = marshallItem(profile);
    // Assess
    expect(fast).toStrictEqual(marshall(profile, { removeUndefinedValues: true }));
    expect(fast.churnRisk).toBeUndefined();
    expect(fast.act).toStrictEqual({
      M: { v: { L: [{ N: '2' }, { N: '0.5' }, { N: '0.25' }, { N: '0.125' }] }, p: { N: '1' } },
    });
  });
});

describe('unmarshallItem', () => {
  it("returns what util-dynamodb's unmarshall returns, or throws its error", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), attribute, { maxKeys: 6 }), (value) => {
        // Act
        const fast = outcome(() => unmarshallItem(value));
        const library = outcome(() => unmarshall(value));
        // Assess
        expect(fast).toStrictEqual(library);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back what marshallItem wrote, as the library reads what it wrote', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }), (value) => {
        // Act
        const fast = outcome(() => unmarshallItem(marshallItem(value)));
        const library = outcome(() => unmarshall(marshall(value, { removeUndefinedValues: true })));
        // Assess
        expect(fast).toStrictEqual(library);
      }),
    );
  });
});
