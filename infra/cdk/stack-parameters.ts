import type { App } from 'aws-cdk-lib';

/** The deployment's tunables. Each can come from code (tests, local runner) or `cdk -c name=value`. */
export interface StackParameters {
  /** Provisioned shards of the events stream; 0 means on-demand capacity. */
  readonly shardCount: number;
  /** Hours between training runs. */
  readonly trainingRateHours: number;
  /** How far after an event the trainer looks for a purchase (the label). */
  readonly labelHorizonHours: number;
  /** Alarm when this many training runs in a row promoted nothing (the serving model grows stale). */
  readonly alarmAfterRunsWithoutPromotion: number;
  /**
   * The ingest consumer's `MaximumBatchingWindowInSeconds` (whole seconds, as Lambda accepts). The
   * frontier benchmark (README, "Benchmarks") measures what each value costs in latency and writes.
   */
  readonly ingestBatchingWindowSeconds: number;
  /**
   * The ingest mapping's `BatchSize` (1–10,000 records, Lambda's range for Kinesis). Larger batches
   * mean fewer invocations (requests, logs, per-batch overhead, quarantine objects) and fewer profile
   * writes (a profile's events in one batch cost one write); a failed profile redelivers at most the
   * batch from its lowest sequence number, and every redelivered record is recognised (high-water marks).
   */
  readonly ingestBatchSize: number;
  /**
   * How ingest reads the stream: `shared` polls with the stream's shared read throughput (Lambda
   * polls each shard about once a second); `enhanced` registers a Kinesis stream consumer (enhanced
   * fan-out: records pushed ~70 ms after the put, 2 MB/s per shard of its own) for shops that need
   * sub-second freshness, at a consumer-shard-hour and per-GB price.
   */
  readonly ingestFanOut: IngestFanOut;
  /**
   * The ingest mapping's `ParallelizationFactor`: batches of one shard processed at once (1–10, Lambda's
   * range), records of one partition key always in the same one, so each key stays in order. Above 1 a
   * shard's batches no longer wait for one another (the queue behind a slow batch is what sets p99 at
   * 1,000 events/s; README, "Latency / cost frontier"), at the price of more concurrent invocations
   * and profile writes spread over more, smaller batches.
   */
  readonly ingestParallelizationFactor: number;
  /**
   * What the training schedule starts: `function` runs the whole build in the train function (the
   * archive's window held at once, ~1.4 KB per event: up to ~1.5 million events); `distributed` starts
   * the training workflow (Step Functions Distributed Maps of build-rows workers, one per profile-hash
   * bucket, then the train function on their rows; README, "Distributed training"). Both are
   * synthesized either way.
   */
  readonly trainingEngine: TrainingEngine;
  /**
   * Replace `userId` and `anonymousId` at decode by their keyed hash (HMAC-SHA256 under the stateful
   * stack's secret), so the table, archive and logs hold no raw ids; readers hash the id they are given
   * (README, "Pseudonymous ids"). Device and network fingerprints are computed either way.
   */
  readonly pseudonymiseIds: boolean;
  /**
   * How the profiles table is billed: `on-demand` (per request: right for small or spiky shops, and
   * the default) or `provisioned` (capacity units by the hour, kept at
   * {@link profilesTableTargetUtilisationPercent} by auto scaling between the min and max below:
   * several times cheaper per unit at a steady rate; README, "Cost per million events").
   */
  readonly profilesTableBilling: ProfilesTableBilling;
  /** Provisioned billing only: the write capacity auto scaling keeps at least (WCU). */
  readonly profilesTableMinWriteCapacity: number;
  /** Provisioned billing only: the write capacity auto scaling adds at most (WCU). */
  readonly profilesTableMaxWriteCapacity: number;
  /** Provisioned billing only: the read capacity auto scaling keeps at least (RCU). */
  readonly profilesTableMinReadCapacity: number;
  /** Provisioned billing only: the read capacity auto scaling adds at most (RCU). */
  readonly profilesTableMaxReadCapacity: number;
  /**
   * Provisioned billing only: consumed ÷ provisioned capacity that auto scaling's target tracking
   * holds (DynamoDB accepts 20–90 %); the rest is headroom for the time a scale-out takes.
   */
  readonly profilesTableTargetUtilisationPercent: number;
  /**
   * Upper bound of the rescoring's profile writes per second over all its segments (each segment
   * paces itself to its share). With provisioned billing it must fit the write capacity auto scaling
   * may reach at its target, so a promotion's rescan is a bounded scale-up, never a throttled ingest.
   */
  readonly rescoreMaxWritesPerSecond: number;
}

