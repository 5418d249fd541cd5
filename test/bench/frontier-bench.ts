/**
 * `npm run bench:frontier`: the latency / cost frontier of the ingest consumer. Drives the local cloud
 * (emulators, the event source mapping emulator, the real ingest handler, as `npm start` runs them) at a
 * fixed input rate from an open-loop producer, and measures for each batching window × ingest batch
 * size (and enhanced fan-out) in one run:
 * - put → profile readable, p50 / p99, seen from a reader outside the pipeline: every `--probe-every`-th
 *   record is a probe, and the reader polls its profile (BatchGetItem, every `--read-poll-ms`) until the
 *   profile's high-water mark for the probe's shard reaches the probe's sequence number;
 * - DynamoDB writes (PutItem) per event, and Lambda invocations and handler milliseconds per event.
 *
 * Flow: start the pipeline once (archive consumer off, the bench model published) → per setting: a
 * fresh table and stream, the ingest mapping the template synthesized with that setting gives, the
 * same records at the same rate, wait for every probe → table and JSON report.
 *
 * Cadence: shards are polled at Lambda's rate (`LAMBDA_SHARED_POLL_INTERVAL_MS`, about once a second
 * while idle, again at once while records keep coming), not the local 200 ms; kinesalite adds no
 * propagation delay (AWS: ~200 ms shared, ~70 ms enhanced fan-out), so AWS latency is about the
 * local figure plus that.
 */
