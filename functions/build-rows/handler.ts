/**
 * Build-rows function: a worker of the distributed training-set build, one archive partition (a
 * profile-hash bucket) per invocation, run by the training workflow's Distributed Maps.
 *
 * Flow: read config once → by `step`: `links` (identify links and extent of the partition), `shuffle`
 * (ship claimed anonymous profiles to their users' partitions), `candidates` (own plus shipped events
 * → each person's candidate cutoffs, sorted) or `rows` (the stored plan → purge, cap, fold, featurize,
 * sample) → store the result in the run store → return the counts (the Map's result).
 */
import { s3Client } from '../commons/aws-clients';
import { BUILD_ROWS_CONFIG, readConfig } from '../commons/config';
import { S3ArchiveReader } from '../commons/s3-archive-reader';
import { S3TrainingRunStore } from '../commons/s3-training-run-store';
import { logger } from '../commons/telemetry';
import {
  candidatesStep,
  linksStep,
  type PartitionStep,
  rowsStep,
  shuffleStep,
} from '../../shared/training/distributed-training';

const config = readConfig(BUILD_ROWS_CONFIG);
const partitions = new S3ArchiveReader(s3Client(), config.ARCHIVE_BUCKET).partitioned();
const store = new S3TrainingRunStore(s3Client(), config.ARCHIVE_BUCKET);
const options = { labelHorizonMs: config.LABEL_HORIZON_HOURS * 3_600_000 };

/** One worker invocation of the training workflow. */
export type BuildRowsEvent = PartitionStep & { step: BuildRowsStep };

/** The worker steps, in workflow order. */
export const BUILD_ROWS_STEPS = ['links', 'shuffle', 'candidates', 'rows'] as const;
/** One of {@link BUILD_ROWS_STEPS}. */
export type BuildRowsStep = (typeof BUILD_ROWS_STEPS)[number];

/** A workflow event naming no worker step: the state machine and this function disagree. */
export class UnknownBuildRowsStep extends Error {
  override readonly name = 'UnknownBuildRowsStep';
}

function run(event: BuildRowsEvent): Promise<{ partition: number }> {
  switch (event.step) {
    case 'links':
      return linksStep(partitions, store, event);
    case 'shuffle':
      return shuffleStep(partitions, store, event);
    case 'candidates':
      return candidatesStep(partitions, store, event, options);
    case 'rows':
      return rowsStep(partitions, store, event, options);
    default:
      throw new UnknownBuildRowsStep(
        `step must be one of ${BUILD_ROWS_STEPS.join(', ')}, got ${JSON.stringify((event as { step: unknown }).step)}`,
      );
  }
}

/** Lambda entry point for the training workflow's Distributed Map items. */
export const handler = async (event: BuildRowsEvent): Promise<{ partition: number }> => {
  const result = await run(event);
  logger.info(`${event.step} done`, { runId: event.runId, ...result });
  return result;
};
