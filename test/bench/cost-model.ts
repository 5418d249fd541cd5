/**
 * Dollars per million events, itemised, from what the benchmark measured per event (DynamoDB writes
 * and keys read, quarantine PUTs, handler time per invocation, record size) and a deployment at some
 * input rate, priced with {@link AwsListPrices}. Pure arithmetic: no I/O, unit-tested on hand-computed
 * examples (`test/unit/bench/cost-model.test.ts`).
 *
 * What scales with events (writes, reads, PUT units, invocations) is charged per event; what is billed
 * by the hour or month (shards, metrics, alarms) is spread over the events of a month at the given rate,
 * so small deployments pay a floor per event.
 */
import type { AwsListPrices, LambdaArchitecture } from './aws-list-prices';

/** Memory at which a Lambda function gets one full vCPU (Lambda docs, "Memory and computing power"). */
export const FULL_VCPU_MB = 1769;
/** Hours in the month AWS bills by. */
export const HOURS_PER_MONTH = 730;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const GB = 1024 ** 3;

/** What the benchmark measured, per event or per invocation. */
export interface MeasuredUsage {
  /** Mean record size on the stream, bytes. */
  recordBytes: number;
  /** Profile writes (PutItem) per event; each ≤ 1 KB costs one write unit (README, item size). */
  dynamodbWritesPerEvent: number;
  /**
   * Read units per event: every key read (profiles and tombstones) at the consistency the store asked
   * for (items ≤ 4 KB: 1 unit strongly consistent, ½ eventually consistent).
   */
  dynamodbReadUnitsPerEvent: number;
  /**
   * Share of records refused into the quarantine. Each invocation holding at least one writes one
   * object, so the PUTs per event follow from the batch size: `(1 − (1 − share)^n) / n`.
   */
  malformedShare: number;
  /**
   * Ingest invocation duration (the Lambda duration estimate): waiting on DynamoDB and S3 per
   * invocation, plus CPU per record at one full vCPU (stretched by `1769 / memoryMb` below 1,769 MB,
   * where Lambda gives a proportional share of a vCPU).
   */
  ingestDuration: { waitMsPerInvocation: number; cpuMsPerRecord: number };
}

/** The deployment and the operating assumptions the measured usage is priced under. */
export interface Deployment {
  eventsPerSecond: number;
  /** The stack's `shardCount`; more shards are added when the rate needs them. */
  minShards: number;
  /** Share of a shard's write limits the deployment runs at (headroom for bursts). */
  shardUtilisation: number;
  fanOut: 'shared' | 'enhanced';
  ingest: { memoryMb: number; architecture: LambdaArchitecture; batchSize: number; windowSeconds: number };
  archive: {
    memoryMb: number;
    architecture: LambdaArchitecture;
    batchSize: number;
    windowSeconds: number;
    msPerInvocation: number;
    /** gzip NDJSON bytes per archived event. */
    storedBytesPerEvent: number;
    retentionDays: number;
  };
  logs: { bytesPerInvocation: number; retentionDays: number };
  /** Custom metric series and alarms (fixed per month). */
  monitoring: { metricSeries: number; alarms: number };
  training: {
    runsPerMonth: number;
    /** Days of archive each run reads: every event is trained on this many times over its life. */
    windowDays: number;
    memoryMb: number;
    architecture: LambdaArchitecture;
    secondsPerMillionEvents: number;
    /** Archive objects read per million events trained. */
    objectsPerMillionEvents: number;
  };
  rescoring: {
    /** Promotions per month; each scans every profile and rewrites {@link rescoredShare} of them. */
    promotionsPerMonth: number;
    /** Share of the profiles a promotion rewrites (1: every one, as the rescorer does today). */
    rescoredShare: number;
    /** Profiles in the table per event per second of input. */
    profilesPerEventPerSecond: number;
    profileBytes: number;
  };
  /**
   * Hook for the activation feed (a stream of its own and index writes): priced when set, left out of
   * the table otherwise.
   */
  activation?: {
    /** Provisioned shards of the activation stream. */
    streamShards: number;
    /** Activation records put per event (25 KB PUT payload units each). */
    recordsPerEvent: number;
    /** Index writes (≤ 1 KB each) per event. */
    indexWritesPerEvent: number;
  };
}

/** One priced item. */
export interface CostLine {
  service: 'Kinesis' | 'Lambda' | 'DynamoDB' | 'S3' | 'CloudWatch' | 'Training' | 'Rescoring' | 'Activation';
  item: string;
  /** Billed quantity per million events, in `unit`. */
  quantity: number;
  unit: string;
  dollarsPerMillionEvents: number;
}

/** The itemised cost of one deployment. */
export interface CostBreakdown {
  eventsPerSecond: number;
  eventsPerMonth: number;
  shards: number;
  lines: CostLine[];
  dollarsPerMillionEvents: number;
}

