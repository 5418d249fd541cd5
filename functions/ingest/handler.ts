/**
 * Ingest function entry: Kinesis batch → validated events → updated, scored profiles in DynamoDB.
 *
 * Flow: read config once → build the AWS adapters once per container → `createIngestHandler`
 * (decode → `ingestBatch` → `batchItemFailures`).
 */
import { dynamoDbClient, s3Client } from '../commons/aws-clients';
import { INGEST_CONFIG, readConfig } from '../commons/config';
import { DynamoDbProfileStore } from '../commons/dynamodb-profile-store';
import { S3ModelScorer } from '../commons/s3-model-scorer';
import { S3QuarantineSink } from '../commons/s3-quarantine-sink';
import { logger, metrics, MetricUnit } from '../commons/telemetry';
import { createIngestHandler } from './ingest-handler';

const config = readConfig(INGEST_CONFIG);

/** Lambda entry point for the Kinesis event source (ReportBatchItemFailures enabled). */
export const handler = createIngestHandler({
  profiles: new DynamoDbProfileStore(dynamoDbClient(), config.PROFILES_TABLE),
  quarantine: new S3QuarantineSink(s3Client(), config.QUARANTINE_BUCKET),
  scorer: new S3ModelScorer(s3Client(), config.MODELS_BUCKET, config.MODEL_POLL_SECONDS * 1000, {
    onRefused: (reason) => {
      logger.error('model refused; keeping the previous one', { reason });
      metrics.addMetric('ModelRefused', MetricUnit.Count, 1);
    },
    onLoaded: (modelVersion) => logger.info('model loaded', { modelVersion }),
    onPollFailed: (reason) => {
      logger.warn('could not look for a new model; keeping the current one', { reason });
      metrics.addMetric('ModelPollFailed', MetricUnit.Count, 1);
    },
  }),
});
