/**
 * The cost table `npm run bench` prints: the usage part 2 measured on the full default workload,
 * priced with the settings of the synthesized stack (one source of truth: shards, batch sizes and
 * windows, memory, architecture, training rate all come from the templates) at the default
 * workload's own rate, at three scale points, and at 1,000 events/s on a clean stream. The operating
 * assumptions that no bench measures are named here, each with its reason.
 */
import { gzipSync } from 'node:zlib';
import { synthesizeTopology, type LocalTopology, type TopologyFunction } from '../../infra/local/topology';
import { ARCHIVE_PROFILE_BUCKETS } from '../../shared/archive/profile-bucket';
import { AWS_LIST_PRICES } from './aws-list-prices';
import {
  costPerMillionEvents,
  formatCostTable,
  quarantinePutsPerEvent,
  type CostBreakdown,
  type Deployment,
  type MeasuredUsage,
} from './cost-model';
import type { RawRecord } from '../../infra/client/put-records-plan';
import type { StackRun } from './stack-bench';
import type { ResultRow } from './bench-report';
import type { ComputeBenchResult } from './compute-bench';

/** Input rates the table is priced at, events per second. */
export const COST_SCALE_POINTS = [100, 1000, 10_000] as const;
/** Issue 11's target at 1,000 events/s. */
export const COST_TARGET_DOLLARS_PER_MILLION = 0.15;
/**
 * Malformed share of the clean-stream column: a producer that validates against the published
 * contract (`npm run schemas`) refuses little; 1 in 10,000 is an assumption, not a measurement. The
 * default workload injects 1 % on purpose (fault tests), which makes most batches write an object.
 */
export const CLEAN_STREAM_MALFORMED_SHARE = 0.0001;

/**
 * Assumed in-region service latencies (not measurable locally): a DynamoDB request ~5 ms (single-digit
 * ms, the service's published figure), the profile writes of a batch go out concurrently (~10 ms for
 * the wave), an S3 PUT ~30 ms.
 */
const DYNAMODB_REQUEST_MS = 5;
const PUT_WAVE_MS = 10;
const S3_PUT_MS = 30;

/** How the ingest duration was estimated, for the printed table. */
export type DurationSource = 'cpu' | 'wall';

/**
 * What the full-workload pass of part 2 measured, per event. The ingest duration comes from part 1's
 * CPU time per record (load-insensitive; plus the DynamoDB adapter's marshalling) and the requests
 * part 2 counted per invocation at the assumed service latencies; without part 1, from part 2's
 * wall time (inflated by whatever else runs on the machine).
 */
export function measuredUsage(
  full: StackRun,
  records: readonly RawRecord[],
  malformedRecords: number,
  batches: number,
  shards: number,
  compute: ComputeBenchResult | undefined,
): { usage: MeasuredUsage; durationSource: DurationSource } {
  const bytes = records.reduce((sum, r) => sum + r.data.byteLength, 0);
  const base = {
    recordBytes: bytes / records.length,
    dynamodbWritesPerEvent: (full.dynamodb.byCommand.PutItemCommand ?? 0) / full.records,
    dynamodbReadUnitsPerEvent: full.dynamodb.readUnits / full.records,
    malformedShare: malformedRecords / full.records,
  };
  if (compute === undefined) {
    // Shards ran concurrently, one batch each at a time: wall time × shards ≈ the sum of invocations.
    // Taken as is for every invocation (as measured at the bench's batch size).
    const waitMsPerInvocation = (full.wallMs * shards) / batches;
    return {
      usage: { ...base, ingestDuration: { waitMsPerInvocation, cpuMsPerRecord: 0 } },
      durationSource: 'wall',
    };
  }
  const adapterMsPerThousand = compute.stages
    .filter((stage) => stage.stage.startsWith('DynamoDB adapter'))
    .reduce((sum, stage) => sum + stage.msPerThousandRecords, 0);
  const cpuMsPerRecord = 1000 / compute.production.eventsPerCpuSecond + adapterMsPerThousand / 1000;
  const batchGets = (full.dynamodb.byCommand.BatchGetItemCommand ?? 0) / batches;
  const quarantinePuts = full.s3.total / batches;
  const waitMsPerInvocation = batchGets * DYNAMODB_REQUEST_MS + PUT_WAVE_MS + quarantinePuts * S3_PUT_MS;
  return {
    usage: { ...base, ingestDuration: { waitMsPerInvocation, cpuMsPerRecord } },
    durationSource: 'cpu',
  };
}

