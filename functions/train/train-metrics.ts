import type { TrainSummary } from '../../shared/training/train-use-case';
import { metricPublisher } from '../commons/telemetry';

const publish = metricPublisher('train');

/**
 * Count one training run's outcome (buffered; the handler flushes with `publishStoredMetrics`). A
 * drift figure is published only when it was measured: a missing point is "not measured", never 0.
 */
export function publishTrainingMetrics(summary: TrainSummary): void {
  publish('TrainingSkipped', summary.skipped ? 1 : 0);
  publish('ModelPromoted', summary.promoted ? 1 : 0);
  publish('TrainingExamples', summary.examples.rows);
  publish('TrainingMs', summary.durationMs);
  if (summary.metrics !== undefined) publish('CandidateRocAuc', summary.metrics.candidate.rocAuc);
  if (summary.drift !== undefined) {
    publish('FeatureDriftPsiMax', summary.drift.maxFeaturePsi);
    if (summary.drift.scorePsi !== undefined) publish('ScoreDriftPsi', summary.drift.scorePsi);
  }
}
