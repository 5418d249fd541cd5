/**
 * The whole pipeline on one machine: the emulators, the resources and event source mappings of the
 * synthesized CDK template, and the real Lambda handlers.
 *
 * Nothing here is wired by hand: stream, table, buckets, function environments and event source
 * settings all come from {@link synthesizeTopology}, so local and cloud cannot drift apart.
 */
import type { KinesisStreamEvent } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  localNameFor,
  synthesizeTopology,
  type LocalTopology,
  type TopologyEventSourceMapping,
} from './topology';
import { startLocalCloud, type LocalCloud } from './emulators';
import {
  ENHANCED_FAN_OUT_POLL_INTERVAL_MS,
  EventSourceMappingEmulator,
  type EventSourceMappingProgress,
} from './event-source-mapping';
import type { StackParameters } from '../cdk/stack-parameters';
import type { RescoreResponse } from '../../functions/rescore/rescore-handler';
import type { RescoreStats } from '../../shared/rescoring/rescore-segment';
import { createKeyedHasher } from '../../shared/privacy/keyed-hash';
import type { DecodePrivacy } from '../../shared/privacy/pseudonymise';
import { ERASURE_REQUESTS_PREFIX, type ErasureReceipt } from '../../shared/erasure/erase-use-case';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

/** Options of {@link startLocalPipeline}. */
export interface LocalPipelineOptions {
  /** Keep emulator data here between runs. @default undefined (in memory / temporary) */
  dataDir?: string;
  /**
   * Idle poll interval of the emulated event source mappings on shared throughput; a mapping on an
   * enhanced fan-out consumer polls at most every `ENHANCED_FAN_OUT_POLL_INTERVAL_MS` instead.
   * @default 200
   */
  pollIntervalMs?: number;
  /** Stack parameters the template is synthesized with (as `cdk -c`). @default {} (the stack's defaults) */
  stackParameters?: Partial<StackParameters>;
  /**
   * Upper bound on the template's batching windows. The archive consumer's 30 s window only makes
   * fewer, larger S3 objects; locally it would leave a run idle at every drain waiting for the last
   * partial batch. @default LOCAL_MAX_BATCHING_WINDOW_SECONDS (1)
   */
  maxBatchingWindowSeconds?: number;
  /** Extra environment for the handlers (e.g. `MODEL_POLL_SECONDS`). @default {} */
  environment?: Record<string, string>;
  /** Progress of every event source mapping. @default undefined */
  onProgress?: (functionName: string, progress: EventSourceMappingProgress) => void;
  /** Start the archive consumer too. @default true */
  withArchive?: boolean;
  /**
   * The keyed-hash key (what the stack's Secrets Manager secret holds), handed to the handlers in
   * `LOCAL_HASH_KEY`: the local cloud has no Secrets Manager. @default generated, and kept in `dataDir`
   * when there is one (so pseudonyms and tombstones still match after a restart)
   */
  hashKey?: string;
  /**
   * Watch the erasure bucket's `requests/` prefix and run the erase function for each new request, as
   * S3 → EventBridge does in the cloud (`npm run erase` against `npm start -- --serve`). Tests call
   * {@link LocalPipeline.processErasureRequests} instead. @default false
   */
  watchErasureRequests?: boolean;
}

/** A running local pipeline. */
export interface LocalPipeline {
  cloud: LocalCloud;
  topology: LocalTopology;
  streamName: string;
  streamArn: string;
  tableName: string;
  /** The activation stream's local name (audience entries and exits), when the template has one. */
  activationStreamName: string | undefined;
  /** The audience members table's local name, when the template has one. */
  membersTableName: string | undefined;
  /** Local bucket names by role (`models`, `archive`, `quarantine`, `failures`). */
  buckets: Record<string, string>;
  /** The emulated event source mappings by function name. */
  mappings: Map<string, EventSourceMappingEmulator>;
  /** The keyed-hash key the handlers use (readers need it to find pseudonymised profiles). */
  hashKey: string;
  /** Whether the template pseudonymises ids (stack parameter `pseudonymiseIds`). */
  pseudonymiseIds: boolean;
  /** Invoke a function's real handler directly (e.g. the scheduled `train`). */
  invoke(functionName: string, event: unknown): Promise<unknown>;
  /**
   * One pass of the rescoring workflow: every segment of the template's rescore function invoked
   * until it answers done, all segments at once, as the state machine's Map runs them. `npm start`
   * runs one after its promotion and one at the end (the workflow's second pass, after the settle wait).
   */
  rescorePass(): Promise<RescorePassSummary>;
  /** Run the erase function once for every request waiting in the erasure bucket; their receipts. */
  processErasureRequests(): Promise<ErasureReceipt[]>;
  /** Resolves once every mapping has processed everything currently in the stream. */
  drain(timeoutMs?: number): Promise<void>;
  /** Stop the mappings (finishing in-flight batches), then the emulators. */
  stop(): Promise<void>;
}

