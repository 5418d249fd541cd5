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

/**
 * How the profiles table is billed. Provisioned capacity is kept by auto scaling at
 * `targetUtilisation` of what is consumed, never below the minimum capacities.
 */
export type TableBilling =
  | { mode: 'on-demand' }
  | { mode: 'provisioned'; targetUtilisation: number; minWriteCapacity: number; minReadCapacity: number };

/** The deployment and the operating assumptions the measured usage is priced under. */
export interface Deployment {
  eventsPerSecond: number;
  /**
   * The day's shape around `eventsPerSecond` (the mean): a sine of this peak ÷ mean (1: flat, 2: from
   * nothing at night to twice the mean in the afternoon). Only provisioned capacity depends on it.
   */
  diurnalPeakToMean: number;
  /** The profiles table's billing. */
  dynamodb: TableBilling;
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
    /**
     * Profile-hash buckets of the archive layout: a batch becomes one object per bucket (and event
     * hour) it holds events of, so up to this many PUTs per invocation.
     */
    profileBuckets: number;
    /** Tombstone keys read (strongly consistent, 1 unit each) per archived event, to drop erased people. */
    tombstoneReadsPerEvent: number;
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
    /** Lambda seconds per million events a run reads (the build; a worker has a core of its own). */
    secondsPerMillionEvents: number;
    /** Lambda seconds each run spends besides the per-event build (the training step). */
    secondsPerRun: number;
    /** Times a run reads each archive object (1: the single function; 4: the distributed workers' passes). */
    archivePasses: number;
  };
  rescoring: {
    /** Promotions per month; each scans every profile and rewrites {@link rescoredShare} of them. */
    promotionsPerMonth: number;
    /** Share of the profiles a promotion rewrites (1: every one, as the rescorer does today). */
    rescoredShare: number;
    /** Profiles in the table per event per second of input. */
    profilesPerEventPerSecond: number;
    profileBytes: number;
    /** Passes over the table per promotion (each scans all of it; the first rewrites, the second mops up). */
    passes: number;
    /** The paced write rate over all segments (`RESCORE_MAX_WRITES_PER_SECOND`). */
    maxWritesPerSecond: number;
    /**
     * Provisioned only: how long capacity stays scaled out after a run (target tracking scales in after
     * 15 minutes of low utilisation).
     */
    scaleInLagSeconds: number;
    /** The rescore function: segments run at once, each invocation sleeping through its pacing. */
    function: {
      segments: number;
      memoryMb: number;
      architecture: LambdaArchitecture;
      /** Lambda seconds per million profiles of the unpaced, read-only second pass. */
      secondPassSecondsPerMillionProfiles: number;
    };
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
  /** What a promotion's rescoring takes at the paced rate. */
  rescoring: { profiles: number; hoursPerMillionProfiles: number; hoursFirstPass: number };
}

/**
 * Mean provisioned capacity (units) over a day whose load follows a sine around `meanUnits` with the
 * given peak ÷ mean, auto scaled hour by hour: each hour holds its own peak ÷ target (a scale-out follows
 * within minutes; scale-ins come at most about hourly, DynamoDB's limit on decreases after the first
 * four of a day), never below `minUnits`. With the crest at 06:00 and the trough at 18:00 an hour's
 * peak is at one of its ends.
 */
export function provisionedCapacity(
  meanUnits: number,
  peakToMean: number,
  targetUtilisation: number,
  minUnits: number,
): number {
  if (peakToMean < 1 || peakToMean > 2)
    throw new RangeError(`peak ÷ mean must be in [1, 2], got ${peakToMean}`);
  const load = (hour: number) => meanUnits * (1 + (peakToMean - 1) * Math.sin((2 * Math.PI * hour) / 24));
  let sum = 0;
  for (let hour = 0; hour < 24; hour++) {
    sum += Math.max(minUnits, Math.max(load(hour), load(hour + 1)) / targetUtilisation);
  }
  return sum / 24;
}

