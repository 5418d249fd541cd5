import * as path from 'node:path';
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { OnnxRuntimeLayer } from './constructs/onnx-runtime-layer';
import { PipelineMonitoring } from './constructs/pipeline-monitoring';
import { ProfileFunction } from './constructs/profile-function';
import { INGEST_NODE_OPTIONS } from './constructs/function-bundle';
import { RescoringWorkflow } from './constructs/rescoring-workflow';
import { ErasureIntake } from './constructs/erasure-intake';
import { FailureScrubbing } from './constructs/failure-scrubbing';
import type { StatefulResources } from './stateful-stack';
import type { IngestFanOut, TrainingEngine } from './stack-parameters';
import { DistributedTraining } from './constructs/distributed-training';

/** Settings shared by both Kinesis consumers. */
interface ConsumerSettings {
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration;
  /** Concurrent batches per shard. @default CONSUMER_FAILURE_SETTINGS.parallelizationFactor (1) */
  readonly parallelizationFactor?: number;
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
  // One batch per shard at a time unless a consumer says otherwise (ingest: the
  // ingestParallelizationFactor parameter). Each key's order holds either way (Lambda puts one
  // partition key's records in one batcher, as the local emulator does); scale with shards first.
  parallelizationFactor: 1,
  startingPosition: lambda.StartingPosition.TRIM_HORIZON,
} as const;

/** activation-index: rows per batch collapse to one write each; a short window keeps `size` fresh. */
export const ACTIVATION_INDEX_CONSUMER: ConsumerSettings = {
  batchSize: 500,
  maxBatchingWindow: Duration.seconds(1),
};

/**
 * archive: large, slow batches make fewer, larger S3 objects; latency does not matter here. Each batch
 * writes one object per profile-hash bucket it holds (16 for any large batch), and every training run
 * reads each object again, so the batch size sets both bills (README, "Cost per million events"):
 * 5,000 records of ~900 bytes in the Lambda event stay under the 6 MB invocation payload, where Lambda
 * would cut the batch anyway.
 */
export const ARCHIVE_CONSUMER: ConsumerSettings = {
  batchSize: 5000,
  maxBatchingWindow: Duration.seconds(30),
};

/** The ingest function's timeout: also how long a batch scored with a previous model may still write. */
const INGEST_TIMEOUT = Duration.seconds(60);

/**
 * Rescoring's load on the table: 4 segments run at once, each reading 100 items per scan call and
 * scoring them in one inference; writes are paced to 1,000 per second over all segments (1,000 WRU/s:
 * a quarter of what an on-demand table absorbs at once, leaving ingest its share), so a million
 * profiles are rescored in about 17 minutes (README, "Rescoring").
 */
export const RESCORE_SETTINGS = { totalSegments: 4, pageSize: 100, maxWritesPerSecond: 1000 } as const;

/**
 * Rows a distributed training run keeps (the class-aware sample): at the measured ~1.5 s per epoch
 * per 100k rows, 500k rows leave 60 epochs within the train function's 15 minutes.
 */
export const DISTRIBUTED_TRAINING_MAX_ROWS = 500_000;

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
  /** Alarm when this many training runs in a row promoted nothing. */
  readonly alarmAfterRunsWithoutPromotion: number;
  /**
   * The ingest consumer's batching window, whole seconds; with {@link ingestBatchSize} it trades
   * latency for writes, and the frontier benchmark measures both (README, "Benchmarks").
   */
  readonly ingestBatchingWindowSeconds: number;
  /** The ingest consumer's batch size, records (one ONNX run per batch). */
  readonly ingestBatchSize: number;
  /** Shared-throughput polling, or an enhanced fan-out consumer for ingest. */
  readonly ingestFanOut: IngestFanOut;
  /** The ingest mapping's concurrent batches per shard (`StackParameters.ingestParallelizationFactor`). @default 1 */
  readonly ingestParallelizationFactor?: number;
  /** What the training schedule starts (`StackParameters.trainingEngine`). @default 'function' */
  readonly trainingEngine?: TrainingEngine;
  /** Pseudonymise userId/anonymousId at decode (stack parameter `pseudonymiseIds`). @default false */
  readonly pseudonymiseIds?: boolean;
  /**
   * How often ingest checks the models bucket for a new model pointer.
   * @default 60
   */
  readonly modelPollSeconds?: number;
  /**
   * The rescoring's writes per second over all segments (`StackParameters.rescoreMaxWritesPerSecond`).
   * @default RESCORE_SETTINGS.maxWritesPerSecond
   */
  readonly rescoreMaxWritesPerSecond?: number;
}