/** gzip NDJSON bytes per event, as the archive stores them (compressed here in one piece). */
export function archivedBytesPerEvent(records: readonly RawRecord[]): number {
  const ndjson = Buffer.concat(records.flatMap((r) => [Buffer.from(r.data), Buffer.from('\n')]));
  return gzipSync(ndjson).byteLength / records.length;
}

function functionOf(topology: LocalTopology, name: TopologyFunction['name']): TopologyFunction {
  const fn = topology.functions.find((f) => f.name === name);
  if (fn === undefined) throw new Error(`the template has no ${name} function`);
  return fn;
}

function mappingOf(topology: LocalTopology, name: 'ingest' | 'archive') {
  const mapping = topology.eventSourceMappings.find((m) => m.functionName === name);
  if (mapping === undefined) throw new Error(`the template has no ${name} event source mapping`);
  return {
    batchSize: mapping.batchSize,
    windowSeconds: mapping.maximumBatchingWindowInSeconds,
    fanOut: mapping.fanOut,
  };
}

/**
 * The largest archive window the single train function holds (README, "Distributed training": ~1.4 KB
 * per event in 3,008 MB); a rate whose week holds more needs the distributed engine.
 */
export const FUNCTION_ENGINE_MAX_EVENTS = 1.5e6;

/**
 * Training time, read from the README's measurements (not measured by this bench): the partitioned
 * build took 33.9 CPU-s per million events (README, "Distributed training": 10 million events, commit
 * `e5a7185`, a quiet machine, wall 32.5 s per million: a worker has a core of its own, so Lambda bills
 * about its CPU time); the single function 63 s per million all in (README, training table: 421,988
 * events read, built and trained in ~26.6 s). The distributed training step is bounded by its
 * function's 15 minutes (the row sample caps it at 500k rows), priced at that bound.
 */
export const TRAINING_TIME = {
  distributedBuildSecondsPerMillionEvents: 33.9,
  distributedTrainStepSecondsPerRun: 900,
  functionSecondsPerMillionEvents: 63,
} as const;

/** What the deployment needs from the measured usage besides the template. */
export interface UsageInputs {
  /** gzip NDJSON bytes per archived event. */
  storedBytesPerEvent: number;
  /**
   * Tombstone keys the archive consumer reads per event (one per distinct profile of its batch). Not
   * measured (the bench runs ingest only): ingest's profiles per event in its batches of 100 stand in,
   * an upper bound, since the archive's batches of 1,000 hold fewer distinct profiles per event.
   */
  archiveTombstoneReadsPerEvent: number;
}

/**
 * The synthesized stack's deployment at `eventsPerSecond`, with the assumptions no benchmark
 * measures. `topology` is the template's wiring (`synthesizeTopology()` for the defaults).
 */
