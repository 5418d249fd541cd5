/**
 * The cost table `npm run bench` prints: the usage part 2 measured on the full default workload,
 * priced with the stack's settings at the default workload's own rate and at three scale points.
 * The operating assumptions that no bench measures are named here, each with its reason.
 */
import { gzipSync } from 'node:zlib';
import { DEFAULT_STACK_PARAMETERS } from '../../infra/cdk/stack-parameters';
import { ARCHIVE_CONSUMER, INGEST_BATCH_SIZE } from '../../infra/cdk/stateless-stack';
import { AWS_LIST_PRICES } from './aws-list-prices';
import {
  costPerMillionEvents,
  formatCostTable,
  type CostBreakdown,
  type Deployment,
  type MeasuredUsage,
} from './cost-model';
import type { RawRecord } from '../../infra/client/put-records-plan';
import type { StackRun } from './stack-bench';
import type { ResultRow } from './bench-report';

/** Input rates the table is priced at, events per second. */
export const COST_SCALE_POINTS = [100, 1000, 10_000] as const;
/** Issue 11's target at 1,000 events/s. */
export const COST_TARGET_DOLLARS_PER_MILLION = 0.15;

/** What the full-workload pass of part 2 measured, per event. */
export function measuredUsage(
  full: StackRun,
  records: readonly RawRecord[],
  batches: number,
  shards: number,
): MeasuredUsage {
  const bytes = records.reduce((sum, r) => sum + r.data.byteLength, 0);
  return {
    recordBytes: bytes / records.length,
    dynamodbWritesPerEvent: (full.dynamodb.byCommand.PutItemCommand ?? 0) / full.records,
    dynamodbKeysReadPerEvent: full.dynamodb.keysRead / full.records,
    quarantinePutsPerEvent: full.s3.total / full.records,
    // Shards ran concurrently, one batch each at a time: wall time × shards ≈ the sum of invocations.
    ingestMsPerInvocation: (full.wallMs * shards) / batches,
  };
}

/** gzip NDJSON bytes per event, as the archive stores them (compressed here in one piece). */
export function archivedBytesPerEvent(records: readonly RawRecord[]): number {
  const ndjson = Buffer.concat(records.flatMap((r) => [Buffer.from(r.data), Buffer.from('\n')]));
  return gzipSync(ndjson).byteLength / records.length;
}

/** The stack's deployment at `eventsPerSecond`, with the assumptions no benchmark measures. */
export function stackDeployment(eventsPerSecond: number, storedBytesPerEvent: number): Deployment {
  return {
    eventsPerSecond,
    minShards: DEFAULT_STACK_PARAMETERS.shardCount,
    // Provisioned shards kept at ≤ 80 % of their write limits, for bursts.
    shardUtilisation: 0.8,
    fanOut: DEFAULT_STACK_PARAMETERS.ingestFanOut,
    ingest: {
      memoryMb: 1024,
      batchSize: INGEST_BATCH_SIZE,
      windowSeconds: DEFAULT_STACK_PARAMETERS.ingestBatchingWindowSeconds,
    },
    archive: {
      memoryMb: 512,
      batchSize: ARCHIVE_CONSUMER.batchSize,
      windowSeconds: ARCHIVE_CONSUMER.maxBatchingWindow.toSeconds(),
      // Assumed (not benchmarked): decode, gzip and one PUT for up to 1,000 records.
      msPerInvocation: 400,
      storedBytesPerEvent,
      // The archive's expiry, all of it priced as S3 Standard (it moves to IA after 30 days): an upper bound.
      retentionDays: 400,
    },
    // Assumed: START/END/REPORT lines (~350 B), one Powertools line per batch (~500 B), one EMF blob
    // (~1.5 KB); log groups keep a month.
    logs: { bytesPerInvocation: 2400, retentionDays: 30 },
    // About 40 metric series (metrics × service and quarantine reasons) and the stack's 12 alarms.
    monitoring: { metricSeries: 40, alarms: 12 },
    training: {
      runsPerMonth: (30 * 24) / DEFAULT_STACK_PARAMETERS.trainingRateHours,
      // Assumed: each run reads a week of archive.
      windowDays: 7,
      memoryMb: 3008,
      // README, training table: 421,988 events read, built and trained in ~26.6 s.
      secondsPerMillionEvents: 63,
      objectsPerMillionEvents: 1000,
    },
    rescoring: {
      // Assumed: a promoted model once a week (a run promotes only when it beats the champion).
      promotionsPerMonth: 4,
      // Default workload: 3,336 profiles for 42,500 events over 7 days → ~12.7 events per profile
      // a week; profiles held ≈ a week of events / 12.7.
      profilesPerEventPerSecond: (7 * 86_400) / 12.7,
      profileBytes: 800,
    },
  };
}

/** The cost table for the default workload (at its own rate) and the scale points, and the breakdowns. */
export function costReport(usage: MeasuredUsage, storedBytesPerEvent: number, defaultWorkloadRate: number) {
  const rates = [defaultWorkloadRate, ...COST_SCALE_POINTS];
  const breakdowns: CostBreakdown[] = rates.map((rate) =>
    costPerMillionEvents(usage, stackDeployment(rate, storedBytesPerEvent), AWS_LIST_PRICES),
  );
  const labels = [
    `default workload (${defaultWorkloadRate.toFixed(3)}/s)`,
    ...COST_SCALE_POINTS.map((r) => `${r.toLocaleString('en-US')}/s`),
  ];
  return { breakdowns, table: formatCostTable(breakdowns, labels), prices: AWS_LIST_PRICES };
}

/** The 1,000 events/s total as a result row, held to {@link COST_TARGET_DOLLARS_PER_MILLION}. */
export function costTargetRow(breakdowns: readonly CostBreakdown[]): ResultRow {
  const at1000 = breakdowns.find((b) => b.eventsPerSecond === 1000);
  const top = [...(at1000?.lines ?? [])]
    .sort((a, b) => b.dollarsPerMillionEvents - a.dollarsPerMillionEvents)
    .slice(0, 3)
    .map((l) => `${l.service} ${l.item.replace(/ \(.*\)/, '')} $${l.dollarsPerMillionEvents.toFixed(3)}`);
  return {
    section: '4 cost',
    metric: 'dollars per million events at 1,000 events/s (us-east-1 list)',
    value: at1000?.dollarsPerMillionEvents ?? Number.NaN,
    unit: '$/M events',
    target: { comparison: '<=', value: COST_TARGET_DOLLARS_PER_MILLION },
    note: `largest: ${top.join(', ')}`,
  };
}
