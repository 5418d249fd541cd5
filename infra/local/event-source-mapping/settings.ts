/**
 * The settings of a Kinesis event source mapping, Lambda's defaults, and the ranges Lambda accepts.
 */

/** Starting positions the emulator supports (AT_TIMESTAMP is not used by this project). */
export const STARTING_POSITIONS = ['TRIM_HORIZON', 'LATEST'] as const;
/** One of {@link STARTING_POSITIONS}. */
export type StartingPosition = (typeof STARTING_POSITIONS)[number];

/** Lambda's synchronous invocation payload limit, which also caps a stream batch. */
export const MAX_INVOCATION_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** Local idle poll interval; Lambda polls an idle shard about once per second. */
export const DEFAULT_POLL_INTERVAL_MS = 200;
/**
 * Lambda's own cadence on a shard read with shared throughput: about one GetRecords a second while
 * idle (read again at once while records keep coming). Benchmarks that estimate AWS latency use it.
 */
export const LAMBDA_SHARED_POLL_INTERVAL_MS = 1000;
/**
 * Enhanced fan-out pushes records over SubscribeToShard as they arrive (~70 ms after the put in
 * AWS). kinesalite has no SubscribeToShard: a mapping on a stream consumer polls this often instead.
 */
export const ENHANCED_FAN_OUT_POLL_INTERVAL_MS = 50;

/**
 * The event source mapping settings, the same fields the CloudFormation template holds
 * (`AWS::Lambda::EventSourceMapping`), in camelCase.
 */
export interface KinesisEventSourceMappingConfig {
  /** Records per batch, 1–10,000. @default 100 */
  batchSize: number;
  /** Seconds to gather records before invoking, 0–300. @default 0 */
  maximumBatchingWindowInSeconds: number;
  /** Split a failing batch in two and retry the halves. @default false */
  bisectBatchOnFunctionError: boolean;
  /** Retries of a failing batch, -1 (until the records expire) or 0–10,000. @default -1 */
  maximumRetryAttempts: number;
  /** Discard records older than this, -1 (never) or 60–604,800. @default -1 */
  maximumRecordAgeInSeconds: number;
  /** `FunctionResponseTypes: ['ReportBatchItemFailures']`. @default false */
  reportBatchItemFailures: boolean;
  /** Where a shard is read from when nothing is checkpointed yet. */
  startingPosition: StartingPosition;
  /**
   * Concurrent batches per shard, 1–10: records are split into this many lanes by partition key, one
   * batch in flight per lane, so each key's records stay in order (Lambda's guarantee).
   * @default 1
   */
  parallelizationFactor?: number;
  /** S3 on-failure destination; without it discarded records are dropped. @default undefined */
  onFailure?: { bucket: string };
}

/** Lambda's defaults for every optional setting of {@link KinesisEventSourceMappingConfig}. */
export const LAMBDA_KINESIS_ESM_DEFAULTS = {
  batchSize: 100,
  maximumBatchingWindowInSeconds: 0,
  bisectBatchOnFunctionError: false,
  maximumRetryAttempts: -1,
  maximumRecordAgeInSeconds: -1,
  reportBatchItemFailures: false,
} as const satisfies Omit<KinesisEventSourceMappingConfig, 'startingPosition' | 'onFailure'>;

/** A setting outside the range Lambda accepts. */
export class InvalidEventSourceMappingConfig extends Error {
  override readonly name = 'InvalidEventSourceMappingConfig';
  constructor(
    readonly field: string,
    readonly rule: string,
    readonly value: unknown,
  ) {
    super(`${field}: ${rule} (got ${JSON.stringify(value)})`);
  }
}

/** Returns `config` unchanged, or throws {@link InvalidEventSourceMappingConfig} for the first setting Lambda would refuse. */
export function validateConfig(config: KinesisEventSourceMappingConfig): KinesisEventSourceMappingConfig {
  const requireInteger = (
    field: keyof KinesisEventSourceMappingConfig,
    min: number,
    max: number,
    allowMinusOne: boolean,
  ) => {
    const value = config[field];
    const valid =
      typeof value === 'number' &&
      Number.isInteger(value) &&
      ((value >= min && value <= max) || (allowMinusOne && value === -1));
    if (!valid) {
      throw new InvalidEventSourceMappingConfig(
        field,
        `integer ${allowMinusOne ? '-1 or ' : ''}${min}–${max}`,
        value,
      );
    }
  };
  requireInteger('batchSize', 1, 10_000, false);
  requireInteger('maximumBatchingWindowInSeconds', 0, 300, false);
  requireInteger('maximumRetryAttempts', 0, 10_000, true);
  requireInteger('maximumRecordAgeInSeconds', 60, 604_800, true);
  if (config.parallelizationFactor !== undefined) requireInteger('parallelizationFactor', 1, 10, false);
  if (!STARTING_POSITIONS.includes(config.startingPosition)) {
    throw new InvalidEventSourceMappingConfig(
      'startingPosition',
      `one of ${STARTING_POSITIONS.join(', ')}`,
      config.startingPosition,
    );
  }
  return config;
}
