import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';
import type { ConfigVariable } from '../../../functions/commons/config';
import { METRICS_NAMESPACE } from '../../../functions/commons/telemetry-contract';
import { FUNCTION_BUNDLE, FUNCTION_NODE_OPTIONS } from './function-bundle';
import { ONNX_RUNTIME_MODULE } from './onnx-runtime-layer';

/** The functions of the pipeline; each lives in `functions/<name>/handler.ts`. */
export const PROFILE_FUNCTION_NAMES = [
  'ingest',
  'archive',
  'train',
  'rescore',
  'erase',
  'build-rows',
  'scrub-failures',
  'activation-index',
] as const;

/** One of {@link PROFILE_FUNCTION_NAMES}. */
export type ProfileFunctionName = (typeof PROFILE_FUNCTION_NAMES)[number];

/** Template metadata keys on each CfnFunction; the local runner finds the real handler with them. */
export const FUNCTION_METADATA = {
  name: 'profile-stream:function',
  entry: 'profile-stream:entry',
} as const;

/** Wildcard actions in CDK's `grantRead` for buckets. */
const S3_READ_WILDCARDS = ['s3:GetObject*', 's3:GetBucket*', 's3:List*'] as const;

/** What a function may do with a table. */
export type TableAccess = 'read' | 'readWrite';

/**
 * What a function may do with a bucket. Only erasure deletes objects (otherwise lifecycle rules do):
 * `write` is put-only, `readWrite` read plus put, `rewrite` read, put and delete.
 */
export type BucketAccess = 'read' | 'write' | 'readWrite' | 'rewrite';

/** Properties of {@link ProfileFunction}. */
export interface ProfileFunctionProps<N extends ProfileFunctionName> {
  /**
   * Which function this is; decides the entry `functions/<name>/handler.ts`, the service name (the
   * `service` dimension of its metrics) and which environment variables it may be given.
   */
  readonly name: N;
  /** The repository root: entries, the lockfile and node_modules are resolved from it. */
  readonly projectRoot: string;
  /** Memory in MB; CPU share grows with it. */
  readonly memorySize: number;
  /** Upper bound of one invocation. */
  readonly timeout: Duration;
  /**
   * A layer providing onnxruntime-node; when set, the module is left out of the bundle.
   * @default - onnxruntime-node is not available to the function
   */
  readonly onnxRuntimeLayer?: lambda.ILayerVersion;
  /**
   * Repo-relative files copied next to the bundled `index.js` (e.g. `.wasm` files that a library
   * loads from its own directory at run time and esbuild therefore cannot inline).
   * @default []
   */
  readonly assetFiles?: readonly string[];
  /**
   * The function's `NODE_OPTIONS`.
   * @default FUNCTION_NODE_OPTIONS
   */
  readonly nodeOptions?: string;
  /**
   * Powertools log level.
   * @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Settings from the function's configuration schema (`functions/commons/config.ts`) that are not
   * bound resources.
   * @default {}
   */
  readonly environment?: Partial<Record<ConfigVariable<N>, string>>;
  /**
   * The keyed-hash secret: its ARN in `HASH_KEY_SECRET_ID` and a read grant; the function loads it
   * once per container with the Secrets Manager SDK (`functions/commons/secret-key.ts`).
   * @default - the function has no key
   */
  readonly hashKeySecret?: secretsmanager.ISecret;
}

/** The variable holding the keyed-hash secret's ARN (`functions/commons/config.ts`). */
export const HASH_KEY_SECRET_VARIABLE = 'HASH_KEY_SECRET_ID';

/** Options of {@link ProfileFunction.bindTable}. */
export interface BindTableOptions<N extends ProfileFunctionName> {
  readonly table: dynamodb.ITable;
  readonly access: TableAccess;
  /** The variable of the function's configuration schema that receives the table name. */
  readonly envVar: ConfigVariable<N>;
}

/** Options of {@link ProfileFunction.consumeStream}. */
export interface ConsumeStreamOptions extends Omit<sources.KinesisEventSourceProps, 'onFailure'> {
  readonly stream: kinesis.IStream;
  /**
   * Read through this enhanced fan-out consumer of `stream` instead of the shared throughput.
   * @default undefined (shared throughput, polled)
   */
  readonly streamConsumer?: kinesis.IStreamConsumer;
  /** Receives the full invocation record of every batch the mapping gives up on. */
  readonly failuresBucket: s3.IBucket;
}

/** Options of {@link ProfileFunction.bindStream}. */
export interface BindStreamOptions<N extends ProfileFunctionName> {
  readonly stream: kinesis.IStream;
  /** The variable of the function's configuration schema that receives the stream name. */
  readonly envVar: ConfigVariable<N>;
}

/** Options of {@link ProfileFunction.bindBucket}. */
export interface BindBucketOptions<N extends ProfileFunctionName> {
  readonly bucket: s3.IBucket;
  readonly access: BucketAccess;
  /** The variable of the function's configuration schema that receives the bucket name. */
  readonly envVar: ConfigVariable<N>;
}

/**
 * The one way this project defines a Lambda function: Node.js 22 on x86_64 (onnxruntime-node has
 * crashed at import on arm64 Lambda), active tracing, a log group with retention, source maps and
 * the Powertools environment. Bindings set the environment variable and grant the matching
 * permissions in one call, so configuration and IAM cannot drift apart.
 */
export class ProfileFunction<N extends ProfileFunctionName = ProfileFunctionName> extends Construct {
  /** The underlying function. */
  readonly function: nodejs.NodejsFunction;
  /** Which pipeline function this is. */
  readonly functionName: N;

