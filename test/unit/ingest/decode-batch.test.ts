import fc from 'fast-check';
import { ContractViolation, decodeEvent, DEVICE_TYPES } from '../../../shared/contract/event-contract';
import { decodeBatch, lowestSequenceNumber } from '../../../shared/ingest/decode-batch';
import { createKeyedHasher } from '../../../shared/privacy/keyed-hash';
import { ingestRecord } from '../../support/factories';

const NOW = Date.UTC(2026, 10, 27);
const record = (data: string | Uint8Array) => ingestRecord(data, { partitionKey: 'u-1', arrivalMs: NOW });
const good = (eventId: string, extra: Record<string, unknown> = {}) =>
  record(
    JSON.stringify({ schemaVersion: 1, eventId, type: 'login', userId: 'u-1', occurredAt: NOW, ...extra }),
  );

describe('decodeBatch', () => {
  it('splits a batch into valid events and quarantined records, losing none', () => {
    // Prepare
    const records = [
      good('a', { color: 'red' }),
      record('not json'),
      good('b'),
      record('{"schemaVersion":9}'),
    ];
    // Act
    const batch = decodeBatch(records);
    // Assess
    expect(batch.valid.map((v) => v.event.eventId)).toEqual(['a', 'b']);
    expect(batch.valid[0]!.sequenceNumber).toBe(records[0]!.sequenceNumber);
    expect(batch.quarantined.map((q) => [q.sequenceNumber, q.kind])).toEqual([
      [records[1]!.sequenceNumber, 'invalid_json'],
      [records[3]!.sequenceNumber, 'unsupported_schema_version'],
    ]);
    expect(Buffer.from(batch.quarantined[0]!.dataBase64, 'base64').toString()).toBe('not json');
    expect(batch.unknownFields).toEqual(new Map([['color', 1]]));
  });

  it('judges future timestamps against arrival time, so a late redelivery gets the same verdict', () => {
    // Prepare: 4 minutes ahead of arrival is fine, 6 minutes is not, whenever the batch is processed.
    const soon = record(
      JSON.stringify({
        schemaVersion: 1,
        eventId: 's',
        type: 'login',
        userId: 'u',
        occurredAt: NOW + 4 * 60_000,
      }),
    );
    const late = record(
      JSON.stringify({
        schemaVersion: 1,
        eventId: 'l',
        type: 'login',
        userId: 'u',
        occurredAt: NOW + 6 * 60_000,
      }),
    );
    // Act
    const batch = decodeBatch([soon, late]);
    // Assess
    expect(batch.valid.map((v) => v.event.eventId)).toEqual(['s']);
    expect(batch.quarantined.map((q) => q.kind)).toEqual(['future_timestamp']);
  });

  it('counts valid records published under another partition key than the contract says', () => {
    const keyed = { ...good('k'), partitionKey: 'someone-else' };
    const batch = decodeBatch([good('a'), keyed]);
    expect(batch.valid).toHaveLength(2);
    expect(batch.partitionKeyMismatches).toBe(1);
  });

  it('accounts for every record whatever the bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.json().map((j) => j),
          ),
          { maxLength: 30 },
        ),
        (items) => {
          const records = items.map((i) => record(i));
          const batch = decodeBatch(records);
          expect(batch.valid.length + batch.quarantined.length).toBe(records.length);
        },
      ),
    );
  });
});

/** Keys at every level, in order (the archive writes events in their key order). */
const keysDeep = (value: unknown): unknown =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.entries(value).map(([key, v]) => [key, keysDeep(v)])
    : value;

