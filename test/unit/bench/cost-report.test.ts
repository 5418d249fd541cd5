import { synthesizeTopology } from '../../../infra/local/topology';
import { stackDeployment } from '../../bench/cost-report';

describe('stackDeployment', () => {
  it('prices the settings the synthesized stack has, not copies of them', () => {
    // Prepare
    const topology = synthesizeTopology({
      shardCount: 3,
      ingestBatchSize: 250,
      ingestBatchingWindowSeconds: 2,
      ingestFanOut: 'enhanced',
      trainingRateHours: 12,
    });
    // Act
    const deployment = stackDeployment(topology, 1000, 100);
    // Assess
    expect(deployment).toMatchObject({
      minShards: 3,
      fanOut: 'enhanced',
      ingest: { batchSize: 250, windowSeconds: 2, memoryMb: 1024, architecture: 'x86_64' },
      archive: { batchSize: 1000, windowSeconds: 30, memoryMb: 512, architecture: 'x86_64' },
      training: { runsPerMonth: 60, memoryMb: 3008, architecture: 'x86_64' },
    });
  });
});
