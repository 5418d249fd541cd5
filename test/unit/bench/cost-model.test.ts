import { AWS_LIST_PRICES } from '../../bench/aws-list-prices';
import {
  costPerMillionEvents,
  quarantinePutsPerEvent,
  recordsPerInvocation,
  shardsFor,
  type CostBreakdown,
  type Deployment,
  type MeasuredUsage,
} from '../../bench/cost-model';

const usage: MeasuredUsage = {
  recordBytes: 300,
  dynamodbWritesPerEvent: 0.2,
  dynamodbReadUnitsPerEvent: 0.2,
  // A share at which one batch of 100 in ten holds a refused record: 0.001 objects per event.
  malformedShare: 1 - 0.9 ** 0.01,
  ingestDuration: { waitMsPerInvocation: 50, cpuMsPerRecord: 0 },
};

const deployment = (eventsPerSecond: number, overrides: Partial<Deployment> = {}): Deployment => ({
  eventsPerSecond,
  minShards: 2,
  shardUtilisation: 0.8,
  fanOut: 'shared',
  ingest: { memoryMb: 1024, architecture: 'x86_64', batchSize: 100, windowSeconds: 1 },
  archive: {
    memoryMb: 512,
    architecture: 'x86_64',
    batchSize: 1000,
    windowSeconds: 30,
    msPerInvocation: 500,
    storedBytesPerEvent: 100,
    retentionDays: 90,
  },
  logs: { bytesPerInvocation: 1024, retentionDays: 30 },
  monitoring: { metricSeries: 30, alarms: 10 },
  training: {
    runsPerMonth: 30,
    windowDays: 7,
    memoryMb: 3008,
    architecture: 'x86_64',
    secondsPerMillionEvents: 60,
    objectsPerMillionEvents: 200,
  },
  rescoring: {
    promotionsPerMonth: 4,
    rescoredShare: 1,
    profilesPerEventPerSecond: 10_000,
    profileBytes: 1024,
  },
  ...overrides,
});

const dollars = (breakdown: CostBreakdown, item: string) =>
  breakdown.lines.find((line) => line.item.startsWith(item))?.dollarsPerMillionEvents;

describe('costPerMillionEvents', () => {
  it('prices 1,000 events/s item by item as computed by hand', () => {
    // Act
    const cost = costPerMillionEvents(usage, deployment(1000), AWS_LIST_PRICES);

    // Assess: 2.628e9 events a month = 2,628 million.
    expect(cost.shards).toBe(2);
    expect(cost.eventsPerMonth).toBe(2.628e9);
    // 2 shards × 730 h / 2,628 M × $0.015
    expect(dollars(cost, 'shard-hours')).toBeCloseTo(0.008333, 6);
    // one 25 KB unit per 300-byte record × $0.014 / M
    expect(dollars(cost, 'PUT payload units')).toBeCloseTo(0.014, 6);
    // 500 events/s per shard: ingest batches of 100 (10,000 per M), archive of 1,000 (1,000 per M)
    expect(dollars(cost, 'requests')).toBeCloseTo(0.0022, 6);
    // 10,000 × 50 ms × 1 GB + 1,000 × 500 ms × 0.5 GB = 750 GB-s × $0.0000166667
    expect(dollars(cost, 'GB-seconds')).toBeCloseTo(0.0125, 6);
    expect(dollars(cost, 'write request units')).toBeCloseTo(0.125, 6);
    expect(dollars(cost, 'read request units')).toBeCloseTo(0.025, 6);
    // 1,000 quarantine + 1,000 archive PUTs × $0.005 / 1,000
    expect(dollars(cost, 'PUT requests')).toBeCloseTo(0.01, 6);
    // 1e8 B = 0.093132 GB × 3 months × $0.023
    expect(dollars(cost, 'archive storage')).toBeCloseTo(0.006426, 6);
    // 11,000 invocations × 1 KiB = 0.010490 GB × $0.50
    expect(dollars(cost, 'logs ingested')).toBeCloseTo(0.005245, 6);
    // (30 × $0.30 + 10 × $0.10) / 2,628
    expect(dollars(cost, 'metrics and alarms')).toBeCloseTo(0.003805, 6);
    // 7 runs × 60 s × 2.9375 GB = 1,233.75 GB-s
    expect(dollars(cost, 'Lambda GB-seconds (each event read by 7.0 runs)')).toBeCloseTo(0.020563, 6);
    // 10 M profiles × 4 / 2,628 = 15,220.7 rewrites per M events
    expect(dollars(cost, 'profile rewrites')).toBeCloseTo(0.009513, 6);
    expect(cost.dollarsPerMillionEvents).toBeCloseTo(0.243698, 5);
    expect(cost.dollarsPerMillionEvents).toBeCloseTo(
      cost.lines.reduce((sum, line) => sum + line.dollarsPerMillionEvents, 0),
      12,
    );
  });

  it('spreads the shard floor over fewer events at a low rate', () => {
    // Act
    const slow = costPerMillionEvents(usage, deployment(10), AWS_LIST_PRICES);

    // Assess: 2 shards for 26.28 M events a month; 5 events/s per shard → batches of 5
    expect(slow.shards).toBe(2);
    expect(dollars(slow, 'shard-hours')).toBeCloseTo((2 * 730 * 0.015) / 26.28, 6);
    expect(dollars(slow, 'requests')).toBeCloseTo(((1e6 / 5 + 1e6 / 150) / 1e6) * 0.2, 6);
  });

  it('adds the enhanced fan-out consumer by the shard-hour and the GB', () => {
    // Act
    const cost = costPerMillionEvents(usage, deployment(1000, { fanOut: 'enhanced' }), AWS_LIST_PRICES);

    // Assess
    expect(dollars(cost, 'enhanced fan-out consumer-shard-hours')).toBeCloseTo(0.008333, 6);
    expect(dollars(cost, 'enhanced fan-out data retrieved')).toBeCloseTo(
      ((1e6 * 300) / 1024 ** 3) * 0.013,
      9,
    );
  });
});

