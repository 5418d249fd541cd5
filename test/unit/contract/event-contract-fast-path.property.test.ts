import fc from 'fast-check';
import {
  checkedEventFields,
  ContractViolation,
  decodeEvent,
  DEVICE_TYPES,
  eventInputSchema,
  EVENT_TYPES,
  isDottedSegments,
  validateEvent,
} from '../../../shared/contract/event-contract';
import { createKeyedHasher } from '../../../shared/privacy/keyed-hash';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const text = (length: number) => 'a'.repeat(length);

/** Values at and past every rule of the contract (lengths at the limits, signs, integers, formats). */
const EDGE_VALUES: readonly unknown[] = [
  ...[0, 1, 63, 64, 65, 127, 128, 129, 255, 256, 257, 320, 321, 1024, 1025].map(text),
  'anon:x',
  'anon',
  'a.b.c',
  'a..b',
  '.a',
  'a b',
  'EUR',
  'eur',
  'XYZ',
  '0',
  '01',
  '1'.repeat(128),
  '1'.repeat(129),
  '-1',
  ...EVENT_TYPES,
  ...DEVICE_TYPES,
  '2026-11-27T10:00:00Z',
  '2026-11-27T10:00:00.123456789+01:00',
  '2026-11-27 10:00:00z',
  '2026-11-27T10:00:00',
  '2026-13-45T10:00:00Z',
  '2026-02-30T10:00:00Z',
  0,
  -0,
  1,
  -1,
  1.5,
  2,
  10_000,
  10_001,
  NOW,
  Number.MAX_SAFE_INTEGER,
  2 ** 53,
  NaN,
  Infinity,
  -Infinity,
  null,
  true,
  undefined,
  [],
  {},
  ['a'],
];
const edgeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...EDGE_VALUES),
  fc.string({ maxLength: 4 }),
  fc.double(),
  fc.integer(),
);

/** Mostly `valid`, sometimes a value near or past a rule (so about half the events are well formed). */
const field = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 15, arbitrary: valid }, { weight: 1, arbitrary: edgeValue });
const id = field(fc.string({ minLength: 1, maxLength: 12 }));
const money = field(fc.double({ min: 0, max: 1e6, noNaN: true }));
/** The contract's context fields, each valid most of the time. */
const contextFields = {
  device: field(fc.constantFrom(...DEVICE_TYPES)),
  channel: id,
  ip: id,
  userAgent: id,
  email: id,
};
const context = field(fc.record({ ...contextFields, os: id }, { requiredKeys: [] }));

/** The contract's top-level fields but the nested ones, in the schema's order, each valid most of the time. */
const flatFields = {
  schemaVersion: field(fc.constant(1)),
  eventId: id,
  type: field(fc.constantFrom(...EVENT_TYPES)),
  userId: id,
  anonymousId: id,
  sessionId: id,
  occurredAt: field(
    fc.oneof(
      fc.integer({ min: 0, max: NOW }),
      fc.date({ min: new Date(0), max: new Date(NOW), noInvalidDate: true }).map((d) => d.toISOString()),
    ),
  ),
  productId: id,
  categoryId: id,
  categoryPath: field(fc.constantFrom('a', 'a.b', 'c1.c2.c3')),
  brand: id,
  price: money,
  currency: field(fc.constantFrom('EUR', 'USD', 'JPY')),
  quantity: field(fc.integer({ min: 1, max: 10_000 })),
  orderId: id,
  revenue: money,
  query: id,
};
const requiredKeys: (keyof typeof flatFields)[] = ['schemaVersion', 'eventId', 'type', 'occurredAt'];

/** Fields of the contract, each valid most of the time, any of them missing, plus unknown fields. */
const eventFields = fc.record(
  {
    ...flatFields,
    context,
    replayOf: field(
      fc.record(
        { shardId: id, sequenceNumber: field(fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String)), x: id },
        { requiredKeys: ['shardId', 'sequenceNumber'] },
      ),
    ),
    extra: edgeValue,
  },
  { requiredKeys },
);

/** Known fields only, in the schema's order, as most producers send them. */
const eventInSchemaOrder = fc.record(
  { ...flatFields, context: field(fc.record(contextFields, { requiredKeys: [] })) },
  { requiredKeys },
);

/** The same fields in any order (producers send them in theirs). */
const shuffledEvent = fc.tuple(eventFields, fc.array(fc.nat())).map(([fields, keys]) =>
  Object.fromEntries(
    Object.entries(fields)
      .map((entry, i) => ({ entry, key: keys[i] ?? i }))
      .sort((a, b) => a.key - b.key)
      .map((x) => x.entry),
  ),
);

const anyInput = fc.oneof({ weight: 6, arbitrary: shuffledEvent }, { weight: 1, arbitrary: fc.anything() });