/** Values of {@link StackParameters.profilesTableBilling}. */
export const PROFILES_TABLE_BILLING_MODES = ['on-demand', 'provisioned'] as const;
/** One of {@link PROFILES_TABLE_BILLING_MODES}. */
export type ProfilesTableBilling = (typeof PROFILES_TABLE_BILLING_MODES)[number];

/** Values of {@link StackParameters.trainingEngine}. */
export const TRAINING_ENGINES = ['function', 'distributed'] as const;
/** One of {@link TRAINING_ENGINES}. */
export type TrainingEngine = (typeof TRAINING_ENGINES)[number];

/** Values of {@link StackParameters.ingestFanOut}. */
export const INGEST_FAN_OUT_MODES = ['shared', 'enhanced'] as const;
/** One of {@link INGEST_FAN_OUT_MODES}. */
export type IngestFanOut = (typeof INGEST_FAN_OUT_MODES)[number];

/**
 * Defaults. Two provisioned shards (2 MB/s, 2,000 records/s in) cost less than on-demand's
 * per-stream fee at this volume and make the local stream the same shape as the cloud one.
 */
export const DEFAULT_STACK_PARAMETERS: StackParameters = {
  shardCount: 2,
  trainingRateHours: 24,
  labelHorizonHours: 24,
  alarmAfterRunsWithoutPromotion: 7,
  ingestBatchingWindowSeconds: 1,
  // 500, not Lambda's 100: 10 % fewer writes, a fifth of the invocations and 15–28 % less ingest CPU per
  // event (README, "Latency / cost frontier" and "Benchmarks"); merges are batch-invariant. On the
  // emulators, shared-throughput freshness is slower at 500 (README, "What 500 costs in freshness").
  ingestBatchSize: 500,
  ingestFanOut: 'shared',
  ingestParallelizationFactor: 1,
  trainingEngine: 'function',
  pseudonymiseIds: false,
  profilesTableBilling: 'on-demand',
  // A floor for quiet hours, a ceiling as high as what an on-demand table absorbs at once (4,000 WRU).
  profilesTableMinWriteCapacity: 25,
  profilesTableMaxWriteCapacity: 4000,
  profilesTableMinReadCapacity: 25,
  profilesTableMaxReadCapacity: 4000,
  // DynamoDB auto scaling's own default target.
  profilesTableTargetUtilisationPercent: 70,
  // A million profiles in ~17 minutes; 1,000 WCU is a quarter of the on-demand table's instant absorb.
  rescoreMaxWritesPerSecond: 1000,
};

type NumericParameter = Exclude<
  keyof StackParameters,
  'ingestFanOut' | 'trainingEngine' | 'pseudonymiseIds' | 'profilesTableBilling'
>;

/**
 * Bounds from the services: provisioned streams start at 500 shards max; rate() needs ≥ 1; Lambda
 * takes a batching window of 0–300 whole seconds and a Kinesis batch of 1–10,000 records.
 */
const RULES: Record<NumericParameter, { min: number; max: number }> = {
  shardCount: { min: 0, max: 500 },
  trainingRateHours: { min: 1, max: 24 * 7 },
  labelHorizonHours: { min: 1, max: 24 * 30 },
  alarmAfterRunsWithoutPromotion: { min: 1, max: 24 * 7 },
  ingestBatchingWindowSeconds: { min: 0, max: 300 },
  ingestBatchSize: { min: 1, max: 10_000 },
  // 40,000 units per second is a table's default throughput quota (per table, reads and writes each).
  profilesTableMinWriteCapacity: { min: 1, max: 40_000 },
  profilesTableMaxWriteCapacity: { min: 1, max: 40_000 },
  profilesTableMinReadCapacity: { min: 1, max: 40_000 },
  profilesTableMaxReadCapacity: { min: 1, max: 40_000 },
  profilesTableTargetUtilisationPercent: { min: 20, max: 90 },
  rescoreMaxWritesPerSecond: { min: 1, max: 40_000 },
  ingestParallelizationFactor: { min: 1, max: 10 },
};

const BOOLEAN_VALUES = new Map<unknown, boolean>([
  [true, true],
  [false, false],
  ['true', true],
  ['false', false],
]);

/** CloudWatch evaluates an alarm over at most 7 days (period × evaluation periods). */
const MAX_ALARM_WINDOW_HOURS = 24 * 7;

/** A stack parameter is missing its mark; names the parameter, the rule and the offending value. */
export class InvalidStackParameter extends Error {
  override readonly name = 'InvalidStackParameter';

  constructor(
    readonly field: keyof StackParameters,
    readonly rule: string,
    readonly value: unknown,
  ) {
    super(`Stack parameter ${field} ${rule}, got ${JSON.stringify(value)}`);
  }
}

/**
 * Resolves each parameter from `overrides`, else the app context (CLI `-c` values arrive as
 * strings), else {@link DEFAULT_STACK_PARAMETERS}, and validates it once, at synth start.
 */