export function stackDeployment(
  topology: LocalTopology,
  eventsPerSecond: number,
  inputs: UsageInputs,
): Deployment {
  const ingest = mappingOf(topology, 'ingest');
  const archive = mappingOf(topology, 'archive');
  const fn = (name: TopologyFunction['name']) => {
    const { memoryMb, architecture } = functionOf(topology, name);
    return { memoryMb, architecture };
  };
  const trainingRateSeconds = topology.schedule?.rateSeconds;
  if (trainingRateSeconds === undefined) throw new Error('the template has no training schedule');
  const rescoreRate = Number(functionOf(topology, 'rescore').environment.RESCORE_MAX_WRITES_PER_SECOND);
  if (!(rescoreRate > 0)) throw new Error('the rescore function has no RESCORE_MAX_WRITES_PER_SECOND');
  const { billing } = topology.table;
  const trainingWindowDays = 7;
  const distributed = eventsPerSecond * trainingWindowDays * 86_400 > FUNCTION_ENGINE_MAX_EVENTS;
  return {
    eventsPerSecond,
    // Assumed: a retail day, from almost nothing at night to twice the mean in the afternoon.
    diurnalPeakToMean: 2,
    dynamodb:
      billing.mode === 'on-demand'
        ? { mode: 'on-demand' }
        : {
            mode: 'provisioned',
            // One target for both (the stack parameter sets both policies).
            targetUtilisation: billing.write.targetUtilisationPercent / 100,
            minWriteCapacity: billing.write.min,
            minReadCapacity: billing.read.min,
          },
    minShards: topology.stream.shardCount,
    // Provisioned shards kept at ≤ 80 % of their write limits, for bursts.
    shardUtilisation: 0.8,
    fanOut: ingest.fanOut,
    ingest: { ...fn('ingest'), batchSize: ingest.batchSize, windowSeconds: ingest.windowSeconds },
    archive: {
      ...fn('archive'),
      batchSize: archive.batchSize,
      windowSeconds: archive.windowSeconds,
      // Assumed (not benchmarked): decode, gzip and the PUTs, 400 ms per 1,000 records.
      msPerInvocation: (400 * archive.batchSize) / 1000,
      storedBytesPerEvent: inputs.storedBytesPerEvent,
      // The archive's expiry, all of it priced as S3 Standard (it moves to IA after 30 days): an upper bound.
      retentionDays: 400,
      profileBuckets: ARCHIVE_PROFILE_BUCKETS,
      tombstoneReadsPerEvent: inputs.archiveTombstoneReadsPerEvent,
    },
    // Assumed: START/END/REPORT lines (~350 B), one Powertools line per batch (~500 B), one EMF blob
    // (~1.5 KB); log groups keep a month.
    logs: { bytesPerInvocation: 2400, retentionDays: 30 },
    // About 40 metric series (metrics × service and quarantine reasons) and the stack's 12 alarms.
    monitoring: { metricSeries: 40, alarms: 12 },
    training: {
      runsPerMonth: (30 * 86_400) / trainingRateSeconds,
      // Assumed: each run reads a week of archive.
      windowDays: trainingWindowDays,
      // The engine the rate needs (`-c trainingEngine`): the single function cannot hold a week past
      // ~2.5 events/s; the distributed workers read every archive object in each of their four passes.
      ...(distributed
        ? {
            ...fn('build-rows'),
            secondsPerMillionEvents: TRAINING_TIME.distributedBuildSecondsPerMillionEvents,
            secondsPerRun: TRAINING_TIME.distributedTrainStepSecondsPerRun,
            archivePasses: 4,
          }
        : {
            ...fn('train'),
            secondsPerMillionEvents: TRAINING_TIME.functionSecondsPerMillionEvents,
            secondsPerRun: 0,
            archivePasses: 1,
          }),
    },
    rescoring: {
      // Assumed: a promoted model once a week (a run promotes only when it beats the champion).
      promotionsPerMonth: 4,
      // The rescorer rewrites every stale profile (no score-change threshold yet).
      rescoredShare: 1,
      // Default workload: 3,336 profiles for 42,500 events over 7 days → ~12.7 events per profile
      // a week; profiles held ≈ a week of events / 12.7.
      profilesPerEventPerSecond: (7 * 86_400) / 12.7,
      profileBytes: 800,
      // The workflow's two passes (README, "Rescoring").
      passes: 2,
      maxWritesPerSecond: rescoreRate,
      // Target tracking scales in after 15 minutes below its target.
      scaleInLagSeconds: 900,
      function: {
        segments: Number(functionOf(topology, 'rescore').environment.RESCORE_TOTAL_SEGMENTS),
        ...fn('rescore'),
        // README, "Rescoring": the read-only second pass takes ~200 s per million profiles.
        secondPassSecondsPerMillionProfiles: 200,
      },
    },
    // The activation feed's stream and index writes go here when it lands (`Deployment.activation`).
  };
}

