import type { S3Client } from '@aws-sdk/client-s3';
import { S3ArchiveWriter } from '../../../functions/commons/s3-archive-writer';
import { tfjsMlpTrainer } from '../../../functions/train/tfjs-mlp-trainer';
import { archiveBatch } from '../../../shared/archive/archive-batch';
import { type EventInput, partitionKeyOf } from '../../../shared/contract/event-contract';
import { trainMultiTaskModel, type TrainedMultiTaskModel } from '../../../shared/training/multi-task-model';
import { modelVersionFor, multiTaskInputOf } from '../../../shared/training/train-use-case';
import { ingestRecords } from '../../support/factories';
import { CART_HEURISTIC_FEATURE, type TrainingSet } from '../../../shared/training/training-set';

/** Records per archived batch, as the archive consumer's event source mapping delivers them. */
const ARCHIVE_BATCH_SIZE = 1000;

/**
 * Archive `events` exactly as the archive function does (its use case and S3 writer), in batches of
 * {@link ARCHIVE_BATCH_SIZE}. Returns the number of objects written.
 */
export async function writeArchive(
  s3: S3Client,
  bucket: string,
  events: readonly EventInput[],
  nowMs: number,
): Promise<number> {
  const records = ingestRecords(events, { partitionKey: partitionKeyOf, arrivalMs: nowMs });
  const writer = new S3ArchiveWriter(s3, bucket);
  let objects = 0;
  for (let i = 0; i < records.length; i += ARCHIVE_BATCH_SIZE) {
    objects += (await archiveBatch(records.slice(i, i + ARCHIVE_BATCH_SIZE), writer)).objects;
  }
  return objects;
}

/**
 * Train a small model with every head on the rows and split of `trainingSet`, with `labels` in place
 * of its purchase labels (churn and next-category labels stay the set's own).
 */
export function trainSmallModel(
  trainingSet: TrainingSet,
  labels: Uint8Array,
  createdAtMs: number,
  seed = 42,
): Promise<TrainedMultiTaskModel> {
  return trainMultiTaskModel(
    tfjsMlpTrainer,
    {
      ...multiTaskInputOf(trainingSet),
      labels,
      featureNames: trainingSet.featureNames,
      featureSchemaVersion: trainingSet.featureSchemaVersion,
      heuristicFeature: CART_HEURISTIC_FEATURE,
      modelVersion: modelVersionFor(createdAtMs, { features: trainingSet.features, labels }),
      trainingWindow: trainingSet.window,
      createdAtMs,
      split: trainingSet.split,
    },
    // The network only: a baseline head (cart activity) would rank well whatever labels it was given.
    { maxEpochs: 8, hiddenUnits: [8], bootstrapResamples: 20, seed, publishable: ['network'] },
  );
}
