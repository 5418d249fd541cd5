import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** Options of {@link objectCreatedRule}. */
export interface ObjectCreatedRuleOptions {
  readonly description: string;
  /** The bucket (EventBridge notifications enabled by the stateful stack). */
  readonly bucket: s3.IBucket;
  /** Only objects whose key starts with this. */
  readonly keyPrefix: string;
  /** The function invoked for each object. */
  readonly target: lambda.IFunction;
}

/**
 * An EventBridge rule invoking `target` for every object created under `keyPrefix` in `bucket` (S3 →
 * EventBridge, as for model pointers: a bucket notification to a function of the other stack would
 * make the stacks depend on each other). EventBridge retries a failed invocation for up to a day, so
 * the target must be safe to repeat. The local topology reads these rules back
 * (`objectCreatedTriggers`).
 */
export function objectCreatedRule(
  scope: Construct,
  id: string,
  options: ObjectCreatedRuleOptions,
): events.Rule {
  return new events.Rule(scope, id, {
    description: options.description,
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: {
        bucket: { name: [options.bucket.bucketName] },
        object: { key: [{ prefix: options.keyPrefix }] },
      },
    },
    targets: [
      new targets.LambdaFunction(options.target, { retryAttempts: 8, maxEventAge: Duration.hours(24) }),
    ],
  });
}
