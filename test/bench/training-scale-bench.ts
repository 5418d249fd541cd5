/**
 * Training-set build at scale, in process, partition by partition: `--events N` synthetic events
 * (default 1,000,000) generated a chunk of `--users-per-chunk` people at a time (ids made unique per
 * chunk) and laid out as the archive lays them out: each event in the profile-hash bucket of its
 * profile id (`profileBucketOf`, `--partitions` buckets), gzipped NDJSON in a temporary directory. An
 * anonymous profile therefore sits in another bucket than the user who identifies it, so the build's
 * shuffle ships it. Then `buildPartitionedTrainingSet` reads the buckets back in turn (links, shuffle,
 * candidates, rows) with the stack's row sample. Prints the time per million events, the peak RSS
 * (`maxRSS` of the process) and a capacity table for the distributed workflow priced from those
 * measurements.
 *
 *   npx tsx test/bench/training-scale-bench.ts --events 10000000
 */
import './bench-env';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Command } from 'commander';
import { profileBucketOf } from '../../shared/archive/profile-bucket';
import { type ContractEvent, profileIdOf, validateEvent } from '../../shared/contract/event-contract';
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
  .option('--users-per-chunk <n>', 'people generated at a time', (v) => Number(v), 10_000)
  .option('--partitions <n>', 'profile-hash buckets', (v) => Number(v), 16)
  .option('--days <n>', 'simulated days', (v) => Number(v), 7)
  .parse()
  .opts<{ events: number; usersPerChunk: number; partitions: number; days: number }>();

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'training-scale-'));
  try {
    const started = performance.now();
    // Generate chunk by chunk; only one chunk's events are ever held. Each bucket: one file per chunk.
    const files: string[][] = Array.from({ length: options.partitions }, () => []);
    let events = 0;
    for (let c = 0; events < options.events; c++) {
      const workload = generateWorkload({ users: options.usersPerChunk, days: options.days, seed: 1000 + c });
      const buckets = files.map((): ContractEvent[] => []);
      for (const raw of workload.events) {
        if (events >= options.events) break;
        const event = validateEvent(raw, workload.endMs).event;
        event.eventId = `c${c}-${event.eventId}`;
        if (event.userId !== undefined) event.userId = `c${c}-${event.userId}`;
        buckets[profileBucketOf(profileIdOf(event), options.partitions)]!.push(event);
        events++;
      }
      buckets.forEach((part, b) => {
        if (part.length === 0) return;
        const file = path.join(dir, `${b}-${c}.ndjson.gz`);
        writeFileSync(file, gzipSync(part.map((e) => JSON.stringify(e)).join('\n')));
        files[b]!.push(file);
      });
    }
    const generatedMs = performance.now() - started;

    let bytesRead = 0;
    let reads = 0;
    const cpuAtBuild = process.cpuUsage();
    const source = {
      partitions: async () => files.map((_, p) => p),
      readPartition: async (p: number) => {
        const events: ContractEvent[] = [];
        for (const file of files[p]!) {
          const bytes = readFileSync(file);
          bytesRead += bytes.length;
          for (const line of gunzipSync(bytes).toString('utf8').split('\n')) {
            events.push(JSON.parse(line) as ContractEvent);
          }
        }
        // Progress on stderr (reads come pass by pass: links, shuffle, candidates, rows).
        reads++;
        const cpu = process.cpuUsage(cpuAtBuild);
        console.error(
          `${new Date().toISOString()} read ${reads}/${4 * options.partitions} (bucket ${p}, ${events.length} events): ` +
            `cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB, peak ${rss()} MB`,
        );
        return events;
      },
    };
    const buildStart = performance.now();
    const { trainingSet, sample, shippedEvents } = await buildPartitionedTrainingSet(
      source,
      { labelHorizonMs: 24 * HOUR_MS },
      { maxRows: DISTRIBUTED_TRAINING_MAX_ROWS },
    );
    const buildMs = performance.now() - buildStart;
    const buildCpu = process.cpuUsage(cpuAtBuild);
    const buildCpuSeconds = (buildCpu.user + buildCpu.system) / 1e6;
    const millions = events / 1e6;
    const result = {
      events,
      partitions: files.length,
      archiveBytesGzipped: bytesRead / 4,
      generateSeconds: +(generatedMs / 1000).toFixed(1),
      buildSeconds: +(buildMs / 1000).toFixed(1),
      buildSecondsPerMillionEvents: +(buildMs / 1000 / millions).toFixed(1),
      // The machine is shared: CPU seconds are the figure to compare and to price workers by.
      buildCpuSeconds: +buildCpuSeconds.toFixed(1),
      buildCpuSecondsPerMillionEvents: +(buildCpuSeconds / millions).toFixed(1),
      peakRssMb: rss(),
      rows: trainingSet.rows,
      rowsBeforeSample: sample?.rowsBefore,
      sampleRate: sample?.rate,
      people: trainingSet.stats.profiles,
      mergedProfiles: trainingSet.stats.mergedProfiles,
      shippedEvents,
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(capacityTable(buildCpuSeconds / events, bytesRead / 4 / events));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Events per run → workers, minutes, dollars, from the build's CPU seconds per event measured here
 * (the four passes over each bucket; a Lambda worker has a core of its own, so its wall time is about
 * its CPU time) and 16 profile-hash buckets.
 */
function capacityTable(secondsPerEvent: number, gzBytesPerEvent: number): string {
  const lines = [
    '| events per run | workers (buckets) | events per worker | worker minutes, 4 passes (wall) | Lambda $ | Step Functions $ | S3 $ | total $ |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const events of [1e6, 1e7, 3e7, 1e8]) {
    // A worker holds its partition's events (~1.4 KB each): 3008 MB holds about 1.5 million, so past
    // 24 million events a run needs more buckets than the layout's 16 (`ARCHIVE_PROFILE_BUCKETS`).
    const buckets = Math.max(16, Math.ceil(events / 1.5e6));
    const perWorker = events / buckets;
    const workerSeconds = perWorker * secondsPerEvent;
    const lambdaGbSeconds = buckets * workerSeconds * WORKER_GB;
    // Four Distributed Maps of one Express child each per bucket, plus plan, aliases, split, train.
    const requests = 4 * buckets + 4;
    const lambda =
      lambdaGbSeconds * AWS_LIST_PRICES.lambda.gbSecond.x86_64 +
      (requests / 1e6) * AWS_LIST_PRICES.lambda.requestsPerMillion;
    const transitions = 16 + 4 * buckets * 2;
    const stepFunctions =
      (transitions / 1000) * STEP_FUNCTIONS.standardTransitionsPerThousand +
      ((4 * buckets) / 1e6) * STEP_FUNCTIONS.expressRequestsPerMillion;
    // Archive objects of ~1 MB gz each read four times (hour × bucket objects); run objects: links,
    // foreign (at most one per bucket pair), candidates and rows written and read.
    const archiveObjects = Math.max(buckets, (events * gzBytesPerEvent) / 1e6);
    const runObjects = 3 * buckets + buckets * buckets + 2;
    const s3 =
      ((4 * archiveObjects + runObjects) / 1000) * AWS_LIST_PRICES.s3.getPerThousand +
      (runObjects / 1000) * AWS_LIST_PRICES.s3.putPerThousand;
    const total = lambda + stepFunctions + s3;
    lines.push(
      `| ${events.toLocaleString('en-US')} | ${buckets} | ${Math.round(perWorker).toLocaleString('en-US')} | ` +
        `${(workerSeconds / 60).toFixed(1)} | ${lambda.toFixed(3)} | ${stepFunctions.toFixed(4)} | ${s3.toFixed(4)} | ${total.toFixed(3)} |`,
    );
  }
  return lines.join('\n');
}

void main();
