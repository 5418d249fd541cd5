import { EventProducer } from '../../../infra/client/event-producer';
import type { EventInput } from '../../../shared/contract/event-contract';
import type { RawRecord } from '../../../infra/client/put-records-plan';
import type { PutRecordsPort } from '../../../infra/client/send-records';

const NOW = Date.UTC(2026, 10, 27);
const base = { schemaVersion: 1, type: 'page_view', occurredAt: NOW - 1000 } as const;

function recordingPort() {
  const calls: RawRecord[][] = [];
  const putRecords: PutRecordsPort = async (records) => {
    calls.push([...records]);
    return records.map(() => ({ SequenceNumber: '1' }));
  };
  return { putRecords, calls };
}

describe('EventProducer.send', () => {
  it('keys by userId else anonymousId and refuses, unsent, what the consumer would refuse', async () => {
    // Prepare
    const { putRecords, calls } = recordingPort();
    const producer = new EventProducer({ putRecords, nowMs: () => NOW });
    const events: EventInput[] = [
      { ...base, eventId: 'a', userId: 'u-1', anonymousId: 'x-1' },
      { ...base, eventId: 'b', anonymousId: 'x-2' },
      {
        ...base,
        eventId: 'c',
        userId: 'u-3',
        query: 'q'.repeat(200),
        context: { userAgent: 'u'.repeat(1024) },
      },
      { ...base, eventId: 'd', userId: 'u-4', brand: 'b'.repeat(129) },
      { ...base, eventId: 'e', userId: 'u-5', occurredAt: NOW + 3_600_000 },
    ];
    // Unknown fields pass the schema but still count towards the 16 KiB record limit.
    const oversize = { ...base, eventId: 'big', userId: 'u-6', notes: 'x'.repeat(16 * 1024) } as EventInput;
    // Act
    const result = await producer.send([...events, oversize]);
    // Assess
    expect(calls.flat().map((r) => r.partitionKey)).toEqual(['u-1', 'x-2', 'u-3']);
    expect(result.rejected.map((r) => [r.event.eventId, r.violation.kind, r.violation.field])).toEqual([
      ['d', 'schema', 'brand'],
      ['e', 'future_timestamp', 'occurredAt'],
      ['big', 'oversize', '(record)'],
    ]);
    expect(result.sent).toBe(3);
  });
});
