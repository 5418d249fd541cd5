import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  METRICS_NAMESPACE,
  PUBLISHED_METRICS,
  SERVICE_DIMENSION,
  type DimensionArgs,
  type MetricName,
  type MetricService,
} from '../../../functions/commons/telemetry-contract';
import { DRIFT_ALARM_PSI } from '../../../shared/model/feature-drift';
import { FAILURES_METRICS_FILTER_ID } from '../stateful-stack';

/** Properties of {@link PipelineMonitoring}. */
export interface PipelineMonitoringProps {
  readonly ingest: lambda.IFunction;
  /** The consumer of the activation stream that keeps the audience members table. */
  readonly activationIndex: lambda.IFunction;
  readonly archive: lambda.IFunction;
  readonly train: lambda.IFunction;
  /** The training schedule, for the alarm on runs that promote nothing. */
  readonly training: { readonly rateHours: number; readonly alarmAfterRunsWithoutPromotion: number };
  /** The rescoring state machine and the function it runs per segment. */
  readonly rescoring: { readonly stateMachine: sfn.IStateMachine; readonly rescore: lambda.IFunction };
  /** The event source mappings' on-failure destination. */
  readonly failuresBucket: s3.IBucket;
  /**
   * IteratorAge (maximum) above which a consumer counts as falling behind.
   * @default Duration.minutes(5)
   */
  readonly iteratorAgeThreshold?: Duration;
}

/** Ingest metrics graphed together (the dimension-less ones of the telemetry contract). */
const INGEST_GRAPHS = {
  records: ['RecordsIn', 'Applied', 'Duplicates', 'ProfilesWritten', 'WriteConflicts'],
  latencies: ['InferenceMs', 'BatchMs', 'EventAgeMs'],
  failures: ['ProfilesFailed', 'ModelRefused', 'ModelPollFailed'],
} as const satisfies Record<string, readonly MetricName<'ingest'>[]>;

const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/** How a metric of the telemetry contract is read. */
export interface PublishedMetricOptions {
  readonly statistic: string;
  readonly period: Duration;
  /** @default - CloudWatch's label (the metric name) */
  readonly label?: string;
}

/**
 * A metric of the telemetry contract as CloudWatch stores it: under `{ service, ...its dimensions }`,
 * the exact set the function publishes (any other set reads an empty series).
 */
export function publishedMetric<S extends MetricService, M extends MetricName<S>>(
  service: S,
  name: M,
  options: PublishedMetricOptions,
  ...[dimensions]: DimensionArgs<S, M>
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { [SERVICE_DIMENSION]: service, ...dimensions },
    ...options,
  });
}

/**
 * Alarms on what needs a human: consumers falling behind (IteratorAge), function errors and
 * throttles, profiles whose write kept failing (ProfilesFailed), a published model that ingest
 * refuses (ModelRefused), batches discarded to the failures bucket, and on-failure deliveries that
 * failed (Lambda's DestinationDeliveryFailures, i.e. records lost for good). Plus one dashboard.
 */
