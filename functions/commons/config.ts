import { z } from 'zod';
import { fieldRuleFromZod } from '../../shared/errors';

/** Raised at start-up when the environment does not describe a usable configuration. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(
    readonly variable: string,
    readonly rule: string,
  ) {
    super(`environment variable ${variable}: ${rule}`);
  }
}

/**
 * Validate a function's environment once, at module load, and fail fast naming the variable.
 *
 * @param schema - zod object whose keys are environment variable names
 */
export function readConfig<T extends z.ZodRawShape>(
  schema: z.ZodObject<T>,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<T>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const { field, rule } = fieldRuleFromZod(parsed.error, env, '(environment)');
    throw new ConfigurationError(field, rule);
  }
  return parsed.data;
}

const name = z.string().min(1, 'is required');

/**
 * The keyed hash of the decoding consumers (`functions/commons/secret-key.ts`): the secret's ARN, bound
 * by the stack (optional so a bare environment still runs them, without fingerprints), and whether ids
 * are pseudonymised (stack parameter `pseudonymiseIds`).
 */
const decodePrivacy = {
  HASH_KEY_SECRET_ID: name.optional(),
  /** `true` replaces userId/anonymousId by their keyed hash at decode. @default false */
  PSEUDONYMISE_IDS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
};

/** What the ingest function reads from its environment. */
export const INGEST_CONFIG = z.object({
  PROFILES_TABLE: name,
  QUARANTINE_BUCKET: name,
  MODELS_BUCKET: name,
  /** How often, at most, the scorer looks for a newly promoted model. @default 60 */
  MODEL_POLL_SECONDS: z.coerce.number().int().min(0).default(60),
  /** The activation stream audience entries and exits are put on; without it none are emitted. */
  ACTIVATION_STREAM: name.optional(),
  ...decodePrivacy,
});

/** What the archive function reads from its environment. */
export const ARCHIVE_CONFIG = z.object({
  ARCHIVE_BUCKET: name,
  /** Where tombstones are looked up (with `HASH_KEY_SECRET_ID`); without both none is. */
  PROFILES_TABLE: name.optional(),
  ...decodePrivacy,
});

/** What the erasure function reads from its environment. */
export const ERASE_CONFIG = z.object({
  PROFILES_TABLE: name,
  /** The audience members table: an erased profile's rows are deleted. */
  MEMBERS_TABLE: name,
  /**
   * The audience definitions' history (`audiences/` beside the model pointer): a profile's rows are
   * deleted in every audience ever defined. @default only the audiences its item names
   */
  MODELS_BUCKET: name.optional(),
  ARCHIVE_BUCKET: name,
  QUARANTINE_BUCKET: name,
  FAILURES_BUCKET: name,
  /** Requests (`requests/`) and receipts (`receipts/`). */
  ERASURE_BUCKET: name,
  ...decodePrivacy,
  /** Tombstones are keyed hashes: the erase function always needs the key. */
  HASH_KEY_SECRET_ID: name,
});

/** What the activation-index function reads from its environment. */
export const ACTIVATION_INDEX_CONFIG = z.object({
  MEMBERS_TABLE: name,
  /** Where tombstones are looked up (with `HASH_KEY_SECRET_ID`): erased profiles get no row back. */
  PROFILES_TABLE: name,
  HASH_KEY_SECRET_ID: name,
});

/** What the scrub-failures function reads from its environment. */
export const SCRUB_FAILURES_CONFIG = z.object({ FAILURES_BUCKET: name });

/** What the training function reads from its environment. */
export const TRAIN_CONFIG = z.object({
  ARCHIVE_BUCKET: name,
  MODELS_BUCKET: name,
  /** Label horizon H: a cutoff is positive when the user purchases within (t, t + H]. @default 24 */
  LABEL_HORIZON_HOURS: z.coerce.number().positive().default(24),
  /** Where tombstones are looked up (with `HASH_KEY_SECRET_ID`): erased people's events are dropped. */
  PROFILES_TABLE: name.optional(),
  /** The erasure key (tombstones are keyed hashes); without both, no tombstone check. */
  HASH_KEY_SECRET_ID: name.optional(),
  /**
   * Rows a distributed run keeps at most (the seeded class-aware sample, `partitioned-training-set.ts`).
   * @default no sample
   */
  ROW_SAMPLE_MAX_ROWS: z.coerce.number().int().positive().optional(),
});

/** What a worker of the distributed training-set build reads from its environment. */
export const BUILD_ROWS_CONFIG = z.object({
  /** The archive it reads, and where it stores its results (`training-runs/`). */
  ARCHIVE_BUCKET: name,
  /** As the training function's: both must build the same rows. @default 24 */
  LABEL_HORIZON_HOURS: z.coerce.number().positive().default(24),
  /** Where tombstones are looked up (with `HASH_KEY_SECRET_ID`), as the training function's. */
  PROFILES_TABLE: name.optional(),
  /** The erasure key (tombstones are keyed hashes); without both, no tombstone check. */
  HASH_KEY_SECRET_ID: name.optional(),
});

/**
 * What the rescoring function reads from its environment. Its load on the table is bounded by these:
 * at most `RESCORE_MAX_WRITES_PER_SECOND` writes per second over all segments (one write unit each),
 * and per scan call `RESCORE_PAGE_SIZE` items read (README, "Rescoring").
 */
export const RESCORE_CONFIG = z.object({
  PROFILES_TABLE: name,
  MODELS_BUCKET: name,
  /** Parallel-scan segments, one concurrent invocation each (DynamoDB `TotalSegments`). @default 4 */
  RESCORE_TOTAL_SEGMENTS: z.coerce.number().int().min(1).max(1000).default(4),
  /** Items read per scan call (DynamoDB `Limit`), scored in one inference. @default 100 */
  RESCORE_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  /** Writes per second over all segments together. @default 1000 */
  RESCORE_MAX_WRITES_PER_SECOND: z.coerce.number().positive().default(1000),
  /** Where audience entries and exits of rescored profiles go, as ingest's. @default none: not emitted */
  ACTIVATION_STREAM: name.optional(),
});

/**
 * Each function's configuration, by function name: the CDK stack binds exactly these variable names
 * (see `ProfileFunction`), so renaming one here breaks the stack's compilation.
 */
export const FUNCTION_CONFIGS = {
  ingest: INGEST_CONFIG,
  archive: ARCHIVE_CONFIG,
  train: TRAIN_CONFIG,
  rescore: RESCORE_CONFIG,
  'build-rows': BUILD_ROWS_CONFIG,
  'scrub-failures': SCRUB_FAILURES_CONFIG,
  erase: ERASE_CONFIG,
  'activation-index': ACTIVATION_INDEX_CONFIG,
} as const;

/** A function that reads a configuration from its environment. */
export type ConfiguredFunction = keyof typeof FUNCTION_CONFIGS;

/** An environment variable function `F` reads. */
export type ConfigVariable<F extends ConfiguredFunction> = keyof (typeof FUNCTION_CONFIGS)[F]['shape'] &
  string;
