/**
 * The event Lambda hands a function for a Kinesis batch, built from stream records. The event source
 * mapping emulator and the tests that invoke handlers directly share this one definition of the shape.
 */
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './emulators';

/** One record as read from a shard. */
export interface StreamRecordInput {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array | string;
  /** When Kinesis accepted the record, epoch ms. */
  arrivalMs: number;
}

/** Where the records come from, as Lambda names it in every record. */
export interface StreamSource {
  streamArn: string;
  region: string;
  invokeIdentityArn: string;
}

/** The local stream source used when a test does not care. */
export const LOCAL_STREAM_SOURCE: StreamSource = {
  streamArn: `arn:aws:kinesis:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stream/events`,
  region: LOCAL_REGION,
  invokeIdentityArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/local-function`,
};

/** One record in Lambda's Kinesis event shape (base64 data, arrival in fractional seconds). */
export function kinesisStreamRecordOf(record: StreamRecordInput, source: StreamSource): KinesisStreamRecord {
  const data = typeof record.data === 'string' ? Buffer.from(record.data) : Buffer.from(record.data);
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      data: data.toString('base64'),
      approximateArrivalTimestamp: record.arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${record.shardId}:${record.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: source.invokeIdentityArn,
    awsRegion: source.region,
    eventSourceARN: source.streamArn,
  };
}

/** A whole Kinesis event of `records`. */
export function kinesisStreamEventOf(
  records: readonly StreamRecordInput[],
  source: StreamSource = LOCAL_STREAM_SOURCE,
): KinesisStreamEvent {
  return { Records: records.map((record) => kinesisStreamRecordOf(record, source)) };
}
