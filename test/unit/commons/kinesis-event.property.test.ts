import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import fc from 'fast-check';
import { toIngestRecords } from '../../../functions/commons/kinesis-event';
import type { IngestRecord } from '../../../shared/ingest/ingest-ports';

/** The previous implementation, frozen: a `Buffer.from` per record and the shard id sliced from each. */
function toIngestRecordsOneByOne(event: KinesisStreamEvent): IngestRecord[] {
  return event.Records.map((record) => ({
    shardId: record.eventID.slice(0, record.eventID.lastIndexOf(':')),
    sequenceNumber: record.kinesis.sequenceNumber,
    partitionKey: record.kinesis.partitionKey,
    data: Buffer.from(record.kinesis.data, 'base64'),
    approximateArrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
  }));
}

/** Base64 as Kinesis sends it, and strings a broken producer or a test could put there. */
const data = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
  fc
    .array(fc.constantFrom('A', 'z', '9', '+', '/', '-', '_', '=', ' ', '\n', '*', 'é'), { maxLength: 40 })
    .map((chars) => chars.join('')),
);
const shardId = fc.constantFrom('shardId-000000000000', 'shardId-000000000001', 'a:b', '', 'x');
const sequenceNumber = fc.bigInt({ min: 0n, max: 10n ** 56n }).map(String);
const kinesisRecord = fc
  .record({ shardId, sequenceNumber, data, noColon: fc.boolean(), seconds: fc.double({ min: 0, max: 2e9 }) })
  .map(
    ({ shardId, sequenceNumber, data, noColon, seconds }) =>
      ({
        eventID: noColon ? `${shardId}${sequenceNumber}` : `${shardId}:${sequenceNumber}`,
        kinesis: {
          partitionKey: `pk-${sequenceNumber.slice(-3)}`,
          sequenceNumber,
          data,
          approximateArrivalTimestamp: seconds,
        },
      }) as unknown as KinesisStreamRecord,
  );

describe('toIngestRecords', () => {
  it('gives every record the bytes, shard id and fields that decoding it alone gives', () => {
    fc.assert(
      fc.property(fc.array(kinesisRecord, { maxLength: 30 }), (records) => {
        // Prepare
        const event: KinesisStreamEvent = { Records: records };
        // Act
        const batch = toIngestRecords(event);
        // Assess
        expect(batch).toEqual(toIngestRecordsOneByOne(event));
        for (const record of batch) expect(Buffer.isBuffer(record.data)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives every record bytes of its own (writing one leaves the others as they were)', () => {
    // Prepare
    const bodies = ['{"a":1}', '{"b":22}', '{"c":333}'];
    const event = {
      Records: bodies.map((body, i) => ({
        eventID: `shardId-000000000000:${i}`,
        kinesis: {
          partitionKey: 'pk',
          sequenceNumber: String(i),
          data: Buffer.from(body).toString('base64'),
          approximateArrivalTimestamp: 1,
        },
      })),
    } as unknown as KinesisStreamEvent;
    // Act
    const batch = toIngestRecords(event);
    batch[1]!.data.fill(0);
    // Assess
    expect(Buffer.from(batch[0]!.data).toString()).toBe(bodies[0]);
    expect(Buffer.from(batch[2]!.data).toString()).toBe(bodies[2]);
    expect(batch.map((record) => record.data.byteLength)).toEqual(bodies.map((body) => body.length));
  });
});
