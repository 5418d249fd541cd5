/**
 * Part 2: the ingest path against the embedded stack (dynalite and s3rver over loopback), beside the
 * per-event baseline, in the same process and run. Like Lambda, each shard has one batch in flight at
 * a time and the shards run concurrently; within a shard batches go in order.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbProfileStore } from '../../functions/commons/dynamodb-profile-store';
import { S3ModelScorer } from '../../functions/commons/s3-model-scorer';
import { S3QuarantineSink } from '../../functions/commons/s3-quarantine-sink';
import { createIngestHandler } from '../../functions/ingest/ingest-handler';
import { TombstoneKeys } from '../../shared/erasure/tombstones';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalCloud } from '../../infra/local/emulators';
import type { BenchWorkload } from './bench-workload';
import { countRequests, resetCount, type RequestCount } from './request-counter';
import { createPerEventBaseline } from './per-event-baseline';

/** Buckets the stack bench uses. */
export const BENCH_BUCKETS = { models: 'bench-models', quarantine: 'bench-quarantine' } as const;
const MODEL_POLL_MS = 60_000;

/** What one pass over a workload measured. */
export interface StackRun {
  label: string;
  records: number;
  wallMs: number;
  eventsPerSecond: number;
  dynamodb: RequestCount;
  s3: RequestCount;
  dynamodbRequestsPerEvent: number;
  /** Records reported back as failed (a real event source would redeliver them). */
  batchItemFailures: number;
  /** Profiles in the table afterwards. */
  profilesStored: number;
}

let tableSeq = 0;

/** A fresh profiles table (partition key `profileId`, on demand), as the stateful stack defines it. */
export async function createProfilesTable(cloud: LocalCloud, purpose: string): Promise<string> {
  const TableName = `bench-${purpose}-${++tableSeq}`;
  await cloud.createTable({
    TableName,
    KeySchema: [{ AttributeName: 'profileId', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'profileId', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  return TableName;
}

/** Clients of its own per pass, so each pass's requests are counted apart. */
function countedClients(cloud: LocalCloud) {
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: cloud.endpoints.dynamodb });
  const s3 = new S3Client({ ...common, endpoint: cloud.endpoints.s3, forcePathStyle: true });
  return { dynamodb, s3, dynamodbCount: countRequests(dynamodb), s3Count: countRequests(s3) };
}

async function countItems(dynamodb: DynamoDBClient, TableName: string): Promise<number> {
  let count = 0;
  let ExclusiveStartKey: Record<string, never> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName, Select: 'COUNT', ExclusiveStartKey }));
    count += page.Count ?? 0;
    ExclusiveStartKey = page.LastEvaluatedKey as typeof ExclusiveStartKey;
  } while (ExclusiveStartKey !== undefined);
  return count;
}

/** Shards concurrently, each shard's batches one after another; returns failed records. */
async function replayByShard(
  workload: BenchWorkload,
  handle: (event: BenchWorkload['interleaved'][number]) => Promise<number>,
): Promise<number> {
  const failures = await Promise.all(
    workload.shards.map(async (shard) => {
      let failed = 0;
      for (const event of shard.events) failed += await handle(event);
      return failed;
    }),
  );
  return failures.reduce((a, b) => a + b, 0);
}

async function measurePass(
  cloud: LocalCloud,
  label: string,
  workload: BenchWorkload,
  build: (
    clients: ReturnType<typeof countedClients>,
    tableName: string,
  ) => Promise<(event: BenchWorkload['interleaved'][number]) => Promise<number>>,
): Promise<StackRun> {
  const tableName = await createProfilesTable(cloud, label.includes('baseline') ? 'baseline' : 'real');
  const clients = countedClients(cloud);
  try {
    const handle = await build(clients, tableName);
    // Loading the model is set-up, not the pass's own traffic.
    resetCount(clients.dynamodbCount);
    resetCount(clients.s3Count);
    const started = performance.now();
    const batchItemFailures = await replayByShard(workload, handle);
    const wallMs = performance.now() - started;
    const dynamodb = structuredClone(clients.dynamodbCount);
    const s3 = structuredClone(clients.s3Count);
    return {
      label,
      records: workload.records,
      wallMs,
      eventsPerSecond: workload.records / (wallMs / 1000),
      dynamodb,
      s3,
      dynamodbRequestsPerEvent: dynamodb.total / workload.records,
      batchItemFailures,
      profilesStored: await countItems(clients.dynamodb, tableName),
    };
  } finally {
    clients.dynamodb.destroy();
    clients.s3.destroy();
  }
}

/** The bench's keyed-hash key (any 32 bytes: the tombstone lookups all miss). */
const BENCH_HASH_KEY = new Uint8Array(32).fill(7);

/**
 * The real ingest path as `functions/ingest/handler.ts` wires it: `createIngestHandler` with the
 * DynamoDB store (eventually consistent profile reads), tombstone lookups, S3 quarantine and S3 model.
 */
export function runRealPath(cloud: LocalCloud, label: string, workload: BenchWorkload): Promise<StackRun> {
  return measurePass(cloud, label, workload, async ({ dynamodb, s3 }, tableName) => {
    const scorer = new S3ModelScorer(s3, BENCH_BUCKETS.models, MODEL_POLL_MS);
    await scorer.refresh();
    if (scorer.modelVersion === undefined) throw new Error('the bench model did not load from S3');
    const tombstones = new TombstoneKeys(BENCH_HASH_KEY);
    const handler = createIngestHandler({
      profiles: new DynamoDbProfileStore(dynamodb, tableName, 'eventual'),
      quarantine: new S3QuarantineSink(s3, BENCH_BUCKETS.quarantine),
      scorer,
      tombstones: async () => tombstones,
    });
    return async (event) => (await handler(event)).batchItemFailures.length;
  });
}

/** The per-event baseline over the same stack and model. */
export function runBaseline(cloud: LocalCloud, label: string, workload: BenchWorkload): Promise<StackRun> {
  return measurePass(cloud, label, workload, async ({ dynamodb, s3 }, tableName) => {
    const scorer = new S3ModelScorer(s3, BENCH_BUCKETS.models, MODEL_POLL_MS);
    await scorer.refresh();
    const baseline = createPerEventBaseline({ dynamodb, tableName, scorer });
    return async (event) => {
      await baseline(event);
      return 0;
    };
  });
}
