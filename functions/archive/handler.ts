/**
 * Archive function: a second consumer of the stream that keeps valid events, without personal data,
 * as gzipped NDJSON in S3 for training and replay.
 *
 * Flow: decode the Lambda event → `planArchiveObjects` (the domain) → gzip and put each object.
 * Any failure throws: the event source retries, and the deterministic keys make the retry overwrite.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { KinesisStreamEvent } from 'aws-lambda';
import { gzipSync } from 'node:zlib';
import { planArchiveObjects, toNdjson } from '../../shared/archive/archive-batch';
import { s3Client } from '../commons/aws-clients';
import { ARCHIVE_CONFIG, readConfig } from '../commons/config';
import { toIngestRecords } from '../commons/kinesis-event';
import { logger, metrics, MetricUnit } from '../commons/telemetry';

const config = readConfig(ARCHIVE_CONFIG);
const s3 = s3Client();

/** Lambda entry point for the archive's Kinesis event source. */
export const handler = async (event: KinesisStreamEvent): Promise<void> => {
  const objects = planArchiveObjects(toIngestRecords(event));
  await Promise.all(
    objects.map((o) =>
      s3.send(
        new PutObjectCommand({
          Bucket: config.ARCHIVE_BUCKET,
          Key: o.key,
          Body: gzipSync(toNdjson(o.events)),
          ContentType: 'application/x-ndjson',
          ContentEncoding: 'gzip',
        }),
      ),
    ),
  );
  const archived = objects.reduce((n, o) => n + o.events.length, 0);
  metrics.addMetric('Archived', MetricUnit.Count, archived);
  metrics.publishStoredMetrics();
  logger.debug('batch archived', { records: event.Records.length, archived, objects: objects.length });
};
