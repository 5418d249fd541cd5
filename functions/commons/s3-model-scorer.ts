import type { S3Client } from '@aws-sdk/client-s3';
import { readObjectIfExists } from './s3-objects';
import { createHash } from 'node:crypto';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { FEATURE_NAMES, FEATURE_SCHEMA_VERSION } from '../../shared/features/feature-vector';
import type { ProfileScorer, ScoreResult } from '../../shared/ingest/ingest-ports';
import {
  CURRENT_POINTER_KEY,
  parseModelMetadata,
  parseModelPointer,
  type ModelMetadata,
} from '../../shared/model/model-metadata';

/** Raised when a published model cannot serve this build (wrong feature schema, corrupt file). */
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
  onRefused?: (reason: string) => void;
}

interface LoadedModel {
  metadata: ModelMetadata;
  session: OrtSession;
}

// onnxruntime-node is loaded on first use: importing it costs tens of ms, and a container with no
// published model never needs it.
let ort: typeof import('onnxruntime-node') | undefined;
const loadOrt = async () => (ort ??= await import('onnxruntime-node'));

/**
 * The current model from S3, cached per container: a pointer object (`models/current.json`) names a
 * versioned ONNX file and its metadata. The pointer is looked at most every `pollMs`; a new model is
 * swapped in between batches, so a batch in flight always finishes on the session it started with.
 */
export class S3ModelScorer implements ProfileScorer {
  private loaded: LoadedModel | undefined;
  private refusedVersion: string | undefined;
  private nextCheckAt = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly pollMs: number,
    private readonly hooks: ModelScorerHooks = {},
    private readonly now: () => number = Date.now,
  ) {}

  /** The version currently serving, if any. */
  get modelVersion(): string | undefined {
    return this.loaded?.metadata.modelVersion;
  }

  async score(features: Float32Array, rows: number, width: number): Promise<ScoreResult | undefined> {
    await this.refreshIfDue();
    const model = this.loaded;
    if (model === undefined) return undefined;
    const { Tensor } = await loadOrt();
    const { inputName, outputName, modelVersion } = model.metadata;
    const output = await model.session.run({ [inputName]: new Tensor('float32', features, [rows, width]) });
    const probabilities = output[outputName]?.data;
    if (!(probabilities instanceof Float32Array)) {
      throw new ModelRefusedError(modelVersion, `output ${outputName} is not a float32 tensor`);
    }
    return { probabilities, modelVersion };
  }

  /** Look for a newly promoted model now, whatever the poll interval says. */
  async refresh(): Promise<void> {
    this.nextCheckAt = this.now() + this.pollMs;
    const pointerText = await this.readText(CURRENT_POINTER_KEY);
    if (pointerText === undefined) return;
    const pointer = parseModelPointer(JSON.parse(pointerText));
    if (
      pointer.modelVersion === this.loaded?.metadata.modelVersion ||
      pointer.modelVersion === this.refusedVersion
    ) {
      return;
    }
    try {
      this.loaded = await this.load(pointer.metadataKey, pointer.onnxKey, pointer.modelVersion);
      this.refusedVersion = undefined;
      this.hooks.onLoaded?.(pointer.modelVersion);
    } catch (error) {
      if (!(error instanceof ModelRefusedError)) throw error;
      this.refusedVersion = pointer.modelVersion;
      this.hooks.onRefused?.(error.message);
    }
  }

  private async refreshIfDue(): Promise<void> {
    if (this.now() >= this.nextCheckAt) await this.refresh();
  }

  private async load(metadataKey: string, onnxKey: string, modelVersion: string): Promise<LoadedModel> {
    const metadataText = await this.readText(metadataKey);
    if (metadataText === undefined)
      throw new ModelRefusedError(modelVersion, `metadata ${metadataKey} is missing`);
    const metadata = parseModelMetadata(JSON.parse(metadataText));
    if (metadata.featureSchemaVersion !== FEATURE_SCHEMA_VERSION) {
      throw new ModelRefusedError(
        modelVersion,
        `feature schema ${metadata.featureSchemaVersion}, this build computes ${FEATURE_SCHEMA_VERSION}`,
      );
    }
    if (metadata.featureNames.join(',') !== FEATURE_NAMES.join(',')) {
      throw new ModelRefusedError(modelVersion, 'feature names differ from this build');
    }
    const bytes = await readObjectIfExists(this.s3, this.bucket, onnxKey);
    if (bytes === undefined) throw new ModelRefusedError(modelVersion, `model file ${onnxKey} is missing`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== metadata.sha256) throw new ModelRefusedError(modelVersion, 'model file checksum mismatch');
    const { InferenceSession } = await loadOrt();
    return { metadata, session: await InferenceSession.create(bytes) };
  }

  private async readText(key: string): Promise<string | undefined> {
    const bytes = await readObjectIfExists(this.s3, this.bucket, key);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  }
}
