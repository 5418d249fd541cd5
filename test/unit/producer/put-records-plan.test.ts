import fc from 'fast-check';

import {
  planPutRecordsBatches,
  PUT_RECORDS_MAX_BYTES,
  PUT_RECORDS_MAX_ENTRIES,
  type RawRecord,
  RECORD_MAX_BYTES,
  recordSizeBytes,
  splitPutRecordsOutcome,
} from '../../../infra/client/put-records-plan';

// Sizes are drawn so that both limits bind: many small records, and some near the 1 MiB record limit.
const recordArb = fc
  .record({
    size: fc.oneof(fc.nat(2_000), fc.integer({ min: 200_000, max: RECORD_MAX_BYTES + 10 })),
    partitionKey: fc.string({ minLength: 0, maxLength: 260 }),
  })
  .map(({ size, partitionKey }) => ({ data: new Uint8Array(size), partitionKey }));

const record = (size: number, partitionKey = 'k'): RawRecord => ({
  data: new Uint8Array(size),
  partitionKey,
});

describe('planPutRecordsBatches', () => {
  it('never exceeds the entry or byte limits, keeps order and loses nothing', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 1_200 }), (records) => {
        // Act
        const { batches, unsendable } = planPutRecordsBatches(records);
        // Assess
        for (const batch of batches) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(PUT_RECORDS_MAX_ENTRIES);
          expect(batch.reduce((n, r) => n + recordSizeBytes(r), 0)).toBeLessThanOrEqual(
            PUT_RECORDS_MAX_BYTES,
          );
        }
        const unsendableSet = new Set(unsendable.map((u) => u.record));
        expect(batches.flat()).toEqual(records.filter((r) => !unsendableSet.has(r)));
        for (const { record: r } of unsendable) {
          const keyChars = [...r.partitionKey].length;
          expect(recordSizeBytes(r) > RECORD_MAX_BYTES || keyChars === 0 || keyChars > 256).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('cuts at 500 entries and at 5 MiB', () => {
    // Act
    const byCount = planPutRecordsBatches(Array.from({ length: 1_001 }, () => record(10)));
    const bySize = planPutRecordsBatches(Array.from({ length: 6 }, () => record(RECORD_MAX_BYTES - 1)));
    // Assess
    expect(byCount.batches.map((b) => b.length)).toEqual([500, 500, 1]);
    expect(bySize.batches.map((b) => b.length)).toEqual([5, 1]);
  });

  it('counts the partition key towards the record size', () => {
    // Act
    const { batches, unsendable } = planPutRecordsBatches([record(RECORD_MAX_BYTES, 'user-1')]);
    // Assess
    expect(batches).toEqual([]);
    expect(unsendable[0]!.reason).toMatch(/at most 1048576 bytes/);
  });
});

describe('splitPutRecordsOutcome', () => {
  it('retries throttled and internal failures, gives up on others, and resends entries without a result', () => {
    // Prepare
    const sent = [record(1, 'a'), record(1, 'b'), record(1, 'c'), record(1, 'd'), record(1, 'e')];
    // Act
    const outcome = splitPutRecordsOutcome(sent, [
      { SequenceNumber: '1' },
      { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' },
      { ErrorCode: 'KMSAccessDeniedException', ErrorMessage: 'no' },
      { ErrorCode: 'InternalFailure' },
    ]);
    // Assess
    expect(outcome.succeeded).toBe(1);
    expect(outcome.retry.map((f) => [f.record.partitionKey, f.errorCode])).toEqual([
      ['b', 'ProvisionedThroughputExceededException'],
      ['d', 'InternalFailure'],
      ['e', 'MissingResult'],
    ]);
    expect(outcome.failed).toEqual([
      { record: sent[2], errorCode: 'KMSAccessDeniedException', errorMessage: 'no' },
    ]);
  });
});
