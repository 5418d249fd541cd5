/**
 * Training function entry: EventBridge schedule → a candidate model from the archive, promoted only
 * when it beats the serving one on the same held-out rows.
 *
 * Flow: read config once → build the S3 adapters once per container → `trainAndPublish` (archive →
 * training set → train → store candidate → compare with champion → promote or not) → log and count
 * the outcome → return the summary (visible in the invocation result).
 */
import type { ScheduledEvent } from 'aws-lambda';
import { s3Client } from '../commons/aws-clients';
import { readConfig, TRAIN_CONFIG } from '../commons/config';
import { S3ArchiveReader } from '../commons/s3-archive-reader';
import { S3ModelRegistry } from '../commons/s3-model-registry';
import { logger, metrics, MetricUnit } from '../commons/telemetry';
import { trainAndPublish, type TrainSummary } from './train-use-case';

const config = readConfig(TRAIN_CONFIG);
const events = new S3ArchiveReader(s3Client(), config.ARCHIVE_BUCKET);
const registry = new S3ModelRegistry(s3Client(), config.MODELS_BUCKET);

/** Lambda entry point for the training schedule. */
export const handler = async (_event?: ScheduledEvent): Promise<TrainSummary> => {
  try {
    const summary = await trainAndPublish(
      { events, registry, now: Date.now, log: logger },
      { labelHorizonHours: config.LABEL_HORIZON_HOURS },
    );
    metrics.addMetric('TrainingSkipped', MetricUnit.Count, summary.skipped ? 1 : 0);
    metrics.addMetric('ModelPromoted', MetricUnit.Count, summary.promoted ? 1 : 0);
    metrics.addMetric('TrainingExamples', MetricUnit.Count, summary.examples.rows);
    metrics.addMetric('TrainingMs', MetricUnit.Milliseconds, summary.durationMs);
    if (summary.metrics !== undefined) {
      metrics.addMetric('CandidateRocAuc', MetricUnit.NoUnit, summary.metrics.candidate.rocAuc);
    }
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
};
