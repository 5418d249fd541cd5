import type { S3Client } from '@aws-sdk/client-s3';
import { FEATURE_NAMES, FEATURE_SCHEMA_VERSION } from '../../shared/features/feature-vector';
import type { ProfileScorer } from '../../shared/ingest/ingest-ports';
import { type ExpectedFeatures, modelIncompatibility } from '../../shared/model/model-compatibility';
import {
  CURRENT_POINTER_KEY,
  ModelMetadataViolation,
  type ModelPointer,
  parseModelPointer,
  parseServingContract,
  type ServingContract,
} from '../../shared/model/model-metadata';
import type { BatchScores } from '../../shared/model/model-outputs';
import { ModelScoringError } from '../../shared/model/model-scoring-error';
import { type HeadScores, OnnxModelSession, SERVING_SESSION_OPTIONS } from './onnx-session';
import { HotReloadedPointer } from './hot-reloaded-pointer';
import { readObjectIfExists } from './s3-objects';

/** The features this build computes: a model must read exactly these to serve. */
const THIS_BUILD: ExpectedFeatures = {
  featureSchemaVersion: FEATURE_SCHEMA_VERSION,
  featureNames: FEATURE_NAMES,
  computedBy: 'this build',
};

/**
 * Raised when a published model cannot serve this build (wrong feature schema, corrupt file, a declared
 * output the graph lacks or answers in the wrong shape).
 */
export class ModelRefusedError extends Error {
  override readonly name = 'ModelRefusedError';
  constructor(
    readonly modelVersion: string,
    readonly reason: string,
  ) {
    super(`model ${modelVersion} refused: ${reason}`);
  }
}

/** Callbacks through which the scorer reports model changes (the handler logs and counts them). */
export interface ModelScorerHooks {
  onLoaded?: (modelVersion: string) => void;
  /** A published model cannot serve this build; the previous one (or none) keeps serving. */
  onRefused?: (reason: string) => void;
  /** The pointer or model could not be read this time (S3, network); retried at the next poll. */
  onPollFailed?: (reason: string) => void;
}

interface LoadedModel {
  metadata: ServingContract;
  session: OnnxModelSession;
}

/**
 * The current model from S3, cached per container: a pointer object (`models/current.json`) names a
 * versioned ONNX file and its metadata (v2, or v1 served as purchase-only). Each batch is ONE
 * inference fetching every output the metadata declares, on the calling thread
 * ({@link SERVING_SESSION_OPTIONS}). The pointer is looked at most every `pollMs`; a new model is
 * swapped in between batches, so a batch in flight always finishes on the session it started with.
 */
export class S3ModelScorer implements ProfileScorer {
  private readonly pointer: HotReloadedPointer<ModelPointer, LoadedModel, string>;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    pollMs: number,
    private readonly hooks: ModelScorerHooks = {},
    now: () => number = Date.now,
  ) {
    this.pointer = new HotReloadedPointer({
      s3,
      bucket,
      pointerKey: CURRENT_POINTER_KEY,
      pollMs,
      now,
      parsePointer: parseModelPointer,
      versionOf: (pointer) => pointer.modelVersion,
      load: (pointer) => this.load(pointer.metadataKey, pointer.onnxKey, pointer.modelVersion),
      // A model that cannot serve stays refused until the pointer moves on; S3 or network trouble keeps
      // serving what is loaded and looks again at the next poll.
      refusalOf: (error) =>
        error instanceof ModelRefusedError ||
        error instanceof ModelMetadataViolation ||
        error instanceof SyntaxError
          ? `${error.name}: ${error.message}`
          : undefined,
      onLoaded: (pointer) => hooks.onLoaded?.(pointer.modelVersion),
      onRefused: (_version, reason) => hooks.onRefused?.(reason),
      onPollFailed: (reason) => hooks.onPollFailed?.(reason),
    });
  }

  /** The version currently serving, if any. */
  get modelVersion(): string | undefined {
    return this.pointer.value?.metadata.modelVersion;
  }

  async score(features: Float32Array, rows: number, width: number): Promise<BatchScores | undefined> {
    const model = await this.pointer.current();
    if (model === undefined) return undefined;
    try {
      const { modelVersion, population } = model.metadata;
      const heads = await this.run(model, features, rows, width);
      return { modelVersion, ...heads, ...(population === undefined ? {} : { population }) };
    } catch (error) {
      // A model that cannot score must not block the stream: drop it, write this batch unscored.
      this.pointer.refuse(model.metadata.modelVersion);
      this.hooks.onRefused?.(error instanceof Error ? error.message : String(error));
      return undefined;
    }
  }

  /** One inference; refuses outputs that are not what the metadata declares (shape, finiteness, range). */
  private async run(
    model: LoadedModel,
    features: Float32Array,
    rows: number,
    width: number,
  ): Promise<HeadScores> {
    try {
      return await model.session.runHeads(features, rows, width);
    } catch (error) {
      if (error instanceof ModelScoringError)
        throw new ModelRefusedError(model.metadata.modelVersion, error.reason);
      throw error;
    }
  }

  /**
   * Look for a newly promoted model now, whatever the poll interval says. Never throws: a pointer that
   * cannot be read or a model that cannot serve is reported and the current model (or none) keeps
   * serving, so a bad publication or an S3 hiccup cannot block the stream.
   */
  refresh(): Promise<void> {
    return this.pointer.refresh();
  }

  private async load(metadataKey: string, onnxKey: string, modelVersion: string): Promise<LoadedModel> {
    const metadataText = await this.readText(metadataKey);
    if (metadataText === undefined)
      throw new ModelRefusedError(modelVersion, `metadata ${metadataKey} is missing`);
    const metadata = parseServingContract(JSON.parse(metadataText));
    const misfit = modelIncompatibility(metadata, { features: THIS_BUILD });
    if (misfit !== undefined) throw new ModelRefusedError(modelVersion, misfit);
    const bytes = await readObjectIfExists(this.s3, this.bucket, onnxKey);
    if (bytes === undefined) throw new ModelRefusedError(modelVersion, `model file ${onnxKey} is missing`);
    const corrupt = modelIncompatibility(metadata, { onnx: bytes });
    if (corrupt !== undefined) throw new ModelRefusedError(modelVersion, corrupt);
    let model: LoadedModel;
    try {
      model = { metadata, session: await OnnxModelSession.load(bytes, metadata, SERVING_SESSION_OPTIONS) };
    } catch (error) {
      if (error instanceof ModelScoringError) throw new ModelRefusedError(modelVersion, error.reason);
      throw error;
    }
    // A dry run on one row proves the graph takes this build's features and answers every declared output.
    await this.run(model, new Float32Array(FEATURE_NAMES.length), 1, FEATURE_NAMES.length);
    return model;
  }

  private async readText(key: string): Promise<string | undefined> {
    const bytes = await readObjectIfExists(this.s3, this.bucket, key);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  }
}