/** Keys at every level, in order: zod's output order is part of what the archive writes. */
const keysDeep = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.entries(value).map(([key, v]) => [key, keysDeep(v)])
    : value;

/** Whether an event or its context has own fields the contract does not know (what `validateEvent` reports). */
const hasUnknownFields = (event: Record<string, unknown>): boolean => {
  const unknownOf = (value: unknown, known: object) =>
    value !== null &&
    typeof value === 'object' &&
    Object.keys(value).some((key) => !Object.hasOwn(known, key));
  return (
    unknownOf(event, eventInputSchema.shape) ||
    unknownOf(event.context, eventInputSchema.shape.context.unwrap().shape)
  );
};

describe('checkedEventFields (the fast path of validateEvent)', () => {
  it('only vouches for what the schema accepts, with exactly its output', () => {
    let vouched = 0;
    let withUnknownFields = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        // Act
        const findings = { unknownFields: false };
        const fast = checkedEventFields(input, findings);
        const parsed = eventInputSchema.safeParse(input);
        // Assess
        if (fast === undefined) return;
        vouched++;
        expect(parsed.success).toBe(true);
        expect(keysDeep(fast)).toEqual(keysDeep(parsed.data));
        expect(fast).not.toBe(input);
        // What it reports about unknown fields is what the record holds (the decoder skips its scan on it).
        expect(findings.unknownFields).toBe(hasUnknownFields(input as Record<string, unknown>));
        if (findings.unknownFields) withUnknownFields++;
      }),
      { numRuns: 3000 },
    );
    // The generator reaches the path it tests: a good share (about a fifth) of inputs are well formed.
    expect(vouched).toBeGreaterThan(300);
    expect(withUnknownFields).toBeGreaterThan(100);
    // Few generated events lack an unknown field; the edge-value test below has mostly none.
    expect(vouched - withUnknownFields).toBeGreaterThan(15);
  });

  it('vouches for every input the schema accepts once it has been through JSON', () => {
    let accepted = 0;
    fc.assert(
      fc.property(anyInput, (generated) => {
        // Prepare: what JSON.parse hands the decoder (no undefined, no -0, no NaN)
        const input: unknown = JSON.parse(JSON.stringify(generated ?? null) ?? 'null');
        // Act
        const parsed = eventInputSchema.safeParse(input);
        // Assess
        if (!parsed.success) {
          expect(checkedEventFields(input)).toBeUndefined();
          return;
        }
        accepted++;
        expect(keysDeep(checkedEventFields(input))).toEqual(keysDeep(parsed.data));
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(300);
  });

  it('agrees with the schema on every edge value in every field of a well-formed event', () => {
    // Prepare: a well-formed event, then each field (top level and context) set to each edge value
    const base = { schemaVersion: 1, eventId: 'e-1', type: 'page_view', userId: 'u-1', occurredAt: NOW };
    const variants = [
      ...Object.keys(eventInputSchema.shape).map((key) => (v: unknown) => ({ ...base, [key]: v })),
      ...Object.keys(eventInputSchema.shape.context.unwrap().shape).map((key) => (v: unknown) => ({
        ...base,
        context: { device: 'mobile', [key]: v },
      })),
      ...Object.keys(eventInputSchema.shape.replayOf.unwrap().shape).map((key) => (v: unknown) => ({
        ...base,
        replayOf: { shardId: 's', sequenceNumber: '1', [key]: v },
      })),
    ];
    for (const variant of variants) {
      for (const value of EDGE_VALUES) {
        const input = variant(value);
        // Act
        const findings = { unknownFields: false };
        const fast = checkedEventFields(input, findings);
        const parsed = eventInputSchema.safeParse(input);
        // Assess: the same verdict (an explicit undefined is the one input left to the schema)
        if (value !== undefined) expect([input, fast !== undefined]).toEqual([input, parsed.success]);
        if (fast !== undefined) {
          expect(keysDeep(fast)).toEqual(keysDeep(parsed.data));
          expect([input, findings.unknownFields]).toEqual([input, hasUnknownFields(input)]);
        }
      }
    }
  });

  it('reads every field of the schema (a field added to it must be added to the fast path)', () => {
    // Prepare: one event with every field set
    const event = {
      schemaVersion: 1,
      eventId: 'e-1',
      type: 'purchase',
      userId: 'u-1',
      anonymousId: 'a-1',
      sessionId: 's-1',
      occurredAt: '2026-11-27T10:00:00Z',
      productId: 'p-1',
      categoryId: 'c-1',
      categoryPath: 'c.d',
      brand: 'b',
      price: 1.5,
      currency: 'EUR',
      quantity: 2,
      orderId: 'o-1',
      revenue: 3,
      query: 'shoes',
      context: { device: 'mobile', channel: 'app', ip: '10.0.0.1', userAgent: 'UA', email: 'a@b.c' },
      replayOf: { shardId: 'shardId-000000000001', sequenceNumber: '4960' },
    };
    // Act
    const fast = checkedEventFields(event);
    // Assess
    expect(Object.keys(fast ?? {})).toEqual(Object.keys(eventInputSchema.shape));
    expect(Object.keys(fast?.context ?? {})).toEqual(
      Object.keys(eventInputSchema.shape.context.unwrap().shape),
    );
    expect(Object.keys(fast?.replayOf ?? {})).toEqual(
      Object.keys(eventInputSchema.shape.replayOf.unwrap().shape),
    );
    expect(fast).toEqual(eventInputSchema.parse(event));
  });
});

/** The outcome of a throwing validator, as comparable data: the event with its key order, or the refusal. */
const outcomeOf = (validate: () => { event: unknown; unknownFields: string[] }) => {
  try {
    const { event, unknownFields } = validate();
    return { event: keysDeep(event), unknownFields };
  } catch (error) {
    if (!(error instanceof ContractViolation)) throw error;
    return { refused: [error.kind, error.field, error.rule, error.value] };
  }
};

describe('the decoder keeps the record JSON.parse gave it when it already is the output', () => {
  const input = fc.oneof(anyInput, eventInSchemaOrder);
  const hasher = createKeyedHasher(new Uint8Array(32).fill(7));

  it('decodes bytes exactly as validateEvent validates a copy of their JSON (event, key order, refusal)', () => {
    let inSchemaShape = 0;
    let decoded = 0;
    let schemaRefusals = 0;
    fc.assert(
      fc.property(input, fc.boolean(), (generated, withHasher) => {
        // Prepare: what a producer sends, and a separately parsed copy for validateEvent
        const text = JSON.stringify(generated ?? null) ?? 'null';
        const bytes = new TextEncoder().encode(text);
        const copy: unknown = JSON.parse(text);
        const key = withHasher ? hasher : undefined;
        const findings = { unknownFields: false, inSchemaShape: false };
        if (checkedEventFields(JSON.parse(text), findings) !== undefined && findings.inSchemaShape)
          inSchemaShape++;
        // Act
        const fromBytes = outcomeOf(() => decodeEvent(bytes, NOW, key));
        const fromCopy = outcomeOf(() => validateEvent(copy, NOW, key));
        // Assess
        expect(fromBytes).toEqual(fromCopy);
        if ('event' in fromBytes) decoded++;
        else if (fromBytes.refused?.[0] === 'schema') schemaRefusals++;
        // validateEvent leaves its caller's object as it was.
        expect(copy).toEqual(JSON.parse(text));
      }),
      { numRuns: 3000 },
    );
    // Both ways are reached: records kept as they are, and records decoded at all.
    expect(inSchemaShape).toBeGreaterThan(50);
    expect(decoded).toBeGreaterThan(300);
    // And refusals that zod words from the first broken field alone (the decoder) or the whole record.
    expect(schemaRefusals).toBeGreaterThan(300);
  });

  it('says a record is in the schema shape only when it equals the output, key order included', () => {
    let inSchemaShape = 0;
    fc.assert(
      fc.property(input, (generated) => {
        // Prepare
        const parsed: unknown = JSON.parse(JSON.stringify(generated ?? null) ?? 'null');
        const findings = { unknownFields: false, inSchemaShape: false };
        // Act
        const output = checkedEventFields(parsed, findings);
        // Assess
        if (output === undefined) return;
        if (!findings.inSchemaShape) return;
        inSchemaShape++;
        expect(keysDeep(parsed)).toEqual(keysDeep(output));
      }),
      { numRuns: 3000 },
    );
    expect(inSchemaShape).toBeGreaterThan(50);
  });
});

describe('isDottedSegments', () => {
  // The rule as the schema words it (a frozen copy of its regular expression).
  const DOTTED_SEGMENTS = /^[^.\s]+(\.[^.\s]+)*$/;
  const piece = fc.constantFrom(
    'a',
    'Z',
    '0',
    '.',
    '..',
    ' ',
    '\t',
    '\n',
    '\v',
    '\f',
    '\r',
    '\u00a0',
    '\u2003',
    '\u3000',
    '\ufeff',
    'é',
    '-',
    '_',
    '\u0085',
  );

  it('agrees with the regular expression on any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'grapheme' }),
          fc.array(piece, { maxLength: 8 }).map((p) => p.join('')),
        ),
        (text) => {
          expect([text, isDottedSegments(text)]).toEqual([text, DOTTED_SEGMENTS.test(text)]);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
