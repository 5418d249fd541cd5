import { Annotations, Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FUNCTION_CONFIGS } from '../../functions/commons/config';
import { buildApp } from '../../infra/cdk/app';
import { PROVISIONED_TABLE_PARAMETERS } from '../support/stack-parameter-fixtures';

// Bundling is skipped: these tests assert on templates, and the handlers are other work in progress.
const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

describe('profile-stream stacks', () => {
  const built = buildApp({ context: SKIP_BUNDLING });
  const stateful = Template.fromStack(built.stateful);
  const stateless = Template.fromStack(built.stateless);

  describe('stateful stack', () => {
    it('encrypts the events stream with 2 provisioned shards by default, and the activation stream', () => {
      // Assess
      stateful.resourceCountIs('AWS::Kinesis::Stream', 2);
      for (const [role, ShardCount] of [
        ['events', 2],
        ['activation', 1],
      ] as const) {
        stateful.hasResource('AWS::Kinesis::Stream', {
          Metadata: { 'profile-stream:role': role },
          Properties: { ShardCount, StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' } },
        });
      }
    });

    it('fans the activation stream out to an EventBridge bus through a pipe, with no code', () => {
      // Prepare
      const [streamId] = Object.keys(
        stateful.findResources('AWS::Kinesis::Stream', { Metadata: { 'profile-stream:role': 'activation' } }),
      );
      const [busId] = Object.keys(stateful.findResources('AWS::Events::EventBus'));
      // Assess
      stateful.hasResourceProperties('AWS::Pipes::Pipe', {
        Source: { 'Fn::GetAtt': [streamId, 'Arn'] },
        SourceParameters: { KinesisStreamParameters: { StartingPosition: 'TRIM_HORIZON' } },
        Target: { 'Fn::GetAtt': [busId, 'Arn'] },
        TargetParameters: {
          EventBridgeEventBusParameters: {
            Source: 'profile-stream.activation',
            DetailType: 'Audience Transition',
          },
          InputTemplate: '<$.data>',
        },
      });
      // The pipe's role reads the stream and puts on the bus, nothing else.
      stateful.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [busId, 'Arn'] } }),
          ]),
        },
      });
      stateless.resourceCountIs('AWS::Pipes::Pipe', 0);
    });

    it('keeps audience members in a table keyed by audience then profile, on-demand, PITR, TTL for exits', () => {
      // Assess
      stateful.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Metadata: { 'profile-stream:role': 'audience-members' },
        Properties: {
          KeySchema: [
            { AttributeName: 'audienceId', KeyType: 'HASH' },
            { AttributeName: 'profileId', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        },
      });
    });

    it('keeps the profiles table safe: key schema, on-demand, PITR, deletion protection, TTL', () => {
      // Assess
      stateful.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Properties: {
          KeySchema: [{ AttributeName: 'profileId', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'profileId', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        },
      });
    });

    it('encrypts, blocks public access and retains every bucket', () => {
      // Assess
      const buckets = stateful.findResources('AWS::S3::Bucket');
      expect(Object.keys(buckets)).toHaveLength(6);
      for (const bucket of Object.values(buckets)) {
        expect(bucket).toMatchObject({
          DeletionPolicy: 'Retain',
          Properties: {
            BucketEncryption: {
              ServerSideEncryptionConfiguration: [
                { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
              ],
            },
            PublicAccessBlockConfiguration: {
              BlockPublicAcls: true,
              BlockPublicPolicy: true,
              IgnorePublicAcls: true,
              RestrictPublicBuckets: true,
            },
          },
        });
      }
    });

    it('denies non-TLS access on every bucket', () => {
      // Assess
      const policies = stateful.findResources('AWS::S3::BucketPolicy', {
        Properties: {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Action: 's3:*',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          },
        },
      });
      expect(Object.keys(policies)).toHaveLength(6);
    });

    it('versions the models bucket and ages out archive, quarantine, failures and audience exports', () => {
      // Assess
      stateful.hasResourceProperties('AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 90 } }),
            // Exports hold profile ids: current and noncurrent versions both expire.
            {
              Prefix: 'exports/',
              ExpirationInDays: 7,
              NoncurrentVersionExpiration: { NoncurrentDays: 1 },
              Status: 'Enabled',
            },
          ]),
        },
      });
      stateful.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              ExpirationInDays: 400,
              Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
            }),
          ]),
        },
      });
      stateful.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 30 })]) },
        LoggingConfiguration: { LogFilePrefix: 'quarantine/' },
      });
      stateful.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 60 })]) },
        MetricsConfigurations: [{ Id: 'AllObjects' }],
      });
    });

    it('provisions the profiles table with read and write auto scaling when profilesTableBilling is provisioned', () => {
      // Prepare
      const provisioned = buildApp({
        context: SKIP_BUNDLING,
        ...PROVISIONED_TABLE_PARAMETERS,
        rescoreMaxWritesPerSecond: 1500,
      });

      // Act
      const template = Template.fromStack(provisioned.stateful);
      const rescore = Template.fromStack(provisioned.stateless);
      const [tableId] = Object.keys(
        template.findResources('AWS::DynamoDB::Table', { Metadata: { 'profile-stream:role': 'profiles' } }),
      );

      // Assess
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [{ AttributeName: 'profileId', KeyType: 'HASH' }],
        BillingMode: Match.absent(),
        ProvisionedThroughput: { ReadCapacityUnits: 40, WriteCapacityUnits: 30 },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      });
      for (const [dimension, min, max] of [
        ['Write', 30, 3000],
        ['Read', 40, 2000],
      ] as const) {
        const target = new Capture();
        template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
          ScalableDimension: `dynamodb:table:${dimension}CapacityUnits`,
          MinCapacity: min,
          MaxCapacity: max,
          ResourceId: { 'Fn::Join': ['', ['table/', { Ref: tableId }]] },
        });
        const [targetId] = Object.keys(
          template.findResources('AWS::ApplicationAutoScaling::ScalableTarget', {
            Properties: { ScalableDimension: `dynamodb:table:${dimension}CapacityUnits` },
          }),
        );
        template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
          ScalingTargetId: { Ref: targetId },
          TargetTrackingScalingPolicyConfiguration: {
            PredefinedMetricSpecification: target,
            TargetValue: 60,
          },
        });
        expect(target.asObject()).toEqual({
          PredefinedMetricType: `DynamoDB${dimension}CapacityUtilization`,
        });
      }
      rescore.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ RESCORE_MAX_WRITES_PER_SECOND: '1500' }) },
      });
      expect(
        new AwsSolutionsChecks().validateScope(provisioned.app).violations.map((v) => v.ruleName),
      ).toEqual([]);
    });

    it('switches the stream to on-demand when shardCount is 0', () => {
      // Prepare
      const onDemand = buildApp({
        context: SKIP_BUNDLING,
        shardCount: 0,
        nag: false,
        templateValidation: false,
      });

      // Act
      const template = Template.fromStack(onDemand.stateful);

      // Assess
      template.hasResourceProperties('AWS::Kinesis::Stream', {
        StreamModeDetails: { StreamMode: 'ON_DEMAND' },
        ShardCount: Match.absent(),
      });
    });
  });

  describe('stateless stack', () => {
    it('pins nodejs22.x on x86_64 with tracing, source maps and Powertools settings for every function', () => {
      // Assess
      const functions = stateless.findResources('AWS::Lambda::Function');
      expect(Object.keys(functions)).toHaveLength(8);
      for (const fn of Object.values(functions)) {
        expect(fn).toMatchObject({
          Properties: {
            Runtime: 'nodejs22.x',
            Architectures: ['x86_64'],
            TracingConfig: { Mode: 'Active' },
            Environment: {
              Variables: expect.objectContaining({
                NODE_OPTIONS: expect.stringMatching(/^--enable-source-maps( |$)/),
                POWERTOOLS_METRICS_NAMESPACE: 'ProfileStream',
                LOG_LEVEL: 'INFO',
              }),
            },
          },
        });
      }
    });

    it("starts ingest with larger semi-spaces (its batches' working set) and every other function with V8's", () => {
      // Assess
      const functions = Object.values(stateless.findResources('AWS::Lambda::Function'));
      const nodeOptionsOf = (fn: (typeof functions)[number]) =>
        fn.Properties.Environment.Variables.NODE_OPTIONS as string;
      const ingest = functions.filter((fn) => fn.Metadata['profile-stream:function'] === 'ingest');
      expect(ingest.map(nodeOptionsOf)).toEqual(['--enable-source-maps --max-semi-space-size=64']);
      const others = functions.filter((fn) => fn.Metadata['profile-stream:function'] !== 'ingest');
      expect(new Set(others.map(nodeOptionsOf))).toEqual(new Set(['--enable-source-maps']));
    });

    it('gives each function and each state machine (rescoring, distributed training) a log group with retention', () => {
      // Assess
      const logGroups = stateless.findResources('AWS::Logs::LogGroup', {
        Properties: { RetentionInDays: 30 },
      });
      expect(Object.keys(logGroups)).toHaveLength(10);
    });

    it("runs activation-index on the activation stream, with the consumers' failure handling, writing only the members table", () => {
      // Prepare
      const [fnId] = Object.keys(
        stateless.findResources('AWS::Lambda::Function', {
          Metadata: { 'profile-stream:function': 'activation-index' },
        }),
      );
      // Assess
      stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: fnId },
        EventSourceArn: { 'Fn::ImportValue': Match.stringLikeRegexp('ActivationStream') },
        BatchSize: 500,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 5,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      });
      stateless.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            MEMBERS_TABLE: { 'Fn::ImportValue': Match.stringLikeRegexp('AudienceMembersTable') },
          }),
        },
      });
      // Ingest may put records on the activation stream.
      stateless.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith(['kinesis:PutRecord', 'kinesis:PutRecords']),
              Resource: { 'Fn::ImportValue': Match.stringLikeRegexp('ActivationStream') },
            }),
          ]),
        },
      });
    });

    it("lets erase delete the erased profiles' rows from the members table", () => {
      // Prepare
      const [fn] = Object.values(
        stateless.findResources('AWS::Lambda::Function', {
          Metadata: { 'profile-stream:function': 'erase' },
        }),
      );
      const policies = stateless.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: fn!.Properties.Role['Fn::GetAtt'][0] }] },
      });
      const statements = Object.values(policies).flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      );
      // Assess
      expect(fn!.Properties.Environment.Variables.MEMBERS_TABLE).toEqual({
        'Fn::ImportValue': expect.stringMatching(/AudienceMembersTable/),
      });
      expect(
        statements.some(
          (s) =>
            [s.Action].flat().includes('dynamodb:DeleteItem') &&
            JSON.stringify(s.Resource).includes('AudienceMembersTable'),
        ),
      ).toBe(true);
    });

    it('lets activation-index read tombstones (profiles table, the key secret) to skip erased profiles', () => {
      // Prepare
      const [fn] = Object.values(
        stateless.findResources('AWS::Lambda::Function', {
          Metadata: { 'profile-stream:function': 'activation-index' },
        }),
      );
      // Assess
      expect(fn!.Properties.Environment.Variables).toMatchObject({
        PROFILES_TABLE: { 'Fn::ImportValue': expect.stringMatching(/ProfilesTable/) },
        HASH_KEY_SECRET_ID: { 'Fn::ImportValue': expect.stringMatching(/HashKeySecret/) },
      });
    });

    it("alarms on the activation-index function's errors and iterator age, and on failed activation puts", () => {
      // Prepare
      const [fnId] = Object.keys(
        stateless.findResources('AWS::Lambda::Function', {
          Metadata: { 'profile-stream:function': 'activation-index' },
        }),
      );
      // Assess
      for (const MetricName of ['Errors', 'IteratorAge']) {
        stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
        });
      }
      stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'ProfileStream',
        MetricName: 'ActivationFailed',
        Dimensions: [{ Name: 'service', Value: 'ingest' }],
      });
    });

    it('wires exactly the environment variables of each function’s configuration schema', () => {
      // Assess
      const variables = (entry: string): string[] => {
        const [fn] = Object.values(
          stateless.findResources('AWS::Lambda::Function', { Metadata: { 'profile-stream:entry': entry } }),
        );
        // The Parameters and Secrets extension's own settings come with its layer, not from our schemas.
        return Object.keys(fn?.Properties.Environment.Variables ?? {})
          .filter((v) => !/^(PARAMETERS_SECRETS_EXTENSION|SECRETS_MANAGER|SSM_PARAMETER_STORE)_/.test(v))
          .sort();
      };
      const common = ['LOG_LEVEL', 'NODE_OPTIONS', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'];
      for (const [name, schema] of Object.entries(FUNCTION_CONFIGS)) {
        expect(variables(`functions/${name}/handler.ts`)).toEqual(
          [...common, ...Object.keys(schema.shape)].sort(),
        );
      }
    });

    it('attaches the onnxruntime layer to the functions that score only: ingest, train and rescore', () => {
      // Prepare
      const layer = new Capture();

      // Act
      stateless.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024, Layers: [layer] });
      const withLayers = Object.fromEntries(
        Object.entries(
          stateless.findResources('AWS::Lambda::Function', { Properties: { Layers: Match.anyValue() } }),
        ).filter(([, fn]) => JSON.stringify(fn.Properties.Layers).includes('OnnxRuntimeLayer')),
      );

      // Assess
      stateless.hasResourceProperties('AWS::Lambda::LayerVersion', {
        CompatibleRuntimes: ['nodejs22.x'],
        CompatibleArchitectures: ['x86_64'],
      });
      expect(layer.asObject()).toEqual({ Ref: expect.stringMatching(/^OnnxRuntimeLayer/) });
      expect(Object.values(withLayers).map((fn) => fn.Metadata['profile-stream:function'])).toEqual([
        'ingest',
        'train',
        'rescore',
      ]);
    });

    it.each([
      ['ingest', 500, 1],
      ['archive', 5000, 30],
    ])('bounds failures of the %s Kinesis consumer', (name, batchSize, window) => {
      // Prepare
      const destination = new Capture();
      const [functionId] = Object.keys(
        stateless.findResources('AWS::Lambda::Function', { Metadata: { 'profile-stream:function': name } }),
      );

      // Act
      const mappings = stateless.findResources('AWS::Lambda::EventSourceMapping', {
        Properties: { FunctionName: { Ref: functionId } },
      });

      // Assess
      expect(Object.keys(mappings)).toHaveLength(1);
      stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: functionId },
        BatchSize: batchSize,
        MaximumBatchingWindowInSeconds: window,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 6 * 3600,
        ParallelizationFactor: 1,
        StartingPosition: 'TRIM_HORIZON',
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: destination } },
      });
      expect(JSON.stringify(destination.asObject())).toMatch(/FailuresBucket/);
    });

    it('trains on a schedule with a 15-minute, 3008 MB function', () => {
      // Assess
      stateless.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 day)',
        Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0 } })],
      });
      stateless.hasResourceProperties('AWS::Lambda::Function', {
        Timeout: 900,
        MemorySize: 3008,
        Environment: { Variables: Match.objectLike({ LABEL_HORIZON_HOURS: '24' }) },
      });
    });

    it('takes the training rate and label horizon from context strings', () => {
      // Prepare
      const custom = buildApp({
        context: { ...SKIP_BUNDLING, trainingRateHours: '6', labelHorizonHours: '48' },
        nag: false,
        templateValidation: false,
      });

      // Act
      const template = Template.fromStack(custom.stateless);

      // Assess
      template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(6 hours)' });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ LABEL_HORIZON_HOURS: '48' }) },
      });
    });

    it('reads the stream through a polled mapping, batches of up to 500 in a 1 s window, by default', () => {
      // Assess
      stateless.resourceCountIs('AWS::Kinesis::StreamConsumer', 0);
      stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        BatchSize: 500,
        MaximumBatchingWindowInSeconds: 1,
      });
    });

    it('gives ingest an enhanced fan-out consumer of its own when ingestFanOut is enhanced, and its parallelization factor', () => {
      // Prepare
      const custom = buildApp({
        context: {
          ...SKIP_BUNDLING,
          ingestFanOut: 'enhanced',
          ingestBatchingWindowSeconds: '2',
          ingestBatchSize: '250',
          ingestParallelizationFactor: '4',
        },
      });

      // Act
      const template = Template.fromStack(custom.stateless);

      // Assess
      const consumers = template.findResources('AWS::Kinesis::StreamConsumer');
      expect(Object.keys(consumers)).toHaveLength(1);
      const [consumerId] = Object.keys(consumers);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [consumerId, 'ConsumerARN'] },
        BatchSize: 250,
        MaximumBatchingWindowInSeconds: 2,
        ParallelizationFactor: 4,
      });
      // The archive consumer keeps polling the stream itself.
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: Match.objectLike({ 'Fn::ImportValue': Match.anyValue() }),
        BatchSize: 5000,
        ParallelizationFactor: 1,
      });
      expect(new AwsSolutionsChecks().validateScope(custom.app).violations).toEqual([]);
    });

    describe('rescoring', () => {
      /** The parts of an Amazon States Language state these tests read. */
      interface AslState {
        Type: string;
        Next?: string;
        End?: boolean;
        Parameters?: unknown;
        ItemProcessor: { States: Record<string, AslState> };
        Retry?: unknown[];
        Choices?: unknown[];
      }
      /** The state machine's definition, with every CloudFormation token replaced by `"<ref>"`. */
      const definition = (): {
        StartAt: string;
        TimeoutSeconds?: number;
        States: Record<string, AslState>;
      } => {
        const [machine] = Object.entries(stateless.findResources('AWS::StepFunctions::StateMachine'))
          .filter(([id]) => id.startsWith('Rescoring'))
          .map(([, resource]) => resource);
        const parts = machine?.Properties.DefinitionString['Fn::Join'][1] as unknown[];
        return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : '<ref>')).join(''));
      };
      const functionIdOf = (name: string) =>
        Object.keys(
          stateless.findResources('AWS::Lambda::Function', { Metadata: { 'profile-stream:function': name } }),
        )[0]!;

      it('sends the models bucket’s object events to EventBridge', () => {
        // Assess
        stateful.hasResource('AWS::S3::Bucket', {
          Metadata: { 'profile-stream:role': 'models' },
          Properties: Match.objectLike({
            NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
          }),
        });
        // No custom resource (and its Lambda function) just to flip the switch.
        stateful.resourceCountIs('Custom::S3BucketNotifications', 0);
      });

      it('starts the state machine when models/current.json is written', () => {
        // Prepare
        const target = new Capture();
        // Assess
        stateless.hasResourceProperties('AWS::Events::Rule', {
          EventPattern: {
            source: ['aws.s3'],
            'detail-type': ['Object Created'],
            detail: {
              bucket: { name: [{ 'Fn::ImportValue': Match.stringLikeRegexp('ModelsBucket') }] },
              object: { key: ['models/current.json'] },
            },
          },
          Targets: [Match.objectLike({ Arn: target, RetryPolicy: { MaximumRetryAttempts: 3 } })],
        });
        expect(stateless.toJSON().Resources[target.asObject().Ref].Type).toBe(
          'AWS::StepFunctions::StateMachine',
        );
      });

      it('runs two passes over 4 segments with a settle wait of poll + ingest timeout + 30 s between', () => {
        // Act
        const { StartAt, States } = definition();
        // Assess
        expect(StartAt).toBe('Segments');
        expect(States.Segments!.Parameters).toEqual({ segments: [0, 1, 2, 3] });
        expect(States.Segments!.Next).toBe('FirstPass');
        expect(States.FirstPass!.Next).toBe('Settle');
        expect(States.Settle).toMatchObject({ Type: 'Wait', Seconds: 60 + 60 + 30, Next: 'SecondPass' });
        for (const pass of ['FirstPass', 'SecondPass']) {
          const map = States[pass]!;
          expect(map).toMatchObject({
            Type: 'Map',
            ItemsPath: '$.segments',
            MaxConcurrency: 4,
            ResultPath: null,
            ItemSelector: { 'segment.$': '$$.Map.Item.Value' },
          });
          const segment = map.ItemProcessor.States[`${pass}Segment`]!;
          expect(segment.Retry).toEqual(
            expect.arrayContaining([
              expect.objectContaining({
                ErrorEquals: ['RescoreThrottledError', 'ModelPointerUnreadableError'],
                MaxAttempts: 5,
              }),
            ]),
          );
          // A segment loops until the function answers done.
          expect(segment.Next).toBe(`${pass}More`);
          expect(map.ItemProcessor.States[`${pass}More`]!.Choices).toEqual([
            { Variable: '$.done', BooleanEquals: false, Next: `${pass}Segment` },
          ]);
        }
        expect(States.SecondPass!.End).toBe(true);
      });

      it('lets one execution run 36 h: two passes over ~48 M profiles at 1,000 writes/s', () => {
        // Assess: a first pass of 47.6 M / 1,000 per second = 13.2 h (README, "Rescoring")
        expect(definition().TimeoutSeconds).toBe(36 * 3600);
      });

      it('invokes only the rescore function, which is bounded by its settings', () => {
        // Assess
        stateless.hasResourceProperties('AWS::IAM::Policy', {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Action: 'lambda:InvokeFunction',
                Resource: Match.arrayWith([{ 'Fn::GetAtt': [functionIdOf('rescore'), 'Arn'] }]),
              }),
            ]),
          },
        });
        stateless.hasResourceProperties('AWS::Lambda::Function', {
          Timeout: 300,
          Environment: {
            Variables: Match.objectLike({
              RESCORE_TOTAL_SEGMENTS: '4',
              RESCORE_PAGE_SIZE: '100',
              RESCORE_MAX_WRITES_PER_SECOND: '1000',
            }),
          },
        });
        stateless.hasResourceProperties('AWS::StepFunctions::StateMachine', {
          TracingConfiguration: { Enabled: true },
          LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
        });
      });
    });

    it.each([
      ['ingest', 'IteratorAge'],
      ['ingest', 'Errors'],
      ['ingest', 'Throttles'],
      ['ingest', 'DestinationDeliveryFailures'],
      ['archive', 'IteratorAge'],
      ['archive', 'Errors'],
      ['archive', 'DestinationDeliveryFailures'],
      ['train', 'Errors'],
      ['rescore', 'Errors'],
    ])('alarms on %s %s', (name, metricName) => {
      // Prepare
      const [functionId] = Object.keys(
        stateless.findResources('AWS::Lambda::Function', { Metadata: { 'profile-stream:function': name } }),
      );

      // Assess
      stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metricName,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
        AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
      });
    });

    it.each(['ExecutionsFailed', 'ExecutionsTimedOut'])(
      'alarms on the rescoring state machine’s %s',
      (metricName) => {
        // Prepare
        const [stateMachineId] = Object.keys(
          stateless.findResources('AWS::StepFunctions::StateMachine'),
        ).filter((id) => id.startsWith('Rescoring'));
        // Assess
        stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/States',
          MetricName: metricName,
          Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineId } }],
          Threshold: 1,
          AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
        });
      },
    );

    it('alarms when daily training has promoted nothing for 7 runs, counting a missing run as none', () => {
      // Assess
      stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'ProfileStream',
        MetricName: 'ModelPromoted',
        Dimensions: [{ Name: 'service', Value: 'train' }],
        Statistic: 'Sum',
        Period: 86_400,
        EvaluationPeriods: 7,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    });

    it.each(['FeatureDriftPsiMax', 'ScoreDriftPsi'])(
      'alarms on training-time drift %s ≥ 0.25',
      (metricName) => {
        // Assess
        stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'ProfileStream',
          MetricName: metricName,
          Dimensions: [{ Name: 'service', Value: 'train' }],
          Statistic: 'Maximum',
          Threshold: 0.25,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      },
    );

    it('alarms on the maximum iterator age above five minutes', () => {
      // Assess
      const alarms = stateless.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'IteratorAge', Statistic: 'Maximum', Threshold: 300_000 },
      });
      expect(Object.keys(alarms)).toHaveLength(3);
    });

    it('alarms when a batch is discarded to the failures bucket', () => {
      // Assess
      stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/S3',
        MetricName: 'PutRequests',
        Dimensions: Match.arrayWith([{ Name: 'FilterId', Value: 'AllObjects' }]),
        Threshold: 1,
      });
    });

    it.each(['ProfilesFailed', 'ModelRefused'])('alarms on the ingest function’s %s', (metricName) => {
      // Assess
      stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'ProfileStream',
        MetricName: metricName,
        Dimensions: [{ Name: 'service', Value: 'ingest' }],
        Statistic: 'Sum',
        Threshold: 1,
        AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
      });
    });

    it('encrypts the alarm topic and lets CloudWatch use its key', () => {
      // Assess
      stateless.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      stateless.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' } }),
          ]),
        },
      });
    });
  });

  describe('keyed hash and pseudonymous ids', () => {
    const functionOf = (name: string) => {
      const found = stateless.findResources('AWS::Lambda::Function', {
        Metadata: { 'profile-stream:function': name },
      });
      const [logicalId, fn] = Object.entries(found)[0] ?? [];
      return { logicalId, variables: fn?.Properties.Environment.Variables as Record<string, unknown> };
    };

    it('creates the key secret in the stateful stack, generated and retained, rotation acknowledged', () => {
      // Assess
      stateful.resourceCountIs('AWS::SecretsManager::Secret', 1);
      stateful.hasResource('AWS::SecretsManager::Secret', {
        DeletionPolicy: 'Retain',
        Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
      });
    });

    it('gives ingest, archive and erase the secret ARN, a read grant and ids unpseudonymised by default', () => {
      for (const name of ['ingest', 'archive', 'erase']) {
        // Act
        const { logicalId, variables } = functionOf(name);
        const role = stateless.findResources('AWS::Lambda::Function')[logicalId!]?.Properties.Role;

        // Assess
        expect(variables.HASH_KEY_SECRET_ID).toEqual({
          'Fn::ImportValue': expect.stringMatching(/HashKeySecret/),
        });
        expect(variables.PSEUDONYMISE_IDS).toBe('false');
        stateless.hasResourceProperties('AWS::IAM::Policy', {
          Roles: [{ Ref: role['Fn::GetAtt'][0] }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
                Resource: variables.HASH_KEY_SECRET_ID,
              }),
            ]),
          },
        });
      }
      // Training (the function and the distributed build's workers) holds it for tombstone keys only
      // (no ids to hash); rescoring and scrubbing never.
      for (const name of ['train', 'build-rows']) {
        expect(functionOf(name).variables).toMatchObject({
          HASH_KEY_SECRET_ID: { 'Fn::ImportValue': expect.stringMatching(/HashKeySecret/) },
          PROFILES_TABLE: expect.anything(),
        });
        expect(functionOf(name).variables.PSEUDONYMISE_IDS).toBeUndefined();
      }
      for (const name of ['rescore', 'scrub-failures']) {
        expect(functionOf(name).variables.HASH_KEY_SECRET_ID).toBeUndefined();
      }
    });

    it('pseudonymises ids in both consumers and erase when the context says pseudonymiseIds=true', () => {
      // Prepare
      const on = buildApp({
        context: { ...SKIP_BUNDLING, pseudonymiseIds: 'true' },
        nag: false,
        templateValidation: false,
      });

      // Act
      const template = Template.fromStack(on.stateless);

      // Assess
      expect(on.parameters.pseudonymiseIds).toBe(true);
      const flags = Object.values(template.findResources('AWS::Lambda::Function'))
        .map((fn) => fn.Properties.Environment.Variables.PSEUDONYMISE_IDS)
        .filter((flag) => flag !== undefined);
      expect(flags).toEqual(['true', 'true', 'true']);
    });

    it('sends the failures bucket’s object events to EventBridge', () => {
      // Assess
      stateful.hasResource('AWS::S3::Bucket', {
        Metadata: { 'profile-stream:role': 'failures' },
        Properties: { NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } } },
      });
    });

    it('runs scrub-failures on every on-failure object, with read and put on the failures bucket only', () => {
      // Prepare
      const { logicalId, variables } = functionOf('scrub-failures');

      // Assess
      stateless.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.s3'],
          'detail-type': ['Object Created'],
          detail: {
            bucket: { name: [variables.FAILURES_BUCKET] },
            object: { key: [{ prefix: 'aws/lambda/' }] },
          },
        },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86_400 },
          }),
        ],
      });
      const role = stateless.findResources('AWS::Lambda::Function')[logicalId!]?.Properties.Role;
      const policies = stateless.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: role['Fn::GetAtt'][0] }] },
      });
      const resources = JSON.stringify(Object.values(policies).map((p) => p.Properties.PolicyDocument));
      expect(resources).toContain('FailuresBucket');
      expect(resources).not.toMatch(
        /ArchiveBucket|QuarantineBucket|ModelsBucket|ProfilesTable|secretsmanager/,
      );
      expect(resources).not.toContain('s3:DeleteObject');
    });
  });

  describe('checks', () => {
    it('leaves no unacknowledged cdk-nag AwsSolutions finding', () => {
      // Act
      const report = new AwsSolutionsChecks().validateScope(built.app);

      // Assess
      expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    });

    it('reports no errors from CDK itself', () => {
      // Assess
      for (const stack of [built.stateful, built.stateless]) {
        expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
      }
    });
  });
});
