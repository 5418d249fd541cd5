import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { objectCreatedRule } from './object-created-rule';

/** Where Lambda writes on-failure invocation records in an S3 destination. */
export const ON_FAILURE_KEY_PREFIX = 'aws/lambda/';

/** Properties of {@link FailureScrubbing}. */
export interface FailureScrubbingProps {
  /** The on-failure destination of the stream consumers (EventBridge notifications enabled). */
  readonly failuresBucket: s3.IBucket;
  /** The scrub-failures function. */
  readonly scrub: lambda.IFunction;
}

/**
 * Lambda writes the whole invocation record — payload, personal fields and all — to an S3 on-failure
 * destination. Every object it creates there invokes the scrub-failures function (S3 → EventBridge,
 * as for model pointers: a bucket notification to a function of the other stack would make the stacks
 * depend on each other), which rewrites it without personal data. The rewrite is itself an "Object
 * Created": the function finds nothing left to remove and writes nothing, so the loop ends there.
 * EventBridge retries a failed invocation for up to a day; a scrub is safe to repeat.
 */
export class FailureScrubbing extends Construct {
  /** The rule routing new on-failure objects to the function. */
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: FailureScrubbingProps) {
    super(scope, id);
    this.rule = objectCreatedRule(this, 'OnFailureObjectCreated', {
      description: 'Removes personal data from every on-failure invocation record',
      bucket: props.failuresBucket,
      keyPrefix: ON_FAILURE_KEY_PREFIX,
      target: props.scrub,
    });
  }
}
