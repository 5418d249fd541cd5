import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../infra/cdk/app';

const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/** The parts of an Amazon States Language state these tests read. */
interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Parameters?: Record<string, unknown>;
  ItemsPath?: string;
  ItemSelector?: Record<string, unknown>;
  ItemProcessor?: {
    ProcessorConfig?: Record<string, string>;
    StartAt: string;
    States: Record<string, AslState>;
  };
}

describe('distributed training workflow', () => {
  const built = buildApp({ context: SKIP_BUNDLING, trainingEngine: 'distributed' });
  const stateless = Template.fromStack(built.stateless);
  const [id, machine] = Object.entries(stateless.findResources('AWS::StepFunctions::StateMachine')).find(
    ([logicalId]) => logicalId.startsWith('DistributedTraining'),
  )!;
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  // A token stands inside a JSON string (an ARN part) or as a whole value: quote it only in the latter case.
  const text = parts
    .map((p, i) => {
      if (typeof p === 'string') return p;
      const before = parts[i - 1];
      return typeof before === 'string' && before.endsWith('"') ? '<ref>' : '"<ref>"';
    })
    .join('');
  const definition = JSON.parse(text) as {
    StartAt: string;
    States: Record<string, AslState>;
  };
  const functionIdOf = (name: string) =>
    Object.keys(
      stateless.findResources('AWS::Lambda::Function', { Metadata: { 'profile-stream:function': name } }),
    )[0]!;

  it('runs plan → Links → aliases → Shuffle → Candidates → split → Rows → train, each pass a Distributed Map over the partitions', () => {
    // Act
    const { StartAt, States } = definition;
    // Assess
    expect(StartAt).toBe('Plan');
    expect(States.Plan!.Next).toBe('Links');
    expect(States.Links!.Next).toBe('Aliases');
    expect(States.Aliases!.Next).toBe('Shuffle');
    expect(States.Shuffle!.Next).toBe('Candidates');
    expect(States.Candidates!.Next).toBe('Split');
    expect(States.Split!.Next).toBe('Rows');
    expect(States.Rows!.Next).toBe('Train');
    expect(States.Train!.End).toBe(true);
    for (const [pass, step] of [
      ['Links', 'links'],
      ['Shuffle', 'shuffle'],
      ['Candidates', 'candidates'],
      ['Rows', 'rows'],
    ] as const) {
      const map = States[pass]!;
      expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.partitions' });
      expect(map.ItemProcessor!.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
      expect(map.ItemSelector).toMatchObject({
        step,
        'partition.$': '$$.Map.Item.Value',
        'runId.$': '$.runId',
      });
    }
    for (const [state, step] of [
      ['Plan', 'plan'],
      ['Aliases', 'aliases'],
      ['Split', 'split'],
      ['Train', 'train'],
    ] as const) {
      expect(States[state]!.Parameters).toMatchObject({ step });
    }
  });

  it('gives the workers the archive bucket to read and write its training-runs/ objects', () => {
    stateless.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ ARCHIVE_BUCKET: Match.anyValue(), LABEL_HORIZON_HOURS: '24' }),
      },
      Timeout: 900,
      MemorySize: 3008,
    });
    expect(functionIdOf('build-rows')).toBeDefined();
    Template.fromStack(built.stateful).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: 'training-runs/', ExpirationInDays: 2 })]),
      },
    });
  });

  it('is what the training schedule starts when trainingEngine is distributed', () => {
    stateless.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 day)',
      Targets: [Match.objectLike({ Arn: { Ref: id } })],
    });
  });

  it('leaves no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks().validateScope(built.app);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});