// Must stay the first import: it configures the telemetry the handler module creates when it loads.
import './bench-env';
import { BatchGetItemCommand, CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordsCommand, type PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { Command, InvalidArgumentError } from 'commander';
import path from 'node:path';
import { dynamoDbClient } from '../../functions/commons/aws-clients';
import { DynamoDbProfileStore } from '../../functions/commons/dynamodb-profile-store';
import { DEFAULT_STACK_PARAMETERS, type IngestFanOut } from '../../infra/cdk/stack-parameters';
import type { RawRecord } from '../../infra/client/put-records-plan';
import {
  LAMBDA_SHARED_POLL_INTERVAL_MS,
  type EventSourceMappingProgress,
} from '../../infra/local/event-source-mapping';
import { emulateMapping, startLocalPipeline, type LocalPipeline } from '../../infra/local/local-pipeline';
import { synthesizeTopology } from '../../infra/local/topology';
import { injectFaults } from '../../infra/workload/fault-injection';
import { generateWorkload } from '../../infra/workload/synthetic-workload';
import { profileIdOf } from '../../shared/contract/event-contract';
import { decodeProfileItem } from '../../shared/profile/profile-item-codec';
import { shardMarksOfStateBlob } from '../../shared/profile/profile-state-blob';
import { hasAppliedRecord } from '../../infra/client/applied-record';
import { benchModel, publishBenchModel } from './bench-model';
import { formatTable, machineInfo, percentile, writeJsonReport, type ResultRow } from './bench-report';
import { countRequests, stopCounting } from './request-counter';

const REPO_ROOT = path.resolve(__dirname, '../..');
/** Issue 11's targets at 1,000 events/s. */
export const FRONTIER_TARGETS = { p99Ms: 1000, writesPerEvent: 0.3 } as const;
/** Records per PutRecords call from the open-loop producer: one call per tick. */
const TICK_MS = 20;

/**
 * One point of the frontier: a batching window and batch size, read shared or with enhanced fan-out,
 * with a number of concurrent batches per shard.
 */
export interface FrontierSetting {
  windowSeconds: number;
  batchSize: number;
  fanOut: IngestFanOut;
  parallelizationFactor: number;
}

/** What one setting measured. */
export interface FrontierPoint extends FrontierSetting {
  records: number;
  sendSeconds: number;
  probes: number;
  /** Probes never seen within the wait (a miss, reported rather than dropped). */
  probesUnseen: number;
  /** How far the unseen probes got. */
  unseen: UnseenProbes;
  /** Probes seen on the user their anonymous profile was merged into. */
  probesSeenRedirected: number;
  /** Where the probes' time went. */
  stages: StageBreakdown[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  putItems: number;
  writesPerEvent: number;
  keysRead: number;
  invocations: number;
  invocationsPerEvent: number;
  /** Mean wall time of one handler invocation (the Lambda duration estimate). */
  handlerMsPerInvocation: number;
  /** CPU seconds of this process (emulators, mapping, handler, reader) over the setting. */
  processCpuSeconds: number;
}

const list = (label: string, parse: (s: string) => number) => (value: string) =>
  value.split(',').map((part) => {
    const n = parse(part.trim());
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${label}: ${part} is not a number ≥ 0`);
    return n;
  });
const positive = (label: string) => (value: string) => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError(`${label} must be a number > 0`);
  return n;
};

const program = new Command()
  .name('npm run bench:frontier --')
  .description('Latency and DynamoDB writes per event of the ingest consumer, per batching window.')
  .option('--rate <n>', 'events per second put by the open-loop producer', positive('--rate'), 1000)
  .option('--seconds <n>', 'seconds of input per setting', positive('--seconds'), 10)
  .option(
    '--windows <list>',
    'batching windows in whole seconds (Lambda takes no fractions)',
    list('--windows', Number),
    [0, 1, 2, 5],
  )
  .option(
    '--batch-sizes <list>',
    'ingest batch sizes, each measured with every window',
    list('--batch-sizes', Number),
    [DEFAULT_STACK_PARAMETERS.ingestBatchSize],
  )
  .option('--no-enhanced', 'skip the enhanced fan-out point (window 0, the first batch size)')
  .option('--no-shared', 'skip the shared-throughput points (measure enhanced fan-out only)')
  .option(
    '--parallelization <list>',
    'parallelization factors of the enhanced fan-out points, in this order (e.g. 1,4,1,4 alternates)',
    list('--parallelization', Number),
    [DEFAULT_STACK_PARAMETERS.ingestParallelizationFactor],
  )
  .option('--probe-every <n>', 'every n-th record is a latency probe', positive('--probe-every'), 10)
  .option(
    '--read-poll-ms <n>',
    'how often the reader polls the probes’ profiles',
    positive('--read-poll-ms'),
    25,
  );

interface FrontierOptions {
  rate: number;
  seconds: number;
  windows: number[];
  batchSizes: number[];
  enhanced: boolean;
  shared: boolean;
  parallelization: number[];
  probeEvery: number;
  readPollMs: number;
}

interface Probe {
  profileId: string;
  shardId: string;
  sequenceNumber: bigint;
  /** Lambda's `eventID` of the record: `<shardId>:<sequenceNumber>`. */
  eventId: string;
  putAt: number;
  /** The PutRecords call that carried it returned. */
  ackAt?: number;
  seenAt?: number;
  /** Seen through a redirect: the probe's anonymous profile was merged into a user by then. */
  seenRedirected?: boolean;
}

/**
 * When each record reached each stage of the pipeline (performance.now()): the shard read that returned
 * it, the invocation that carried it first, and that invocation's return (its profile writes done).
 */
class StageClock {
  private readonly reads = new Map<string, { at: number; last: bigint }[]>();
  readonly invokedAt = new Map<string, number>();
  readonly returnedAt = new Map<string, number>();

  onProgress(progress: EventSourceMappingProgress): void {
    if (progress.type !== 'records-read') return;
    const reads = this.reads.get(progress.shardId) ?? [];
    reads.push({ at: performance.now(), last: BigInt(progress.lastSequenceNumber) });
    this.reads.set(progress.shardId, reads);
  }

  async timeInvocation<T>(event: KinesisStreamEvent, invoke: () => Promise<T>): Promise<T> {
    const started = performance.now();
    for (const record of event.Records) {
      if (!this.invokedAt.has(record.eventID)) this.invokedAt.set(record.eventID, started);
    }
    try {
      return await invoke();
    } finally {
      const returned = performance.now();
      for (const record of event.Records) {
        if (!this.returnedAt.has(record.eventID)) this.returnedAt.set(record.eventID, returned);
      }
    }
  }

  /** When the first read of the probe's shard that reached its sequence number returned. */
  readAt(probe: Probe): number | undefined {
    return this.reads.get(probe.shardId)?.find((read) => read.last >= probe.sequenceNumber)?.at;
  }
}

/** The stages a probe's latency is split into, in pipeline order. */
const STAGES = [
  'put → acknowledged',
  'acknowledged → read',
  'read → invoked',
  'invoked → written',
  'written → seen',
] as const;
type Stage = (typeof STAGES)[number];

/** Each stage's duration for a seen probe whose every stage was observed. */
function stageDurations(probe: Probe, clock: StageClock): Record<Stage, number> | undefined {
  const readAt = clock.readAt(probe);
  const invokedAt = clock.invokedAt.get(probe.eventId);
  const returnedAt = clock.returnedAt.get(probe.eventId);
  const { ackAt, seenAt, putAt } = probe;
  if ([readAt, invokedAt, returnedAt, ackAt, seenAt].some((t) => t === undefined)) return undefined;
  // A record can be read before its PutRecords response is parsed (the emulators share this process).
  const acknowledged = Math.min(ackAt!, readAt!);
  return {
    'put → acknowledged': acknowledged - putAt,
    'acknowledged → read': readAt! - acknowledged,
    'read → invoked': invokedAt! - readAt!,
    'invoked → written': returnedAt! - invokedAt!,
    'written → seen': seenAt! - returnedAt!,
  };
}

/** Where a probe's time went: p50 / p99 of each stage, and its mean share over the slowest 1 % of probes. */
export interface StageBreakdown {
  stage: Stage;
  p50Ms: number;
  p99Ms: number;
  /** Mean of this stage over the probes at or above the p99 latency. */
  slowestMeanMs: number;
}

function stageBreakdown(probes: readonly Probe[], clock: StageClock, p99Ms: number): StageBreakdown[] {
  const timed = probes.flatMap((probe) => {
    const stages = stageDurations(probe, clock);
    return stages === undefined ? [] : [{ total: probe.seenAt! - probe.putAt, stages }];
  });
  const slowest = timed.filter((t) => t.total >= p99Ms);
  return STAGES.map((stage) => ({
    stage,
    p50Ms: percentile(
      timed.map((t) => t.stages[stage]),
      50,
    ),
    p99Ms: percentile(
      timed.map((t) => t.stages[stage]),
      99,
    ),
    slowestMeanMs: slowest.reduce((sum, t) => sum + t.stages[stage], 0) / Math.max(1, slowest.length),
  }));
}

/** Why probes were not seen: how far each got (a miss is reported, never dropped). */
export interface UnseenProbes {
  /** Not read from the shard when the run ended. */
  notRead: number;
  /** Read, never invoked. */
  notInvoked: number;
  /** In an invocation that had not returned. */
  notWritten: number;
  /** Written by an invocation that returned, but the reader's condition never held. */
  written: number;
}

function unseenProbes(probes: readonly Probe[], clock: StageClock): UnseenProbes {
  const unseen = probes.filter((p) => p.seenAt === undefined);
  const counts: UnseenProbes = { notRead: 0, notInvoked: 0, notWritten: 0, written: 0 };
  for (const probe of unseen) {
    if (clock.returnedAt.has(probe.eventId)) counts.written += 1;
    else if (clock.invokedAt.has(probe.eventId)) counts.notWritten += 1;
    else if (clock.readAt(probe) !== undefined) counts.notInvoked += 1;
    else counts.notRead += 1;
  }
  return counts;
}

const cpuSeconds = ({ user, system }: NodeJS.CpuUsage) => (user + system) / 1e6;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh, empty profiles table under the name the handler was configured with. */
async function recreateTable(pipeline: LocalPipeline): Promise<void> {
  const { dynamodb } = pipeline.cloud.clients;
  await dynamodb.send(new DeleteTableCommand({ TableName: pipeline.tableName }));
  const { table } = pipeline.topology;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: pipeline.tableName,
      KeySchema: table.keySchema,
      AttributeDefinitions: table.attributeDefinitions,
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/**
 * Puts `records` at `rate` per second, one PutRecords call per tick, without waiting for earlier calls
 * (open loop: a slow pipeline does not slow the input down); every `probeEvery`-th record becomes a probe.
 */
async function produceOpenLoop(
  pipeline: LocalPipeline,
  streamName: string,
  records: readonly RawRecord[],
  rate: number,
  probeEvery: number,
  probes: Probe[],
): Promise<number> {
  const { kinesis } = pipeline.cloud.clients;
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const started = performance.now();
  const calls: Promise<void>[] = [];
  for (let offset = 0, tick = 0; offset < records.length; offset += perTick, tick++) {
    const due = started + (tick * perTick * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const slice = records.slice(offset, offset + perTick);
    const putAt = performance.now();
    calls.push(
      kinesis
        .send(
          new PutRecordsCommand({
            StreamName: streamName,
            Records: slice.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })),
          }),
        )
        .then(({ Records: results = [] }) => {
          const ackAt = performance.now();
          results.forEach((result: PutRecordsResultEntry, i) => {
            if ((offset + i) % probeEvery !== 0) return;
            if (result.SequenceNumber === undefined || result.ShardId === undefined) return;
            const event = JSON.parse(Buffer.from(slice[i]!.data).toString('utf8')) as {
              userId?: string;
              anonymousId?: string;
            };
            probes.push({
              profileId: profileIdOf(event),
              shardId: result.ShardId,
              sequenceNumber: BigInt(result.SequenceNumber),
              eventId: `${result.ShardId}:${result.SequenceNumber}`,
              putAt,
              ackAt,
            });
          });
        }),
    );
  }
  await Promise.all(calls);
  return (performance.now() - started) / 1000;
}

/**
 * The reader outside the pipeline: polls every unseen probe's profile until it holds the probe. The
 * profile's own mark for the probe's shard covers it, or, when the probe's anonymous profile was
 * merged into a user meanwhile (a redirect: its later records land on the user, under the marks the
 * user's `merges` entry continues for it), that entry's mark does (`hasAppliedRecord`).
 */
function startReader(pipeline: LocalPipeline, probes: Probe[], pollMs: number) {
  const { dynamodb } = pipeline.cloud.clients;
  const store = new DynamoDbProfileStore(dynamodb, pipeline.tableName);
  let running = true;
  const loop = (async () => {
    while (running) {
      const unseen = probes.filter((p) => p.seenAt === undefined);
      const ids = [...new Set(unseen.map((p) => p.profileId))];
      const redirected: Probe[] = [];
      for (let i = 0; i < ids.length; i += 100) {
        const { Responses } = await dynamodb.send(
          new BatchGetItemCommand({
            RequestItems: {
              [pipeline.tableName]: {
                Keys: ids.slice(i, i + 100).map((id) => ({ profileId: { S: id } })),
                // `state` is a reserved word in expressions.
                ProjectionExpression: 'profileId, #state, mergedInto',
                ExpressionAttributeNames: { '#state': 'state' },
              },
            },
          }),
        );
        const readAt = performance.now();
        const items = new Map(
          (Responses?.[pipeline.tableName] ?? []).map((item) => [
            item.profileId?.S,
            {
              marks: item.state?.B === undefined ? [] : shardMarksOfStateBlob(item.state.B),
              redirect: item.mergedInto?.S !== undefined,
            },
          ]),
        );
        for (const probe of unseen) {
          const item = items.get(probe.profileId);
          if (item === undefined) continue;
          const mark = item.marks.find((m) => m.shardId === probe.shardId)?.sequenceNumber;
          if (mark !== undefined && BigInt(mark) >= probe.sequenceNumber) probe.seenAt = readAt;
          else if (item.redirect) redirected.push(probe);
        }
      }
      // Rare (a merged anonymous id's later records): read both whole items and decode them.
      if (redirected.length > 0) {
        const stored = await store.getMany([...new Set(redirected.map((p) => p.profileId))]);
        const states = new Map([...stored].map(([id, item]) => [id, decodeProfileItem(item).state]));
        const targets = await store.getMany([
          ...new Set([...states.values()].flatMap((s) => (s.redirect ? [s.redirect.into] : []))),
        ]);
        const readAt = performance.now();
        for (const probe of redirected) {
          const state = states.get(probe.profileId);
          const into = state?.redirect && targets.get(state.redirect.into);
          const target = into === undefined ? undefined : decodeProfileItem(into).state;
          if (hasAppliedRecord(probe.profileId, state, target, probe.shardId, String(probe.sequenceNumber))) {
            probe.seenAt = readAt;
            probe.seenRedirected = true;
          }
        }
      }
      await sleep(pollMs);
    }
  })();
  return {
    allSeen: () => probes.every((p) => p.seenAt !== undefined),
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** One setting: fresh table and stream, the template's ingest mapping for it, the records at the rate. */
async function measureSetting(
  pipeline: LocalPipeline,
  setting: FrontierSetting,
  records: readonly RawRecord[],
  options: FrontierOptions,
  label: string,
): Promise<FrontierPoint> {
  const topology = synthesizeTopology({
    ingestBatchingWindowSeconds: setting.windowSeconds,
    ingestBatchSize: setting.batchSize,
    ingestFanOut: setting.fanOut,
    ingestParallelizationFactor: setting.parallelizationFactor,
  });
  const esm = topology.eventSourceMappings.find((m) => m.functionName === 'ingest');
  if (esm === undefined) throw new Error('the template has no ingest event source mapping');
  await recreateTable(pipeline);
  const streamName = `frontier-${label}`;
  const streamArn = await pipeline.cloud.createStream(streamName, topology.stream.shardCount);
  const timing = { invocations: 0, handlerMs: 0 };
  const clock = new StageClock();
  const mapping = emulateMapping(
    esm,
    { cloud: pipeline.cloud, streamName, streamArn },
    async (event) => {
      const started = performance.now();
      try {
        return await clock.timeInvocation(event, () => pipeline.invoke('ingest', event));
      } finally {
        timing.invocations += 1;
        timing.handlerMs += performance.now() - started;
      }
    },
    { pollIntervalMs: LAMBDA_SHARED_POLL_INTERVAL_MS, maxBatchingWindowSeconds: 300 },
  );
  mapping.subscribe((progress) => clock.onProgress(progress));
  const cpuBefore = process.cpuUsage();
  const dynamodb = countRequests(dynamoDbClient());
  await mapping.start();
  const probes: Probe[] = [];
  const reader = startReader(pipeline, probes, options.readPollMs);
  try {
    const sendSeconds = await produceOpenLoop(
      pipeline,
      streamName,
      records,
      options.rate,
      options.probeEvery,
      probes,
    );
    const deadline = performance.now() + (setting.windowSeconds + 20) * 1000;
    while (!reader.allSeen() && performance.now() < deadline) await sleep(50);
    await mapping.waitUntilCaughtUp({ timeoutMs: 60_000 });
    const latencies = probes.flatMap((p) => (p.seenAt === undefined ? [] : [p.seenAt - p.putAt]));
    const p99Ms = percentile(latencies, 99);
    const putItems = dynamodb.byCommand.PutItemCommand ?? 0;
    return {
      ...setting,
      records: records.length,
      sendSeconds,
      probes: probes.length,
      probesUnseen: probes.length - latencies.length,
      unseen: unseenProbes(probes, clock),
      probesSeenRedirected: probes.filter((p) => p.seenRedirected).length,
      stages: stageBreakdown(probes, clock, p99Ms),
      p50Ms: percentile(latencies, 50),
      p99Ms,
      maxMs: Math.max(...latencies),
      putItems,
      writesPerEvent: putItems / records.length,
      keysRead: dynamodb.keysRead,
      invocations: timing.invocations,
      invocationsPerEvent: timing.invocations / records.length,
      handlerMsPerInvocation: timing.handlerMs / Math.max(1, timing.invocations),
      processCpuSeconds: cpuSeconds(process.cpuUsage(cpuBefore)),
    };
  } finally {
    await reader.stop();
    await mapping.stop();
    stopCounting(dynamoDbClient());
  }
}

/** The stage breakdown and the unseen probes of one point, as printed after it. */
function formatStages(point: FrontierPoint): string {
  const ms = (x: number) => `${Math.round(x)}`.padStart(6);
  const lines = point.stages.map(
    (s) =>
      `    ${s.stage.padEnd(22)} p50 ${ms(s.p50Ms)} ms  p99 ${ms(s.p99Ms)} ms  slowest 1 % mean ${ms(s.slowestMeanMs)} ms`,
  );
  const { notRead, notInvoked, notWritten, written } = point.unseen;
  lines.push(
    `    probes seen through a merge redirect: ${point.probesSeenRedirected}; unseen ${point.probesUnseen} ` +
      `(not read ${notRead}, read not invoked ${notInvoked}, invoked not returned ${notWritten}, written ${written})`,
  );
  return lines.join('\n');
}

function settingName({ windowSeconds, batchSize, fanOut, parallelizationFactor }: FrontierSetting): string {
  return (
    `window ${windowSeconds} s, batch ${batchSize}${fanOut === 'enhanced' ? ', enhanced fan-out' : ''}` +
    (parallelizationFactor > 1 ? `, ${parallelizationFactor} batches per shard` : '')
  );
}

function pointRows(point: FrontierPoint, rate: number): ResultRow[] {
  const section = settingName(point);
  const atTargetRate = rate === 1000;
  const ms = (x: number) => `${Math.round(x)} ms`;
  return [
    {
      section,
      metric: 'put → readable p99',
      value: point.p99Ms,
      unit: 'ms',
      ...(atTargetRate ? { target: { comparison: '<=' as const, value: FRONTIER_TARGETS.p99Ms } } : {}),
      note: `p50 ${ms(point.p50Ms)}, max ${ms(point.maxMs)}; ${point.probes} probes (${point.probesSeenRedirected} through a merge redirect)${point.probesUnseen > 0 ? `, ${point.probesUnseen} NOT SEEN` : ''}`,
    },
    {
      section,
      metric: 'DynamoDB writes per event',
      value: point.writesPerEvent,
      unit: 'writes/event',
      ...(atTargetRate
        ? { target: { comparison: '<=' as const, value: FRONTIER_TARGETS.writesPerEvent } }
        : {}),
      note: `${point.putItems} PutItem for ${point.records} records; ${point.invocations} invocations (${(point.records / Math.max(1, point.invocations)).toFixed(1)} records each, ${point.handlerMsPerInvocation.toFixed(1)} ms each)`,
    },
  ];
}

async function main(): Promise<void> {
  const options = program.parse().opts<FrontierOptions>();
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const machine = machineInfo();
  console.log(
    `machine: ${machine.cpuModel}, ${machine.cores} cores, load average (1 min) ${machine.loadAverage1m}`,
  );
  const workload = generateWorkload({ seed: 42, users: 3000, days: 7 });
  const { records } = injectFaults(workload.events, {
    nowMs: Date.now(),
    seed: 42,
    duplicateRate: 0,
    reorderRate: 0,
    malformedRate: 0,
  });
  const perSetting = records.slice(0, Math.round(options.rate * options.seconds));
  const warmUp = records.slice(0, Math.min(records.length, Math.round(options.rate * 2)));
  const settings: FrontierSetting[] = [
    ...(options.shared
      ? options.batchSizes.flatMap((batchSize) =>
          options.windows.map((windowSeconds) => ({
            windowSeconds,
            batchSize,
            fanOut: 'shared' as const,
            parallelizationFactor: DEFAULT_STACK_PARAMETERS.ingestParallelizationFactor,
          })),
        )
      : []),
    ...(options.enhanced
      ? options.parallelization.map((parallelizationFactor) => ({
          windowSeconds: 0,
          batchSize: options.batchSizes[0]!,
          fanOut: 'enhanced' as const,
          parallelizationFactor,
        }))
      : []),
  ];

  const pipeline = await startLocalPipeline({
    withArchive: false,
    environment: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      MODEL_POLL_SECONDS: '1',
    },
  });
  const points: FrontierPoint[] = [];
  try {
    // The template's own mapping is replaced by one per setting; stop it before anything is put.
    await Promise.all([...pipeline.mappings.values()].map((m) => m.stop()));
    await publishBenchModel(pipeline.cloud.clients.s3, pipeline.buckets.models!, benchModel());
    console.log(
      `[${elapsed()}] ${perSetting.length} records per setting at ${options.rate}/s, ` +
        `${pipeline.topology.stream.shardCount} shards; warm-up…`,
    );
    // Untimed: loads the model and warms the code paths so the first setting is not penalised.
    await measureSetting(
      pipeline,
      {
        windowSeconds: 0,
        batchSize: options.batchSizes[0]!,
        fanOut: 'shared',
        parallelizationFactor: DEFAULT_STACK_PARAMETERS.ingestParallelizationFactor,
      },
      warmUp,
      options,
      'warm-up',
    );
    for (const [index, setting] of settings.entries()) {
      const point = await measureSetting(pipeline, setting, perSetting, options, String(index));
      points.push(point);
      console.log(
        `[${elapsed()}] ${settingName(setting)}: p50 ${Math.round(point.p50Ms)} ms, p99 ${Math.round(point.p99Ms)} ms, ` +
          `${point.writesPerEvent.toFixed(3)} writes/event (sent in ${point.sendSeconds.toFixed(1)} s, ` +
          `${point.processCpuSeconds.toFixed(1)} CPU-s, load ${machineInfo().loadAverage1m})`,
      );
      console.log(formatStages(point));
    }
  } finally {
    await pipeline.stop();
  }

  const rows = points.flatMap((point) => pointRows(point, options.rate));
  console.log(`\n${formatTable(rows)}\n`);
  const report = {
    kind: 'frontier',
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    machine,
    loadAverage1mAtEnd: machineInfo().loadAverage1m,
    options,
    targets: FRONTIER_TARGETS,
    points,
  };
  console.log(`load average (1 min) at the end: ${report.loadAverage1mAtEnd}; total ${elapsed()}`);
  console.log(`report: ${path.relative(REPO_ROOT, writeJsonReport(REPO_ROOT, report))}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