/** What one rescoring pass did, summed over its segments. */
export interface RescorePassSummary {
  segments: number;
  invocations: number;
  stats: Omit<RescoreStats, 'modelVersion' | 'audienceSetVersion'>;
  modelVersion: string | undefined;
  audienceSetVersion: string | undefined;
}

/** Default of {@link LocalPipelineOptions.maxBatchingWindowSeconds}: short enough not to idle a drain. */
export const LOCAL_MAX_BATCHING_WINDOW_SECONDS = 1;

type Handler = (event: never, context?: unknown) => Promise<unknown>;

/** Start the emulators, create the template's resources and run its consumers with the real handlers. */
export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const topology = synthesizeTopology(options.stackParameters);
  const cloud = await startLocalCloud({ dataDir: options.dataDir });
  const mappings = new Map<string, EventSourceMappingEmulator>();
  try {
    const streams = new Map<string, { streamName: string; streamArn: string }>();
    for (const stream of [topology.stream, topology.activationStream]) {
      if (stream === undefined) continue;
      const name = localNameFor(stream.logicalId);
      streams.set(stream.logicalId, {
        streamName: name,
        streamArn: await cloud.createStream(name, stream.shardCount),
      });
    }
    const { streamName, streamArn } = streams.get(topology.stream.logicalId)!;
    for (const table of [topology.table, topology.membersTable]) {
      if (table === undefined) continue;
      await cloud.createTable({
        TableName: localNameFor(table.logicalId),
        KeySchema: table.keySchema,
        AttributeDefinitions: table.attributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
      });
    }
    const tableName = localNameFor(topology.table.logicalId);
    const buckets: Record<string, string> = {};
    for (const bucket of topology.buckets) {
      const name = localNameFor(bucket.logicalId);
      await cloud.createBucket(name);
      buckets[bucket.role] = name;
    }

    const handlers = new Map<string, Handler>();
    const hashKey = options.hashKey ?? localHashKey(options.dataDir);
    for (const fn of topology.functions) {
      if (fn.name === 'archive' && options.withArchive === false) continue;
      // Handlers read their configuration at module load, as in Lambda: set it before importing.
      Object.assign(
        process.env,
        cloud.env,
        { LOCAL_HASH_KEY: hashKey },
        resolveEnvironment(fn.environment),
        options.environment ?? {},
      );
      const module = (await import(path.resolve(__dirname, '../..', fn.entry))) as { handler: Handler };
      handlers.set(fn.name, module.handler);
    }

    // The template's S3 → EventBridge → function rules, for the buckets the emulators write to.
    const objectCreated = async (bucket: string, key: string): Promise<void> => {
      for (const trigger of topology.objectCreatedTriggers) {
        const handler = handlers.get(trigger.functionName);
        if (handler === undefined || localNameFor(trigger.bucketLogicalId) !== bucket) continue;
        if (trigger.keyPrefix !== undefined && !key.startsWith(trigger.keyPrefix)) continue;
        const detail = { bucket: { name: bucket }, object: { key } };
        await handler({ source: 'aws.s3', 'detail-type': 'Object Created', detail } as never);
      }
    };
    for (const esm of topology.eventSourceMappings) {
      const handler = handlers.get(esm.functionName);
      if (handler === undefined) continue;
      const source = streams.get(esm.streamLogicalId);
      if (source === undefined)
        throw new Error(`mapping of ${esm.functionName}: no stream ${esm.streamLogicalId}`);
      const mapping = emulateMapping(
        esm,
        { cloud, ...source },
        (event) => handler(event as never, { awsRequestId: `local-${Date.now()}` }),
        { ...options, onFailureObjectCreated: objectCreated },
      );
      if (options.onProgress !== undefined) {
        const onProgress = options.onProgress;
        mapping.subscribe((p) => onProgress(esm.functionName, p));
      }
      mappings.set(esm.functionName, mapping);
      await mapping.start();
    }

    const erase = handlers.get('erase');
    const processErasureRequests = async (): Promise<ErasureReceipt[]> => {
      if (erase === undefined || buckets.erasure === undefined)
        throw new Error('the template has no erase function');
      const page = await cloud.clients.s3.send(
        new ListObjectsV2Command({ Bucket: buckets.erasure, Prefix: ERASURE_REQUESTS_PREFIX }),
      );
      const receipts: ErasureReceipt[] = [];
      for (const { Key: key } of page.Contents ?? []) {
        const detail = { bucket: { name: buckets.erasure }, object: { key } };
        receipts.push((await erase({ detail } as never)) as ErasureReceipt);
      }
      return receipts;
    };
    let watching = options.watchErasureRequests === true;
    const watcher = (async () => {
      while (watching) {
        // A failed erasure stays in requests/ and is tried again, as EventBridge retries.
        await processErasureRequests().catch((error: unknown) => console.error('erasure failed:', error));
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();

    return {
      cloud,
      topology,
      processErasureRequests,
      streamName,
      streamArn,
      tableName,
      activationStreamName:
        topology.activationStream === undefined
          ? undefined
          : localNameFor(topology.activationStream.logicalId),
      membersTableName:
        topology.membersTable === undefined ? undefined : localNameFor(topology.membersTable.logicalId),
      buckets,
      mappings,
      hashKey,
      pseudonymiseIds: topology.functions.some((fn) => fn.environment.PSEUDONYMISE_IDS === 'true'),
      invoke: async (functionName, event) => {
        const handler = handlers.get(functionName);
        if (handler === undefined) throw new Error(`the template has no function ${functionName}`);
        return handler(event as never, { awsRequestId: `local-${Date.now()}` });
      },
      rescorePass: async () => {
        const rescore = topology.functions.find((fn) => fn.name === 'rescore');
        const handler = handlers.get('rescore');
        if (rescore === undefined || handler === undefined) {
          throw new Error('the template has no rescore function');
        }
        return rescorePass(
          handler,
          rescore.timeoutSeconds,
          Number(rescore.environment.RESCORE_TOTAL_SEGMENTS),
        );
      },
      drain: async (timeoutMs) => {
        // The events stream's consumers first: ingest puts the activation records its consumers read.
        const onActivation = (name: string) =>
          topology.eventSourceMappings.some(
            (esm) =>
              esm.functionName === name && esm.streamLogicalId === topology.activationStream?.logicalId,
          );
        for (const downstream of [false, true]) {
          const stage = [...mappings].filter(([name]) => onActivation(name) === downstream);
          await Promise.all(stage.map(([, m]) => m.waitUntilCaughtUp({ timeoutMs })));
        }
      },
      stop: async () => {
        watching = false;
        await watcher;
        await Promise.all([...mappings.values()].map((m) => m.stop()));
        await cloud.stop();
      },
    };
  } catch (error) {
    await Promise.all([...mappings.values()].map((m) => m.stop()));
    await cloud.stop();
    throw error;
  }
}

/**
 * The local stand-in for the Secrets Manager key: generated once, and kept in the data directory when
 * there is one so tombstones still match after a restart.
 */
function localHashKey(dataDir: string | undefined): string {
  if (dataDir === undefined) return randomBytes(32).toString('hex');
  const file = path.join(dataDir, 'hash-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('hex');
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

/**
 * The emulated event source mapping of one of the template's mappings on a local stream: the
 * template's settings, with the local window cap and poll cadence of `options`, the on-failure
 * bucket's local name, and a poll every `ENHANCED_FAN_OUT_POLL_INTERVAL_MS` for a mapping on an
 * enhanced fan-out consumer (kinesalite has no SubscribeToShard). Not started.
 */
export function emulateMapping(
  esm: TopologyEventSourceMapping,
  stream: { cloud: LocalCloud; streamName: string; streamArn: string },
  invoke: (event: KinesisStreamEvent) => Promise<unknown>,
  options: Pick<LocalPipelineOptions, 'pollIntervalMs' | 'maxBatchingWindowSeconds'> & {
    onFailureObjectCreated?: (bucket: string, key: string) => Promise<void>;
  } = {},
): EventSourceMappingEmulator {
  const onFailureBucket =
    esm.onFailureBucketLogicalId === undefined ? undefined : localNameFor(esm.onFailureBucketLogicalId);
  return new EventSourceMappingEmulator({
    config: {
      ...esm,
      maximumBatchingWindowInSeconds: Math.min(
        esm.maximumBatchingWindowInSeconds,
        options.maxBatchingWindowSeconds ?? LOCAL_MAX_BATCHING_WINDOW_SECONDS,
      ),
      onFailure: onFailureBucket === undefined ? undefined : { bucket: onFailureBucket },
    },
    kinesis: stream.cloud.clients.kinesis,
    s3: stream.cloud.clients.s3,
    streamName: stream.streamName,
    streamArn: stream.streamArn,
    functionName: esm.functionName,
    invoke,
    onFailureObjectCreated: options.onFailureObjectCreated,
    pollIntervalMs:
      esm.fanOut === 'enhanced'
        ? Math.min(
            options.pollIntervalMs ?? ENHANCED_FAN_OUT_POLL_INTERVAL_MS,
            ENHANCED_FAN_OUT_POLL_INTERVAL_MS,
          )
        : options.pollIntervalMs,
  });
}

/**
 * How the pipeline's handlers decode (its key; pseudonymous ids if the template says so), for
 * references folded in memory and readers.
 */
export function decodePrivacyOf(pipeline: Pick<LocalPipeline, 'hashKey' | 'pseudonymiseIds'>): DecodePrivacy {
  return {
    hasher: createKeyedHasher(new TextEncoder().encode(pipeline.hashKey)),
    pseudonymiseIds: pipeline.pseudonymiseIds,
  };
}

/** Turn the template's environment (literal values and references to resources) into local values. */
function resolveEnvironment(
  environment: LocalTopology['functions'][number]['environment'],
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : localNameFor(value.ref),
    ]),
  );
}

/**
 * The rescoring state machine's Map, locally: each segment invoked with the previous answer until it
 * answers done, with the function's timeout emulated so the continuation path runs as in Lambda.
 */
async function rescorePass(
  handler: Handler,
  timeoutSeconds: number,
  totalSegments: number,
): Promise<RescorePassSummary> {
  if (!Number.isInteger(totalSegments) || totalSegments < 1) {
    throw new Error(`the rescore function's RESCORE_TOTAL_SEGMENTS is not a segment count: ${totalSegments}`);
  }
  const answers = await Promise.all(
    Array.from({ length: totalSegments }, async (_s, segment) => {
      const answers: RescoreResponse[] = [];
      let event: unknown = { segment };
      for (;;) {
        const started = Date.now();
        const answer = (await handler(event as never, {
          awsRequestId: `local-${started}`,
          getRemainingTimeInMillis: () => timeoutSeconds * 1000 - (Date.now() - started),
        })) as RescoreResponse;
        answers.push(answer);
        if (answer.done) return answers;
        event = answer;
      }
    }),
  );
  const all = answers.flat();
  const counters: Record<string, number> = {};
  for (const { stats } of all) {
    for (const [key, value] of Object.entries(stats)) {
      if (typeof value === 'number') counters[key] = (counters[key] ?? 0) + value;
    }
  }
  return {
    segments: totalSegments,
    invocations: all.length,
    stats: counters as RescorePassSummary['stats'],
    modelVersion: all.find((a) => a.stats.modelVersion !== undefined)?.stats.modelVersion,
    audienceSetVersion: all.find((a) => a.stats.audienceSetVersion !== undefined)?.stats.audienceSetVersion,
  };
}
