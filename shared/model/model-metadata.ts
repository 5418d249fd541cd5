/**
 * What is published next to every ONNX model, and the `current` pointer that promotes one. Both are
 * JSON objects in the models bucket; the scorer refuses a model whose metadata does not parse or
 * whose feature schema differs from the build it runs in.
 *
 * Two metadata versions exist during the rollout:
 * - **v2** (`metadataVersion: 2`, {@link modelMetadataV2Schema}): the SERVING contract — what the scorer
 *   needs to run the graph and read its outputs — plus optional training `provenance`. An external
 *   model author writes the serving part only.
 * - **v1** (no `metadataVersion`, {@link modelMetadataSchema}): the single-head MLP trainer's document,
 *   with its training fields required. It still parses, and serves as a model with the purchase head
 *   only ({@link parseServingContract}), so models published before v2 keep serving until replaced.
 */
import { z } from 'zod';
import { fieldRuleFromZod } from '../errors';
import { ONNX_OUTPUTS } from './model-outputs';
import { populationStatsSchema } from '../traits/computed-traits';

/** Key of the pointer object naming the model that serves. */
export const CURRENT_POINTER_KEY = 'models/current.json';
/** Name of the ONNX graph input (float32 `[batch, featureCount]`). */
export const ONNX_INPUT_NAME = 'features';
/** Name of the purchase head's ONNX output (float32 `[batch, 1]`), the one output a v1 model has. */
export const ONNX_OUTPUT_NAME = ONNX_OUTPUTS.purchase;

// Model versions become S3 key segments, so keep them to characters that need no escaping.
const modelVersionSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._-]+$/, 'must use only letters, digits, dot, underscore and hyphen');
const count = z.number().int().min(0);

const intervalSchema = z.object({ lower: z.number(), upper: z.number() });

/** Headline metrics of one scorer on the test split (curves live in the HTML report, not here). */
export const metricSummarySchema = z.object({
  rocAuc: z.number().min(0).max(1),
  rocAucCi95: intervalSchema,
  prAuc: z.number().min(0).max(1),
  logLoss: z.number().min(0),
  brierScore: z.number().min(0).max(1),
  expectedCalibrationError: z.number().min(0).max(1),
});
/** Headline metrics of one scorer. */
export type MetricSummary = z.infer<typeof metricSummarySchema>;

/** Schema of {@link ModelMetadata}: metadata v1, the single-head MLP trainer's document. */
export const modelMetadataSchema = z
  .object({
    modelVersion: modelVersionSchema,
    featureSchemaVersion: z.number().int().min(1),
    featureNames: z
      .array(z.string().min(1))
      .min(1)
      .refine((names) => new Set(names).size === names.length, 'must be unique'),
    inputName: z.string().min(1),
    outputName: z.string().min(1),
    trainingWindow: z
      .object({ fromMs: count, toMs: count })
      .refine((w) => w.fromMs <= w.toMs, { message: 'fromMs must not be after toMs', path: ['fromMs'] }),
    exampleCounts: z.object({ train: count, validation: count, test: count, positives: count }),
    metrics: z.object({
      model: metricSummarySchema,
      heuristic: metricSummarySchema,
      logisticRegression: metricSummarySchema,
    }),
    training: z.object({
      seed: z.number().int(),
      backend: z.string().min(1),
      hiddenUnits: z.array(z.number().int().min(1)),
      epochsRun: count,
      bestEpoch: count,
      maxEpochs: count,
      stoppedEarly: z.boolean(),
      classWeights: z.tuple([z.number().positive(), z.number().positive()]),
      calibrated: z.boolean(),
      heuristicFeature: z.string().min(1),
    }),
    createdAt: z.iso.datetime(),
    sizeBytes: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  })
  .strict();
/** Metadata v1: what the model reads, how it was trained, how well it scored (purchase head only). */
export type ModelMetadata = z.infer<typeof modelMetadataSchema>;

const outputName = z.string().min(1);
const uniqueNames = (names: readonly string[]) => new Set(names).size === names.length;

/** The name of the catch-all class of the next-category head. */
export const OTHER_CATEGORY = 'other';

