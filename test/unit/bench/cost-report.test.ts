import { synthesizeTopology } from '../../../infra/local/topology';
import { PROVISIONED_TABLE_PARAMETERS } from '../../support/stack-parameter-fixtures';
import { FUNCTION_ENGINE_MAX_EVENTS, stackDeployment, TRAINING_TIME } from '../../bench/cost-report';

const inputs = { storedBytesPerEvent: 100, archiveTombstoneReadsPerEvent: 0.2 };

describe('stackDeployment', () => {
  it('prices the settings the synthesized stack has, not copies of them', () => {
    // Prepare
    const topology = synthesizeTopology({
      shardCount: 3,
      ingestBatchSize: 250,
      ingestBatchingWindowSeconds: 2,
      ingestFanOut: 'enhanced',
      trainingRateHours: 12,
      rescoreMaxWritesPerSecond: 2000,
    });
    // Act
    const deployment = stackDeployment(topology, 1000, inputs);
    // Assess
    expect(deployment).toMatchObject({
      minShards: 3,
      fanOut: 'enhanced',
      dynamodb: { mode: 'on-demand' },
      ingest: { batchSize: 250, windowSeconds: 2, memoryMb: 1024, architecture: 'x86_64' },
      archive: {
        batchSize: 5000,
        windowSeconds: 30,
        memoryMb: 512,
        architecture: 'x86_64',
        profileBuckets: 16,
        tombstoneReadsPerEvent: 0.2,
      },
      training: { runsPerMonth: 60, memoryMb: 3008, architecture: 'x86_64' },
      rescoring: { maxWritesPerSecond: 2000, passes: 2 },
    });
  });

  it("prices the provisioned table's auto scaling target and floors from the template", () => {
    // Prepare
    const topology = synthesizeTopology(PROVISIONED_TABLE_PARAMETERS);
    // Act / Assess
    expect(stackDeployment(topology, 1000, inputs).dynamodb).toEqual({
      mode: 'provisioned',
      targetUtilisation: 0.6,
      minWriteCapacity: 30,
      minReadCapacity: 40,
    });
  });

  it('trains with the engine the rate needs, at the measured build time', () => {
    // Prepare: a week of 2 events/s fits the single function, 3/s does not
    const topology = synthesizeTopology();
    expect(2 * 7 * 86_400).toBeLessThan(FUNCTION_ENGINE_MAX_EVENTS);
    expect(3 * 7 * 86_400).toBeGreaterThan(FUNCTION_ENGINE_MAX_EVENTS);
    // Act
    const small = stackDeployment(topology, 2, inputs).training;
    const large = stackDeployment(topology, 3, inputs).training;
    // Assess
    expect(small).toMatchObject({
      secondsPerMillionEvents: TRAINING_TIME.functionSecondsPerMillionEvents,
      secondsPerRun: 0,
      archivePasses: 1,
    });
    expect(large).toMatchObject({
      secondsPerMillionEvents: 33.9,
      secondsPerRun: 900,
      archivePasses: 4,
      memoryMb: 3008,
    });
  });
});
