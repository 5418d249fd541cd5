import fc from 'fast-check';
import {
  ContractViolation,
  decodeEvent,
  MAX_EVENT_BYTES,
  validateEvent,
} from '../../../shared/contract/event-contract';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

/** The previous byte checks of decodeEvent, frozen: a fatal decoder's error caught, then JSON.parse's. */
function decodeEventCatchingTheDecoder(bytes: Uint8Array, nowMs: number) {
  if (bytes.byteLength > MAX_EVENT_BYTES)
    throw new ContractViolation(
      'oversize',
      '(record)',
      `must be at most ${MAX_EVENT_BYTES} bytes`,
      `${bytes.byteLength} bytes`,
    );
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ContractViolation('not_utf8', '(record)', 'must be UTF-8', `${bytes.byteLength} bytes`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ContractViolation(
      'invalid_json',
      '(record)',
      'must be one JSON object',
      `${text.length} chars`,
    );
  }
  return validateEvent(raw, nowMs);
}

const outcomeOf = (decode: () => { event: unknown; unknownFields: string[] }) => {
  try {
    return decode();
  } catch (error) {
    if (!(error instanceof ContractViolation)) throw error;
    return [error.kind, error.field, error.rule, error.value];
  }
};

const utf8 = new TextEncoder();
const event = {
  schemaVersion: 1,
  eventId: 'e-1',
  type: 'search',
  userId: 'u-1',
  occurredAt: NOW,
  query: 'x',
};
/** Byte runs around the UTF-8 rules: overlong forms, surrogates, beyond U+10FFFF, cut sequences, a BOM. */
const UTF8_EDGES = [
  [0xef, 0xbb, 0xbf],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xc2, 0x80],
  [0xe0, 0x80, 0x80],
  [0xe0, 0xa0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xed, 0x9f, 0xbf],
  [0xf0, 0x90, 0x80, 0x80],
  [0xf4, 0x8f, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
  [0xff],
  [0xc3, 0xa9],
];
/** A well-formed event's bytes with edge runs spliced in (inside a string, or anywhere), or random bytes. */
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc
    .tuple(fc.array(fc.constantFrom(...UTF8_EDGES), { minLength: 1, maxLength: 3 }), fc.boolean(), fc.nat())
    .map(([runs, inString, at]) => {
      const spliced = runs.flat();
      const json = utf8.encode(JSON.stringify(event));
      // Inside the query's string value (just before its closing quote), or at any position.
      const position = inString ? json.length - 3 : at % (json.length + 1);
      return Uint8Array.from([...json.subarray(0, position), ...spliced, ...json.subarray(position)]);
    }),
);

describe('decodeEvent on arbitrary bytes', () => {
  it('refuses and accepts exactly as catching the fatal decoder did (not_utf8, BOM, invalid_json)', () => {
    const kinds = new Set<unknown>();
    fc.assert(
      fc.property(bytes, (input) => {
        // Act
        const now = outcomeOf(() => decodeEvent(input, NOW));
        const before = outcomeOf(() => decodeEventCatchingTheDecoder(input, NOW));
        // Assess
        expect(now).toEqual(before);
        kinds.add(Array.isArray(now) ? now[0] : 'valid');
      }),
      { numRuns: 5000 },
    );
    // The generator reaches every verdict the bytes decide (and some the fields decide).
    expect([...kinds]).toEqual(
      expect.arrayContaining(['invalid_json', 'not_an_object', 'not_utf8', 'valid']),
    );
  });
});
