import { Template } from 'aws-cdk-lib/assertions';
import fc from 'fast-check';
import { buildApp } from '../../infra/cdk/app';
import { localNameFor, ON_DEMAND_LOCAL_SHARDS, synthesizeTopology } from '../../infra/local/topology';
import { PROVISIONED_TABLE_PARAMETERS } from '../support/stack-parameter-fixtures';

describe('synthesizeTopology', () => {
  const topology = synthesizeTopology();
  const built = buildApp({
    context: { 'aws:cdk:bundling-stacks': [] },
    nag: false,
    templateValidation: false,
  });
  const stateful = Template.fromStack(built.stateful).toJSON();
  const stateless = Template.fromStack(built.stateless).toJSON();

  it('takes each event source mapping setting from the template', () => {
    // Prepare
    const mappings = Object.values(
      Template.fromJSON(stateless).findResources('AWS::Lambda::EventSourceMapping'),
    ) as { Properties: Record<string, unknown> }[];

    // Assess
    expect(topology.eventSourceMappings).toHaveLength(mappings.length);
    for (const mapping of mappings) {
      const fnId = (mapping.Properties.FunctionName as { Ref: string }).Ref;
      const name = stateless.Resources[fnId].Metadata['profile-stream:function'];
      expect(topology.eventSourceMappings.find((esm) => esm.functionName === name)).toEqual({
        functionName: name,
        batchSize: mapping.Properties.BatchSize,
        maximumBatchingWindowInSeconds: mapping.Properties.MaximumBatchingWindowInSeconds,
        bisectBatchOnFunctionError: mapping.Properties.BisectBatchOnFunctionError,
        maximumRetryAttempts: mapping.Properties.MaximumRetryAttempts,
        maximumRecordAgeInSeconds: mapping.Properties.MaximumRecordAgeInSeconds,
        reportBatchItemFailures: true,
        parallelizationFactor: mapping.Properties.ParallelizationFactor,
        startingPosition: mapping.Properties.StartingPosition,
        fanOut: 'shared',
        onFailureBucketLogicalId: expect.stringMatching(/^FailuresBucket/),
        streamLogicalId:
          name === 'activation-index' ? topology.activationStream?.logicalId : topology.stream.logicalId,
      });
    }
  });

  it('reads ingest through enhanced fan-out, and its batching window, from the stack parameters', () => {
    // Act
    const custom = synthesizeTopology({ ingestFanOut: 'enhanced', ingestBatchingWindowSeconds: 5 });

    // Assess
    const byName = new Map(custom.eventSourceMappings.map((esm) => [esm.functionName, esm]));
    expect(byName.get('ingest')).toMatchObject({ fanOut: 'enhanced', maximumBatchingWindowInSeconds: 5 });
    expect(byName.get('archive')).toMatchObject({ fanOut: 'shared', maximumBatchingWindowInSeconds: 30 });
  });

  it('gives only the ingest mapping the parallelization factor of the stack parameters', () => {
    // Act
    const custom = synthesizeTopology({ ingestFanOut: 'enhanced', ingestParallelizationFactor: 4 });

    // Assess
    const byName = new Map(custom.eventSourceMappings.map((esm) => [esm.functionName, esm]));
    expect(byName.get('ingest')).toMatchObject({ fanOut: 'enhanced', parallelizationFactor: 4 });
    expect(byName.get('archive')).toMatchObject({ parallelizationFactor: 1 });
    expect(byName.get('activation-index')).toMatchObject({ parallelizationFactor: 1 });
  });

  it('resolves cross-stack environment references to stateful logical ids', () => {
    // Prepare
    const ingest = topology.functions.find((fn) => fn.name === 'ingest');

    // Assess
    expect(ingest).toMatchObject({
      entry: 'functions/ingest/handler.ts',
      timeoutSeconds: 60,
      memoryMb: 1024,
      architecture: 'x86_64',
      environment: {
        PROFILES_TABLE: { ref: topology.table.logicalId },
        POWERTOOLS_METRICS_NAMESPACE: 'ProfileStream',
        MODEL_POLL_SECONDS: '60',
      },
    });
    const refs = topology.functions.flatMap((fn) =>
      Object.values(fn.environment).flatMap((value) => (typeof value === 'string' ? [] : [value.ref])),
    );
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(Object.keys(stateful.Resources)).toContain(ref);
  });

  it('names the stream, table, bucket roles and schedule of the templates', () => {
    // Assess
    expect(topology.stream).toEqual({
      logicalId: expect.stringMatching(/^EventsStream/),
      shardCount: 2,
      onDemand: false,
    });
    expect(stateful.Resources[topology.stream.logicalId].Type).toBe('AWS::Kinesis::Stream');
    expect(topology.table).toEqual({
      logicalId: expect.stringMatching(/^ProfilesTable/),
      keySchema: [{ AttributeName: 'profileId', KeyType: 'HASH' }],
      attributeDefinitions: [{ AttributeName: 'profileId', AttributeType: 'S' }],
      globalSecondaryIndexes: [],
      ttlAttribute: 'expiresAt',
      billing: { mode: 'on-demand' },
    });
    expect(topology.buckets.map((bucket) => bucket.role).sort()).toEqual(
      ['archive', 'erasure', 'failures', 'models', 'other', 'quarantine'].sort(),
    );
    expect(topology.activationStream).toEqual({
      logicalId: expect.stringMatching(/^ActivationStream/),
      shardCount: 1,
      onDemand: false,
    });
    expect(topology.membersTable).toEqual({
      logicalId: expect.stringMatching(/^AudienceMembersTable/),
      keySchema: [
        { AttributeName: 'audienceId', KeyType: 'HASH' },
        { AttributeName: 'profileId', KeyType: 'RANGE' },
      ],
      attributeDefinitions: [
        { AttributeName: 'audienceId', AttributeType: 'S' },
        { AttributeName: 'profileId', AttributeType: 'S' },
      ],
      globalSecondaryIndexes: [],
      ttlAttribute: 'expiresAt',
      billing: { mode: 'on-demand' },
    });
    // Ingest and rescoring put on the activation stream the activation-index function reads.
    for (const name of ['ingest', 'rescore']) {
      expect(topology.functions.find((fn) => fn.name === name)?.environment.ACTIVATION_STREAM).toEqual({
        ref: topology.activationStream?.logicalId,
      });
    }
    expect(topology.functions.map((fn) => fn.name)).toEqual([
      'ingest',
      'activation-index',
      'archive',
      'train',
      'build-rows',
      'rescore',
      'erase',
      'scrub-failures',
    ]);
    const bucketOf = (role: string) => topology.buckets.find((bucket) => bucket.role === role)?.logicalId;
    expect(topology.objectCreatedTriggers).toHaveLength(2);
    expect(topology.objectCreatedTriggers).toEqual(
      expect.arrayContaining([
        { functionName: 'scrub-failures', bucketLogicalId: bucketOf('failures'), keyPrefix: 'aws/lambda/' },
        { functionName: 'erase', bucketLogicalId: bucketOf('erasure'), keyPrefix: 'requests/' },
      ]),
    );
    expect(topology.schedule).toEqual({ functionName: 'train', rate: 'rate(1 day)', rateSeconds: 86_400 });
  });

  it('gives an on-demand stream a fixed local shard count', () => {
    // Act
    const onDemand = synthesizeTopology({ shardCount: 0 });

    // Assess
    expect(onDemand.stream).toMatchObject({ shardCount: ON_DEMAND_LOCAL_SHARDS, onDemand: true });
  });

  it("reads the profiles table's billing, and a provisioned table's auto scaling, from the template", () => {
    // Act
    const provisioned = synthesizeTopology(PROVISIONED_TABLE_PARAMETERS);

    // Assess
    expect(topology.table.billing).toEqual({ mode: 'on-demand' });
    expect(provisioned.table.billing).toEqual({
      mode: 'provisioned',
      write: { min: 30, max: 3000, targetUtilisationPercent: 60 },
      read: { min: 40, max: 2000, targetUtilisationPercent: 60 },
    });
    expect(provisioned.membersTable?.billing).toEqual({ mode: 'on-demand' });
  });
});

describe('localNameFor', () => {
  it('makes valid, deterministic bucket and table names from any logical id', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,254}$/), (logicalId) => {
        // Act
        const name = localNameFor(logicalId);

        // Assess
        expect(name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
        expect(localNameFor(logicalId)).toBe(name);
      }),
    );
  });

  it('keeps distinct long logical ids distinct', () => {
    // Prepare
    const prefix = 'A'.repeat(70);

    // Act
    const names = new Set([localNameFor(`${prefix}One`), localNameFor(`${prefix}Two`)]);

    // Assess
    expect(names.size).toBe(2);
  });
});
