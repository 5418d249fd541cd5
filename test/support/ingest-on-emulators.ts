/**
 * The ingest function on the emulators without the template: its own stream, table and quarantine
 * bucket on a shared local cloud, the real handler and adapters, and an event source mapping with the
 * stack's ingest settings (bisect, 5 retries, partial batch responses) unless a test overrides them.
 * Several can run side by side on one cloud, so a faulty run and a fault-free run compare directly.
 */
import { DynamoDbProfileStore } from '../../functions/commons/dynamodb-profile-store';
import { S3QuarantineSink } from '../../functions/commons/s3-quarantine-sink';
import { createIngestHandler } from '../../functions/ingest/ingest-handler';
import type { LocalCloud } from '../../infra/local/emulators';
import {
  EventSourceMappingEmulator,
  LAMBDA_KINESIS_ESM_DEFAULTS,
  type KinesisEventSourceMappingConfig,
} from '../../infra/local/event-source-mapping';
import type { KinesisStreamEvent } from 'aws-lambda';
import type { ProfileStore } from '../../shared/ingest/ingest-ports';
import { decodeProfileItem } from '../../shared/profile/profile-item-codec';
import type { ProfileState } from '../../shared/profile/profile-state';
import { profilesTableDefinition } from './profiles-table';

/** One ingest consumer with its own resources. */
export interface IngestOnEmulators {
  streamName: string;
  streamArn: string;
  tableName: string;
  quarantineBucket: string;
  mapping: EventSourceMappingEmulator;
  /** The real store of the table (no fault injected). */
  store: DynamoDbProfileStore;
  /** The stored profiles, decoded, by id (absent ids left out). */
  profiles(profileIds: readonly string[]): Promise<Map<string, ProfileState>>;
}

/** Options of {@link startIngestOnEmulators}. */
export interface IngestOnEmulatorsOptions {
  /** Suffix of every resource name. */
  name: string;
  shardCount: number;
  /** ESM settings over the stack's ingest ones. @default {} */
  config?: Partial<KinesisEventSourceMappingConfig>;
  /** Wraps the real store, e.g. to inject a fault. @default the store itself */
  wrapStore?: (store: DynamoDbProfileStore) => ProfileStore;
  /** Sees every event before the handler. @default undefined */
  onInvoke?: (event: KinesisStreamEvent) => void;
  /** The on-failure bucket's "Object Created" notification (e.g. the scrub-failures handler). @default undefined */
  onFailureObjectCreated?: (bucket: string, key: string) => Promise<void>;
}

/** Creates the resources and starts the mapping (TRIM_HORIZON). */
export async function startIngestOnEmulators(
  cloud: LocalCloud,
  options: IngestOnEmulatorsOptions,
): Promise<IngestOnEmulators> {
  const streamName = `events-${options.name}`;
  const tableName = `profiles-${options.name}`;
  const quarantineBucket = `quarantine-${options.name}`;
  const streamArn = await cloud.createStream(streamName, options.shardCount);
  await cloud.createTable(profilesTableDefinition(tableName));
  await cloud.createBucket(quarantineBucket);
  const store = new DynamoDbProfileStore(cloud.clients.dynamodb, tableName);
  const handler = createIngestHandler({
    profiles: options.wrapStore?.(store) ?? store,
    quarantine: new S3QuarantineSink(cloud.clients.s3, quarantineBucket),
    scorer: { score: async () => undefined },
  });
  const mapping = new EventSourceMappingEmulator({
    config: {
      ...LAMBDA_KINESIS_ESM_DEFAULTS,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 5,
      reportBatchItemFailures: true,
      startingPosition: 'TRIM_HORIZON',
      ...options.config,
    },
    kinesis: cloud.clients.kinesis,
    s3: cloud.clients.s3,
    streamName,
    streamArn,
    functionName: `ingest-${options.name}`,
    invoke: (event) => {
      options.onInvoke?.(event);
      return handler(event);
    },
    pollIntervalMs: 20,
    onFailureObjectCreated: options.onFailureObjectCreated,
  });
  await mapping.start();
  return {
    streamName,
    streamArn,
    tableName,
    quarantineBucket,
    mapping,
    store,
    profiles: async (profileIds) => {
      const stored = await store.getMany(profileIds);
      return new Map([...stored].map(([id, item]) => [id, decodeProfileItem(item).state]));
    },
  };
}
