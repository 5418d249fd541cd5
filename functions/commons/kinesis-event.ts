import type { KinesisStreamEvent } from 'aws-lambda';
import type { IngestRecord } from '../../shared/ingest/ingest-ports';

/**
 * Turn Lambda's Kinesis event into the domain's records (base64 decoded, shard id from the event id).
 *
 * Every record's bytes are views into one buffer allocated for the batch: `Buffer.from` per record
 * carved each one from Node's 8 KB pool, which a batch of 100 records used up about three times, and a
 * new pool per 8 KB cost more than decoding the base64 (CPU profile of the bundled handler, README
 * "Benchmarks"). The bytes written are the ones `Buffer.from(data, 'base64')` gives: the same decoder,
 * into a buffer sized by the longest output base64 of that length can have.
 */
export function toIngestRecords(event: KinesisStreamEvent): IngestRecord[] {
  const kinesisRecords = event.Records;
  let capacity = 0;
  for (const record of kinesisRecords) capacity += maxBase64Bytes(record.kinesis.data);
  const bytes = Buffer.allocUnsafe(capacity);
  const records: IngestRecord[] = new Array<IngestRecord>(kinesisRecords.length);
  let offset = 0;
  // A batch comes from one shard: its id is sliced from the first event id and reused while it matches.
  let shardId = '';
  let shardPrefix: string | undefined;
  for (let i = 0; i < kinesisRecords.length; i++) {
    const record = kinesisRecords[i]!;
    const { kinesis } = record;
    const written = bytes.write(kinesis.data, offset, 'base64');
    // eventID is "<shardId>:<sequenceNumber>"
    const { eventID } = record;
    if (
      shardPrefix === undefined ||
      !eventID.startsWith(shardPrefix) ||
      eventID.indexOf(':', shardPrefix.length) !== -1
    ) {
      shardId = eventID.slice(0, eventID.lastIndexOf(':'));
      shardPrefix = `${shardId}:`;
    }
    records[i] = {
      shardId,
      sequenceNumber: kinesis.sequenceNumber,
      partitionKey: kinesis.partitionKey,
      // A view made from the ArrayBuffer: `subarray` looks its constructor up through the species.
      data: Buffer.from(bytes.buffer, bytes.byteOffset + offset, written),
      approximateArrivalMs: Math.round(kinesis.approximateArrivalTimestamp * 1000),
    };
    offset += written;
  }
  return records;
}

/** The most bytes a base64 string can decode to (Node's own bound: three per four chars, less padding). */
function maxBase64Bytes(base64: string): number {
  return (base64.length * 3) >>> 2;
}