/** Events near the contract: valid most of the time, with unknown and personal fields, some refused. */
const nearContractEvent = fc.record(
  {
    schemaVersion: fc.oneof({ weight: 20, arbitrary: fc.constant(1) }, fc.constantFrom<unknown>(2, '1')),
    eventId: fc.string({ minLength: 1, maxLength: 6 }),
    type: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('page_view', 'login') },
      fc.constantFrom('product_view', 'search', 'identify', 'purchase'),
    ),
    userId: fc.oneof({ weight: 10, arbitrary: fc.constantFrom('u-1', 'u-2') }, fc.constantFrom('anon:x', '')),
    anonymousId: fc.constantFrom('a-1', 'a-2'),
    occurredAt: fc.oneof(
      { weight: 10, arbitrary: fc.integer({ min: NOW - 86_400_000, max: NOW + 6 * 60_000 }) },
      fc.constantFrom<unknown>('2026-11-26T10:00:00Z', 5, 1.5),
    ),
    productId: fc.constantFrom('p-1', 'p-2'),
    query: fc.constantFrom('shoes', 'shoes', 'shoes', ''),
    orderId: fc.constant('o-1'),
    revenue: fc.constantFrom<unknown>(10, 10, 10, -1),
    quantity: fc.constantFrom<unknown>(1, 2, 3, 4, 0, 10_001),
    context: fc.record(
      {
        device: fc.constantFrom<unknown>(...DEVICE_TYPES, 'fridge'),
        channel: fc.constantFrom('web', 'app'),
        ip: fc.constantFrom('198.51.100.7', '2001:db8::1', ' 198.51.100.9 '),
        userAgent: fc.constantFrom('UA/1', 'UA/2'),
        email: fc.constantFrom('a@example.com', ''),
        os: fc.constant('ios'),
      },
      { requiredKeys: [] },
    ),
    color: fc.constant('red'),
    size: fc.constant(3),
  },
  { requiredKeys: ['schemaVersion', 'eventId', 'type', 'occurredAt'] },
);

describe('decodeBatch against decodeEvent', () => {
  it('returns for each record what decoding it alone returns or throws (property)', () => {
    const hasher = createKeyedHasher(Buffer.alloc(32, 3));
    const reached = { valid: 0, refused: 0, unknown: 0, fingerprinted: 0 };
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { weight: 6, arbitrary: nearContractEvent.map((e) => record(JSON.stringify(e))) },
            { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }).map(record) },
            { weight: 1, arbitrary: fc.json().map(record) },
          ),
          { maxLength: 25 },
        ),
        (records) => {
          // Act
          const batch = decodeBatch(records, { hasher, pseudonymiseIds: false });
          // Assess: the same events (keys in the same order), refusals and unknown-field counts
          const events: unknown[] = [];
          const refusals: unknown[] = [];
          const unknownFields = new Map<string, number>();
          for (const r of records) {
            try {
              const decoded = decodeEvent(r.data, r.approximateArrivalMs, hasher);
              events.push(keysDeep(decoded.event));
              for (const f of decoded.unknownFields) unknownFields.set(f, (unknownFields.get(f) ?? 0) + 1);
            } catch (error) {
              if (!(error instanceof ContractViolation)) throw error;
              refusals.push([r.sequenceNumber, error.kind, error.field, error.rule, error.value]);
            }
          }
          expect(batch.valid.map((v) => keysDeep(v.event))).toEqual(events);
          expect(
            batch.quarantined.map((q) => [q.sequenceNumber, q.kind, q.field, q.rule, q.redactedValue]),
          ).toEqual(refusals);
          expect([...batch.unknownFields]).toEqual([...unknownFields]);
          reached.valid += events.length;
          reached.refused += refusals.length;
          reached.unknown += unknownFields.size;
          reached.fingerprinted += batch.valid.filter(
            (v) => v.event.context?.networkHash !== undefined,
          ).length;
        },
      ),
      { numRuns: 300 },
    );
    // The generator reaches every path it tests.
    expect(Math.min(reached.valid, reached.refused, reached.unknown, reached.fingerprinted)).toBeGreaterThan(
      100,
    );
  });
});

describe('sequence numbers', () => {
  it('finds the lowest of 56-digit sequence numbers exactly, beyond double precision', () => {
    const a = '49680627989251927086162660463692608958889597004119277586';
    const b = '49680627989251927086162660463692608958889597004119277587';
    expect(Number(a)).toBe(Number(b));
    expect(lowestSequenceNumber([b, a, b])).toBe(a);
    expect(lowestSequenceNumber([])).toBeUndefined();
  });
});
