/**
 * Ingest function entry: Kinesis batch → validated events → updated, scored profiles in DynamoDB.
 *
 * Flow: read config once → build the AWS adapters once per container and start loading the
 * keyed-hash key (cold start; fingerprints, pseudonymous ids, tombstones) → `createIngestHandler` (decode → `ingestBatch` → `batchItemFailures`).
 */
import { dynamoDbClient, s3Client } from '../commons/aws-clients';
import { INGEST_CONFIG, readConfig } from '../commons/config';
import { DynamoDbProfileStore } from '../commons/dynamodb-profile-store';
import { S3ModelScorer } from '../commons/s3-model-scorer';
import { S3QuarantineSink } from '../commons/s3-quarantine-sink';
import { decodePrivacyLoader, tombstoneKeysLoader } from '../commons/secret-key';
import { AUDIENCE_SOURCE_HOOKS, createIngestHandler, MODEL_SCORER_HOOKS } from './ingest-handler';
import { S3AudienceSource } from '../commons/s3-audience-definitions';

const config = readConfig(INGEST_CONFIG);
const secretId = config.HASH_KEY_SECRET_ID;

/** Lambda entry point for the Kinesis event source (ReportBatchItemFailures enabled). */
export const handler = createIngestHandler({
  profiles: new DynamoDbProfileStore(dynamoDbClient(), config.PROFILES_TABLE),
  quarantine: new S3QuarantineSink(s3Client(), config.QUARANTINE_BUCKET),
  scorer: new S3ModelScorer(
    s3Client(),
    config.MODELS_BUCKET,
    config.MODEL_POLL_SECONDS * 1000,
    MODEL_SCORER_HOOKS,
  ),
  privacy: decodePrivacyLoader(config),
  tombstones: secretId === undefined ? undefined : tombstoneKeysLoader(secretId),
  // Audience definitions live beside the model pointer and are polled as often.
  audiences: new S3AudienceSource(
    s3Client(),
    config.MODELS_BUCKET,
    config.MODEL_POLL_SECONDS * 1000,
    AUDIENCE_SOURCE_HOOKS,
  ),
});
