import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { ingestBatch, type IngestDependencies, type IngestStats } from '../../shared/ingest/ingest-batch';
import { toIngestRecords } from '../commons/kinesis-event';
import { logger, metrics, MetricUnit } from '../commons/telemetry';

/** The ingest Lambda handler's signature. */
export type IngestHandler = (
  event: KinesisStreamEvent,
  context?: Pick<Context, 'awsRequestId'>,
) => Promise<KinesisStreamBatchResponse>;

/**
 * Build the ingest handler around its adapters (the module `handler.ts` wires the AWS ones; tests
 * may wire the same adapters with a fault injected).
 *
 * Flow: decode the Lambda event → `ingestBatch` (the domain) → publish metrics → map failed profiles
 * to `batchItemFailures`. Invalid records are quarantined and acknowledged, so they never block a shard.
 */
export function createIngestHandler(
  deps: Omit<IngestDependencies, 'now'> & { now?: () => number },
): IngestHandler {
  return async (event, context) => {
    const started = performance.now();
    const records = toIngestRecords(event);
    const first = records[0];
    logger.appendKeys({
      shardId: first?.shardId,
      firstSequenceNumber: first?.sequenceNumber,
      requestId: context?.awsRequestId,
    });
    try {
      const { failedSequenceNumbers, stats } = await ingestBatch(records, { now: Date.now, ...deps });
      publishMetrics(stats, performance.now() - started);
      logger.info('batch processed', { ...stats, failed: failedSequenceNumbers.length });
      return { batchItemFailures: failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })) };
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}

function publishMetrics(stats: IngestStats, batchMs: number): void {
  metrics.addMetric('RecordsIn', MetricUnit.Count, stats.recordsIn);
  metrics.addMetric('Applied', MetricUnit.Count, stats.applied);
  metrics.addMetric('Duplicates', MetricUnit.Count, stats.duplicates);
  metrics.addMetric('ProfilesWritten', MetricUnit.Count, stats.profilesWritten);
  metrics.addMetric('ProfilesFailed', MetricUnit.Count, stats.profilesFailed);
  metrics.addMetric('WriteConflicts', MetricUnit.Count, stats.writeConflicts);
  metrics.addMetric('InferenceMs', MetricUnit.Milliseconds, stats.inferenceMs);
  metrics.addMetric('EventAgeMs', MetricUnit.Milliseconds, stats.maxEventAgeMs);
  metrics.addMetric('BatchMs', MetricUnit.Milliseconds, batchMs);
  if (stats.partitionKeyMismatches > 0) {
    metrics.addMetric('PartitionKeyMismatches', MetricUnit.Count, stats.partitionKeyMismatches);
  }
  if (stats.unknownFieldsDropped > 0) {
    metrics.addMetric('UnknownFieldsDropped', MetricUnit.Count, stats.unknownFieldsDropped);
  }
  if (stats.modelVersion !== undefined) metrics.addMetadata('modelVersion', stats.modelVersion);
  for (const [reason, count] of Object.entries(stats.quarantined)) {
    if (count > 0) {
      metrics.singleMetric().addDimension('reason', reason).addMetric('Quarantined', MetricUnit.Count, count);
    }
  }
}
