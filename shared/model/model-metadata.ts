/**
 * What is published next to every ONNX model, and the `current` pointer that promotes one. Both are
 * JSON objects in the models bucket; the scorer refuses a model whose metadata does not parse or
 * whose feature schema differs from the build it runs in.
 */
import { z } from 'zod';
import { fieldRuleFromZod } from '../errors';

/** Key of the pointer object naming the model that serves. */
export const CURRENT_POINTER_KEY = 'models/current.json';
/** Name of the ONNX graph input (float32 `[batch, featureCount]`). */
export const ONNX_INPUT_NAME = 'features';
/** Name of the ONNX graph output (float32 `[batch, 1]`). */
export const ONNX_OUTPUT_NAME = 'purchase_probability';

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

/** Schema of {@link ModelMetadata}. */
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
/** Everything known about one published model: what it reads, how it was trained, how well it scored. */
export type ModelMetadata = z.infer<typeof modelMetadataSchema>;

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

/** Validate parsed JSON as {@link ModelMetadata}; throws {@link ModelMetadataViolation}. */
export function parseModelMetadata(raw: unknown): ModelMetadata {
  return parseWith(modelMetadataSchema, 'metadata', raw);
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