/** One column of the cost table. */
interface CostColumn {
  label: string;
  eventsPerSecond: number;
  usage: MeasuredUsage;
  topology: LocalTopology;
}

/** The topologies the lever columns are priced on; synthesized from the stack parameters by default. */
export interface CostTopologies {
  defaults: LocalTopology;
  /** Lambda's own default `BatchSize`, the stack's until batches of 500: what that default saves. */
  batchesOf100: LocalTopology;
  provisioned: LocalTopology;
  weeklyTraining: LocalTopology;
  provisionedWeeklyTraining: LocalTopology;
  /** The same with auto scaling aiming at {@link STEADY_STREAM_TARGET_UTILISATION_PERCENT}. */
  provisionedWeeklyTrainingAtHighUtilisation: LocalTopology;
}

/**
 * `-c profilesTableTargetUtilisationPercent=90` (the most Application Auto Scaling accepts for
 * DynamoDB): less headroom bought for a stream that does not burst. Above the provisioned rate a
 * burst uses the table's burst capacity (up to 300 s of unused capacity), then throttles: ingest reports
 * the throttled profiles and Lambda redelivers them (nothing is lost, the batch is late).
 */
export const STEADY_STREAM_TARGET_UTILISATION_PERCENT = 90;

/**
 * Weekly training (`-c trainingRateHours=168`): each event is read by one run instead of seven. The
 * no-promotion alarm then has to fire after one run (168 h is the longest window CloudWatch evaluates).
 */
const WEEKLY_TRAINING = { trainingRateHours: 168, alarmAfterRunsWithoutPromotion: 1 } as const;

/** The stack with its defaults, and with each lever's parameters (`-c name=value`). */
export function synthesizeCostTopologies(): CostTopologies {
  const provisioned = { profilesTableBilling: 'provisioned' } as const;
  return {
    defaults: synthesizeTopology(),
    batchesOf100: synthesizeTopology({ ingestBatchSize: 100 }),
    provisioned: synthesizeTopology(provisioned),
    weeklyTraining: synthesizeTopology(WEEKLY_TRAINING),
    provisionedWeeklyTraining: synthesizeTopology({ ...provisioned, ...WEEKLY_TRAINING }),
    provisionedWeeklyTrainingAtHighUtilisation: synthesizeTopology({
      ...provisioned,
      ...WEEKLY_TRAINING,
      profilesTableTargetUtilisationPercent: STEADY_STREAM_TARGET_UTILISATION_PERCENT,
    }),
  };
}

/**
 * The cost table: the default workload (at its own rate), the scale points, and at 1,000 events/s the
 * clean stream and each lever alone and together; and the breakdowns. Writes and reads per event are the
 * ones measured (at the bench's batches of the stack's `ingestBatchSize`, 500): the batches-of-100
 * column therefore prices its five times as many invocations, quarantine objects and logs, but not the
 * ~10 % more writes measured at 100 (README).
 */
