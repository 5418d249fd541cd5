import { type CfnResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import { loggedStateMachine } from './logged-state-machine';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';

/** Properties of {@link DistributedTraining}. */
export interface DistributedTrainingProps {
  /** The train function: the coordinator's `plan`, `aliases`, `split` and `train` steps. */
  readonly coordinator: lambda.IFunction;
  /** The build-rows function: one archive partition per invocation. */
  readonly worker: lambda.IFunction;
  /** Workers running at once (at most the partition count matters). @default 16 */
  readonly maxConcurrency?: number;
}

/**
 * Training on a distributed engine (README, "Distributed training"): a state machine whose four
 * Distributed Maps run the build-rows worker over the archive's profile-hash buckets, with the train
 * function as coordinator in between and at the end (`shared/training/distributed-training.ts`):
 * plan → Links (Map) → aliases → Shuffle (Map) → Candidates (Map) → split → Rows (Map) → train.
 * Each Map item is a child workflow execution calling the worker once; a worker's throttles and
 * transient Lambda errors are retried.
 */
export class DistributedTraining extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: DistributedTrainingProps) {
    super(scope, id);
    const coordinator = (step: 'plan' | 'aliases' | 'split' | 'train', payload: Record<string, unknown>) =>
      new tasks.LambdaInvoke(this, `${step[0]!.toUpperCase()}${step.slice(1)}`, {
        lambdaFunction: props.coordinator,
        payload: sfn.TaskInput.fromObject({ step, ...payload }),
        payloadResponseOnly: true,
      });
    const run = {
      runId: sfn.JsonPath.stringAt('$.runId'),
      partitions: sfn.JsonPath.listAt('$.partitions'),
    };
    const definition = coordinator('plan', {})
      .next(this.overPartitions('Links', 'links', props))
      .next(coordinator('aliases', run))
      .next(this.overPartitions('Shuffle', 'shuffle', props))
      .next(this.overPartitions('Candidates', 'candidates', props))
      .next(coordinator('split', run))
      .next(this.overPartitions('Rows', 'rows', props))
      .next(coordinator('train', run));

    // Four passes of (at most) 15-minute workers and a 15-minute training step, with room for retries.
    this.stateMachine = loggedStateMachine(this, definition, Duration.hours(3));
    this.node.addValidation({
      validate: () => {
        // The Distributed Maps start child executions of this state machine, and only of it.
        const logicalId = Stack.of(this).resolve(
          Stack.of(this).getLogicalId(this.stateMachine.node.defaultChild as CfnResource),
        ) as string;
        const name = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId}"}]}]}`;
        for (const suffix of [':*', '/*:*']) {
          Validations.of(this.stateMachine).acknowledge({
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${name}${suffix}]`,
            reason: 'The Distributed Maps start and stop child executions of this state machine only.',
          });
        }
        for (const fn of [props.coordinator, props.worker]) {
          const arn = flattenCfnReference(Stack.of(this).resolve(fn.functionArn));
          Validations.of(this.stateMachine).acknowledge({
            id: `AwsSolutions-IAM5[Resource::${arn}:*]`,
            reason: 'Invoking versions and aliases of the training functions, and of no others.',
          });
        }
        return [];
      },
    });
  }

  /** A Distributed Map over the plan's partitions, one worker invocation per child execution. */
  private overPartitions(
    id: string,
    step: 'links' | 'shuffle' | 'candidates' | 'rows',
    props: DistributedTrainingProps,
  ): sfn.DistributedMap {
    const invoke = new tasks.LambdaInvoke(this, `${id}Partition`, {
      lambdaFunction: props.worker,
      payloadResponseOnly: true,
    });
    invoke.addRetry({
      errors: ['Lambda.TooManyRequestsException', 'Lambda.ServiceException', 'Lambda.SdkClientException'],
      interval: Duration.seconds(5),
      maxAttempts: 4,
      backoffRate: 2,
    });
    return new sfn.DistributedMap(this, id, {
      itemsPath: sfn.JsonPath.stringAt('$.partitions'),
      itemSelector: {
        step,
        runId: sfn.JsonPath.stringAt('$.runId'),
        partition: sfn.JsonPath.numberAt('$$.Map.Item.Value'),
      },
      maxConcurrency: props.maxConcurrency ?? 16,
      // Express children: one short Lambda call each, billed by duration rather than transitions.
      mapExecutionType: sfn.StateMachineType.EXPRESS,
      // Workers store their results in S3; the next state gets the plan again.
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(invoke);
  }
}