/**
 * The code: the functions (ingest, archive, train, rescore, scrub-failures), their triggers (the rescoring workflow among them), and the alarms and dashboard that watch them.
 * Holds no data, so it can be destroyed and redeployed at will.
 */
export class StatelessStack extends Stack {
  readonly ingest: ProfileFunction<'ingest'>;
  /** Keeps the audience members table in step with the activation stream. */
  readonly activationIndex: ProfileFunction<'activation-index'>;
  readonly archive: ProfileFunction<'archive'>;
  readonly train: ProfileFunction<'train'>;
  readonly rescore: ProfileFunction<'rescore'>;
  readonly erase: ProfileFunction<'erase'>;
  /** Removes personal data from the on-failure objects the consumers' mappings write. */
  readonly scrubFailures: ProfileFunction<'scrub-failures'>;
  /** Rescoring after every move of the model pointer. */
  readonly rescoring: RescoringWorkflow;
  /** The build-rows worker of the distributed training workflow. */
  readonly buildRows: ProfileFunction<'build-rows'>;
  /** The distributed training workflow (started by the schedule when `trainingEngine` is `distributed`). */
  readonly distributedTraining: DistributedTraining;
  /** The schedule that starts training. */
  readonly trainingSchedule: events.Rule;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { resources, projectRoot } = props;
    const modelPollSeconds = props.modelPollSeconds ?? 60;
    const onnxRuntimeLayer = new OnnxRuntimeLayer(this, 'OnnxRuntime', { projectRoot }).layer;
    // Both consumers decode alike, so the table and the archive hold the same ids and fingerprints; the
    // erase function hashes requested ids the same way.
    const decodePrivacy = {
      hashKeySecret: resources.hashKeySecret,
      environment: { PSEUDONYMISE_IDS: String(props.pseudonymiseIds ?? false) },
    } as const;

    this.ingest = new ProfileFunction(this, 'Ingest', {
      name: 'ingest',
      projectRoot,
      // More memory buys CPU for the ONNX run and JSON parsing; the batch is small.
      memorySize: 1024,
      timeout: INGEST_TIMEOUT,
      nodeOptions: INGEST_NODE_OPTIONS,
      onnxRuntimeLayer,
      hashKeySecret: decodePrivacy.hashKeySecret,
      environment: { MODEL_POLL_SECONDS: String(modelPollSeconds), ...decodePrivacy.environment },
    })
      .bindTable({ table: resources.table, access: 'readWrite', envVar: 'PROFILES_TABLE' })
      .bindBucket({ bucket: resources.quarantineBucket, access: 'write', envVar: 'QUARANTINE_BUCKET' })
      .bindBucket({ bucket: resources.modelsBucket, access: 'read', envVar: 'MODELS_BUCKET' })
      .bindStream({ stream: resources.activationStream, envVar: 'ACTIVATION_STREAM' });

    // Consumes the activation stream beside the EventBridge Pipe (each reads 2 MB/s per shard).
    this.activationIndex = new ProfileFunction(this, 'ActivationIndex', {
      name: 'activation-index',
      projectRoot,
      // Conditional puts of a few rows per batch: I/O, not CPU.
      memorySize: 256,
      timeout: Duration.seconds(60),
      // Tombstones only: an erased profile's transitions still in the stream get no row back.
      hashKeySecret: resources.hashKeySecret,
    })
      .bindTable({ table: resources.membersTable, access: 'readWrite', envVar: 'MEMBERS_TABLE' })
      .bindTable({ table: resources.table, access: 'read', envVar: 'PROFILES_TABLE' });