export class PipelineMonitoring extends Construct {
  /** Alarm notifications; subscribe people or chat integrations to it. */
  readonly alarmTopic: sns.Topic;
  /** Every alarm, for tests and for wiring more actions. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The operations dashboard. */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const iteratorAgeThreshold = props.iteratorAgeThreshold ?? Duration.minutes(5);

    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts profile-stream alarm notifications',
      enableKeyRotation: true,
    });
    // CloudWatch must be able to publish to the encrypted topic.
    topicKey.grant(
      new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { masterKey: topicKey, enforceSSL: true });

    const functions = {
      ingest: props.ingest,
      archive: props.archive,
      train: props.train,
      rescore: props.rescoring.rescore,
      activationIndex: props.activationIndex,
    };
    for (const [name, fn] of Object.entries(functions)) {
      // The daily trainer and the rescorer (once per promotion) report over an hour so one failed run
      // is one alarm, not sixty.
      const period = name === 'train' || name === 'rescore' ? Duration.hours(1) : FIVE_MINUTES;
      this.addAlarm(`${name}Errors`, fn.metricErrors({ period }), 'function errors (whole batches failed)');
      this.addAlarm(`${name}Throttles`, fn.metricThrottles({ period }), 'throttled invocations');
    }
    const consumers = {
      ingest: props.ingest,
      archive: props.archive,
      activationIndex: props.activationIndex,
    };
    for (const [name, fn] of Object.entries(consumers)) {
      this.addAlarm(
        `${name}IteratorAge`,
        iteratorAge(fn),
        `consumer behind the stream by more than ${iteratorAgeThreshold.toHumanString()}`,
        { threshold: iteratorAgeThreshold.toMilliseconds(), evaluationPeriods: 5 },
      );
      this.addAlarm(
        `${name}DestinationDeliveryFailures`,
        fn.metric('DestinationDeliveryFailures', { statistic: 'Sum', period: FIVE_MINUTES }),
        'discarded batches could not be written to the failures bucket: records are lost',
      );
    }
    // S3 request metrics (enabled on the bucket by the stateful stack): any PUT means the event
    // source mappings gave up on a batch after retries, bisecting or the maximum record age.
    const failuresWritten = new cloudwatch.Metric({
      namespace: 'AWS/S3',
      metricName: 'PutRequests',
      dimensionsMap: { BucketName: props.failuresBucket.bucketName, FilterId: FAILURES_METRICS_FILTER_ID },
      statistic: 'Sum',
      period: FIVE_MINUTES,
    });
    this.addAlarm('FailedBatchesDiscarded', failuresWritten, 'batches discarded to the failures bucket');
    this.addAlarm(
      'ingestProfilesFailed',
      publishedMetric('ingest', 'ProfilesFailed', { statistic: 'Sum', period: FIVE_MINUTES }),
      'profile writes kept failing (throttled or conflicting); their records are redelivered',
    );
    this.addAlarm(
      'ingestActivationFailed',
      publishedMetric('ingest', 'ActivationFailed', { statistic: 'Sum', period: FIVE_MINUTES }),
      'audience transitions could not be put on the activation stream; their records are redelivered',
    );
    this.addAlarm(
      'ingestModelRefused',
      publishedMetric('ingest', 'ModelRefused', { statistic: 'Sum', period: FIVE_MINUTES }),
      'ingest refuses the published model and keeps serving the previous one (or none)',
    );

    // A failed or timed-out execution leaves profiles scored by another model than the one serving
    // until the next promotion (ingest rescores only the profiles it writes).
    const { stateMachine } = props.rescoring;
    this.addAlarm(
      'rescoringExecutionsFailed',
      stateMachine.metricFailed({ statistic: 'Sum', period: Duration.hours(1) }),
      "a rescoring run failed: some profiles keep the previous model's scores",
    );
    this.addAlarm(
      'rescoringExecutionsTimedOut',
      stateMachine.metricTimedOut({ statistic: 'Sum', period: Duration.hours(1) }),
      "a rescoring run timed out: some profiles keep the previous model's scores",
    );

    const trainingPeriod = Duration.hours(props.training.rateHours);
    const driftMetric = (name: 'FeatureDriftPsiMax' | 'ScoreDriftPsi') =>
      publishedMetric('train', name, { statistic: 'Maximum', period: trainingPeriod });
    this.addAlarm(
      'trainFeatureDrift',
      driftMetric('FeatureDriftPsiMax'),
      `a feature's distribution shifted (PSI ≥ ${DRIFT_ALARM_PSI}) against the serving model's training rows`,
      { threshold: DRIFT_ALARM_PSI },
    );
    this.addAlarm(
      'trainScoreDrift',
      driftMetric('ScoreDriftPsi'),
      `the serving model's purchase scores shifted (PSI ≥ ${DRIFT_ALARM_PSI}) against its own test rows`,
      { threshold: DRIFT_ALARM_PSI },
    );
    const runs = props.training.alarmAfterRunsWithoutPromotion;
    this.addAlarm(
      'trainNotPromoting',
      publishedMetric('train', 'ModelPromoted', { statistic: 'Sum', period: trainingPeriod }),
      `${runs} training runs in a row promoted no model (or did not run): the serving model is growing stale`,
      {
        threshold: 1,
        evaluationPeriods: runs,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // A run that failed before publishing, or no run at all, promoted nothing either.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
    );

    this.dashboard = this.createDashboard(props, failuresWritten);
  }

  private addAlarm(
    id: string,
    metric: cloudwatch.IMetric,
    description: string,
    options: {
      threshold?: number;
      evaluationPeriods?: number;
      comparisonOperator?: cloudwatch.ComparisonOperator;
      treatMissingData?: cloudwatch.TreatMissingData;
    } = {},
  ): void {
    const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
      metric,
      alarmDescription: `profile-stream: ${description}`,
      threshold: options.threshold ?? 1,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      comparisonOperator:
        options.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No invocations means nothing went wrong; an idle stream is not an incident.
      treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));
    alarm.addOkAction(new actions.SnsAction(this.alarmTopic));
    this.alarms.push(alarm);
  }

  private createDashboard(
    props: PipelineMonitoringProps,
    failuresWritten: cloudwatch.IMetric,
  ): cloudwatch.Dashboard {
    const consumers = [props.ingest, props.archive];
    const ingestMetrics = (names: readonly MetricName<'ingest'>[], statistic: string): cloudwatch.Metric[] =>
      names.map((name) => publishedMetric('ingest', name, { statistic, period: ONE_MINUTE }));
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      options: { stacked?: boolean; width?: number } = {},
    ): cloudwatch.GraphWidget => new cloudwatch.GraphWidget({ title, left, width: 8, ...options });
    // One series per violation kind rather than a SEARCH expression: the kinds are a closed set in
    // the domain, explicit metrics can back alarms and are checked against the published EMF by a
    // test, and stacking them shows the total.
    const quarantinedByReason = PUBLISHED_METRICS.ingest.Quarantined.dimensions.reason.map((reason) =>
      publishedMetric(
        'ingest',
        'Quarantined',
        { statistic: 'Sum', period: ONE_MINUTE, label: reason },
        { reason },
      ),
    );

    return new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-pipeline`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          graph('Iterator age (max, ms)', consumers.map(iteratorAge)),
          graph(
            'Errors and throttles',
            [props.ingest, props.archive, props.train, props.rescoring.rescore].flatMap((fn) => [
              fn.metricErrors({ period: ONE_MINUTE }),
              fn.metricThrottles({ period: ONE_MINUTE }),
            ]),
          ),
          graph(
            'Duration (p99, ms)',
            consumers.map((fn) => fn.metricDuration({ statistic: 'p99', period: ONE_MINUTE })),
          ),
        ],
        [
          graph('Ingest records', ingestMetrics(INGEST_GRAPHS.records, 'Sum')),
          graph('Ingest latency (p99, ms)', ingestMetrics(INGEST_GRAPHS.latencies, 'p99')),
          graph('Discarded batches', [
            failuresWritten,
            ...consumers.map((fn) =>
              fn.metric('DestinationDeliveryFailures', { statistic: 'Sum', period: ONE_MINUTE }),
            ),
          ]),
        ],
        [
          graph('Quarantined records by reason', quarantinedByReason, { stacked: true, width: 12 }),
          graph(
            'Failed profiles, refused models, failed model polls',
            ingestMetrics(INGEST_GRAPHS.failures, 'Sum'),
            {
              width: 12,
            },
          ),
        ],
      ],
    });
  }
}

function iteratorAge(fn: lambda.IFunction): cloudwatch.Metric {
  return fn.metric('IteratorAge', { statistic: 'Maximum', period: ONE_MINUTE });
}
