/**
 * Training-set build at scale, in process, partition by partition: `--events N` synthetic events
 * (default 1,000,000) generated one partition at a time (whole histories of `--users-per-partition`
 * people each, ids made unique per partition) and written gzipped to a temporary directory, the stand-in
 * for the archive's profile-hash buckets; then `buildPartitionedTrainingSet` reads them back in turn
 * (candidates pass, rows pass) with the stack's row sample. Prints the time per million events, the
 * peak RSS (`maxRSS` of the process) and a capacity table for the distributed workflow priced from
 * those measurements.
 *
 *   npx tsx test/bench/training-scale-bench.ts --events 10000000
 */
import './bench-env';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { type ContractEvent, validateEvent } from '../../shared/contract/event-contract';
import { buildPartitionedTrainingSet } from '../../shared/training/partitioned-training-set';
import { DISTRIBUTED_TRAINING_MAX_ROWS } from '../../infra/cdk/stateless-stack';
import { generateWorkload } from '../../infra/workload/synthetic-workload';
import { AWS_LIST_PRICES } from './aws-list-prices';

const HOUR_MS = 3_600_000;
/** Step Functions list prices (us-east-1, read 2026-12-01, https://aws.amazon.com/step-functions/pricing/). */
const STEP_FUNCTIONS = { standardTransitionsPerThousand: 0.025, expressRequestsPerMillion: 1 };
/** The stack's build-rows worker and train function memory, GB. */
const WORKER_GB = 3008 / 1024;
const rss = () => Math.round(process.resourceUsage().maxRSS / 1024);

const options = new Command()
  .option('--events <n>', 'events to generate', (v) => Number(v), 1_000_000)
  .option('--users-per-partition <n>', 'people per partition', (v) => Number(v), 10_000)
  .option('--days <n>', 'simulated days', (v) => Number(v), 7)
  .parse()
  .opts<{ events: number; usersPerPartition: number; days: number }>();

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'training-scale-'));
  try {
    const started = performance.now();
    // Generate partition by partition; only one partition's events are ever held.
    const files: string[] = [];
    let events = 0;
    for (let p = 0; events < options.events; p++) {
      const workload = generateWorkload({
        users: options.usersPerPartition,
        days: options.days,
        seed: 1000 + p,
      });
      const part: ContractEvent[] = [];
      for (const raw of workload.events) {
        if (events >= options.events) break;
        const event = validateEvent(raw, workload.endMs).event;
        event.eventId = `p${p}-${event.eventId}`;
        if (event.userId !== undefined) event.userId = `p${p}-${event.userId}`;
        part.push(event);
        events++;
      }
      const file = path.join(dir, `${p}.ndjson.gz`);
      writeFileSync(file, gzipSync(part.map((e) => JSON.stringify(e)).join('\n')));
      files.push(file);
    }
    const generatedMs = performance.now() - started;

    let bytesRead = 0;
    const source = {
      partitions: async () => files.map((_, p) => p),
      readPartition: async (p: number) => {
        const bytes = readFileSync(files[p]!);
        bytesRead += bytes.length;
        return gunzipSync(bytes)
          .toString('utf8')
          .split('\n')
          .map((line) => JSON.parse(line) as ContractEvent);
      },
    };
    const buildStart = performance.now();
    const { trainingSet, sample } = await buildPartitionedTrainingSet(
      source,
      { labelHorizonMs: 24 * HOUR_MS },
      { maxRows: DISTRIBUTED_TRAINING_MAX_ROWS },
    );
    const buildMs = performance.now() - buildStart;
    const millions = events / 1e6;
    const result = {
      events,
      partitions: files.length,
      archiveBytesGzipped: bytesRead / 3,
      generateSeconds: +(generatedMs / 1000).toFixed(1),
      buildSeconds: +(buildMs / 1000).toFixed(1),
      buildSecondsPerMillionEvents: +(buildMs / 1000 / millions).toFixed(1),
      peakRssMb: rss(),
      rows: trainingSet.rows,
      rowsBeforeSample: sample?.rowsBefore,
      sampleRate: sample?.rate,
      profiles: trainingSet.stats.profiles,
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(capacityTable(buildMs / 1000 / events, bytesRead / 3 / events));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Events per run → workers, minutes, dollars, with the worker time per event measured here (three
 * reads of a partition: extent here, plan's first/last hours in AWS) and 16 profile-hash buckets.
 */
function capacityTable(secondsPerEvent: number, gzBytesPerEvent: number): string {
  const lines = [
    '| events per run | workers (buckets) | events per worker | worker minutes (wall) | Lambda $ | Step Functions $ | S3 $ | total $ |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const events of [1e6, 1e7, 3e7, 1e8]) {
    // A worker holds its partition's events (~1.4 KB each): 3008 MB holds about 1.5 million, so past
    // 24 million events a run needs more buckets than the layout's 16 (`ARCHIVE_PROFILE_BUCKETS`).
    const buckets = Math.max(16, Math.ceil(events / 1.5e6));
    const perWorker = events / buckets;
    const workerSeconds = perWorker * secondsPerEvent;
    const lambdaGbSeconds = buckets * workerSeconds * WORKER_GB;
    // Two Distributed Maps of 16 Express children, plus the standard states (plan, 2 maps, split, train).
    const requests = 2 * buckets + 3;
    const lambda =
      lambdaGbSeconds * AWS_LIST_PRICES.lambda.gbSecond +
      (requests / 1e6) * AWS_LIST_PRICES.lambda.requestsPerMillion;
    const transitions = 10 + 2 * buckets * 2;
    const stepFunctions =
      (transitions / 1000) * STEP_FUNCTIONS.standardTransitionsPerThousand +
      ((2 * buckets) / 1e6) * STEP_FUNCTIONS.expressRequestsPerMillion;
    // Archive objects of ~1 MB gz each read twice (hour × bucket objects), plus run objects.
    const archiveObjects = Math.max(buckets, (events * gzBytesPerEvent) / 1e6);
    const s3 =
      ((2 * archiveObjects + 2 * buckets) / 1000) * AWS_LIST_PRICES.s3.getPerThousand +
      ((2 * buckets + 1) / 1000) * AWS_LIST_PRICES.s3.putPerThousand;
    const total = lambda + stepFunctions + s3;
    lines.push(
      `| ${events.toLocaleString('en-US')} | ${buckets} | ${perWorker.toLocaleString('en-US')} | ` +
        `${(workerSeconds / 60).toFixed(1)} | ${lambda.toFixed(3)} | ${stepFunctions.toFixed(4)} | ${s3.toFixed(4)} | ${total.toFixed(3)} |`,
    );
  }
  return lines.join('\n');
}

void main();