/**
 * One head's contribution output and how to read it (the shape `attributionContract` in
 * `onnx-attribution.ts` gives, plus the output name). For each row the contributions sum to the head's
 * logit minus `baseline.logit`, within the tolerance the method states.
 */
/** The reference point contributions are measured from: a profile whose contributions are all zero. */
export const attributionBaselineSchema = z
  .object({
    description: z.string().min(1),
    /** Raw feature values the contributions are measured from (F values, `featureNames` order). */
    features: z.array(z.number()).min(1),
    /** The head's logit at `features`: Σ contributions ≈ logit(x) − this. */
    logit: z.number(),
  })
  .strict();

const contributionOutputSchema = z
  .object({
    name: outputName,
    /** `rescale`, `integrated-gradients`, `exact-linear` here; an external model names its own (`tree-shap`). */
    method: z.string().min(1),
    /** Interpolation steps of a path method; 1 otherwise. */
    steps: z.number().int().min(1),
    units: z.literal('logit'),
    baseline: attributionBaselineSchema,
  })
  .strict();

/**
 * Which heads a v2 model has, the ONNX output each is read from (float32, B rows), and the parameters
 * a reader needs to interpret it. Omit a head the model does not have; `purchase` is required.
 */
export const servingOutputsSchema = z
  .object({
    /** `[B, 1]` probability of a purchase within `labelHorizonHours`. */
    purchase: z.object({ name: outputName, labelHorizonHours: z.number().positive().optional() }).strict(),
    /** `[B, 1]` probability of no event in the next `horizonDays`. */
    churn: z.object({ name: outputName, horizonDays: z.number().positive() }).strict().optional(),
    /**
     * `[B, K + 1]` probability per category, columns in `categories` order: the K categories the model
     * knows, then (by convention) {@link OTHER_CATEGORY}.
     */
    nextCategories: z
      .object({
        name: outputName,
        categories: z.array(z.string().min(1)).min(2).refine(uniqueNames, 'must be unique'),
        /**
         * Who ranks the stored next categories: the graph head (`model`, the default), or the
         * profile's own decayed category affinity (`profile-affinity`), published when that ranked
         * better on validation than every head the graph could carry.
         */
        rankedBy: z.enum(['model', 'profile-affinity']).optional(),
      })
      .strict()
      .optional(),
    /** `[B, size]` user embedding. */
    embedding: z
      .object({ name: outputName, size: z.number().int().min(1).max(64) })
      .strict()
      .optional(),
    /**
     * `[B, F]` signed contribution of each feature (columns in `featureNames` order) to the purchase
     * and/or churn head's logit, each with how it was computed and what it is measured from.
     */
    contributions: z
      .object({ purchase: contributionOutputSchema.optional(), churn: contributionOutputSchema.optional() })
      .strict()
      .optional(),
  })
  .strict();
/** The outputs section of the serving contract. */
export type ServingOutputs = z.infer<typeof servingOutputsSchema>;

/** Every ONNX output name the serving contract declares (those the scorer fetches), in a fixed order. */
export function declaredOutputNames(outputs: ServingOutputs): string[] {
  const { purchase, churn, nextCategories, embedding, contributions } = outputs;
  return [
    purchase.name,
    churn?.name,
    nextCategories?.name,
    embedding?.name,
    contributions?.purchase?.name,
    contributions?.churn?.name,
  ].filter((name): name is string => name !== undefined);
}

/** Headline metric values of one scorer on one head (a number or a 95% interval), keyed by metric name. */
const headMetricsSchema = z.record(z.string().min(1), z.union([z.number(), intervalSchema]));

/** How one head was chosen: every scorer's validation/test metrics and the one published. */
const headProvenanceSchema = z
  .object({
    /** The scorer whose weights the head carries (`mlp`, `logisticRegression`, `popularity`…). */
    chosen: z.string().min(1),
    /** Metrics per scorer name. */
    metrics: z.record(z.string().min(1), headMetricsSchema),
    /**
     * A scorer the graph cannot carry that ranked better on validation (the next-category baselines
     * read from the profile state: its own affinity or last category). When it is the affinity, the
     * serving contract's `rankedBy: 'profile-affinity'` has serving rank by it.
     */
    aheadOnValidation: z.string().min(1).optional(),
  })
  .strict();

