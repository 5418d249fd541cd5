import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { QuarantinedRecord, QuarantineSink } from '../../shared/ingest/ingest-ports';

/**
 * Quarantine in S3: one NDJSON object per batch under
 * `quarantine/dt=YYYY-MM-DD/<shardId>/<firstSeq>-<lastSeq>.ndjson` (day of arrival at Kinesis).
 *
 * The key derives only from the records (arrival day, shard, sequence range), so a redelivery of the
 * same range overwrites its object. A redelivery that starts elsewhere (after a partial failure or a
 * bisection) can file a record a second time under another key: each line carries its shard and
 * sequence number, so readers and replays de-duplicate on those.
 */
export class S3QuarantineSink implements QuarantineSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async putBatch(records: readonly QuarantinedRecord[]): Promise<void> {
    const first = records[0];
    const last = records[records.length - 1];
    if (first === undefined || last === undefined) return;
    const day = new Date(first.approximateArrivalMs).toISOString().slice(0, 10);
    const key = `quarantine/dt=${day}/${first.shardId}/${first.sequenceNumber}-${last.sequenceNumber}.ndjson`;
    const body = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/x-ndjson',
      }),
    );
  }
}
