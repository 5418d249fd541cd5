import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ERASURE_REQUESTS_PREFIX } from '../../../shared/erasure/erase-use-case';
import { objectCreatedRule } from './object-created-rule';

/** Properties of {@link ErasureIntake}. */
export interface ErasureIntakeProps {
  /** The erasure bucket (EventBridge notifications enabled by the stateful stack). */
  readonly erasureBucket: s3.IBucket;
  /** The erase function. */
  readonly erase: lambda.IFunction;
}

/**
 * The request path of erasure: every object created under `requests/` in the erasure bucket invokes
 * the erase function (S3 → EventBridge, as for model pointers: a bucket notification to a function in
 * the other stack would make the stacks depend on each other). EventBridge retries a failed
 * invocation for up to a day; every step of an erasure is safe to repeat.
 */
export class ErasureIntake extends Construct {
  /** The rule routing requests to the function. */
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: ErasureIntakeProps) {
    super(scope, id);
    this.rule = objectCreatedRule(this, 'RequestCreated', {
      description: 'Starts an erasure for every request object',
      bucket: props.erasureBucket,
      keyPrefix: ERASURE_REQUESTS_PREFIX,
      target: props.erase,
    });
  }
}
