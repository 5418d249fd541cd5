import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { QuarantinedRecord, QuarantineSink } from '../../shared/ingest/ingest-ports';

/**
 * Quarantine in S3: one NDJSON object per batch under
 * `quarantine/dt=YYYY-MM-DD/<shardId>/<firstSeq>-<lastSeq>.ndjson`.
 *
 * The key derives from the shard and the sequence range, so a redelivered batch overwrites its object
 * instead of adding a second copy.
 */
export class S3QuarantineSink implements QuarantineSink {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly now: () => number = Date.now,
  ) {}

  async putBatch(records: readonly QuarantinedRecord[]): Promise<void> {
    const first = records[0];
    const last = records[records.length - 1];
    if (first === undefined || last === undefined) return;
    const day = new Date(this.now()).toISOString().slice(0, 10);
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
