import type { KinesisStreamEvent } from 'aws-lambda';
import type { IngestRecord } from '../../shared/ingest/ingest-ports';

/** Turn Lambda's Kinesis event into the domain's records (base64 decoded, shard id from the event id). */
export function toIngestRecords(event: KinesisStreamEvent): IngestRecord[] {
  return event.Records.map((record) => ({
    // eventID is "<shardId>:<sequenceNumber>"
    shardId: record.eventID.slice(0, record.eventID.lastIndexOf(':')),
    sequenceNumber: record.kinesis.sequenceNumber,
    partitionKey: record.kinesis.partitionKey,
    data: Buffer.from(record.kinesis.data, 'base64'),
    approximateArrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
  }));
}
