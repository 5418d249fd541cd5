/**
 * Training function entry: EventBridge schedule → a candidate model from the archive, promoted only
 * when it beats the serving one on the same held-out rows.
 *
 * Flow: read config once → build the adapters once per container (S3 archive reader behind the
 * tombstone filter, S3 model registry, TF.js network trainer, onnxruntime scorer) → `trainAndPublish`, the domain (archive →
 * training set → train → compare with champion, measure drift → store candidate → promote or not) →
 * log and count the outcome → return the summary (visible in the invocation result).
 *
 * In the distributed workflow (`infra/cdk/constructs/distributed-training.ts`) the same function is
 * the coordinator, by the event's `step`: `plan` (partitions and extent), `split` (boundaries from the
 * workers' candidates) and `train` (assemble the workers' rows → the same training and promotion).
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
import { S3TrainingRunStore } from '../commons/s3-training-run-store';
import {
  aliasesStep,
  assembleStep,
  planRun,
  type RunPlan,
  splitStep,
} from '../../shared/training/distributed-training';
import {
  trainAndPublish,
  trainingSetOptionsOf,
  trainOnExamples,
  type TrainSummary,
} from '../../shared/training/train-use-case';
import type { TrainingSetStats } from '../../shared/training/training-set';
import { initialiseTrainingBackend, tfjsMlpTrainer } from './tfjs-mlp-trainer';
import { publishTrainingMetrics } from './train-metrics';

const config = readConfig(TRAIN_CONFIG);
const archive = new S3ArchiveReader(s3Client(), config.ARCHIVE_BUCKET);
const { PROFILES_TABLE: table, HASH_KEY_SECRET_ID: secretId } = config;
const profiles = table === undefined ? undefined : new DynamoDbProfileStore(dynamoDbClient(), table);
const tombstones = secretId === undefined ? undefined : tombstoneKeysLoader(secretId);
const publish = metricPublisher('train');
const registry = new S3ModelRegistry(s3Client(), config.MODELS_BUCKET);
const runs = new S3TrainingRunStore(s3Client(), config.ARCHIVE_BUCKET);
const options = { labelHorizonHours: config.LABEL_HORIZON_HOURS };
const rowSample =
  config.ROW_SAMPLE_MAX_ROWS === undefined ? undefined : { maxRows: config.ROW_SAMPLE_MAX_ROWS };
// In the Lambda bundle the stack copies the wasm binaries beside index.js; in the repo the package
// finds its own. Without either, training falls back to the slower cpu backend (recorded in metadata).
const bundledWasm = existsSync(path.join(__dirname, 'tfjs-backend-wasm.wasm'));
const backend = initialiseTrainingBackend('wasm', bundledWasm ? `${__dirname}/` : undefined);

/** A coordinator step of the distributed workflow. */
export type TrainWorkflowEvent = { step: 'plan' } | ({ step: 'aliases' | 'split' | 'train' } & RunPlan);

/** Lambda entry point for the training schedule, and for the workflow's coordinator steps. */
export const handler = async (event?: ScheduledEvent | TrainWorkflowEvent) => {
  if (event !== undefined && 'step' in event) return workflowStep(event);
  return trainOnce();
};

async function workflowStep(event: TrainWorkflowEvent): Promise<RunPlan | TrainSummary> {
  if (event.step === 'plan') return planRun(archive.partitioned(), `run-${Date.now()}`);
  if (event.step === 'aliases') {
    await aliasesStep(runs, event);
    return event;
  }
  if (event.step === 'split') {
    await splitStep(runs, event, trainingSetOptionsOf(options), rowSample);
    return event;
  }
  const started = performance.now();
  const { trainingSet, sample } = await assembleStep(runs, event, trainingSetOptionsOf(options));
  return trainedWith(() =>
    trainOnExamples(dependencies(), options, started, trainingSet.stats.eventsIn, {
      trainingSet,
      ...(sample.rate < 1
        ? {
            sample: {
              ...sample,
              negativeWeight: 1 / sample.rate,
              rowsBefore: rowsBeforeSampleOf(trainingSet.stats),
              rowsAfter: trainingSet.rows,
            },
          }
        : {}),
    }),
  );
}

/** Rows the workers built before sampling: candidates less the purged and the capped. */
const rowsBeforeSampleOf = (stats: TrainingSetStats) =>
  stats.candidateCutoffs - stats.purgedCutoffs - stats.cappedCutoffs;

const dependencies = () => ({
  registry,
  network: tfjsMlpTrainer,
  scoreOnnx: scoreRowsOnce,
  now: Date.now,
  log: logger,
});

async function trainOnce(): Promise<TrainSummary> {
  // Erasure rewrites the archive; the filter catches what a rewrite missed (see its module).
  const events: ArchivedEventSource =
    profiles === undefined || tombstones === undefined
      ? archive
      : excludingErasedPeople(archive, { profiles, tombstones: await tombstones() }, (dropped) => {
          publish('ErasedDropped', dropped.events);
          logger.warn('archived events of erased people left out of training', { ...dropped });
        });
  return trainedWith(() => trainAndPublish({ ...dependencies(), events }, options));
}

async function trainedWith(run: () => Promise<TrainSummary>): Promise<TrainSummary> {
  try {
    logger.info('training backend', { backend: await backend });
    const summary = await run();
    publishTrainingMetrics(summary);
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
}
