/**
 * The local pipeline as the integration tests start it: template-derived resources, quick polling,
 * no archive consumer, quiet logs and no metrics; then `records` published and ingested.
 */
import { EventProducer } from '../../infra/client/event-producer';
import { S3AudiencePublisher } from '../../functions/commons/s3-audience-definitions';
import type { AudienceSet } from '../../shared/audiences/audience-definition';
import type { RawRecord } from '../../infra/client/put-records-plan';
import {
  startLocalPipeline,
  type LocalPipeline,
  type LocalPipelineOptions,
} from '../../infra/local/local-pipeline';

/**
 * Start the pipeline, publish `records` (every one must be accepted) and wait until ingest drained.
 *
 * @param options - overrides of the fixture's pipeline options (e.g. `withArchive: true`); `environment`
 *   is merged into the fixture's; `drainTimeoutMs` bounds the wait for ingest (default 60 s);
 *   `audienceSet` is published before any record, so ingest evaluates it from the first batch
 */
export async function startPipelineWithRecords(
  records: readonly RawRecord[],
  options: LocalPipelineOptions & { drainTimeoutMs?: number; audienceSet?: AudienceSet } = {},
): Promise<LocalPipeline> {
  const pipeline = await startLocalPipeline({
    pollIntervalMs: 50,
    withArchive: false,
    ...options,
    environment: {
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...options.environment,
    },
  });
  if (options.audienceSet !== undefined) {
    await new S3AudiencePublisher(pipeline.cloud.clients.s3, pipeline.buckets.models!).publish(
      options.audienceSet,
    );
  }
  const producer = new EventProducer({
    kinesis: pipeline.cloud.clients.kinesis,
    streamName: pipeline.streamName,
  });
  const sent = await producer.sendRaw(records);
  if (sent.failed.length > 0) {
    await pipeline.stop();
    throw new Error(`${sent.failed.length} records were not accepted by the local stream`);
  }
  await pipeline.drain(options.drainTimeoutMs ?? 60_000);
  return pipeline;
}
