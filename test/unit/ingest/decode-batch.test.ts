import fc from 'fast-check';
import { decodeBatch, lowestSequenceNumber } from '../../../shared/ingest/decode-batch';
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

describe('sequence numbers', () => {
  it('finds the lowest of 56-digit sequence numbers exactly, beyond double precision', () => {
    const a = '49680627989251927086162660463692608958889597004119277586';
    const b = '49680627989251927086162660463692608958889597004119277587';
    expect(Number(a)).toBe(Number(b));
    expect(lowestSequenceNumber([b, a, b])).toBe(a);
    expect(lowestSequenceNumber([])).toBeUndefined();
  });
});
