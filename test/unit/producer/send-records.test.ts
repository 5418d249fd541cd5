import type { PutRecordsResultEntry, RawRecord } from '../../../infra/client/put-records-plan';
import { type PutRecordsPort, sendRecords } from '../../../infra/client/send-records';

const record = (key: string): RawRecord => ({ data: new TextEncoder().encode(key), partitionKey: key });
const keysOf = (records: readonly RawRecord[]) => records.map((r) => r.partitionKey);

/** A scripted PutRecords: each call's results come from `decide(key, callNo)`; every call is recorded. */
function scriptedPort(decide: (key: string, callNo: number) => PutRecordsResultEntry) {
  const calls: string[][] = [];
  const port: PutRecordsPort = async (records) => {
    calls.push(keysOf(records));
    return records.map((r) => decide(r.partitionKey, calls.length));
  };
  return { port, calls };
}

const noWait = { sleep: async () => undefined, random: () => 0.5 };

describe('sendRecords', () => {
  it('resends only the failed entries of a partial failure, with growing backoff', async () => {
    // Prepare
    const throttled = new Set(['b', 'd']);
    const { port, calls } = scriptedPort((key, callNo) =>
      throttled.has(key) && callNo < 3
        ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' }
        : { SequenceNumber: String(callNo) },
    );
    const sleeps: number[] = [];
    // Act
    const result = await sendRecords(['a', 'b', 'c', 'd'].map(record), port, {
      ...noWait,
      baseDelayMs: 100,
      sleep: async (ms) => void sleeps.push(ms),
    });
    // Assess
    expect(calls).toEqual([
      ['a', 'b', 'c', 'd'],
      ['b', 'd'],
      ['b', 'd'],
    ]);
    expect(sleeps).toEqual([50, 100]);
    expect(result).toEqual({ sent: 4, failed: [], calls: 3 });
  });

  it('reports entries still failing after maxAttempts, and non-retryable ones at once', async () => {
    // Prepare
    const { port, calls } = scriptedPort((key) =>
      key === 'x'
        ? { ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }
        : key === 'k'
          ? { ErrorCode: 'KMSDisabledException', ErrorMessage: 'key disabled' }
          : { SequenceNumber: '1' },
    );
    // Act
    const result = await sendRecords(['x', 'k', 'ok'].map(record), port, { ...noWait, maxAttempts: 3 });
    // Assess
    expect(calls).toEqual([['x', 'k', 'ok'], ['x'], ['x']]);
    expect(result.sent).toBe(1);
    expect(result.failed.map((f) => [f.record.partitionKey, f.errorCode, f.errorMessage])).toEqual([
      ['k', 'KMSDisabledException', 'key disabled'],
      ['x', 'InternalFailure', 'boom'],
    ]);
  });

  it('stops at a call that fails as a whole and reports it and every later record', async () => {
    // Prepare
    const records = Array.from({ length: 1_200 }, (_, i) => record(`u${i}`));
    let callNo = 0;
    const port: PutRecordsPort = async (batch) => {
      if (++callNo === 2)
        throw Object.assign(new Error('Stream events not found'), { name: 'ResourceNotFoundException' });
      return batch.map(() => ({ SequenceNumber: '1' }));
    };
    // Act
    const result = await sendRecords(records, port, noWait);
    // Assess
    expect(result.sent).toBe(500);
    expect(result.failed).toHaveLength(700);
    expect(new Set(result.failed.map((f) => f.errorCode))).toEqual(new Set(['ResourceNotFoundException']));
    expect(result.calls).toBe(2);
  });

  it('reports records Kinesis can never take without calling for them', async () => {
    // Prepare
    const { port, calls } = scriptedPort(() => ({ SequenceNumber: '1' }));
    // Act
    const result = await sendRecords([record(''), record('ok')], port, noWait);
    // Assess
    expect(calls).toEqual([['ok']]);
    expect(result.failed.map((f) => f.errorCode)).toEqual(['Unsendable']);
  });
});