/** Shards the rate needs at the utilisation, never fewer than the stack's count. */
export function shardsFor(deployment: Deployment, recordBytes: number, prices: AwsListPrices): number {
  const { eventsPerSecond: rate, shardUtilisation: share } = deployment;
  const byRecords = rate / (prices.kinesis.shardRecordsPerSecond * share);
  const byBytes = (rate * recordBytes) / (prices.kinesis.shardBytesPerSecond * share);
  return Math.max(deployment.minShards, Math.ceil(byRecords), Math.ceil(byBytes));
}

/**
 * Records per invocation of a consumer: a full batch when a shard's records fill it within the
 * window, else what arrives within the window (at least Lambda's ~1 s poll), at least one.
 */
export function recordsPerInvocation(
  perShardRate: number,
  consumer: { batchSize: number; windowSeconds: number },
): number {
  return Math.max(1, Math.min(consumer.batchSize, perShardRate * Math.max(1, consumer.windowSeconds)));
}

/**
 * Quarantine objects per event when a share of records is refused at random and each invocation of
 * `recordsPerBatch` records holding at least one refused record writes one object.
 */
export function quarantinePutsPerEvent(malformedShare: number, recordsPerBatch: number): number {
  return (1 - (1 - malformedShare) ** recordsPerBatch) / recordsPerBatch;
}

