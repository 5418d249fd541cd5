import { createHash } from 'node:crypto';
import { buildApp, STACK_NAMES, type BuildAppOptions } from '../cdk/app';
import {
  FUNCTION_METADATA,
  PROFILE_FUNCTION_NAMES,
  type ProfileFunctionName,
} from '../cdk/constructs/profile-function';
import {
  BUCKET_ROLE_METADATA,
  BUCKET_ROLES,
  type BucketRole,
  type StreamRole,
  type TableRole,
} from '../cdk/stateful-stack';

/**
 * Shards a local stream gets when the cloud stream is on-demand: AWS starts on-demand streams
 * with 4 MB/s of write capacity, i.e. four shards.
 */
export const ON_DEMAND_LOCAL_SHARDS = 4;

/** A reference to a stateful resource, by its logical id in the stateful template. */
export interface ResourceRef {
  readonly ref: string;
}

/** A DynamoDB key element, as in the template. */
export interface KeySchemaElement {
  readonly AttributeName: string;
  readonly KeyType: 'HASH' | 'RANGE';
}

/** A DynamoDB attribute definition, as in the template. */
export interface AttributeDefinition {
  readonly AttributeName: string;
  readonly AttributeType: 'S' | 'N' | 'B';
}

/** A function, as the local runner needs it. */
export interface TopologyFunction {
  readonly logicalId: string;
  readonly name: ProfileFunctionName;
  /** Repo-relative handler module, exporting `handler`. */
  readonly entry: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The instruction set (`Architectures`; Lambda's default when absent is x86_64). */
  readonly architecture: 'x86_64' | 'arm64';
  /** Literal values, or references to stateful resources (cross-stack imports resolved). */
  readonly environment: Record<string, string | ResourceRef>;
}

/** An event source mapping, with every setting the local emulator must honour. */
export interface TopologyEventSourceMapping {
  readonly functionName: StreamConsumingFunction;
  /** The stream it reads (through a consumer or not), by logical id in the stateful template. */
  readonly streamLogicalId: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowInSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly maximumRetryAttempts: number;
  readonly maximumRecordAgeInSeconds: number;
  readonly reportBatchItemFailures: boolean;
  readonly parallelizationFactor: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** `enhanced` when the mapping reads through a stream consumer (enhanced fan-out), else `shared`. */
  readonly fanOut: 'shared' | 'enhanced';
  readonly onFailureBucketLogicalId?: string;
}

/**
 * An EventBridge rule that starts a pipeline function for each object created in a bucket (S3
 * "Object Created" events), e.g. the failures bucket → scrub-failures.
 */
export interface TopologyObjectCreatedTrigger {
  readonly functionName: ProfileFunctionName;
  readonly bucketLogicalId: string;
  /** Only keys starting with this, when the rule filters on a prefix. */
  readonly keyPrefix?: string;
}

/** Functions an event source mapping may invoke. */
export const STREAM_CONSUMING_FUNCTIONS = ['ingest', 'archive', 'activation-index'] as const;
/** One of {@link STREAM_CONSUMING_FUNCTIONS}. */
export type StreamConsumingFunction = (typeof STREAM_CONSUMING_FUNCTIONS)[number];

/** A stream of the stateful template. */
export interface TopologyStream {
  readonly logicalId: string;
  /** The provisioned count, or {@link ON_DEMAND_LOCAL_SHARDS} for on-demand. */
  readonly shardCount: number;
  readonly onDemand: boolean;
}

/** A table of the stateful template. */
export interface TopologyTable {
  readonly logicalId: string;
  readonly keySchema: KeySchemaElement[];
  readonly attributeDefinitions: AttributeDefinition[];
  readonly globalSecondaryIndexes: unknown[];
  readonly ttlAttribute?: string;
  /** How the table is billed (the cost model prices it; the local tables ignore it). */
  readonly billing: TopologyTableBilling;
}

/** Auto scaling bounds of one provisioned capacity (`AWS::ApplicationAutoScaling::ScalableTarget`). */
export interface TopologyCapacityRange {
  readonly min: number;
  readonly max: number;
  /** The target tracking policy's `TargetValue`, percent. */
  readonly targetUtilisationPercent: number;
}

/** A table's billing mode, with its auto scaling when provisioned. */
export type TopologyTableBilling =
  | { readonly mode: 'on-demand' }
  | {
      readonly mode: 'provisioned';
      readonly write: TopologyCapacityRange;
      readonly read: TopologyCapacityRange;
    };

/** The wiring the local runner builds, read from the synthesized templates. */
export interface LocalTopology {
  /** The events stream (role `events`). */
  readonly stream: TopologyStream;
  /** The activation stream (role `activation`), when the template has one. */
  readonly activationStream?: TopologyStream;
  /** The profiles table (role `profiles`). */
  readonly table: TopologyTable;
  /** The audience members table (role `audience-members`), when the template has one. */
  readonly membersTable?: TopologyTable;
  readonly buckets: { readonly logicalId: string; readonly role: BucketRole }[];
  readonly functions: TopologyFunction[];
  readonly eventSourceMappings: TopologyEventSourceMapping[];
  /** Functions started by objects created in a bucket. */
  readonly objectCreatedTriggers: TopologyObjectCreatedTrigger[];
  /** `rate` is the rule's ScheduleExpression (e.g. `rate(24 hours)`); `rateSeconds` its period. */
  readonly schedule?: { readonly functionName: 'train'; readonly rate: string; readonly rateSeconds: number };
}

/** The template does not have the shape this module expects; names the path, the rule and the value. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError';

  constructor(
    readonly field: string,
    readonly rule: string,
    readonly value: unknown,
  ) {
    super(`${field} ${rule}, got ${JSON.stringify(value)}`);
  }
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value?: unknown; Export?: { Name?: unknown } }>;
}

/**
 * Synthesizes the app in-process with bundling, cdk-nag and schema validation skipped (fast; the
 * wiring does not depend on them) and derives the
 * local wiring from the templates, so the local runner and the cloud cannot drift apart.
 */
export function synthesizeTopology(options: BuildAppOptions = {}): LocalTopology {
  const { app } = buildApp({
    nag: false,
    templateValidation: false,
    ...options,
    context: { ...options.context, 'aws:cdk:bundling-stacks': [] },
  });
  const assembly = app.synth();
  return topologyFromTemplates(
    assembly.getStackByName(STACK_NAMES.stateful).template as CfnTemplate,
    assembly.getStackByName(STACK_NAMES.stateless).template as CfnTemplate,
  );
}

/** Derives the local wiring from the stateful and stateless templates. */
export function topologyFromTemplates(stateful: CfnTemplate, stateless: CfnTemplate): LocalTopology {
  const statefulResources = Object.entries(stateful.Resources ?? {});
  const statelessResources = Object.entries(stateless.Resources ?? {});
  const exportsByName = new Map<unknown, unknown>(
    Object.values(stateful.Outputs ?? {}).map((output) => [output.Export?.Name, output.Value]),
  );
  const refOf = (value: unknown): string | undefined => {
    if (!isObject(value)) return undefined;
    if (typeof value.Ref === 'string') return value.Ref;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
    if ('Fn::ImportValue' in value) return refOf(exportsByName.get(value['Fn::ImportValue']));
    return undefined;
  };

  const streamOf = (role: StreamRole): TopologyStream | undefined => {
    const found = withRole(statefulResources, 'AWS::Kinesis::Stream', role);
    if (found === undefined) return undefined;
    const [logicalId, stream] = found;
    const props = stream.Properties ?? {};
    const onDemand = isObject(props.StreamModeDetails) && props.StreamModeDetails.StreamMode === 'ON_DEMAND';
    const shardCount = onDemand ? ON_DEMAND_LOCAL_SHARDS : props.ShardCount;
    if (typeof shardCount !== 'number')
      throw new TopologyError(`${logicalId}.ShardCount`, 'must be a number', shardCount);
    return { logicalId, shardCount, onDemand };
  };
  const tableOf = (role: TableRole): TopologyTable | undefined => {
    const found = withRole(statefulResources, 'AWS::DynamoDB::Table', role);
    if (found === undefined) return undefined;
    const [logicalId, table] = found;
    const props = table.Properties ?? {};
    const ttl = props.TimeToLiveSpecification;
    const ttlAttribute = isObject(ttl) && ttl.Enabled === true ? String(ttl.AttributeName) : undefined;
    return {
      logicalId,
      keySchema: props.KeySchema as KeySchemaElement[],
      attributeDefinitions: props.AttributeDefinitions as AttributeDefinition[],
      globalSecondaryIndexes: (props.GlobalSecondaryIndexes as unknown[] | undefined) ?? [],
      ...(ttlAttribute ? { ttlAttribute } : {}),
      billing:
        props.BillingMode === 'PAY_PER_REQUEST' ? { mode: 'on-demand' } : provisionedBilling(logicalId),
    };
  };
  // The scalable target of `table/<Ref logicalId>` in one dimension, with its target tracking policy.
  const capacityRangeOf = (tableLogicalId: string, dimension: 'Read' | 'Write'): TopologyCapacityRange => {
    const scalableDimension = `dynamodb:table:${dimension}CapacityUnits`;
    const found = statefulResources.find(
      ([, resource]) =>
        resource.Type === 'AWS::ApplicationAutoScaling::ScalableTarget' &&
        resource.Properties?.ScalableDimension === scalableDimension &&
        JSON.stringify(resource.Properties.ResourceId).includes(JSON.stringify({ Ref: tableLogicalId })),
    );
    if (found === undefined)
      throw new TopologyError(`${tableLogicalId}`, `must have a ${scalableDimension} scalable target`, 0);
    const [targetId, target] = found;
    const policy = statefulResources.find(
      ([, resource]) =>
        resource.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy' &&
        refOf(resource.Properties?.ScalingTargetId) === targetId,
    )?.[1];
    const tracking = policy?.Properties?.TargetTrackingScalingPolicyConfiguration;
    const targetValue = isObject(tracking) ? tracking.TargetValue : undefined;
    if (typeof targetValue !== 'number')
      throw new TopologyError(`${targetId}`, 'must have a target tracking policy', targetValue);
    return {
      min: Number(target.Properties?.MinCapacity),
      max: Number(target.Properties?.MaxCapacity),
      targetUtilisationPercent: targetValue,
    };
  };
  const provisionedBilling = (logicalId: string): TopologyTableBilling => ({
    mode: 'provisioned',
    write: capacityRangeOf(logicalId, 'Write'),
    read: capacityRangeOf(logicalId, 'Read'),
  });
  const stream = streamOf('events');
  if (stream === undefined)
    throw new TopologyError('AWS::Kinesis::Stream', 'must have one of role events', 0);
  const table = tableOf('profiles');
  if (table === undefined)
    throw new TopologyError('AWS::DynamoDB::Table', 'must have one of role profiles', 0);
  const activationStream = streamOf('activation');
  const membersTable = tableOf('audience-members');

  const buckets = statefulResources
    .filter(([, resource]) => resource.Type === 'AWS::S3::Bucket')
    .map(([logicalId, resource]) => {
      const role = resource.Metadata?.[BUCKET_ROLE_METADATA];
      return { logicalId, role: BUCKET_ROLES.find((known) => known === role) ?? 'other' };
    });

  const functionNameByLogicalId = new Map<string, ProfileFunctionName>();
  const functions = statelessResources
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
    .flatMap(([logicalId, resource]): TopologyFunction[] => {
      const name = PROFILE_FUNCTION_NAMES.find(
        (known) => known === resource.Metadata?.[FUNCTION_METADATA.name],
      );
      if (!name) return []; // CDK helper functions are not part of the pipeline.
      functionNameByLogicalId.set(logicalId, name);
      const props = resource.Properties ?? {};
      const variables = isObject(props.Environment) ? props.Environment.Variables : undefined;
      const environment: Record<string, string | ResourceRef> = {};
      for (const [key, value] of Object.entries(isObject(variables) ? variables : {})) {
        const ref = refOf(value);
        if (typeof value === 'string') environment[key] = value;
        else if (ref) environment[key] = { ref };
        else
          throw new TopologyError(
            `${logicalId}.Environment.${key}`,
            'must be a string or a reference',
            value,
          );
      }
      return [
        {
          logicalId,
          name,
          entry: String(resource.Metadata?.[FUNCTION_METADATA.entry]),
          timeoutSeconds: Number(props.Timeout ?? 3),
          memoryMb: Number(props.MemorySize ?? 128),
          architecture:
            Array.isArray(props.Architectures) && props.Architectures[0] === 'arm64' ? 'arm64' : 'x86_64',
          environment,
        },
      ];
    });

  const eventSourceMappings = statelessResources
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::EventSourceMapping')
    .map(([logicalId, resource]): TopologyEventSourceMapping => {
      const props = resource.Properties ?? {};
      const functionName = STREAM_CONSUMING_FUNCTIONS.find(
        (known) => known === functionNameByLogicalId.get(refOf(props.FunctionName) ?? ''),
      );
      if (functionName === undefined) {
        throw new TopologyError(
          `${logicalId}.FunctionName`,
          `must be one of ${STREAM_CONSUMING_FUNCTIONS.join(', ')}`,
          props.FunctionName,
        );
      }
      const destination = isObject(props.DestinationConfig) ? props.DestinationConfig.OnFailure : undefined;
      const onFailureBucketLogicalId = isObject(destination) ? refOf(destination.Destination) : undefined;
      const responseTypes = Array.isArray(props.FunctionResponseTypes) ? props.FunctionResponseTypes : [];
      const source = statelessResources.find(([id]) => id === refOf(props.EventSourceArn))?.[1];
      const streamLogicalId =
        source?.Type === 'AWS::Kinesis::StreamConsumer'
          ? refOf(source.Properties?.StreamARN)
          : refOf(props.EventSourceArn);
      if (streamLogicalId === undefined)
        throw new TopologyError(
          `${logicalId}.EventSourceArn`,
          'must reference a stream',
          props.EventSourceArn,
        );
      return {
        functionName,
        streamLogicalId,
        // Defaults are Lambda's own for Kinesis when the template leaves a setting out.
        batchSize: Number(props.BatchSize ?? 100),
        maximumBatchingWindowInSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
        bisectBatchOnFunctionError: props.BisectBatchOnFunctionError === true,
        maximumRetryAttempts: Number(props.MaximumRetryAttempts ?? -1),
        maximumRecordAgeInSeconds: Number(props.MaximumRecordAgeInSeconds ?? -1),
        reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
        parallelizationFactor: Number(props.ParallelizationFactor ?? 1),
        startingPosition: props.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
        fanOut: source?.Type === 'AWS::Kinesis::StreamConsumer' ? 'enhanced' : 'shared',
        ...(onFailureBucketLogicalId ? { onFailureBucketLogicalId } : {}),
      };
    });

  const schedule = statelessResources
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
    .flatMap(([, resource]) => {
      const props = resource.Properties ?? {};
      const targets = Array.isArray(props.Targets) ? props.Targets : [];
      const targetsTrain = targets.some(
        (target) => isObject(target) && functionNameByLogicalId.get(refOf(target.Arn) ?? '') === 'train',
      );
      const rate = String(props.ScheduleExpression);
      return targetsTrain ? [{ functionName: 'train' as const, rate, rateSeconds: rateToSeconds(rate) }] : [];
    })[0];

  const objectCreatedTriggers = statelessResources
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
    .flatMap(([, resource]): TopologyObjectCreatedTrigger[] => {
      const pattern = resource.Properties?.EventPattern;
      if (!isObject(pattern) || !isObject(pattern.detail)) return [];
      const detailTypes = Array.isArray(pattern['detail-type']) ? pattern['detail-type'] : [];
      if (!detailTypes.includes('Object Created')) return [];
      const { bucket, object } = pattern.detail;
      const bucketName = isObject(bucket) && Array.isArray(bucket.name) ? bucket.name[0] : undefined;
      const bucketLogicalId = refOf(bucketName);
      const keyFilter = isObject(object) && Array.isArray(object.key) ? object.key[0] : undefined;
      const keyPrefix =
        isObject(keyFilter) && typeof keyFilter.prefix === 'string' ? keyFilter.prefix : undefined;
      const targets = Array.isArray(resource.Properties?.Targets) ? resource.Properties.Targets : [];
      return targets.flatMap((target): TopologyObjectCreatedTrigger[] => {
        const functionName = isObject(target)
          ? functionNameByLogicalId.get(refOf(target.Arn) ?? '')
          : undefined;
        if (functionName === undefined || bucketLogicalId === undefined) return [];
        return [{ functionName, bucketLogicalId, ...(keyPrefix === undefined ? {} : { keyPrefix }) }];
      });
    });

  return {
    stream,
    table,
    ...(activationStream ? { activationStream } : {}),
    ...(membersTable ? { membersTable } : {}),
    buckets,
    functions,
    eventSourceMappings,
    objectCreatedTriggers,
    ...(schedule ? { schedule } : {}),
  };
}

/**
 * A deterministic local physical name for a logical id, valid as a bucket name (3–63 lowercase
 * letters, digits and hyphens, starting and ending alphanumeric) and as a DynamoDB table name.
 */
export function localNameFor(logicalId: string): string {
  const base = `ps-${logicalId.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`.replace(/-+$/, '');
  if (base.length <= 63) return base;
  const hash = createHash('sha256').update(logicalId).digest('hex').slice(0, 8);
  return `${base.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

const RATE_UNIT_SECONDS: Record<string, number> = { minute: 60, hour: 3600, day: 86400 };

function rateToSeconds(expression: string): number {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  const unit = match?.[2] ? RATE_UNIT_SECONDS[match[2]] : undefined;
  if (!match || unit === undefined)
    throw new TopologyError('ScheduleExpression', 'must be rate(n unit)', expression);
  return Number(match[1]) * unit;
}

/** The one resource of `type` with `role` in its metadata; more than one is an error. */
function withRole(
  resources: [string, CfnResource][],
  type: string,
  role: string,
): [string, CfnResource] | undefined {
  const matches = resources.filter(
    ([, resource]) => resource.Type === type && resource.Metadata?.[BUCKET_ROLE_METADATA] === role,
  );
  if (matches.length > 1)
    throw new TopologyError(`${type}[${role}]`, 'must occur at most once', matches.length);
  return matches[0];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