    this.archive = new ProfileFunction(this, 'Archive', {
      name: 'archive',
      projectRoot,
      memorySize: 512,
      timeout: Duration.seconds(120),
      ...decodePrivacy,
    })
      .bindBucket({ bucket: resources.archiveBucket, access: 'write', envVar: 'ARCHIVE_BUCKET' })
      // Tombstones only: erased people's events stay out of the archive.
      .bindTable({ table: resources.table, access: 'read', envVar: 'PROFILES_TABLE' });

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
      environment: {
        LABEL_HORIZON_HOURS: String(props.labelHorizonHours),
        ROW_SAMPLE_MAX_ROWS: String(DISTRIBUTED_TRAINING_MAX_ROWS),
      },
      // Tombstones only: erased people's events stay out of training even if the archive still has some.
      hashKeySecret: resources.hashKeySecret,
    })
      // Read: the archive; read and write: the distributed runs' `training-runs/` objects.
      .bindBucket({ bucket: resources.archiveBucket, access: 'readWrite', envVar: 'ARCHIVE_BUCKET' })
      .bindBucket({ bucket: resources.modelsBucket, access: 'readWrite', envVar: 'MODELS_BUCKET' })
      .bindTable({ table: resources.table, access: 'read', envVar: 'PROFILES_TABLE' });

    this.buildRows = new ProfileFunction(this, 'BuildRows', {
      name: 'build-rows',
      projectRoot,
      // One partition's events are held while its rows are built (~1.4 KB per event): 3008 MB holds
      // about 2 million events per partition, i.e. 30 million per run over 16 buckets.
      memorySize: 3008,
      timeout: Duration.minutes(15),
      environment: { LABEL_HORIZON_HOURS: String(props.labelHorizonHours) },
      // Tombstones only, as the train function: erased people's events stay out of every pass.
      hashKeySecret: resources.hashKeySecret,
    })
      .bindBucket({ bucket: resources.archiveBucket, access: 'readWrite', envVar: 'ARCHIVE_BUCKET' })
      .bindTable({ table: resources.table, access: 'read', envVar: 'PROFILES_TABLE' });
    this.distributedTraining = new DistributedTraining(this, 'DistributedTraining', {
      coordinator: this.train.function,
      worker: this.buildRows.function,
    });

    const ingestConsumer: ConsumerSettings = {
      batchSize: props.ingestBatchSize,
      maxBatchingWindow: Duration.seconds(props.ingestBatchingWindowSeconds),
      // Safe above 1: a profile's records share one partition key, a merged alias's later records are
      // checked against the marks kept for its own key, and every profile write is conditional.
      parallelizationFactor:
        props.ingestParallelizationFactor ?? CONSUMER_FAILURE_SETTINGS.parallelizationFactor,
    };
    // Enhanced fan-out: a consumer of its own gets records pushed (~70 ms) instead of polled (~1 s),
    // and 2 MB/s per shard that the archive consumer's reads do not share.
    const ingestStreamConsumer =
      props.ingestFanOut === 'enhanced'
        ? new kinesis.StreamConsumer(this, 'IngestStreamConsumer', {
            streamConsumerName: 'profile-stream-ingest',
            stream: resources.stream,
          })
        : undefined;
    for (const [fn, consumer, streamConsumer] of [
      [this.ingest, ingestConsumer, ingestStreamConsumer],
      [this.archive, ARCHIVE_CONSUMER, undefined],
    ] as const) {
      fn.consumeStream({
        stream: resources.stream,
        streamConsumer,
        failuresBucket: resources.failuresBucket,
        ...CONSUMER_FAILURE_SETTINGS,
        ...consumer,
      });
    }
    // Same failure handling: a write is idempotent by version, so retries and bisects are safe.
    this.activationIndex.consumeStream({
      stream: resources.activationStream,
      failuresBucket: resources.failuresBucket,
      ...CONSUMER_FAILURE_SETTINGS,
      ...ACTIVATION_INDEX_CONSUMER,
    });

    this.rescore = new ProfileFunction(this, 'Rescore', {
      name: 'rescore',
      projectRoot,
      // As ingest: the ONNX run and the item codec are the work; pages are small.
      memorySize: 1024,
      // An invocation stops taking pages 30 s before this and answers where to resume.
      timeout: Duration.minutes(5),
      onnxRuntimeLayer,
      environment: {
        RESCORE_TOTAL_SEGMENTS: String(RESCORE_SETTINGS.totalSegments),
        RESCORE_PAGE_SIZE: String(RESCORE_SETTINGS.pageSize),
        RESCORE_MAX_WRITES_PER_SECOND: String(
          props.rescoreMaxWritesPerSecond ?? RESCORE_SETTINGS.maxWritesPerSecond,
        ),
      },
    })
      .bindTable({ table: resources.table, access: 'readWrite', envVar: 'PROFILES_TABLE' })
      .bindBucket({ bucket: resources.modelsBucket, access: 'read', envVar: 'MODELS_BUCKET' })
      // Rescored scores can move a profile in or out of an audience: its transitions go where ingest's go.
      .bindStream({ stream: resources.activationStream, envVar: 'ACTIVATION_STREAM' });
    this.rescoring = new RescoringWorkflow(this, 'Rescoring', {
      rescore: this.rescore.function,
      modelsBucket: resources.modelsBucket,
      totalSegments: RESCORE_SETTINGS.totalSegments,
      // Ingest looks for a new model at most this often, and a batch scored just before may still be
      // writing for up to the function's timeout; 30 s more for clock and poll jitter.
      settle: Duration.seconds(modelPollSeconds + INGEST_TIMEOUT.toSeconds() + 30),
    });

    this.erase = new ProfileFunction(this, 'Erase', {
      name: 'erase',
      projectRoot,
      // Reading and rewriting archive objects is the work: memory buys network and gunzip CPU.
      memorySize: 1024,
      // Lambda's maximum; README "Erasure" says how the time scales with the archive.
      timeout: Duration.minutes(15),
      // As the consumers decode: requests name raw ids, the stores hold what decoding made of them.
      ...decodePrivacy,
    })
      .bindTable({ table: resources.table, access: 'readWrite', envVar: 'PROFILES_TABLE' })
      // Deletes the erased profiles' rows (DeleteItem): no raw or pseudonymous id stays in the index.
      .bindTable({ table: resources.membersTable, access: 'readWrite', envVar: 'MEMBERS_TABLE' })
      .bindBucket({ bucket: resources.archiveBucket, access: 'rewrite', envVar: 'ARCHIVE_BUCKET' })
      .bindBucket({ bucket: resources.quarantineBucket, access: 'rewrite', envVar: 'QUARANTINE_BUCKET' })
      .bindBucket({ bucket: resources.failuresBucket, access: 'rewrite', envVar: 'FAILURES_BUCKET' })
      .bindBucket({ bucket: resources.erasureBucket, access: 'rewrite', envVar: 'ERASURE_BUCKET' })
      // Read only: the audience definitions' history names every audience a members row can be in.
      .bindBucket({ bucket: resources.modelsBucket, access: 'read', envVar: 'MODELS_BUCKET' });
    new ErasureIntake(this, 'ErasureIntake', {
      erasureBucket: resources.erasureBucket,
      erase: this.erase.function,
    });

    this.scrubFailures = new ProfileFunction(this, 'ScrubFailures', {
      name: 'scrub-failures',
      projectRoot,
      // One object of at most one batch (6 MB of payload): parse, scrub, write back.
      memorySize: 512,
      timeout: Duration.seconds(60),
    }).bindBucket({ bucket: resources.failuresBucket, access: 'readWrite', envVar: 'FAILURES_BUCKET' });
    new FailureScrubbing(this, 'FailureScrubbing', {
      failuresBucket: resources.failuresBucket,
      scrub: this.scrubFailures.function,
    });

    this.trainingSchedule = new events.Rule(this, 'TrainingSchedule', {
      description: 'Rebuilds the scoring model from the event archive',
      schedule: events.Schedule.rate(Duration.hours(props.trainingRateHours)),
      // A failed run is simply superseded by the next one; the errors alarm reports it.
      targets: [
        props.trainingEngine === 'distributed'
          ? new targets.SfnStateMachine(this.distributedTraining.stateMachine, { retryAttempts: 0 })
          : new targets.LambdaFunction(this.train.function, { retryAttempts: 0 }),
      ],
    });

    new PipelineMonitoring(this, 'Monitoring', {
      ingest: this.ingest.function,
      activationIndex: this.activationIndex.function,
      archive: this.archive.function,
      train: this.train.function,
      training: {
        rateHours: props.trainingRateHours,
        alarmAfterRunsWithoutPromotion: props.alarmAfterRunsWithoutPromotion,
      },
      rescoring: { stateMachine: this.rescoring.stateMachine, rescore: this.rescore.function },
      failuresBucket: resources.failuresBucket,
    });
  }
}