const binnedDistributionSchema = z
  .object({
    upperEdges: z.array(z.number()),
    shares: z.array(z.number().min(0).max(1)),
  })
  .strict()
  .refine((d) => d.shares.length === d.upperEdges.length + 1, {
    message: 'must have one more share than upper edges',
    path: ['shares'],
  })
  .refine((d) => d.upperEdges.every((edge, i) => i === 0 || edge > d.upperEdges[i - 1]!), {
    message: 'must be strictly increasing',
    path: ['upperEdges'],
  });

/** The distributions the next training run compares live rows with (`shared/model/feature-drift.ts`). */
const driftReferenceSchema = z
  .object({
    rows: count,
    features: z.record(z.string().min(1), binnedDistributionSchema),
    purchaseScore: binnedDistributionSchema.optional(),
  })
  .strict();

/**
 * The (ε, δ) guarantee of a model trained with DP-SGD, and how it was obtained. ε is what the RDP
 * accountant proves for the published graph's weights with respect to adding or removing one `unit`
 * (a profile, or a row when no profile ids were given); `notCovered` names what else read the private
 * rows and is not part of that guarantee.
 */
export const differentialPrivacySchema = z
  .object({
    mechanism: z.literal('dp-sgd'),
    epsilon: z.number().min(0),
    delta: z.number().gt(0).lt(1),
    unit: z.enum(['profile', 'row']),
    /** Privacy units in the training split (the n of the sampling probability). */
    units: z.number().int().min(1),
    /** Gaussian noise std over the clip norm. */
    noiseMultiplier: z.number().positive(),
    /** L2 bound of each unit's gradient. */
    clipNorm: z.number().positive(),
    /** Each unit joins each step independently with `samplingProbability` (what the accountant assumes). */
    sampling: z.literal('poisson'),
    samplingProbability: z.number().gt(0).max(1),
    steps: z.number().int().min(1),
    epochs: z.number().int().min(1),
    accountant: z.literal('rdp'),
    /** The Rényi order that gave ε. */
    rdpOrder: z.number().gt(1),
    /** Present when σ was chosen for a target ε. */
    targetEpsilon: z.number().positive().optional(),
    notCovered: z.array(z.string().min(1)),
  })
  .strict();
/** How a model was trained with differential privacy: see {@link differentialPrivacySchema}. */
export type DifferentialPrivacyRecord = z.infer<typeof differentialPrivacySchema>;

/** Optional: how a v2 model was trained. Nothing in serving reads it. */
export const modelProvenanceSchema = z
  .object({
    producer: z.string().min(1).optional(),
    trainingWindow: z
      .object({ fromMs: count, toMs: count })
      .refine((w) => w.fromMs <= w.toMs, { message: 'fromMs must not be after toMs', path: ['fromMs'] })
      .optional(),
    exampleCounts: z.record(z.string().min(1), count).optional(),
    heads: z
      .object({
        purchase: headProvenanceSchema.optional(),
        churn: headProvenanceSchema.optional(),
        nextCategories: headProvenanceSchema.optional(),
      })
      .strict()
      .optional(),
    /** Trainer settings (seed, backend, hidden units, epochs…), free-form. */
    training: z.record(z.string().min(1), z.unknown()).optional(),
    /** Feature and score distributions of this model's data, for drift checks of later runs. */
    drift: driftReferenceSchema.optional(),
    /** Present when the network was trained with DP-SGD. */
    differentialPrivacy: differentialPrivacySchema.optional(),
  })
  .strict();
/** Training provenance of a v2 model. */
export type ModelProvenance = z.infer<typeof modelProvenanceSchema>;

const featureNamesSchema = z
  .array(z.string().min(1))
  .min(1)
  .refine((names) => new Set(names).size === names.length, 'must be unique');