  constructor(scope: Construct, id: string, props: ProfileFunctionProps<N>) {
    super(scope, id);
    const entry = path.posix.join('functions', props.name, 'handler.ts');
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // Logs are diagnostics, not data: they go with the function.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const copyAssetFiles = (inputDir: string, outputDir: string): string[] =>
      (props.assetFiles ?? []).map((file) => `cp "${path.join(inputDir, file)}" "${outputDir}/"`);

    this.functionName = props.name;
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(props.projectRoot, entry),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: path.join(props.projectRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.X86_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      layers: props.onnxRuntimeLayer ? [props.onnxRuntimeLayer] : [],
      environment: {
        NODE_OPTIONS: props.nodeOptions ?? FUNCTION_NODE_OPTIONS,
        POWERTOOLS_SERVICE_NAME: props.name,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        LOG_LEVEL: props.logLevel ?? 'INFO',
        ...props.environment,
      },
      bundling: {
        minify: FUNCTION_BUNDLE.minify,
        sourceMap: FUNCTION_BUNDLE.sourceMap,
        sourcesContent: FUNCTION_BUNDLE.sourcesContent,
        target: FUNCTION_BUNDLE.target,
        format: nodejs.OutputFormat.CJS,
        // We bundle our own, pinned AWS SDK v3 instead of the runtime's: the code runs against the
        // exact versions the local emulator tests ran, and tree-shaking keeps the bundle small.
        bundleAwsSDK: true,
        externalModules: props.onnxRuntimeLayer ? [ONNX_RUNTIME_MODULE] : [],
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: copyAssetFiles,
        },
      },
    });
    const cfn = this.function.node.defaultChild as lambda.CfnFunction;
    cfn.addMetadata(FUNCTION_METADATA.name, props.name);
    cfn.addMetadata(FUNCTION_METADATA.entry, entry);
    if (props.hashKeySecret) {
      this.function.addEnvironment(HASH_KEY_SECRET_VARIABLE, props.hashKeySecret.secretArn);
      props.hashKeySecret.grantRead(this.function);
    }

    this.acknowledge(
      'L1',
      'Pinned to nodejs22.x: the onnxruntime-node layer is built and tested for Node 22.',
    );
    this.acknowledge(
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWSLambdaBasicExecutionRole only allows writing this function’s own CloudWatch logs.',
    );
    this.acknowledge(
      'IAM5[Resource::*]',
      'X-Ray PutTraceSegments/PutTelemetryRecords only support Resource "*".',
    );
    // Object ARNs of cross-stack buckets only become known once CDK has created the exports,
    // which happens after construction but before the cdk-nag plugin runs.
    this.node.addValidation({ validate: () => this.acknowledgeBucketObjectWildcards() });
  }

  private readonly grantedBuckets: { bucket: s3.IBucket; why: string }[] = [];

  /** Puts the table's name into `envVar` and grants `access` to it. */
  bindTable({ table, access, envVar }: BindTableOptions<N>): this {
    this.function.addEnvironment(envVar, table.tableName);
    if (access === 'read') table.grantReadData(this.function);
    else table.grantReadWriteData(this.function);
    return this;
  }

  /** Puts the stream's name into `envVar` and grants writing records to it (PutRecord(s)). */
  bindStream({ stream, envVar }: BindStreamOptions<N>): this {
    this.function.addEnvironment(envVar, stream.streamName);
    stream.grantWrite(this.function);
    return this;
  }

  /** Puts the bucket's name into `envVar` and grants `access` to it. */
  bindBucket({ bucket, access, envVar }: BindBucketOptions<N>): this {
    this.function.addEnvironment(envVar, bucket.bucketName);
    if (access !== 'write') {
      bucket.grantRead(this.function);
      this.acknowledgeActions(S3_READ_WILDCARDS, 'Read actions CDK grants on bound buckets only.');
    }
    if (access !== 'read') {
      bucket.grantPut(this.function);
      this.acknowledgeActions(['s3:Abort*'], 'Aborting own multipart uploads to bound buckets only.');
    }
    if (access === 'rewrite') {
      bucket.grantDelete(this.function);
      this.acknowledgeActions(['s3:DeleteObject*'], 'Erasure deletes emptied objects of bound buckets only.');
    }
    this.grantedBuckets.push({ bucket, why: `${envVar} (${access})` });
    return this;
  }

  /**
   * Subscribes the function to a Kinesis stream (shared throughput) with batches the mapping
   * gives up on written to `failuresBucket`.
   */
  consumeStream({ stream, streamConsumer, failuresBucket, ...settings }: ConsumeStreamOptions): this {
    const props = { ...settings, onFailure: new sources.S3OnFailureDestination(failuresBucket) };
    this.function.addEventSource(
      streamConsumer === undefined
        ? new sources.KinesisEventSource(stream, props)
        : new sources.KinesisConsumerEventSource(streamConsumer, props),
    );
    this.acknowledgeActions(
      [...S3_READ_WILDCARDS, 's3:Abort*', 's3:DeleteObject*'],
      'S3OnFailureDestination grants read/write on the failures bucket (and only there).',
    );
    this.grantedBuckets.push({ bucket: failuresBucket, why: 'the on-failure destination' });
    return this;
  }

  private acknowledge(finding: string, reason: string): void {
    Validations.of(this).acknowledge({ id: `AwsSolutions-${finding}`, reason });
  }

  private acknowledgeActions(actions: readonly string[], reason: string): void {
    for (const action of actions) this.acknowledge(`IAM5[Action::${action}]`, reason);
  }

  private acknowledgeBucketObjectWildcards(): string[] {
    for (const { bucket, why } of this.grantedBuckets) {
      const objects = flattenCfnReference(Stack.of(this).resolve(bucket.arnForObjects('*')));
      this.acknowledge(
        `IAM5[Resource::${objects}]`,
        `Objects of the bucket bound as ${why}; no other bucket.`,
      );
    }
    return [];
  }
}