export function costReport(
  usage: MeasuredUsage,
  storedBytesPerEvent: number,
  defaultWorkloadRate: number,
  topologies: CostTopologies = synthesizeCostTopologies(),
) {
  const clean = { ...usage, malformedShare: CLEAN_STREAM_MALFORMED_SHARE };
  const cleanLabel = `${CLEAN_STREAM_MALFORMED_SHARE * 100} % malformed`;
  const at1000 = (label: string, topology: LocalTopology, more: Partial<CostColumn> = {}): CostColumn => ({
    label: `1,000/s, ${label}`,
    eventsPerSecond: 1000,
    usage,
    topology,
    ...more,
  });
  const columns: CostColumn[] = [
    {
      label: `default workload (${defaultWorkloadRate.toFixed(3)}/s)`,
      eventsPerSecond: defaultWorkloadRate,
      usage,
      topology: topologies.defaults,
    },
    ...COST_SCALE_POINTS.map((rate) => ({
      label: `${rate.toLocaleString('en-US')}/s`,
      eventsPerSecond: rate,
      usage,
      topology: topologies.defaults,
    })),
    at1000(cleanLabel, topologies.defaults, { usage: clean }),
    at1000('ingestBatchSize=100', topologies.batchesOf100),
    at1000('provisioned table', topologies.provisioned),
    at1000('weekly training', topologies.weeklyTraining),
    at1000(`provisioned + ${cleanLabel}`, topologies.provisioned, { usage: clean }),
    at1000('the same + weekly training', topologies.provisionedWeeklyTraining, { usage: clean }),
    at1000(
      `the same + ${STEADY_STREAM_TARGET_UTILISATION_PERCENT} % target utilisation`,
      topologies.provisionedWeeklyTrainingAtHighUtilisation,
      { usage: clean },
    ),
  ];
  const inputs = { storedBytesPerEvent, archiveTombstoneReadsPerEvent: usage.dynamodbWritesPerEvent };
  const breakdowns: CostBreakdown[] = columns.map((column) => {
    const deployment = stackDeployment(column.topology, column.eventsPerSecond, inputs);
    return costPerMillionEvents(column.usage, deployment, AWS_LIST_PRICES);
  });
  const { defaults } = topologies;
  const ingest = stackDeployment(defaults, 1000, inputs).ingest;
  const rescoring = breakdowns[COST_SCALE_POINTS.indexOf(1000) + 1]!.rescoring;
  const rescoringNote =
    `Rescoring paced at ${stackDeployment(defaults, 1000, inputs).rescoring.maxWritesPerSecond} writes/s: ` +
    `${(rescoring.hoursPerMillionProfiles * 60).toFixed(1)} min per million profiles; at 1,000 events/s the table holds ` +
    `${(rescoring.profiles / 1e6).toFixed(1)} M profiles, a first pass of ${rescoring.hoursFirstPass.toFixed(1)} h.`;
  return {
    breakdowns,
    labels: columns.map((c) => c.label),
    table: `${formatCostTable(
      breakdowns,
      columns.map((c) => c.label),
    )}\n${rescoringNote}`,
    settings:
      `${defaults.stream.shardCount} shards, ingest batches of ${ingest.batchSize} with a ${ingest.windowSeconds} s window, ` +
      `${ingest.memoryMb} MB ${ingest.architecture}; quarantine objects per event at 1,000/s: ` +
      `${quarantinePutsPerEvent(usage.malformedShare, ingest.batchSize).toFixed(5)} ` +
      `(${(usage.malformedShare * 100).toFixed(2)} % malformed)`,
    rescoring: rescoringNote,
    prices: AWS_LIST_PRICES,
  };
}

/** The 1,000 events/s totals (as measured, and on a clean stream) as result rows, held to the target. */
export function costTargetRows(breakdowns: readonly CostBreakdown[], labels: readonly string[]): ResultRow[] {
  return breakdowns.flatMap((breakdown, i) => {
    if (breakdown.eventsPerSecond !== 1000) return [];
    const top = [...breakdown.lines]
      .sort((a, b) => b.dollarsPerMillionEvents - a.dollarsPerMillionEvents)
      .slice(0, 3)
      .map((l) => `${l.service} ${l.item.replace(/ \(.*\)/, '')} $${l.dollarsPerMillionEvents.toFixed(3)}`);
    return [
      {
        section: '4 cost',
        metric: `dollars per million events, ${labels[i]} (us-east-1 list)`,
        value: breakdown.dollarsPerMillionEvents,
        unit: '$/M events',
        target: { comparison: '<=' as const, value: COST_TARGET_DOLLARS_PER_MILLION },
        note: `largest: ${top.join(', ')}`,
      },
    ];
  });
}