/** Schema of {@link ModelMetadataV2}. */
export const modelMetadataV2Schema = z
  .object({
    metadataVersion: z.literal(2),
    modelVersion: modelVersionSchema,
    featureSchemaVersion: z.number().int().min(1),
    featureNames: featureNamesSchema,
    /** The float32 `[B, F]` input, columns in `featureNames` order. */
    inputName: z.string().min(1),
    outputs: servingOutputsSchema,
    createdAt: z.iso.datetime(),
    sizeBytes: z.number().int().positive(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
    provenance: modelProvenanceSchema.optional(),
    /**
     * Population statistics over the training rows (RFM and price-band cut points, look-alike
     * centroids) that ingest maps each profile's traits against; absent: ingest's defaults serve.
     */
    population: populationStatsSchema.optional(),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const size = doc.outputs.embedding?.size;
    for (const [name, centroid] of Object.entries(doc.population?.centroids ?? {})) {
      if (centroid.length !== size) {
        ctx.addIssue({
          code: 'custom',
          path: ['population', 'centroids', name],
          message: `must have outputs.embedding.size (${size ?? 'no embedding'}) values`,
        });
      }
    }
    const names = declaredOutputNames(doc.outputs);
    if (!uniqueNames(names))
      ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'names must be unique' });
    if (names.includes(doc.inputName))
      ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'must not reuse the input name' });
    for (const head of ['purchase', 'churn'] as const) {
      const contribution = doc.outputs.contributions?.[head];
      if (contribution === undefined) continue;
      if (doc.outputs[head] === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['outputs', 'contributions', head],
          message: `needs the ${head} head`,
        });
      }
      if (contribution.baseline.features.length !== doc.featureNames.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['outputs', 'contributions', head, 'baseline', 'features'],
          message: `must have ${doc.featureNames.length} values, one per feature name`,
        });
      }
    }
  });
/** Metadata v2: the serving contract, and optionally how the model was trained. */
export type ModelMetadataV2 = z.infer<typeof modelMetadataV2Schema>;

/**
 * What the scorer needs of any published model, v1 or v2: `metadataVersion` says which document it
 * came from (a v1 document serves the purchase head alone, read from its `outputName`).
 */
export type ServingContract = Omit<ModelMetadataV2, 'metadataVersion' | 'provenance'> & {
  metadataVersion: 1 | 2;
};

/** Schema of {@link ModelPointer}. */
export const modelPointerSchema = z
  .object({
    modelVersion: modelVersionSchema,
    onnxKey: z.string().min(1),
    metadataKey: z.string().min(1),
    promotedAt: z.iso.datetime(),
    /** The version this one replaced, for a one-step rollback. */
    previous: modelVersionSchema.optional(),
  })
  .strict();
/** The `current` pointer: which model serves, where its files are, and what it replaced. */
export type ModelPointer = z.infer<typeof modelPointerSchema>;

