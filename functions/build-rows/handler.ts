/**
 * Build-rows function: a worker of the distributed training-set build, one archive partition (a
 * profile-hash bucket) per invocation, run by the training workflow's Distributed Maps.
 *
 * Flow: read config once → `candidates` step (read the partition → each profile's candidate cutoffs →
 * store them sorted) or `rows` step (read the stored plan and the partition → purge, cap, fold and
 * featurize, sample → store the rows) → return the counts (the Map's result).
 */
import { s3Client } from '../commons/aws-clients';
import { BUILD_ROWS_CONFIG, readConfig } from '../commons/config';
import { S3ArchiveReader } from '../commons/s3-archive-reader';
import { S3TrainingRunStore } from '../commons/s3-training-run-store';
import { logger } from '../commons/telemetry';
import { candidatesStep, rowsStep } from '../../shared/training/distributed-training';

const config = readConfig(BUILD_ROWS_CONFIG);
const partitions = new S3ArchiveReader(s3Client(), config.ARCHIVE_BUCKET).partitioned();
const store = new S3TrainingRunStore(s3Client(), config.ARCHIVE_BUCKET);
const options = { labelHorizonMs: config.LABEL_HORIZON_HOURS * 3_600_000 };

/** One worker invocation of the training workflow. */
export type BuildRowsEvent =
  | { step: 'candidates'; runId: string; partition: number; extent: { fromMs: number; toMs: number } }
  | { step: 'rows'; runId: string; partition: number };

/** Lambda entry point for the training workflow's Distributed Map items. */
export const handler = async (event: BuildRowsEvent): Promise<{ partition: number }> => {
  const result =
    event.step === 'candidates'
      ? await candidatesStep(partitions, store, event, options)
      : await rowsStep(partitions, store, event, options);
  logger.info(`${event.step} built`, { runId: event.runId, ...result });
  return result;
};
