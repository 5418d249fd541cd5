import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/**
 * A traced Standard state machine logging to its own one-month log group, without execution data
 * (the project's workflows carry ids and counts only, but still), with the cdk-nag finding that
 * Step Functions' log delivery and X-Ray actions force acknowledged.
 */
export function loggedStateMachine(
  scope: Construct,
  definition: sfn.IChainable,
  timeout: Duration,
): sfn.StateMachine {
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    timeout,
    tracingEnabled: true,
    logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
  });
  Validations.of(stateMachine).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'Log delivery and X-Ray actions of Step Functions only support Resource "*".',
  });
  return stateMachine;
}
