import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { VIOLATION_KINDS } from '../../shared/contract/event-contract';
import { MERGE_REFUSAL_REASONS } from '../../shared/profile/profile-state';
import { ingestBatch, type IngestDependencies, type IngestStats } from '../../shared/ingest/ingest-batch';
import type { DecodePrivacy } from '../../shared/privacy/pseudonymise';
import { toIngestRecords } from '../commons/kinesis-event';
import type { ModelScorerHooks } from '../commons/s3-model-scorer';
import type { TombstoneKeys } from '../../shared/erasure/tombstones';
import type { AudienceSourceHooks } from '../commons/s3-audience-definitions';
import { logger, metricPublisher, metrics } from '../commons/telemetry';

/** The ingest Lambda handler's signature. */
export type IngestHandler = (
  event: KinesisStreamEvent,
  context?: Pick<Context, 'awsRequestId'>,
) => Promise<KinesisStreamBatchResponse>;

const publish = metricPublisher('ingest');

/**
 * How the ingest function reports the scorer's model changes: logged, and counted as `ModelRefused`
 * and `ModelPollFailed` (buffered with the batch's metrics: the scorer polls inside `ingestBatch`).
 */
export const MODEL_SCORER_HOOKS: ModelScorerHooks = {
  onRefused: (reason) => {
    logger.error('model refused; keeping the previous one', { reason });
    publish('ModelRefused', 1);
  },
  onLoaded: (modelVersion) => logger.info('model loaded', { modelVersion }),
  onPollFailed: (reason) => {
    logger.warn('could not look for a new model; keeping the current one', { reason });
    publish('ModelPollFailed', 1);
  },
};

/**
 * How the ingest function reports audience set changes: logged (a refusal with its field and rule),
 * and counted as `AudienceSetRefused` and `AudiencePollFailed`.
 */
export const AUDIENCE_SOURCE_HOOKS: AudienceSourceHooks = {
  onLoaded: (version, audiences) => logger.info('audience set loaded', { version, audiences }),
  onRefused: (version, error) => {
    logger.error('audience set refused; keeping the previous one', {
      version,
      field: error.field,
      rule: error.rule,
      value: error.value,
    });
    publish('AudienceSetRefused', 1);
  },
  onPollFailed: (reason) => {
    logger.warn('could not look for a new audience set; keeping the current one', { reason });
    publish('AudiencePollFailed', 1);
  },
};

/**
 * Build the ingest handler around its adapters (the module `handler.ts` wires the AWS ones; tests
 * may wire the same adapters with a fault injected).
 *
 * Flow: decode the Lambda event → `ingestBatch` (the domain) → publish metrics → map failed profiles
 * to `batchItemFailures`. Invalid records are quarantined and acknowledged, so they never block a shard.
 */
export function createIngestHandler(
  deps: Omit<IngestDependencies, 'now' | 'privacy' | 'tombstones'> & {
    now?: () => number;
    /** Fingerprints and pseudonymous ids, loaded once per container (the key). @default none */
    privacy?: () => Promise<DecodePrivacy | undefined>;
    /** The tombstone keys, loaded once per container (the same key). @default undefined */
    tombstones?: () => Promise<TombstoneKeys>;
  },
): IngestHandler {
  const { privacy: loadPrivacy, tombstones: loadTombstones, ...rest } = deps;
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
      const [privacy, tombstones] = await Promise.all([loadPrivacy?.(), loadTombstones?.()]);
      const { failedSequenceNumbers, stats } = await ingestBatch(records, {
        now: Date.now,
        ...rest,
        privacy,
        tombstones,
      });
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
  publish('RecordsIn', stats.recordsIn);
  publish('Applied', stats.applied);
  publish('Duplicates', stats.duplicates);
  publish('ProfilesWritten', stats.profilesWritten);
  publish('ProfilesFailed', stats.profilesFailed);
  publish('WriteConflicts', stats.writeConflicts);
  publish('InferenceMs', stats.inferenceMs);
  publish('EventAgeMs', stats.maxEventAgeMs);
  publish('BatchMs', batchMs);
  if (stats.partitionKeyMismatches > 0) publish('PartitionKeyMismatches', stats.partitionKeyMismatches);
  if (stats.erased > 0) publish('ErasedDropped', stats.erased);
  if (stats.unknownFieldsDropped > 0) publish('UnknownFieldsDropped', stats.unknownFieldsDropped);
  if (stats.modelVersion !== undefined) metrics.addMetadata('modelVersion', stats.modelVersion);
  if (stats.audienceSetVersion !== undefined) {
    publish('AudienceEntries', stats.audienceEntries);
    publish('AudienceExits', stats.audienceExits);
    metrics.addMetadata('audienceSetVersion', stats.audienceSetVersion);
  }
  for (const reason of VIOLATION_KINDS) {
    const count = stats.quarantined[reason];
    if (count > 0) publish('Quarantined', count, { reason });
  }
  if (stats.profilesMerged > 0) publish('ProfilesMerged', stats.profilesMerged);
  for (const reason of MERGE_REFUSAL_REASONS) {
    const count = stats.mergesRefused[reason];
    if (count > 0) publish('MergesRefused', count, { reason });
  }
}