export function resolveStackParameters(app: App, overrides: Partial<StackParameters> = {}): StackParameters {
  const rawOf = (field: keyof StackParameters): unknown =>
    overrides[field] ?? app.node.tryGetContext(field) ?? DEFAULT_STACK_PARAMETERS[field];
  const resolve = (field: NumericParameter): number => {
    const raw = rawOf(field);
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    const { min, max } = RULES[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new InvalidStackParameter(field, `must be an integer in [${min}, ${max}]`, raw);
    }
    return value;
  };
  const oneOf = <T extends string>(
    field: 'ingestFanOut' | 'trainingEngine' | 'profilesTableBilling',
    modes: readonly T[],
  ): T => {
    const raw = rawOf(field);
    const mode = modes.find((m) => m === raw);
    if (mode === undefined) throw new InvalidStackParameter(field, `must be one of ${modes.join(', ')}`, raw);
    return mode;
  };
  const ingestFanOut = oneOf('ingestFanOut', INGEST_FAN_OUT_MODES);
  // CLI `-c pseudonymiseIds=true` arrives as a string; code passes a boolean.
  const pseudonymise = rawOf('pseudonymiseIds');
  const pseudonymiseIds = BOOLEAN_VALUES.get(pseudonymise);
  if (pseudonymiseIds === undefined) {
    throw new InvalidStackParameter('pseudonymiseIds', 'must be true or false', pseudonymise);
  }
  const parameters = {
    shardCount: resolve('shardCount'),
    trainingRateHours: resolve('trainingRateHours'),
    labelHorizonHours: resolve('labelHorizonHours'),
    ingestBatchingWindowSeconds: resolve('ingestBatchingWindowSeconds'),
    ingestBatchSize: resolve('ingestBatchSize'),
    ingestFanOut,
    ingestParallelizationFactor: resolve('ingestParallelizationFactor'),
    trainingEngine: oneOf('trainingEngine', TRAINING_ENGINES),
    pseudonymiseIds,
    alarmAfterRunsWithoutPromotion: resolve('alarmAfterRunsWithoutPromotion'),
    profilesTableBilling: oneOf('profilesTableBilling', PROFILES_TABLE_BILLING_MODES),
    profilesTableMinWriteCapacity: resolve('profilesTableMinWriteCapacity'),
    profilesTableMaxWriteCapacity: resolve('profilesTableMaxWriteCapacity'),
    profilesTableMinReadCapacity: resolve('profilesTableMinReadCapacity'),
    profilesTableMaxReadCapacity: resolve('profilesTableMaxReadCapacity'),
    profilesTableTargetUtilisationPercent: resolve('profilesTableTargetUtilisationPercent'),
    rescoreMaxWritesPerSecond: resolve('rescoreMaxWritesPerSecond'),
  };
  if (parameters.profilesTableBilling === 'provisioned') checkProvisionedCapacity(parameters);
  const windowHours = parameters.trainingRateHours * parameters.alarmAfterRunsWithoutPromotion;
  if (windowHours > MAX_ALARM_WINDOW_HOURS) {
    throw new InvalidStackParameter(
      'alarmAfterRunsWithoutPromotion',
      `times trainingRateHours (${parameters.trainingRateHours}) must be at most ${MAX_ALARM_WINDOW_HOURS} hours, the longest window a CloudWatch alarm evaluates`,
      parameters.alarmAfterRunsWithoutPromotion,
    );
  }
  return parameters;
}

/**
 * Provisioned capacity must be a range, and the rescoring's paced writes must fit the write capacity
 * auto scaling can reach at its target utilisation (else a promotion throttles ingest until it ends).
 */
function checkProvisionedCapacity(parameters: StackParameters): void {
  const ranges = [
    ['profilesTableMaxWriteCapacity', 'profilesTableMinWriteCapacity'],
    ['profilesTableMaxReadCapacity', 'profilesTableMinReadCapacity'],
  ] as const;
  for (const [max, min] of ranges) {
    if (parameters[max] < parameters[min]) {
      throw new InvalidStackParameter(max, `must be at least ${min} (${parameters[min]})`, parameters[max]);
    }
  }
  const reachable = Math.floor(
    (parameters.profilesTableMaxWriteCapacity * parameters.profilesTableTargetUtilisationPercent) / 100,
  );
  if (parameters.rescoreMaxWritesPerSecond > reachable) {
    throw new InvalidStackParameter(
      'rescoreMaxWritesPerSecond',
      `must be at most profilesTableMaxWriteCapacity × profilesTableTargetUtilisationPercent (${reachable} WCU) with provisioned billing`,
      parameters.rescoreMaxWritesPerSecond,
    );
  }
}
