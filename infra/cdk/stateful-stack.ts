import { Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as pipes from 'aws-cdk-lib/aws-pipes';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/** Template metadata key naming what a bucket is for; {@link synthesizeTopology} reads it. */
export const BUCKET_ROLE_METADATA = 'profile-stream:role';

/** What each bucket holds. `other` covers infrastructure buckets such as the access log target. */
export const BUCKET_ROLES = ['models', 'archive', 'quarantine', 'failures', 'erasure', 'other'] as const;

/** One of {@link BUCKET_ROLES}. */
export type BucketRole = (typeof BUCKET_ROLES)[number];

/** What each stream carries (template metadata under {@link BUCKET_ROLE_METADATA}). */
export const STREAM_ROLES = ['events', 'activation'] as const;
/** One of {@link STREAM_ROLES}. */
export type StreamRole = (typeof STREAM_ROLES)[number];

/** What each table holds (template metadata under {@link BUCKET_ROLE_METADATA}). */
export const TABLE_ROLES = ['profiles', 'audience-members'] as const;
/** One of {@link TABLE_ROLES}. */
export type TableRole = (typeof TABLE_ROLES)[number];

/** The audience members table's keys and TTL attribute (fixed by `functions/commons/dynamodb-audience-index.ts`). */
export const MEMBERS_KEYS = { partition: 'audienceId', sort: 'profileId', ttl: 'expiresAt' } as const;

/** The EventBridge `source` and `detail-type` of activation events on the bus (rules match on them). */
export const ACTIVATION_BUS_EVENT = {
  source: 'profile-stream.activation',
  detailType: 'Audience Transition',
} as const;

/** The name of the profiles table's partition key (fixed by the shared wiring contract). */
export const PROFILE_PARTITION_KEY = 'profileId';

/** The profiles table's TTL attribute (epoch seconds; fixed by the shared wiring contract). */
export const PROFILE_TTL_ATTRIBUTE = 'expiresAt';

/** S3 request-metrics filter id on the failures bucket; alarms read `AWS/S3` metrics with it. */
export const FAILURES_METRICS_FILTER_ID = 'AllObjects';

/**
 * How long objects live, in days. Quarantined events may still carry personal data (they failed
 * validation before redaction), so they go soonest; discarded batches in the failures bucket are
 * kept a little longer so a replay can still happen after an incident that spans a holiday.
 */
const RETENTION_DAYS = {
  archiveToInfrequentAccess: 30,
  archive: 400,
  quarantine: 30,
  failures: 60,
  noncurrentModelVersions: 90,
  accessLogs: 90,
  /** Intermediate results of distributed training runs (`training-runs/`): a run takes minutes. */
  trainingRuns: 2,
  /** Requests hold raw ids: the erase function deletes each one, this is the backstop. */
  erasureRequests: 1,
  /**
   * Audience exports (`exports/` in the models bucket: profile ids, a hand-off to a downstream tool):
   * a week to be picked up, then gone, with their noncurrent versions a day later (the bucket is
   * versioned for the model pointer; the bucket-wide 90 days would keep exported ids a quarter).
   */
  audienceExports: 7,
  audienceExportVersions: 1,
} as const;

/** Properties of {@link StatefulStack}. */
export interface StatefulStackProps extends StackProps {
  /**
   * Provisioned shard count of the events stream; 0 selects on-demand capacity.
   * @default 2
   */
  readonly shardCount?: number;
  /**
   * How the profiles table is billed.
   * @default { mode: 'on-demand' }
   */
  readonly profilesTableCapacity?: ProfilesTableCapacity;
}

/** Auto scaling bounds of one provisioned capacity (reads or writes), in units per second. */
export interface CapacityRange {
  readonly min: number;
  readonly max: number;
}

/**
 * The profiles table's billing: per request, or provisioned capacity that target tracking keeps at
 * `targetUtilisationPercent` between each range's bounds (`StackParameters.profilesTableBilling`).
 */
export type ProfilesTableCapacity =
  | { readonly mode: 'on-demand' }
  | {
      readonly mode: 'provisioned';
      readonly write: CapacityRange;
      readonly read: CapacityRange;
      readonly targetUtilisationPercent: number;
    };

/** The stateful resources the stateless stack is wired to. */
export interface StatefulResources {
  readonly stream: kinesis.IStream;
  readonly table: dynamodb.ITable;
  /** Audience entries and exits (JSON, partition key = profile id), fanned out to {@link activationBus}. */
  readonly activationStream: kinesis.IStream;
  /** Subscribers' rules match activation events here (source {@link ACTIVATION_BUS_EVENT}). */
  readonly activationBus: events.IEventBus;
  /** Audience id → profile id rows, written only on transitions (the activation-index function). */
  readonly membersTable: dynamodb.ITable;
  readonly modelsBucket: s3.IBucket;
  readonly archiveBucket: s3.IBucket;
  readonly quarantineBucket: s3.IBucket;
  /** Receives the full invocation record of batches the event source mappings discard. */
  readonly failuresBucket: s3.IBucket;
  /** Erasure requests (`requests/`) and receipts (`receipts/`). */
  readonly erasureBucket: s3.IBucket;
  /** The key of the keyed hash (device/network fingerprints, pseudonymised ids, erasure tombstones). */
  readonly hashKeySecret: secretsmanager.ISecret;
}

/**
 * Everything that holds data: the events stream, the profiles table and the buckets. Every data
 * resource is retained on stack deletion, so the stateless stack can be torn down and redeployed
 * freely.
 */
export class StatefulStack extends Stack {
  /** The resources handed to {@link StatelessStack}. */
  readonly resources: StatefulResources;

  constructor(scope: Construct, id: string, props: StatefulStackProps = {}) {
    super(scope, id, props);
    const shardCount = props.shardCount ?? 2;

    const stream = new kinesis.Stream(this, 'EventsStream', {
      // The AWS managed key (aws/kinesis): encrypted at rest without a customer managed key's
      // per-producer/consumer KMS costs and key-policy plumbing across the two stacks.
      encryption: kinesis.StreamEncryption.MANAGED,
      // 24 h is the free retention; iterator-age alarms fire long before records expire.
      retentionPeriod: Duration.hours(24),
      ...(shardCount === 0 ? { streamMode: kinesis.StreamMode.ON_DEMAND } : { shardCount }),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (stream.node.defaultChild as kinesis.CfnStream).addMetadata(
      BUCKET_ROLE_METADATA,
      'events' satisfies StreamRole,
    );

    const capacity = props.profilesTableCapacity ?? { mode: 'on-demand' };
    const table = new dynamodb.Table(this, 'ProfilesTable', {
      partitionKey: { name: PROFILE_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      ...(capacity.mode === 'provisioned'
        ? {
            billingMode: dynamodb.BillingMode.PROVISIONED,
            // Auto scaling owns the capacity from here; the table starts at the floor.
            writeCapacity: capacity.write.min,
            readCapacity: capacity.read.min,
          }
        : { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST }),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: PROFILE_TTL_ATTRIBUTE,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (capacity.mode === 'provisioned') {
      const targetUtilizationPercent = capacity.targetUtilisationPercent;
      table
        .autoScaleWriteCapacity({ minCapacity: capacity.write.min, maxCapacity: capacity.write.max })
        .scaleOnUtilization({ targetUtilizationPercent });
      table
        .autoScaleReadCapacity({ minCapacity: capacity.read.min, maxCapacity: capacity.read.max })
        .scaleOnUtilization({ targetUtilizationPercent });
    }
    (table.node.defaultChild as dynamodb.CfnTable).addMetadata(
      BUCKET_ROLE_METADATA,
      'profiles' satisfies TableRole,
    );

    const { activationStream, activationBus } = this.createActivationFeed();
    const membersTable = new dynamodb.Table(this, 'AudienceMembersTable', {
      partitionKey: { name: MEMBERS_KEYS.partition, type: dynamodb.AttributeType.STRING },
      sortKey: { name: MEMBERS_KEYS.sort, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Exited rows are kept (marked) so a late, older entry cannot resurrect them, then expire.
      timeToLiveAttribute: MEMBERS_KEYS.ttl,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (membersTable.node.defaultChild as dynamodb.CfnTable).addMetadata(
      BUCKET_ROLE_METADATA,
      'audience-members' satisfies TableRole,
    );

    const accessLogsBucket = this.createBucket('AccessLogsBucket', 'other', {
      // S3 log delivery only supports SSE-S3 targets and writes via the bucket policy CDK adds.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(RETENTION_DAYS.accessLogs) }],
    });
    Validations.of(accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log target; logging it into itself would loop.',
    });
    const logged = (prefix: string): s3.BucketProps => ({
      serverAccessLogsBucket: accessLogsBucket,
      serverAccessLogsPrefix: `${prefix}/`,
    });

    const modelsBucket = this.createBucket('ModelsBucket', 'models', {
      ...logged('models'),
      // The model pointer is overwritten on every training run; versions allow a rollback.
      versioned: true,
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(RETENTION_DAYS.noncurrentModelVersions) },
        {
          prefix: 'exports/',
          expiration: Duration.days(RETENTION_DAYS.audienceExports),
          noncurrentVersionExpiration: Duration.days(RETENTION_DAYS.audienceExportVersions),
        },
      ],
    });
    const archiveBucket = this.createBucket('ArchiveBucket', 'archive', {
      ...logged('archive'),
      lifecycleRules: [
        {
          transitions: [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(RETENTION_DAYS.archiveToInfrequentAccess),
            },
          ],
          expiration: Duration.days(RETENTION_DAYS.archive),
        },
        { prefix: 'training-runs/', expiration: Duration.days(RETENTION_DAYS.trainingRuns) },
      ],
    });
    const quarantineBucket = this.createBucket('QuarantineBucket', 'quarantine', {
      ...logged('quarantine'),
      lifecycleRules: [{ expiration: Duration.days(RETENTION_DAYS.quarantine) }],
    });
    // A bucket of its own (not a quarantine prefix): the on-failure destination cannot take a
    // prefix, and its object count is the "records were discarded" signal the alarms watch.
    const failuresBucket = this.createBucket('FailuresBucket', 'failures', {
      ...logged('failures'),
      lifecycleRules: [{ expiration: Duration.days(RETENTION_DAYS.failures) }],
      metrics: [{ id: FAILURES_METRICS_FILTER_ID }],
    });

    // Moves of the model pointer start the rescoring workflow (stateless stack) through EventBridge.
    // Set on the CloudFormation resource itself: the L2 `eventBridgeEnabled` would add a custom
    // resource and its Lambda function just to flip this switch.
    (modelsBucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };
    // New on-failure objects start the scrub-failures function (stateless stack) the same way: a
    // bucket notification to a function of the other stack would make the stacks depend on each other.
    (failuresBucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    const erasureBucket = this.createBucket('ErasureBucket', 'erasure', {
      ...logged('erasure'),
      lifecycleRules: [{ prefix: 'requests/', expiration: Duration.days(RETENTION_DAYS.erasureRequests) }],
    });
    // New requests start the erase function through EventBridge (stateless stack), as for models.
    (erasureBucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    // Always created, whether or not ids are pseudonymised: fingerprints and tombstones need it too.
    // 64 random alphanumerics (≈ 381 bits), used as their UTF-8 bytes: above HMAC-SHA256's 32 bytes.
    const hashKeySecret = new secretsmanager.Secret(this, 'HashKeySecret', {
      description: 'Key of the keyed hash (HMAC-SHA256) of user ids: erasure tombstones, pseudonymised ids',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(hashKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the key changes every pseudonym and fingerprint and orphans every tombstone: a planned re-keying (README, "Pseudonymous ids"), never a schedule.',
    });

    this.resources = {
      stream,
      table,
      activationStream,
      activationBus,
      membersTable,
      modelsBucket,
      archiveBucket,
      quarantineBucket,
      failuresBucket,
      erasureBucket,
      hashKeySecret,
    };
  }

  /**
   * The activation stream and its fan-out: an EventBridge Pipe (no code) puts every record on a bus,
   * the JSON event as `detail`, so subscribers (CRM, marketing, fraud) use rules instead of polling.
   */
  private createActivationFeed(): { activationStream: kinesis.Stream; activationBus: events.EventBus } {
    const activationStream = new kinesis.Stream(this, 'ActivationStream', {
      encryption: kinesis.StreamEncryption.MANAGED,
      retentionPeriod: Duration.hours(24),
      // Transitions are a small fraction of events (README, "Activation feed"): one shard is ~1,000/s.
      shardCount: 1,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (activationStream.node.defaultChild as kinesis.CfnStream).addMetadata(
      BUCKET_ROLE_METADATA,
      'activation' satisfies StreamRole,
    );
    const activationBus = new events.EventBus(this, 'ActivationBus', {
      description: 'Audience entries and exits of profile-stream (detail = the activation event)',
    });
    const role = new iam.Role(this, 'ActivationPipeRole', {
      assumedBy: new iam.ServicePrincipal('pipes.amazonaws.com'),
      description: 'Reads the activation stream and puts its events on the activation bus',
    });
    activationStream.grantRead(role);
    activationBus.grantPutEventsTo(role);
    const pipe = new pipes.CfnPipe(this, 'ActivationPipe', {
      description: 'Activation stream → activation bus',
      roleArn: role.roleArn,
      source: activationStream.streamArn,
      sourceParameters: {
        kinesisStreamParameters: {
          startingPosition: 'TRIM_HORIZON',
          batchSize: 10,
          maximumRetryAttempts: 10,
        },
      },
      target: activationBus.eventBusArn,
      targetParameters: {
        eventBridgeEventBusParameters: {
          source: ACTIVATION_BUS_EVENT.source,
          detailType: ACTIVATION_BUS_EVENT.detailType,
        },
        // The record's data is the event JSON: it becomes the bus event's detail as is.
        inputTemplate: '<$.data>',
      },
    });
    pipe.node.addDependency(role);
    return { activationStream, activationBus };
  }

  private createBucket(id: string, role: BucketRole, props: s3.BucketProps): s3.Bucket {
    const bucket = new s3.Bucket(this, id, {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...props,
      lifecycleRules: [
        ...(props.lifecycleRules ?? []),
        { abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
    (bucket.node.defaultChild as s3.CfnBucket).addMetadata(BUCKET_ROLE_METADATA, role);
    return bucket;
  }
}
