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
import type { AwsListPrices } from './aws-list-prices';

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
  /** Profiles read by key per event (strongly consistent, ≤ 4 KB: one read unit each). */
  dynamodbKeysReadPerEvent: number;
  /** Quarantine objects written per event (one per batch holding a refused record). */
  quarantinePutsPerEvent: number;
  /** Duration of one ingest invocation, ms (the Lambda duration estimate). */
  ingestMsPerInvocation: number;
}

/** The deployment and the operating assumptions the measured usage is priced under. */
export interface Deployment {
  eventsPerSecond: number;
  /** The stack's `shardCount`; more shards are added when the rate needs them. */
  minShards: number;
  /** Share of a shard's write limits the deployment runs at (headroom for bursts). */
  shardUtilisation: number;
  fanOut: 'shared' | 'enhanced';
  ingest: { memoryMb: number; batchSize: number; windowSeconds: number };
  archive: {
    memoryMb: number;
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
    secondsPerMillionEvents: number;
    /** Archive objects read per million events trained. */
    objectsPerMillionEvents: number;
  };
  rescoring: {
    /** Promotions per month; each rescores (reads and rewrites) every profile. */
    promotionsPerMonth: number;
    /** Profiles in the table per event per second of input. */
    profilesPerEventPerSecond: number;
    profileBytes: number;
  };
}

/** One priced item. */
export interface CostLine {
  service: 'Kinesis' | 'Lambda' | 'DynamoDB' | 'S3' | 'CloudWatch' | 'Training' | 'Rescoring';
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
  line(
    'Lambda',
    'requests (ingest + archive)',
    (ingestInvocations + archiveInvocations) / M,
    'M requests',
    prices.lambda.requestsPerMillion,
  );
  const gbSeconds =
    (ingestInvocations * usage.ingestMsPerInvocation * deployment.ingest.memoryMb +
      archiveInvocations * deployment.archive.msPerInvocation * deployment.archive.memoryMb) /
    1000 /
    1024;
  line('Lambda', 'GB-seconds (ingest + archive)', gbSeconds, 'GB-s', prices.lambda.gbSecond);

  line(
    'DynamoDB',
    'write request units (profile writes)',
    usage.dynamodbWritesPerEvent,
    'M WRU',
    prices.dynamodb.writeRequestUnitsPerMillion,
  );
  line(
    'DynamoDB',
    'read request units (profile reads)',
    usage.dynamodbKeysReadPerEvent,
    'M RRU',
    prices.dynamodb.readRequestUnitsPerMillion,
  );

  const puts = M * usage.quarantinePutsPerEvent + archiveInvocations;
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
    prices.lambda.gbSecond,
  );
  line(
    'Training',
    'archive GET requests',
    (timesTrained * training.objectsPerMillionEvents) / 1000,
    'k requests',
    prices.s3.getPerThousand,
  );

  // A promotion rescores every profile: a scan (eventually consistent, 0.5 RRU per 4 KB) and one write each.
  const { rescoring } = deployment;
  const profiles = rescoring.profilesPerEventPerSecond * deployment.eventsPerSecond;
  const rescoredPerMillion = (profiles * rescoring.promotionsPerMonth) / millions;
  line(
    'Rescoring',
    `profile rewrites (${rescoring.promotionsPerMonth} promotions/month)`,
    rescoredPerMillion / M,
    'M WRU',
    prices.dynamodb.writeRequestUnitsPerMillion,
  );
  line(
    'Rescoring',
    'scan read units',
    (rescoredPerMillion * (rescoring.profileBytes / 4096) * 0.5) / M,
    'M RRU',
    prices.dynamodb.readRequestUnitsPerMillion,
  );

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
