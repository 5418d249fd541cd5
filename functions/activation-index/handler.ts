/**
 * Activation-index function: keeps the audience members table in step with the activation stream.
 *
 * Flow: the Kinesis batch → `indexActivationBatch` (decode, keep each row's highest version, skip
 * erased profiles by tombstone, write it under the version condition) → count and log. An unexpected store error throws: the event source
 * retries the batch, which the version condition makes idempotent. A record that is not an activation
 * event is logged with its field and rule and counted, never retried (it would block the shard).
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { indexActivationBatch } from '../../shared/audiences/audience-index';
import { dynamoDbClient } from '../commons/aws-clients';
import { ACTIVATION_INDEX_CONFIG, readConfig } from '../commons/config';
import { DynamoDbAudienceIndex } from '../commons/dynamodb-audience-index';
import { DynamoDbProfileStore } from '../commons/dynamodb-profile-store';
import { tombstoneKeysLoader } from '../commons/secret-key';
import { toIngestRecords } from '../commons/kinesis-event';
import { logger, metricPublisher, metrics } from '../commons/telemetry';

const config = readConfig(ACTIVATION_INDEX_CONFIG);
const dynamodb = dynamoDbClient();
const index = new DynamoDbAudienceIndex(dynamodb, config.MEMBERS_TABLE);
const profiles = new DynamoDbProfileStore(dynamodb, config.PROFILES_TABLE);
// Loading starts at the cold start; every batch awaits the same key.
const tombstones = tombstoneKeysLoader(config.HASH_KEY_SECRET_ID);
const publish = metricPublisher('activation-index');

/** Lambda entry point for the activation stream's event source. */
export const handler = async (event: KinesisStreamEvent): Promise<void> => {
  try {
    const stats = await indexActivationBatch(toIngestRecords(event), index, {
      erasure: { profiles, tombstones: await tombstones() },
    });
    publish('IndexedEvents', stats.events);
    publish('IndexWrites', stats.written);
    publish('IndexStale', stats.stale);
    if (stats.erased > 0) publish('ErasedDropped', stats.erased);
    if (stats.invalid.length > 0) publish('InvalidActivationEvents', stats.invalid.length);
    for (const violation of stats.invalid)
      logger.error('not an activation event; skipped', { field: violation.field, rule: violation.rule });
    logger.info('activation batch indexed', { ...stats, invalid: stats.invalid.length });
  } finally {
    metrics.publishStoredMetrics();
  }
};