/** Raised when metadata or a pointer does not match its schema. */
export class ModelMetadataViolation extends Error {
  override readonly name = 'ModelMetadataViolation';
  constructor(
    /** Which document failed: `metadata` or `pointer`. */
    readonly document: 'metadata' | 'pointer',
    /** Dotted path of the first offending field, or `(root)`. */
    readonly field: string,
    /** The rule that was broken, in words. */
    readonly rule: string,
    /** A short description of the offending value (models hold no personal data). */
    readonly value: string,
  ) {
    super(`${document} ${field}: ${rule} (got ${value})`);
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function parseWith<T>(schema: z.ZodType<T>, document: 'metadata' | 'pointer', raw: unknown): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const { field, rule, value } = fieldRuleFromZod(result.error, raw, '(root)');
  throw new ModelMetadataViolation(document, field, rule, describe(value));
}

/** Validate parsed JSON as {@link ModelMetadata} (v1); throws {@link ModelMetadataViolation}. */
export function parseModelMetadata(raw: unknown): ModelMetadata {
  return parseWith(modelMetadataSchema, 'metadata', raw);
}

/** Validate parsed JSON as {@link ModelMetadataV2}; throws {@link ModelMetadataViolation}. */
export function parseModelMetadataV2(raw: unknown): ModelMetadataV2 {
  return parseWith(modelMetadataV2Schema, 'metadata', raw);
}

/**
 * The serving contract of a published model's metadata, v2 or v1 (a document without
 * `metadataVersion`): a v1 model serves its purchase head only. Provenance is dropped: serving never
 * reads it. Throws {@link ModelMetadataViolation} naming the first offending field of the version the
 * document claims.
 */
export function parseServingContract(raw: unknown): ServingContract {
  const { provenance: _provenance, ...serving } = parsePublishedMetadata(raw);
  return claimsMetadataVersion(raw) ? serving : { ...serving, metadataVersion: 1 };
}

/** Whether a document says which metadata version it is (v1 documents do not). */
function claimsMetadataVersion(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && 'metadataVersion' in raw;
}

/**
 * Any published metadata document as v2: a v2 document as it is; a v1 document (no `metadataVersion`)
 * as the v2 document it corresponds to — the purchase head alone, read from its `outputName`, and its
 * training fields as provenance (its `metrics.model` is the `network` scorer, chosen). The one reader
 * of stored metadata (registry, champion check, listings, reports), so none of them branches on the
 * version. Throws {@link ModelMetadataViolation} naming the first offending field of the version the
 * document claims.
 */
export function parsePublishedMetadata(raw: unknown): ModelMetadataV2 {
  if (claimsMetadataVersion(raw)) return parseModelMetadataV2(raw);
  const v1 = parseModelMetadata(raw);
  const { model, heuristic, logisticRegression } = v1.metrics;
  return {
    metadataVersion: 2,
    modelVersion: v1.modelVersion,
    featureSchemaVersion: v1.featureSchemaVersion,
    featureNames: v1.featureNames,
    inputName: v1.inputName,
    outputs: { purchase: { name: v1.outputName } },
    createdAt: v1.createdAt,
    sizeBytes: v1.sizeBytes,
    sha256: v1.sha256,
    provenance: {
      trainingWindow: v1.trainingWindow,
      exampleCounts: v1.exampleCounts,
      heads: { purchase: { chosen: 'network', metrics: { network: model, heuristic, logisticRegression } } },
      training: v1.training,
    },
  };
}

/**
 * The test-split metrics of the scorer a binary head published, from the provenance (absent when the
 * document has none, e.g. an external model's, or they do not read as a {@link MetricSummary}).
 */
export function publishedHeadMetrics(
  metadata: ModelMetadataV2,
  head: 'purchase' | 'churn' = 'purchase',
): MetricSummary | undefined {
  const provenance = metadata.provenance?.heads?.[head];
  if (provenance === undefined) return undefined;
  const parsed = metricSummarySchema.safeParse(provenance.metrics[provenance.chosen]);
  return parsed.success ? parsed.data : undefined;
}

/** Validate parsed JSON as a {@link ModelPointer}; throws {@link ModelMetadataViolation}. */
export function parseModelPointer(raw: unknown): ModelPointer {
  return parseWith(modelPointerSchema, 'pointer', raw);
}

/** Where the files of one model version live in the models bucket. */
export interface ModelObjectKeys {
  onnxKey: string;
  metadataKey: string;
  reportKey: string;
}

/** Keys of a version's files: `models/<version>/model.onnx`, `metadata.json`, `report.html`. */
export function modelObjectKeys(modelVersion: string): ModelObjectKeys {
  const prefix = `models/${parseWith(modelVersionSchema, 'pointer', modelVersion)}`;
  return {
    onnxKey: `${prefix}/model.onnx`,
    metadataKey: `${prefix}/metadata.json`,
    reportKey: `${prefix}/report.html`,
  };
}

/** The pointer that promotes `modelVersion`, remembering the version it replaces. */
export function createModelPointer(
  modelVersion: string,
  promotedAtMs: number,
  previous?: string,
): ModelPointer {
  const { onnxKey, metadataKey } = modelObjectKeys(modelVersion);
  return parseModelPointer({
    modelVersion,
    onnxKey,
    metadataKey,
    promotedAt: new Date(promotedAtMs).toISOString(),
    ...(previous === undefined ? {} : { previous }),
  });
}
