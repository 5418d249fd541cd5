/**
 * Build-rows function: a worker of the distributed training-set build, one archive partition (a
 * profile-hash bucket) per invocation, run by the training workflow's Distributed Maps.
 *
 * Flow: read config once → the archive's partitions behind the tombstone filter (erased people's
 * events are in no pass, as in the single training function) → by `step`: `links` (identify links and extent of the partition), `shuffle`
 * (ship claimed anonymous profiles to their users' partitions), `candidates` (own plus shipped events
 * → each person's candidate cutoffs, sorted) or `rows` (the stored plan → purge, cap, fold, featurize,
 * sample) → store the result in the run store → return the counts (the Map's result).
 */
import { dynamoDbClient, s3Client } from '../commons/aws-clients';
import { BUILD_ROWS_CONFIG, readConfig } from '../commons/config';
import { DynamoDbProfileStore } from '../commons/dynamodb-profile-store';
import { S3ArchiveReader } from '../commons/s3-archive-reader';
import { S3TrainingRunStore } from '../commons/s3-training-run-store';
import { tombstoneKeysLoader } from '../commons/secret-key';
import { logger } from '../commons/telemetry';
import { excludingErasedPeopleFromPartitions } from '../../shared/erasure/erased-events-filter';
import {
  candidatesStep,
  linksStep,
  type PartitionedEventSource,
  type PartitionStep,
  rowsStep,
  shuffleStep,
} from '../../shared/training/distributed-training';

const config = readConfig(BUILD_ROWS_CONFIG);
const archivePartitions = new S3ArchiveReader(s3Client(), config.ARCHIVE_BUCKET).partitioned();
const { PROFILES_TABLE: table, HASH_KEY_SECRET_ID: secretId } = config;
const profiles = table === undefined ? undefined : new DynamoDbProfileStore(dynamoDbClient(), table);
const tombstones = secretId === undefined ? undefined : tombstoneKeysLoader(secretId);
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

/** The partitions every step reads: erased people's events left out (see the filter's module). */
async function readablePartitions(): Promise<PartitionedEventSource> {
  if (profiles === undefined || tombstones === undefined) return archivePartitions;
  return excludingErasedPeopleFromPartitions(
    archivePartitions,
    { profiles, tombstones: await tombstones() },
    (dropped) =>
      logger.warn('archived events of erased people left out of the training build', { ...dropped }),
  );
}

async function run(event: BuildRowsEvent): Promise<{ partition: number }> {
  const partitions = await readablePartitions();
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