/** Expected distinct buckets among `records` hashed uniformly into `buckets`: the objects of one archive batch. */
export function archiveObjectsPerBatch(records: number, buckets: number): number {
  return buckets * (1 - (1 - 1 / buckets) ** records);
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

  const { dynamodb: billing } = deployment;
  const archiveReads = deployment.archive.tombstoneReadsPerEvent;
  if (billing.mode === 'on-demand') {
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
    line(
      'DynamoDB',
      'read request units (archive tombstone checks)',
      archiveReads,
      'M RRU',
      prices.dynamodb.readRequestUnitsPerMillion,
    );
  } else {
    // Units per second at the mean rate → capacity the day's shape needs → unit-hours per million events.
    const unitHoursPerMillion = (unitsPerEvent: number, minUnits: number) =>
      (provisionedCapacity(
        unitsPerEvent * deployment.eventsPerSecond,
        deployment.diurnalPeakToMean,
        billing.targetUtilisation,
        minUnits,
      ) *
        HOURS_PER_MONTH) /
      millions;
    const target = `${Math.round(billing.targetUtilisation * 100)} % target`;
    line(
      'DynamoDB',
      `write capacity (profile writes, ${target})`,
      unitHoursPerMillion(usage.dynamodbWritesPerEvent, billing.minWriteCapacity),
      'WCU-h',
      prices.dynamodb.writeCapacityUnitHour,
    );
    line(
      'DynamoDB',
      `read capacity (profiles, tombstones, archive tombstone checks, ${target})`,
      unitHoursPerMillion(usage.dynamodbReadUnitsPerEvent + archiveReads, billing.minReadCapacity),
      'RCU-h',
      prices.dynamodb.readCapacityUnitHour,
    );
  }

  const archiveRecords = recordsPerInvocation(perShardRate, deployment.archive);
  const archiveObjects =
    archiveInvocations * archiveObjectsPerBatch(archiveRecords, deployment.archive.profileBuckets);
  const puts = M * quarantinePutsPerEvent(usage.malformedShare, ingestRecords) + archiveObjects;
  line(
    'S3',
    'PUT requests (archive objects per bucket + quarantine)',
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
  const trainingSeconds =
    timesTrained * training.secondsPerMillionEvents +
    (training.runsPerMonth * training.secondsPerRun) / millions;
  const trainingGbSeconds = trainingSeconds * (training.memoryMb / 1024);
  line(
    'Training',
    `Lambda GB-seconds (each event read by ${timesTrained.toFixed(1)} runs)`,
    trainingGbSeconds,
    'GB-s',
    prices.lambda.gbSecond[training.architecture],
  );
  line(
    'Training',
    `archive GET requests (${training.archivePasses} per object per run)`,
    (timesTrained * training.archivePasses * archiveObjects) / 1000,
    'k requests',
    prices.s3.getPerThousand,
  );

  // A promotion scans every profile in each pass (eventually consistent, 0.5 RRU per 4 KB) and rewrites
  // its share once. Provisioned, the run's paced rate is capacity scaled out for the run (plus the lag
  // before it scales back in): N / target unit-seconds whatever the rate, plus rate × lag / target.
  const { rescoring } = deployment;
  const profiles = rescoring.profilesPerEventPerSecond * deployment.eventsPerSecond;
  const rewrites = profiles * rescoring.rescoredShare;
  const scanUnits = rescoring.passes * profiles * (rescoring.profileBytes / 4096) * 0.5;
  const perMillion = rescoring.promotionsPerMonth / millions;
  const promotions = `${rescoring.promotionsPerMonth} promotions/month`;
  if (billing.mode === 'on-demand') {
    line(
      'Rescoring',
      `profile rewrites (${promotions})`,
      (rewrites * perMillion) / M,
      'M WRU',
      prices.dynamodb.writeRequestUnitsPerMillion,
    );
    line(
      'Rescoring',
      `scan read units (${rescoring.passes} passes)`,
      (scanUnits * perMillion) / M,
      'M RRU',
      prices.dynamodb.readRequestUnitsPerMillion,
    );
  } else {
    const scaledOutHours = (units: number) =>
      ((units + rescoring.maxWritesPerSecond * rescoring.scaleInLagSeconds) /
        billing.targetUtilisation /
        3600) *
      perMillion;
    line(
      'Rescoring',
      `write capacity scaled out for the rewrites (${promotions})`,
      scaledOutHours(rewrites),
      'WCU-h',
      prices.dynamodb.writeCapacityUnitHour,
    );
    line(
      'Rescoring',
      `read capacity scaled out for the scans (${rescoring.passes} passes)`,
      (scanUnits / billing.targetUtilisation / 3600) * perMillion,
      'RCU-h',
      prices.dynamodb.readCapacityUnitHour,
    );
  }

  // Each segment's invocations run for the whole paced first pass (sleeping between pages), then the
  // read-only second pass.
  const rescoreFn = rescoring.function;
  const rescoreSeconds =
    rescoreFn.segments * (rewrites / rescoring.maxWritesPerSecond) +
    (profiles / M) * rescoreFn.secondPassSecondsPerMillionProfiles;
  line(
    'Rescoring',
    `Lambda GB-seconds (${rescoreFn.segments} segments, paced)`,
    rescoreSeconds * (rescoreFn.memoryMb / 1024) * perMillion,
    'GB-s',
    prices.lambda.gbSecond[rescoreFn.architecture],
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
    rescoring: {
      profiles,
      hoursPerMillionProfiles: M / rescoring.maxWritesPerSecond / 3600,
      hoursFirstPass: rewrites / rescoring.maxWritesPerSecond / 3600,
    },
  };
}

/** A trailing parenthesis that holds a figure (shards, runs, promotions, a target): it varies by deployment. */
const FIGURE_DETAIL = / \([^)]*\d[^)]*\)$/;