describe('costPerMillionEvents, the levers', () => {
  it('stretches CPU time per record by 1769 / memory below a full vCPU, and adds the wait', () => {
    // Prepare: 10 ms waiting + 0.1 ms of CPU per record at a full vCPU
    const cpu = { ...usage, ingestDuration: { waitMsPerInvocation: 10, cpuMsPerRecord: 0.1 } };
    const half = deployment(1000, { ingest: { ...deployment(1000).ingest, memoryMb: 512 } });
    // Act
    const cost = costPerMillionEvents(cpu, half, AWS_LIST_PRICES);
    // Assess: 10,000 × (10 + 0.1 × 1769/512 × 100) ms × 0.5 GB + 1,000 × 500 ms × 0.5 GB
    const ingestGbs = (10_000 * (10 + ((0.1 * 1769) / 512) * 100) * 0.5) / 1000;
    expect(dollars(cost, 'GB-seconds')).toBeCloseTo((ingestGbs + 250) * 0.0000166667, 9);
  });

  it('prices arm64 functions at the Graviton rate', () => {
    // Prepare
    const base = deployment(1000);
    const arm = deployment(1000, {
      ingest: { ...base.ingest, architecture: 'arm64' },
      archive: { ...base.archive, architecture: 'arm64' },
    });
    // Act
    const cost = costPerMillionEvents(usage, arm, AWS_LIST_PRICES);
    // Assess: the 750 GB-s of the hand-computed case at $0.0000133334
    expect(dollars(cost, 'GB-seconds')).toBeCloseTo(750 * 0.0000133334, 9);
  });

  it('rewrites only the rescored share of the profiles, and scans them all', () => {
    // Prepare
    const base = deployment(1000);
    const thresholded = deployment(1000, { rescoring: { ...base.rescoring, rescoredShare: 0.25 } });
    // Act
    const all = costPerMillionEvents(usage, base, AWS_LIST_PRICES);
    const some = costPerMillionEvents(usage, thresholded, AWS_LIST_PRICES);
    // Assess
    expect(dollars(some, 'profile rewrites')).toBeCloseTo(dollars(all, 'profile rewrites')! / 4, 9);
    expect(dollars(some, 'scan read units')).toBeCloseTo(dollars(all, 'scan read units')!, 12);
  });

  it('prices the activation feed only when it is deployed', () => {
    // Prepare
    const activation = { streamShards: 1, recordsPerEvent: 0.1, indexWritesPerEvent: 0.1 };
    // Act
    const without = costPerMillionEvents(usage, deployment(1000), AWS_LIST_PRICES);
    const withFeed = costPerMillionEvents(usage, deployment(1000, { activation }), AWS_LIST_PRICES);
    // Assess: 1 shard × 730 h / 2,628 M × $0.015; 0.1 M units × $0.014; 0.1 M WRU × $0.625
    expect(without.lines.filter((line) => line.service === 'Activation')).toEqual([]);
    expect(dollars(withFeed, 'stream shard-hours')).toBeCloseTo((730 * 0.015) / 2628, 9);
    expect(dollars(withFeed, 'stream PUT payload units')).toBeCloseTo(0.0014, 9);
    expect(dollars(withFeed, 'index write request units')).toBeCloseTo(0.0625, 9);
    expect(withFeed.dollarsPerMillionEvents - without.dollarsPerMillionEvents).toBeCloseTo(
      (730 * 0.015) / 2628 + 0.0014 + 0.0625,
      9,
    );
  });
});

describe('quarantinePutsPerEvent', () => {
  it('is one object per batch holding a refused record, spread over the batch', () => {
    // Assess: 1 − 0.99^100 = 0.633968 of batches of 100 hold one at 1 %
    expect(quarantinePutsPerEvent(0.01, 100)).toBeCloseTo(0.00633968, 8);
    expect(quarantinePutsPerEvent(0.01, 1)).toBeCloseTo(0.01, 12);
    expect(quarantinePutsPerEvent(0.0001, 500)).toBeCloseTo((1 - 0.9999 ** 500) / 500, 12);
    expect(quarantinePutsPerEvent(0, 100)).toBe(0);
  });
});

describe('shardsFor', () => {
  it('adds shards for the rate at the utilisation, by records or by bytes, whichever needs more', () => {
    // Assess: 10,000 / 800 = 12.5 → 13; 2,000 × 1 KiB records / (0.8 MiB/s) = 2.44 → 3
    expect(shardsFor(deployment(10_000), 300, AWS_LIST_PRICES)).toBe(13);
    expect(shardsFor(deployment(2_000), 1024, AWS_LIST_PRICES)).toBe(3);
    expect(shardsFor(deployment(100), 300, AWS_LIST_PRICES)).toBe(2);
  });
});

describe('recordsPerInvocation', () => {
  it('fills the batch when the window holds enough records, else takes what a window brings', () => {
    expect(recordsPerInvocation(500, { batchSize: 100, windowSeconds: 1 })).toBe(100);
    expect(recordsPerInvocation(50, { batchSize: 100, windowSeconds: 1 })).toBe(50);
    // A 0 s window still waits for Lambda's ~1 s poll.
    expect(recordsPerInvocation(50, { batchSize: 100, windowSeconds: 0 })).toBe(50);
    expect(recordsPerInvocation(0.1, { batchSize: 100, windowSeconds: 0 })).toBe(1);
  });
});