/** Dollars per million events for `deployment`, from `usage`, at `prices`. */
export function costPerMillionEvents(
  usage: MeasuredUsage,
  deployment: Deployment,
  prices: AwsListPrices,
): CostBreakdown {
  const M = 1e6;
  const eventsPerMonth = deployment.eventsPerSecond * SECONDS_PER_MONTH;
  const millions = eventsPerMonth / M;
  const shards = shardsFor(deployment, usage.recordBytes, prices);
  const perShardRate = deployment.eventsPerSecond / shards;
  const lines: CostLine[] = [];
  const line = (
    service: CostLine['service'],
    item: string,
    quantity: number,
    unit: string,
    unitPrice: number,
  ) => lines.push({ service, item, quantity, unit, dollarsPerMillionEvents: quantity * unitPrice });

  const shardHours = (shards * HOURS_PER_MONTH) / millions;
  line('Kinesis', `shard-hours (${shards} shards)`, shardHours, 'shard-h', prices.kinesis.shardHour);
  const putUnits = M * Math.ceil(usage.recordBytes / prices.kinesis.putPayloadUnitBytes);
  line('Kinesis', 'PUT payload units', putUnits / M, 'M units', prices.kinesis.putPayloadUnitsPerMillion);
  if (deployment.fanOut === 'enhanced') {
    line(
      'Kinesis',
      'enhanced fan-out consumer-shard-hours',
      shardHours,
      'shard-h',
      prices.kinesis.enhancedFanOutConsumerShardHour,
    );
    line(
      'Kinesis',
      'enhanced fan-out data retrieved',
      (M * usage.recordBytes) / GB,
      'GB',
      prices.kinesis.enhancedFanOutRetrievalPerGb,
    );
  }

  const ingestInvocations = M / recordsPerInvocation(perShardRate, deployment.ingest);
  const archiveInvocations = M / recordsPerInvocation(perShardRate, deployment.archive);
  const ingestRecords = recordsPerInvocation(perShardRate, deployment.ingest);
  line(
    'Lambda',
    'requests (ingest + archive)',
    (ingestInvocations + archiveInvocations) / M,
    'M requests',
    prices.lambda.requestsPerMillion,
  );
  const { ingest, archive } = deployment;
  const cpuStretch = Math.max(1, FULL_VCPU_MB / ingest.memoryMb);
  const ingestMs =
    usage.ingestDuration.waitMsPerInvocation +
    usage.ingestDuration.cpuMsPerRecord * cpuStretch * ingestRecords;
  const gbSecondsOf = (invocations: number, ms: number, memoryMb: number) =>
    (invocations * ms * memoryMb) / 1000 / 1024;
  const ingestGbSeconds = gbSecondsOf(ingestInvocations, ingestMs, ingest.memoryMb);
  const archiveGbSeconds = gbSecondsOf(archiveInvocations, archive.msPerInvocation, archive.memoryMb);
  lines.push({
    service: 'Lambda',
    item: `GB-seconds (ingest + archive, ${ingest.architecture})`,
    quantity: ingestGbSeconds + archiveGbSeconds,
    unit: 'GB-s',
    dollarsPerMillionEvents:
      ingestGbSeconds * prices.lambda.gbSecond[ingest.architecture] +
      archiveGbSeconds * prices.lambda.gbSecond[archive.architecture],
  });

  line(
    'DynamoDB',
    'write request units (profile writes)',
    usage.dynamodbWritesPerEvent,
    'M WRU',
    prices.dynamodb.writeRequestUnitsPerMillion,
  );
  line(
    'DynamoDB',
    'read request units (profiles and tombstones)',
    usage.dynamodbReadUnitsPerEvent,
    'M RRU',
    prices.dynamodb.readRequestUnitsPerMillion,
  );

  const puts = M * quarantinePutsPerEvent(usage.malformedShare, ingestRecords) + archiveInvocations;
  line(
    'S3',
    'PUT requests (archive objects + quarantine)',
    puts / 1000,
    'k requests',
    prices.s3.putPerThousand,
  );
  const archiveGbMonths =
    ((M * deployment.archive.storedBytesPerEvent) / GB) * (deployment.archive.retentionDays / 30);
  line(
    'S3',
    `archive storage (${deployment.archive.retentionDays} days)`,
    archiveGbMonths,
    'GB-month',
    prices.s3.standardGbMonth,
  );

  const logGb = ((ingestInvocations + archiveInvocations) * deployment.logs.bytesPerInvocation) / GB;
  line('CloudWatch', 'logs ingested', logGb, 'GB', prices.cloudwatch.logsIngestedPerGb);
  line(
    'CloudWatch',
    `logs stored (${deployment.logs.retentionDays} days)`,
    logGb * (deployment.logs.retentionDays / 30),
    'GB-month',
    prices.cloudwatch.logsStoredGbMonth,
  );
  const { metricSeries, alarms } = deployment.monitoring;
  line(
    'CloudWatch',
    `metrics and alarms (${metricSeries} series, ${alarms} alarms)`,
    1 / millions,
    'months',
    metricSeries * prices.cloudwatch.metricMonth + alarms * prices.cloudwatch.alarmMonth,
  );

  // Each event is read by every run whose window holds it: windowDays / (days between runs) runs.
  const { training } = deployment;
  const timesTrained = training.windowDays / (30 / training.runsPerMonth);
  const trainingGbSeconds = timesTrained * training.secondsPerMillionEvents * (training.memoryMb / 1024);
  line(
    'Training',
    `Lambda GB-seconds (each event read by ${timesTrained.toFixed(1)} runs)`,
    trainingGbSeconds,
    'GB-s',
    prices.lambda.gbSecond[training.architecture],
  );
  line(
    'Training',
    'archive GET requests',
    (timesTrained * training.objectsPerMillionEvents) / 1000,
    'k requests',
    prices.s3.getPerThousand,
  );

  // A promotion scans every profile (eventually consistent, 0.5 RRU per 4 KB) and rewrites its share.
  const { rescoring } = deployment;
  const profiles = rescoring.profilesPerEventPerSecond * deployment.eventsPerSecond;
  const scannedPerMillion = (profiles * rescoring.promotionsPerMonth) / millions;
  line(
    'Rescoring',
    `profile rewrites (${rescoring.promotionsPerMonth} promotions/month)`,
    (scannedPerMillion * rescoring.rescoredShare) / M,
    'M WRU',
    prices.dynamodb.writeRequestUnitsPerMillion,
  );
  line(
    'Rescoring',
    'scan read units',
    (scannedPerMillion * (rescoring.profileBytes / 4096) * 0.5) / M,
    'M RRU',
    prices.dynamodb.readRequestUnitsPerMillion,
  );

  const { activation } = deployment;
  if (activation !== undefined) {
    line(
      'Activation',
      `stream shard-hours (${activation.streamShards} shards)`,
      (activation.streamShards * HOURS_PER_MONTH) / millions,
      'shard-h',
      prices.kinesis.shardHour,
    );
    line(
      'Activation',
      'stream PUT payload units',
      activation.recordsPerEvent,
      'M units',
      prices.kinesis.putPayloadUnitsPerMillion,
    );
    line(
      'Activation',
      'index write request units',
      activation.indexWritesPerEvent,
      'M WRU',
      prices.dynamodb.writeRequestUnitsPerMillion,
    );
  }

  return {
    eventsPerSecond: deployment.eventsPerSecond,
    eventsPerMonth,
    shards,
    lines,
    dollarsPerMillionEvents: lines.reduce((sum, l) => sum + l.dollarsPerMillionEvents, 0),
  };
}

/** Several deployments side by side: one row per item, one column of $ per million events each. */
export function formatCostTable(breakdowns: readonly CostBreakdown[], labels: readonly string[]): string {
  const first = breakdowns[0];
  if (first === undefined) return '';
  const money = (x: number) => `$${x.toFixed(4)}`;
  const header = ['service', 'item', ...labels];
  const body = first.lines.map((l, i) => [
    l.service,
    l.item.replace(/ \(\d+ shards\)/, ''),
    ...breakdowns.map((b) => money(b.lines[i]?.dollarsPerMillionEvents ?? 0)),
  ]);
  body.push(['total', 'per million events', ...breakdowns.map((b) => money(b.dollarsPerMillionEvents))]);
  body.push(['', 'shards', ...breakdowns.map((b) => String(b.shards))]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const render = (row: readonly string[]) =>
    row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' | ');
  return [render(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(render)].join('\n');
}
