import * as path from 'node:path';
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { OnnxRuntimeLayer } from './constructs/onnx-runtime-layer';
import { PipelineMonitoring } from './constructs/pipeline-monitoring';
import { ProfileFunction } from './constructs/profile-function';
import type { StatefulResources } from './stateful-stack';

/** Settings shared by both Kinesis consumers. */
interface ConsumerSettings {
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration;
}

/**
 * Failure handling shared by both consumers. A poison record must not block its shard for the
 * stream's retention: bisecting isolates it without using up retries, five retries bound the
 * rest, and anything older than six hours is given up on. Discarded batches land whole (payload
 * included) in the failures bucket, from where they can be replayed.
 */
export const CONSUMER_FAILURE_SETTINGS = {
  bisectBatchOnError: true,
  retryAttempts: 5,
  maxRecordAge: Duration.hours(6),
  reportBatchItemFailures: true,
  // One batch per shard at a time: per-shard order is trivially kept, and the local event source
  // mapping emulator stays simple. Scale with shards; raise this only if IteratorAge grows while
  // the shard's write rate is below its limits.
  parallelizationFactor: 1,
  startingPosition: lambda.StartingPosition.TRIM_HORIZON,
} as const;

/**
 * ingest: Lambda's default batch of 100 with a 1 s window keeps end-to-end latency near a second
 * and bounds what a partial-batch retry re-delivers; one ONNX run per batch costs a small fraction of a
 * millisecond (README, "Benchmarks").
 */
export const INGEST_CONSUMER: ConsumerSettings = { batchSize: 100, maxBatchingWindow: Duration.seconds(1) };

/** archive: large, slow batches make fewer, larger S3 objects; latency does not matter here. */
export const ARCHIVE_CONSUMER: ConsumerSettings = {
  batchSize: 1000,
  maxBatchingWindow: Duration.seconds(30),
};

/** Properties of {@link StatelessStack}. */
export interface StatelessStackProps extends StackProps {
  /** The resources of the stateful stack. */
  readonly resources: StatefulResources;
  /** The repository root (function entries, lockfile, node_modules). */
  readonly projectRoot: string;
  /** Hours between training runs. */
  readonly trainingRateHours: number;
  /** How far after an event the trainer looks for the label (a purchase). */
  readonly labelHorizonHours: number;
  /**
   * How often ingest checks the models bucket for a new model pointer.
   * @default 60
   */
  readonly modelPollSeconds?: number;
}

/**
 * The code: the three functions, their triggers, and the alarms and dashboard that watch them.
 * Holds no data, so it can be destroyed and redeployed at will.
 */
export class StatelessStack extends Stack {
  readonly ingest: ProfileFunction<'ingest'>;
  readonly archive: ProfileFunction<'archive'>;
  readonly train: ProfileFunction<'train'>;
  /** The schedule that starts training. */
  readonly trainingSchedule: events.Rule;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { resources, projectRoot } = props;
    const onnxRuntimeLayer = new OnnxRuntimeLayer(this, 'OnnxRuntime', { projectRoot }).layer;

    this.ingest = new ProfileFunction(this, 'Ingest', {
      name: 'ingest',
      projectRoot,
      // More memory buys CPU for the ONNX run and JSON parsing; the batch is small.
      memorySize: 1024,
      timeout: Duration.seconds(60),
      onnxRuntimeLayer,
      environment: { MODEL_POLL_SECONDS: String(props.modelPollSeconds ?? 60) },
    })
      .bindTable({ table: resources.table, access: 'readWrite', envVar: 'PROFILES_TABLE' })
      .bindBucket({ bucket: resources.quarantineBucket, access: 'write', envVar: 'QUARANTINE_BUCKET' })
      .bindBucket({ bucket: resources.modelsBucket, access: 'read', envVar: 'MODELS_BUCKET' });

    this.archive = new ProfileFunction(this, 'Archive', {
      name: 'archive',
      projectRoot,
      memorySize: 512,
      timeout: Duration.seconds(120),
    }).bindBucket({ bucket: resources.archiveBucket, access: 'write', envVar: 'ARCHIVE_BUCKET' });

    this.train = new ProfileFunction(this, 'Train', {
      name: 'train',
      projectRoot,
      // Training is CPU-bound (TensorFlow.js wasm); 3008 MB is ~2 vCPUs.
      memorySize: 3008,
      timeout: Duration.minutes(15),
      onnxRuntimeLayer,
      // The wasm backend reads its binaries from beside the module that loads it.
      assetFiles: [
        'tfjs-backend-wasm.wasm',
        'tfjs-backend-wasm-simd.wasm',
        'tfjs-backend-wasm-threaded-simd.wasm',
      ].map((file) => path.posix.join('node_modules/@tensorflow/tfjs-backend-wasm/dist', file)),
      environment: { LABEL_HORIZON_HOURS: String(props.labelHorizonHours) },
    })
      .bindBucket({ bucket: resources.archiveBucket, access: 'read', envVar: 'ARCHIVE_BUCKET' })
      .bindBucket({ bucket: resources.modelsBucket, access: 'readWrite', envVar: 'MODELS_BUCKET' });

    for (const [fn, consumer] of [
      [this.ingest, INGEST_CONSUMER],
      [this.archive, ARCHIVE_CONSUMER],
    ] as const) {
      fn.consumeStream({
        stream: resources.stream,
        failuresBucket: resources.failuresBucket,
        ...CONSUMER_FAILURE_SETTINGS,
        ...consumer,
      });
    }

    this.trainingSchedule = new events.Rule(this, 'TrainingSchedule', {
      description: 'Rebuilds the scoring model from the event archive',
      schedule: events.Schedule.rate(Duration.hours(props.trainingRateHours)),
      // A failed run is simply superseded by the next one; the errors alarm reports it.
      targets: [new targets.LambdaFunction(this.train.function, { retryAttempts: 0 })],
    });

    new PipelineMonitoring(this, 'Monitoring', {
      ingest: this.ingest.function,
      archive: this.archive.function,
      train: this.train.function,
      failuresBucket: resources.failuresBucket,
    });
  }
}