/** The row a line belongs to across deployments: its service and item without the figures' detail. */
function rowKey(line: CostLine): string {
  return `${line.service}|${line.item.replace(FIGURE_DETAIL, '')}`;
}

/**
 * Several deployments side by side: one row per item any of them has (`—` where a deployment has no
 * such line, e.g. capacity lines under on-demand billing), one column of $ per million events each. An
 * item keeps its detail only where every deployment that has it agrees on it.
 */
export function formatCostTable(breakdowns: readonly CostBreakdown[], labels: readonly string[]): string {
  if (breakdowns.length === 0) return '';
  const money = (x: number) => `$${x.toFixed(4)}`;
  const rows = new Map<string, { service: string; item: string }>();
  for (const breakdown of breakdowns) {
    for (const l of breakdown.lines) {
      const key = rowKey(l);
      const seen = rows.get(key);
      if (seen === undefined) rows.set(key, { service: l.service, item: l.item });
      else if (seen.item !== l.item) seen.item = l.item.replace(FIGURE_DETAIL, '');
    }
  }
  // Rows grouped by service, in the order the services first appear.
  const services = [...new Set([...rows.values()].map((row) => row.service))];
  const ordered = [...rows].sort(([, a], [, b]) => services.indexOf(a.service) - services.indexOf(b.service));
  const header = ['service', 'item', ...labels];
  const body = ordered.map(([key, row]) => [
    row.service,
    row.item,
    ...breakdowns.map((b) => {
      const found = b.lines.find((l) => rowKey(l) === key);
      return found === undefined ? '—' : money(found.dollarsPerMillionEvents);
    }),
  ]);
  body.push(['total', 'per million events', ...breakdowns.map((b) => money(b.dollarsPerMillionEvents))]);
  body.push(['', 'shards', ...breakdowns.map((b) => String(b.shards))]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const render = (row: readonly string[]) =>
    row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' | ');
  return [render(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(render)].join('\n');
}
