/**
 * Training function entry: EventBridge schedule → a candidate model from the archive, promoted only
 * when it beats the serving one on the same held-out rows.
 *
 * Flow: read config once → build the adapters once per container (S3 archive reader behind the
 * tombstone filter, S3 model registry, TF.js network trainer, onnxruntime scorer) → `trainAndPublish`, the domain (archive →
 * training set → train → compare with champion, measure drift → store candidate → promote or not) →
 * log and count the outcome → return the summary (visible in the invocation result).
 */
import type { ScheduledEvent } from 'aws-lambda';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { dynamoDbClient, s3Client } from '../commons/aws-clients';
import { readConfig, TRAIN_CONFIG } from '../commons/config';
import { scoreRowsOnce } from '../commons/onnx-session';
import { S3ArchiveReader } from '../commons/s3-archive-reader';
import { S3ModelRegistry } from '../commons/s3-model-registry';
import { DynamoDbProfileStore } from '../commons/dynamodb-profile-store';
import { tombstoneKeysLoader } from '../commons/secret-key';
import { excludingErasedPeople } from '../../shared/erasure/erased-events-filter';
import type { ArchivedEventSource } from '../../shared/training/training-ports';
import { logger, metricPublisher, metrics } from '../commons/telemetry';
import { trainAndPublish, type TrainSummary } from '../../shared/training/train-use-case';
import { initialiseTrainingBackend, tfjsMlpTrainer } from './tfjs-mlp-trainer';
import { publishTrainingMetrics } from './train-metrics';

const config = readConfig(TRAIN_CONFIG);
const archive = new S3ArchiveReader(s3Client(), config.ARCHIVE_BUCKET);
const { PROFILES_TABLE: table, HASH_KEY_SECRET_ID: secretId } = config;
const profiles = table === undefined ? undefined : new DynamoDbProfileStore(dynamoDbClient(), table);
const tombstones = secretId === undefined ? undefined : tombstoneKeysLoader(secretId);
const publish = metricPublisher('train');
const registry = new S3ModelRegistry(s3Client(), config.MODELS_BUCKET);
// In the Lambda bundle the stack copies the wasm binaries beside index.js; in the repo the package
// finds its own. Without either, training falls back to the slower cpu backend (recorded in metadata).
const bundledWasm = existsSync(path.join(__dirname, 'tfjs-backend-wasm.wasm'));
const backend = initialiseTrainingBackend('wasm', bundledWasm ? `${__dirname}/` : undefined);

/** Lambda entry point for the training schedule. */
export const handler = async (_event?: ScheduledEvent): Promise<TrainSummary> => {
  try {
    logger.info('training backend', { backend: await backend });
    // Erasure rewrites the archive; the filter catches what a rewrite missed (see its module).
    const events: ArchivedEventSource =
      profiles === undefined || tombstones === undefined
        ? archive
        : excludingErasedPeople(archive, { profiles, tombstones: await tombstones() }, (dropped) => {
            publish('ErasedDropped', dropped.events);
            logger.warn('archived events of erased people left out of training', { ...dropped });
          });
    const summary = await trainAndPublish(
      { events, registry, network: tfjsMlpTrainer, scoreOnnx: scoreRowsOnce, now: Date.now, log: logger },
      { labelHorizonHours: config.LABEL_HORIZON_HOURS },
    );
    publishTrainingMetrics(summary);
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
};
