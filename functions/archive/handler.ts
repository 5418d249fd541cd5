/**
 * Archive function: a second consumer of the stream that keeps valid events, without personal data,
 * as gzipped NDJSON in S3 for training and replay.
 *
 * Flow: decode the Lambda event (`toIngestRecords`) → `archiveBatch`, the domain (decode as ingest
 * does — fingerprints, pseudonymous ids under the key loaded at cold start —, leave out erased people
 * by their tombstones, plan one object per event hour, hand each to the writer port) →
 * `S3ArchiveWriter` (gzip + PutObject) → count and log.
 * Any failure throws: the event source retries, and the deterministic keys make the retry overwrite.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { archiveBatch } from '../../shared/archive/archive-batch';
import { s3Client } from '../commons/aws-clients';
import { ARCHIVE_CONFIG, readConfig } from '../commons/config';
import { toIngestRecords } from '../commons/kinesis-event';
import { S3ArchiveWriter } from '../commons/s3-archive-writer';
import { DynamoDbProfileStore } from '../commons/dynamodb-profile-store';
import { dynamoDbClient } from '../commons/aws-clients';
import { decodePrivacyLoader, tombstoneKeysLoader } from '../commons/secret-key';
import { logger, metricPublisher, metrics } from '../commons/telemetry';

const config = readConfig(ARCHIVE_CONFIG);
const writer = new S3ArchiveWriter(s3Client(), config.ARCHIVE_BUCKET);
const publish = metricPublisher('archive');
const { PROFILES_TABLE: table, HASH_KEY_SECRET_ID: secretId } = config;
const profiles = table === undefined ? undefined : new DynamoDbProfileStore(dynamoDbClient(), table);
const tombstones = secretId === undefined ? undefined : tombstoneKeysLoader(secretId);
// Loading starts at the cold start; every batch awaits the same key.
const privacy = decodePrivacyLoader(config);

/** Lambda entry point for the archive's Kinesis event source. */
export const handler = async (event: KinesisStreamEvent): Promise<void> => {
  const erasure =
    profiles === undefined || tombstones === undefined
      ? undefined
      : { profiles, tombstones: await tombstones() };
  const { archived, objects, erased } = await archiveBatch(toIngestRecords(event), writer, {
    privacy: await privacy(),
    erasure,
  });
  publish('Archived', archived);
  if (erased > 0) publish('ErasedDropped', erased);
  metrics.publishStoredMetrics();
  logger.debug('batch archived', { records: event.Records.length, archived, objects });
};
