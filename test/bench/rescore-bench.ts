/**
 * Rescoring throughput and cost: `npx tsx test/bench/rescore-bench.ts [--profiles N]` (not part of
 * `npm run bench`). Seeds a dynalite table with unscored profiles through the real ingest use case,
 * publishes the benchmark model to s3rver, then runs one full pass (4 segments at once, the real
 * scanner, store and S3 serving model, pacing off) and a second pass over the now fresh table, and
 * the same pass on in-memory ports for the compute alone. Prints profiles/s, requests and the read and
 * write units the passes would cost in DynamoDB.
 */
import './bench-env';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbProfileScanner } from '../../functions/commons/dynamodb-profile-scanner';
import { DynamoDbProfileStore } from '../../functions/commons/dynamodb-profile-store';
import { S3ServingModel } from '../../functions/commons/s3-serving-model';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalCloud } from '../../infra/local/emulators';
import type { ProfileStore } from '../../shared/ingest/ingest-ports';
import {
  rescoreSegment,
  type RescoreDependencies,
  type RescoreStats,
} from '../../shared/rescoring/rescore-segment';
import { estimateItemBytes } from '../../shared/profile/dynamodb-item-size';
import { InMemoryProfileStore } from '../support/in-memory-adapters';
import { profilesTableDefinition } from '../support/profiles-table';
import { ingestProfiles, InMemorySegmentScanner } from '../support/rescoring-fixtures';
import { BENCH_MODEL_VERSION, benchModel, InMemoryOnnxScorer, publishBenchModel } from './bench-model';
import { countRequests, resetCount } from './request-counter';

const SEGMENTS = 4;
const PAGE_SIZE = 100;
const arg = process.argv.indexOf('--profiles');
const PROFILES = arg > 0 ? Number(process.argv[arg + 1]) : 5000;

async function seed(store: ProfileStore): Promise<void> {
  const ids = Array.from({ length: PROFILES }, (_x, i) => `u-${String(i).padStart(7, '0')}`);
  for (let i = 0; i < ids.length; i += 100) await ingestProfiles(store, ids.slice(i, i + 100), undefined);
}

async function pass(deps: RescoreDependencies): Promise<{ ms: number; stats: RescoreStats[] }> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: SEGMENTS }, (_s, segment) =>
      rescoreSegment({ segment, totalSegments: SEGMENTS }, deps),
    ),
  );
  return { ms: performance.now() - started, stats: results.map((r) => r.stats) };
}

const sum = (stats: RescoreStats[], key: 'rescored' | 'scanned' | 'pages' | 'writeConflicts') =>
  stats.reduce((total, s) => total + s[key], 0);

async function main(): Promise<void> {
  const cloud = await startLocalCloud();
  try {
    await cloud.createTable(profilesTableDefinition('bench-rescore'));
    await cloud.createBucket('bench-models');
    const endpointOf = (url: string) => ({
      region: LOCAL_REGION,
      endpoint: url,
      credentials: LOCAL_CREDENTIALS,
    });
    const dynamodb = new DynamoDBClient(endpointOf(cloud.endpoints.dynamodb));
    const s3 = new S3Client({ ...endpointOf(cloud.endpoints.s3), forcePathStyle: true });
    const store = new DynamoDbProfileStore(dynamodb, 'bench-rescore');
    await seed(store);
    await publishBenchModel(s3, 'bench-models', benchModel());
    const requests = countRequests(dynamodb);
    const s3Requests = countRequests(s3);
    const deps: RescoreDependencies = {
      scanner: new DynamoDbProfileScanner(dynamodb, 'bench-rescore'),
      profiles: store,
      model: new S3ServingModel(s3, 'bench-models'),
      now: Date.now,
      sleep: async () => {},
      pageSize: PAGE_SIZE,
      maxWritesPerSecond: Number.POSITIVE_INFINITY,
    };
    const first = await pass(deps);
    const firstRequests = { ...requests.byCommand };
    const firstS3 = s3Requests.total;
    resetCount(requests);
    const second = await pass(deps);
    const secondRequests = { ...requests.byCommand };

    // Read units: eventually consistent Scan, item sizes summed per page and rounded up to 4 KB, ½ unit each.
    const items = [
      ...(
        await store.getMany(Array.from({ length: PROFILES }, (_x, i) => `u-${String(i).padStart(7, '0')}`))
      ).values(),
    ];
    const meanBytes = items.reduce((total, item) => total + estimateItemBytes(item), 0) / items.length;
    const readUnitsPerPass =
      Math.ceil((PAGE_SIZE * meanBytes) / 4096) * 0.5 * Math.ceil(PROFILES / PAGE_SIZE);

    // Compute alone: the same pass on in-memory ports (one core, no I/O).
    const memory = new InMemoryProfileStore();
    await seed(memory);
    const onnx = await InMemoryOnnxScorer.create(benchModel());
    const compute = await pass({
      ...deps,
      scanner: new InMemorySegmentScanner(memory),
      profiles: memory,
      model: { servingVersion: async () => BENCH_MODEL_VERSION, score: (f, r, w) => onnx.score(f, r, w) },
    });

    const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
    console.log(
      JSON.stringify(
        {
          profiles: PROFILES,
          segments: SEGMENTS,
          pageSize: PAGE_SIZE,
          dynalite: {
            firstPass: {
              rescored: sum(first.stats, 'rescored'),
              ms: Math.round(first.ms),
              profilesPerSecond: rate(sum(first.stats, 'rescored'), first.ms),
              requests: firstRequests,
              s3Requests: firstS3,
            },
            secondPass: {
              scanned: sum(second.stats, 'scanned'),
              rescored: sum(second.stats, 'rescored'),
              ms: Math.round(second.ms),
              profilesReadPerSecond: rate(sum(second.stats, 'scanned'), second.ms),
              requests: secondRequests,
            },
          },
          computeOnly: {
            rescored: sum(compute.stats, 'rescored'),
            ms: Math.round(compute.ms),
            profilesPerSecond: rate(sum(compute.stats, 'rescored'), compute.ms),
          },
          meanItemBytes: Math.round(meanBytes),
          readUnitsPerPass,
          readUnitsPerMillionProfilesPerPass: Math.round((readUnitsPerPass / PROFILES) * 1e6),
        },
        null,
        2,
      ),
    );
    dynamodb.destroy();
    s3.destroy();
  } finally {
    await cloud.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
