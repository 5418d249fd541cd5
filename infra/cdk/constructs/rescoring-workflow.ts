import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { loggedStateMachine } from './logged-state-machine';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';
import { CURRENT_POINTER_KEY } from '../../../shared/model/model-metadata';

/**
 * Errors after which a segment's invocation is retried (with the same event: a run is idempotent, so
 * it resumes where it started and skips what it already rewrote).
 */
export const RESCORE_RETRIED_ERRORS = ['RescoreThrottledError', 'ModelPointerUnreadableError'] as const;

/** How long one rescoring execution may run (the `ExecutionsTimedOut` alarm fires past it). */
export const RESCORING_TIMEOUT = Duration.hours(36);

/** Properties of {@link RescoringWorkflow}. */
export interface RescoringWorkflowProps {
  /** The rescore function: one segment per invocation, answering `{ done, startKey }`. */
  readonly rescore: lambda.IFunction;
  /** The bucket whose `models/current.json` pointer starts a run when it is written. */
  readonly modelsBucket: s3.IBucket;
  /** Parallel-scan segments; each pass invokes the function once per segment at a time. */
  readonly totalSegments: number;
  /**
   * How long after the first pass the second one starts: at least ingest's model poll interval plus
   * its function timeout, the longest an ingest container can still write a score of the previous model.
   */
  readonly settle: Duration;
}

/**
 * Rescoring after every move of the model pointer (promotion, `npm run model -- promote|rollback`):
 * S3 → EventBridge rule on `models/current.json` → a state machine that runs two passes over the
 * table, each a Map over the segments (every segment invoked in a loop until it answers `done`), with
 * a wait of `settle` between them. The second pass rescores what ingest containers still on the
 * previous model wrote behind the first (see the README, "Rescoring").
 */
export class RescoringWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly trigger: events.Rule;

  constructor(scope: Construct, id: string, props: RescoringWorkflowProps) {
    super(scope, id);
    const segments = new sfn.Pass(this, 'Segments', {
      comment: 'The parallel-scan segments of the profiles table',
      parameters: { segments: Array.from({ length: props.totalSegments }, (_s, i) => i) },
    });
    const settle = new sfn.Wait(this, 'Settle', {
      comment: 'Until no ingest container can still write a score of the previous model',
      time: sfn.WaitTime.duration(props.settle),
    });
    const definition = segments
      .next(this.pass('FirstPass', props))
      .next(settle)
      .next(this.pass('SecondPass', props));

    // Two passes plus the wait: at 1,000 events/s the table holds ~48 million profiles (README, "Cost per
    // million events"), a first pass of ~13 h at the default 1,000 writes/s and an unpaced second pass of
    // a few hours. A run that times out is started again by the next promotion and skips what it rewrote.
    this.stateMachine = loggedStateMachine(this, definition, RESCORING_TIMEOUT);
    // The function's ARN as cdk-nag prints it is only known once the template resolves.
    this.node.addValidation({
      validate: () => {
        const arn = flattenCfnReference(Stack.of(this).resolve(props.rescore.functionArn));
        Validations.of(this.stateMachine).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${arn}:*]`,
          reason: 'Invoking versions and aliases of the rescore function, and of no other.',
        });
        return [];
      },
    });

    this.trigger = new events.Rule(this, 'PointerMoved', {
      description: 'Rescores the profiles when the serving model pointer moves',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [props.modelsBucket.bucketName] }, object: { key: [CURRENT_POINTER_KEY] } },
      },
      targets: [new targets.SfnStateMachine(this.stateMachine, { retryAttempts: 3 })],
    });
  }

  /** One pass: every segment invoked until it answers `done`, all segments at once. */
  private pass(id: string, props: RescoringWorkflowProps): sfn.Map {
    const invoke = new tasks.LambdaInvoke(this, `${id}Segment`, {
      lambdaFunction: props.rescore,
      payloadResponseOnly: true,
    });
    invoke.addRetry({
      errors: [...RESCORE_RETRIED_ERRORS],
      interval: Duration.seconds(20),
      maxAttempts: 5,
      backoffRate: 2,
    });
    const more = new sfn.Choice(this, `${id}More`)
      .when(sfn.Condition.booleanEquals('$.done', false), invoke)
      .otherwise(new sfn.Succeed(this, `${id}SegmentDone`));
    invoke.next(more);
    return new sfn.Map(this, id, {
      itemsPath: '$.segments',
      itemSelector: { segment: sfn.JsonPath.numberAt('$$.Map.Item.Value') },
      maxConcurrency: props.totalSegments,
      // The pass's answers are not needed; the next state gets the segments list again.
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(invoke);
  }
}
