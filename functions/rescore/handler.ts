/**
 * Rescore function entry: one segment of the profiles table brought to the serving model, invoked by
 * the rescoring state machine (a promotion or rollback moved `models/current.json`).
 *
 * Flow: read config once → build the adapters once per container (DynamoDB scanner and profile store,
 * the S3 serving model, the S3 audience set and the activation stream, as ingest's) → `createRescoreHandler` (validate the event → `rescoreSegment` → answer with
 * the continuation key).
 */
import { dynamoDbClient, kinesisClient, s3Client } from '../commons/aws-clients';
import { KinesisTransitionSink } from '../commons/kinesis-transition-sink';
import { S3AudienceSource } from '../commons/s3-audience-definitions';
import { readConfig, RESCORE_CONFIG } from '../commons/config';
import { DynamoDbProfileScanner } from '../commons/dynamodb-profile-scanner';
import { DynamoDbProfileStore } from '../commons/dynamodb-profile-store';
import { S3ServingModel } from '../commons/s3-serving-model';
import { logger } from '../commons/telemetry';
import { createRescoreHandler } from './rescore-handler';

const config = readConfig(RESCORE_CONFIG);
/** A pass is minutes long: the audience pointer is looked up at most this often per container. */
const AUDIENCE_POLL_MS = 60_000;

/** Lambda entry point, invoked per segment by the rescoring state machine. */
export const handler = createRescoreHandler({
  scanner: new DynamoDbProfileScanner(dynamoDbClient(), config.PROFILES_TABLE),
  profiles: new DynamoDbProfileStore(dynamoDbClient(), config.PROFILES_TABLE),
  model: new S3ServingModel(s3Client(), config.MODELS_BUCKET, {
    onLoaded: (modelVersion) => logger.info('model loaded', { modelVersion }),
    onRefused: (reason) => logger.error('model refused; rescoring to the previous one, if any', { reason }),
    onPollFailed: (reason) => logger.warn('could not read the model pointer', { reason }),
  }),
  // The set ingest evaluates (beside the model pointer): rescored scores may cross its conditions.
  audiences: new S3AudienceSource(s3Client(), config.MODELS_BUCKET, AUDIENCE_POLL_MS, {
    onLoaded: (version, audiences) => logger.info('audience set loaded', { version, audiences }),
    onRefused: (version, error) =>
      logger.error('audience set refused; keeping the previous one', {
        version,
        field: error.field,
        rule: error.rule,
        value: error.value,
      }),
    onPollFailed: (reason) => logger.warn('could not look for a new audience set', { reason }),
  }),
  transitions:
    config.ACTIVATION_STREAM === undefined
      ? undefined
      : new KinesisTransitionSink(kinesisClient(), config.ACTIVATION_STREAM),
  totalSegments: config.RESCORE_TOTAL_SEGMENTS,
  pageSize: config.RESCORE_PAGE_SIZE,
  maxWritesPerSecond: config.RESCORE_MAX_WRITES_PER_SECOND / config.RESCORE_TOTAL_SEGMENTS,
});
