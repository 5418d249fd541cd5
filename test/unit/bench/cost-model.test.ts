import { AWS_LIST_PRICES } from '../../bench/aws-list-prices';
import {
  archiveObjectsPerBatch,
  costPerMillionEvents,
  formatCostTable,
  provisionedCapacity,
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
  diurnalPeakToMean: 2,
  dynamodb: { mode: 'on-demand' },
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
    // One bucket: one object per archive batch (the bucketed layout has its own test).
    profileBuckets: 1,
    tombstoneReadsPerEvent: 0.1,
  },
  logs: { bytesPerInvocation: 1024, retentionDays: 30 },
  monitoring: { metricSeries: 30, alarms: 10 },
  training: {
    runsPerMonth: 30,
    windowDays: 7,
    memoryMb: 3008,
    architecture: 'x86_64',
    secondsPerMillionEvents: 60,
    secondsPerRun: 0,
    archivePasses: 1,
  },
  rescoring: {
    promotionsPerMonth: 4,
    rescoredShare: 1,
    profilesPerEventPerSecond: 10_000,
    profileBytes: 1024,
    passes: 1,
    maxWritesPerSecond: 1000,
    scaleInLagSeconds: 900,
    function: {
      segments: 4,
      memoryMb: 1024,
      architecture: 'x86_64',
      secondPassSecondsPerMillionProfiles: 200,
    },
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
    expect(dollars(cost, 'read request units (profiles')).toBeCloseTo(0.025, 6);
    // 0.1 M strongly consistent tombstone keys × $0.125
    expect(dollars(cost, 'read request units (archive')).toBeCloseTo(0.0125, 6);
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
    // 7 runs × 1 pass × 1,000 archive objects per M events = 7,000 GETs × $0.0004 / 1,000
    expect(dollars(cost, 'archive GET requests')).toBeCloseTo(0.0028, 6);
    // 10 M profiles × 4 / 2,628 = 15,220.7 rewrites per M events
    expect(dollars(cost, 'profile rewrites')).toBeCloseTo(0.009513, 6);
    // 4 segments × 10,000 s paced + 10 × 200 s unpaced = 42,000 GB-s a promotion, × 4 / 2,628 × $0.0000166667
    expect(dollars(cost, 'Lambda GB-seconds (4 segments')).toBeCloseTo((42_000 * 4 * 0.0000166667) / 2628, 9);
    expect(cost.dollarsPerMillionEvents).toBeCloseTo(0.258438 + (42_000 * 4 * 0.0000166667) / 2628, 5);
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

describe('costPerMillionEvents, provisioned capacity', () => {
  const provisioned = (eventsPerSecond: number, diurnalPeakToMean = 1, minCapacity = 25) =>
    deployment(eventsPerSecond, {
      diurnalPeakToMean,
      dynamodb: {
        mode: 'provisioned',
        targetUtilisation: 0.5,
        minWriteCapacity: minCapacity,
        minReadCapacity: minCapacity,
      },
    });

  it('bills capacity at mean ÷ target by the hour in place of request units', () => {
    // Act: a flat day at 1,000 events/s
    const cost = costPerMillionEvents(usage, provisioned(1000), AWS_LIST_PRICES);

    // Assess: 0.2 writes × 1,000/s = 200 WCU ÷ 0.5 = 400 WCU × 730 h / 2,628 M = 111.11 WCU-h × $0.00065
    expect(dollars(cost, 'write capacity')).toBeCloseTo(0.072222, 6);
    // (0.2 + 0.1 archive tombstone) × 1,000 = 300 RCU ÷ 0.5 = 600 RCU → 166.67 RCU-h × $0.00013
    expect(dollars(cost, 'read capacity (profiles')).toBeCloseTo(0.021667, 6);
    expect(dollars(cost, 'write request units')).toBeUndefined();
    expect(dollars(cost, 'read request units')).toBeUndefined();
  });

  it('holds each hour at its own peak over a diurnal day, and never below the minimum', () => {
    // Act
    const diurnal = costPerMillionEvents(usage, provisioned(1000, 2, 1), AWS_LIST_PRICES);
    const diurnalFloored = costPerMillionEvents(usage, provisioned(1000, 2, 25), AWS_LIST_PRICES);
    const quiet = costPerMillionEvents(usage, provisioned(10), AWS_LIST_PRICES);

    // Assess: peak 2× mean → the hourly peaks average 1 + 1/12 of the mean (see provisionedCapacity)
    expect(dollars(diurnal, 'write capacity')).toBeCloseTo(0.072222 * (13 / 12), 6);
    // 17:00–19:00 need less than 25 WCU (at 17:00 the load is 3.4 % of the mean): the floor holds them up
    expect(dollars(diurnalFloored, 'write capacity')!).toBeGreaterThan(dollars(diurnal, 'write capacity')!);
    // 10/s: 2 WCU ÷ 0.5 = 4 < 25 → 25 WCU × 730 h / 26.28 M × $0.00065
    expect(dollars(quiet, 'write capacity')).toBeCloseTo((25 * 730 * 0.00065) / 26.28, 6);
  });

  it('prices a promotion as capacity scaled out for its paced writes, plus the scale-in lag', () => {
    // Act
    const cost = costPerMillionEvents(usage, provisioned(1000), AWS_LIST_PRICES);

    // Assess: (10 M rewrites + 1,000/s × 900 s) ÷ 0.5 ÷ 3,600 = 6,055.6 WCU-h a promotion, × 4 / 2,628
    expect(dollars(cost, 'write capacity scaled out')).toBeCloseTo(
      ((10.9e6 / 0.5 / 3600) * 4 * 0.00065) / 2628,
      9,
    );
    // 1 pass × 10 M × ¼ × ½ = 1.25 M RCU-s ÷ 0.5 ÷ 3,600 = 694.4 RCU-h a promotion
    expect(dollars(cost, 'read capacity scaled out')).toBeCloseTo(
      ((1.25e6 / 0.5 / 3600) * 4 * 0.00013) / 2628,
      9,
    );
    expect(cost.rescoring).toEqual({
      profiles: 10e6,
      hoursPerMillionProfiles: expect.closeTo(1e6 / 1000 / 3600, 9),
      hoursFirstPass: expect.closeTo(10e6 / 1000 / 3600, 9),
    });
  });
});

describe('costPerMillionEvents, the archive layout and training', () => {
  it('puts one archive object per bucket a batch holds, and each run reads each one per pass', () => {
    // Prepare: 16 buckets, distributed training (4 passes)
    const base = deployment(1000);
    const bucketed = deployment(1000, {
      archive: { ...base.archive, profileBuckets: 16 },
      training: { ...base.training, archivePasses: 4 },
    });

    // Act
    const cost = costPerMillionEvents(usage, bucketed, AWS_LIST_PRICES);

    // Assess: 1,000 batches of 1,000 per M events × 16 (1 − (15/16)^1000 ≈ 1) = 16,000 objects
    expect(dollars(cost, 'PUT requests')).toBeCloseTo(((1000 + 16_000) / 1000) * 0.005, 6);
    // 7 runs × 4 passes × 16,000 objects = 448,000 GETs × $0.0004 / 1,000
    expect(dollars(cost, 'archive GET requests')).toBeCloseTo(0.1792, 6);
  });

  it('adds the per-run training step, spread over the events of a month', () => {
    // Prepare
    const base = deployment(1000);
    const withStep = deployment(1000, { training: { ...base.training, secondsPerRun: 900 } });

    // Act
    const cost = costPerMillionEvents(usage, withStep, AWS_LIST_PRICES);

    // Assess: 7 × 60 s + 30 runs × 900 s / 2,628 M = 430.27 s per M, × 2.9375 GB
    expect(dollars(cost, 'Lambda GB-seconds (each event')).toBeCloseTo(
      (7 * 60 + (30 * 900) / 2628) * 2.9375 * 0.0000166667,
      9,
    );
  });
});

describe('provisionedCapacity', () => {
  it('is mean ÷ target on a flat day, and 1 + (peak ÷ mean − 1) / 12 of it on a sine day held hour by hour', () => {
    // Assess: Σ over the hours of the larger end of each hour's sine is 2, so peaks average 1 + a/12.
    expect(provisionedCapacity(100, 1, 0.5, 1)).toBeCloseTo(200, 9);
    expect(provisionedCapacity(100, 2, 0.5, 1)).toBeCloseTo(200 * (1 + 1 / 12), 9);
    expect(provisionedCapacity(100, 1.5, 0.8, 1)).toBeCloseTo(125 * (1 + 0.5 / 12), 9);
  });

  it('keeps the minimum in the hours whose load needs less, and refuses a shape outside [1, 2]', () => {
    // Assess: at 2× peak the night hours fall below 100 units and sit at the floor
    expect(provisionedCapacity(10, 1, 0.5, 100)).toBe(100);
    expect(provisionedCapacity(100, 2, 1, 100)).toBeGreaterThan(100 * (1 + 1 / 12));
    expect(() => provisionedCapacity(100, 2.5, 0.7, 1)).toThrow(RangeError);
  });
});

describe('archiveObjectsPerBatch', () => {
  it('is the expected number of distinct buckets among the records', () => {
    // Assess
    expect(archiveObjectsPerBatch(1, 16)).toBeCloseTo(1, 12);
    expect(archiveObjectsPerBatch(2, 16)).toBeCloseTo(1 + 15 / 16, 12);
    expect(archiveObjectsPerBatch(1000, 16)).toBeCloseTo(16, 9);
    expect(archiveObjectsPerBatch(1000, 1)).toBe(1);
  });
});

describe('formatCostTable', () => {
  it('lines up the same items across billing modes and marks the ones a column lacks', () => {
    // Prepare
    const onDemand = costPerMillionEvents(usage, deployment(1000), AWS_LIST_PRICES);
    const provisioned = costPerMillionEvents(
      usage,
      deployment(1000, {
        dynamodb: { mode: 'provisioned', targetUtilisation: 0.7, minWriteCapacity: 1, minReadCapacity: 1 },
      }),
      AWS_LIST_PRICES,
    );

    // Act
    const rows = formatCostTable([onDemand, provisioned], ['on demand', 'provisioned']).split('\n');
    const row = (item: string) =>
      rows
        .find((r) => r.includes(item))!
        .split('|')
        .map((cell) => cell.trim());

    // Assess
    expect(row('write request units')).toEqual([
      'DynamoDB',
      'write request units (profile writes)',
      '$0.1250',
      '—',
    ]);
    expect(row('write capacity (')[2]).toBe('—');
    expect(row('shard-hours').slice(2)).toEqual(['$0.0083', '$0.0083']);
    expect(row('per million events').slice(2)).toEqual([
      `$${onDemand.dollarsPerMillionEvents.toFixed(4)}`,
      `$${provisioned.dollarsPerMillionEvents.toFixed(4)}`,
    ]);
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
