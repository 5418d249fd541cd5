/**
 * Activation-index function: keeps the audience members table in step with the activation stream.
 *
 * Flow: the Kinesis batch → `indexActivationBatch` (decode, keep each row's highest version, write it
 * under the version condition) → count and log. An unexpected store error throws: the event source
 * retries the batch, which the version condition makes idempotent. A record that is not an activation
 * event is logged with its field and rule and counted, never retried (it would block the shard).
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { indexActivationBatch } from '../../shared/audiences/audience-index';
import { dynamoDbClient } from '../commons/aws-clients';
import { ACTIVATION_INDEX_CONFIG, readConfig } from '../commons/config';
import { DynamoDbAudienceIndex } from '../commons/dynamodb-audience-index';
import { toIngestRecords } from '../commons/kinesis-event';
import { logger, metricPublisher, metrics } from '../commons/telemetry';

const config = readConfig(ACTIVATION_INDEX_CONFIG);
const index = new DynamoDbAudienceIndex(dynamoDbClient(), config.MEMBERS_TABLE);
const publish = metricPublisher('activation-index');

/** Lambda entry point for the activation stream's event source. */
export const handler = async (event: KinesisStreamEvent): Promise<void> => {
  try {
    const stats = await indexActivationBatch(toIngestRecords(event), index);
    publish('IndexedEvents', stats.events);
    publish('IndexWrites', stats.written);
    publish('IndexStale', stats.stale);
    if (stats.invalid.length > 0) publish('InvalidActivationEvents', stats.invalid.length);
    for (const violation of stats.invalid)
      logger.error('not an activation event; skipped', { field: violation.field, rule: violation.rule });
    logger.info('activation batch indexed', { ...stats, invalid: stats.invalid.length });
  } finally {
    metrics.publishStoredMetrics();
  }
};
