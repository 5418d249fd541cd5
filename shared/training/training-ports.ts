/**
 * Ports of the training use case: the narrow interfaces through which the domain reaches the archive,
 * the model registry, the network trainer and the ONNX runtime. Adapters in `functions/commons/`
 * (S3, onnxruntime-node) and `functions/train/` (TensorFlow.js) implement them; tests implement them
 * in memory.
 */
import type { ContractEvent } from '../contract/event-contract';
import type { FeatureMatrix } from '../model/matrix';
import type { FeatureNormalisation, MlpWeights } from '../model/mlp-weights';
import type { ModelMetadata, ModelPointer } from '../model/model-metadata';

/** Event-time window `[fromMs, toMs)`; an open end reads everything on that side. */
export interface ArchiveWindow {
  fromMs?: number;
  toMs?: number;
}

/** Where archived events come from (the S3 archive reader in Lambda). */
export interface ArchivedEventSource {
  /** Every valid archived event whose `occurredAt` lies in the window (not de-duplicated). */
  readEvents(window?: ArchiveWindow): Promise<{ events: ContractEvent[] }>;
}

/** The files of one trained model. */
export interface ModelCandidateFiles {
  onnx: Uint8Array;
  metadata: ModelMetadata;
  reportHtml: string;
}

/** A model version's file is missing. */
export class ModelNotFoundError extends Error {
  override readonly name = 'ModelNotFoundError';
  constructor(
    readonly modelVersion: string,
    readonly key: string,
  ) {
    super(`model ${modelVersion}: ${key} does not exist`);
  }
}

/** Where models go and which one serves (the S3 model registry in Lambda). */
export interface ModelRegistry {
  /** Store a model without promoting it. */
  putCandidate(modelVersion: string, files: ModelCandidateFiles): Promise<unknown>;
  /** The pointer that serves, or `undefined` when nothing was ever promoted. */
  getCurrentPointer(): Promise<ModelPointer | undefined>;
  /** Rejects with {@link ModelNotFoundError} or `ModelMetadataViolation`. */
  getMetadata(modelVersion: string): Promise<ModelMetadata>;
  /** Rejects with {@link ModelNotFoundError}. */
  getOnnx(modelVersion: string): Promise<Uint8Array>;
  /** Move the pointer to `modelVersion`, provided `previous` still serves. */
  promote(modelVersion: string, previous: string | undefined): Promise<ModelPointer>;
}

/**
 * Runs an ONNX model on raw feature rows in one inference and resolves with one probability per row.
 * Rejects with `ModelScoringError` when the model cannot be loaded or run or answers anything else.
 */
export type OnnxRowScorer = (
  onnx: Uint8Array,
  io: Pick<ModelMetadata, 'inputName' | 'outputName'>,
  matrix: FeatureMatrix,
) => Promise<Float32Array>;

/** A labelled matrix. */
export interface LabelledRows {
  matrix: FeatureMatrix;
  labels: Uint8Array;
}

/** Hyper-parameters of a {@link NetworkTrainer}. */
export interface MlpTrainingOptions {
  /** Widths of the hidden ReLU layers. @default [32, 16] */
  hiddenUnits?: readonly number[];
  /** @default 60 */
  maxEpochs?: number;
  /** Epochs without a validation-loss improvement before stopping. @default 5 */
  patience?: number;
  /** Smallest decrease of validation loss that counts as an improvement. @default 1e-4 */
  minDelta?: number;
  /** @default 256 */
  batchSize?: number;
  /** Adam learning rate. @default 1e-3 */
  learningRate?: number;
  /** Loss weight of `[negative, positive]` rows. @default [1, 1] */
  classWeights?: readonly [number, number];
  /** Seeds the initialisers and the per-epoch shuffles. @default 42 */
  seed?: number;
}

/** Loss after one epoch. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validationLoss: number;
}

/** A fitted network as plain weights, with how the fit went. */
export interface FittedNetwork {
  /** Weights of the best epoch (lowest validation loss). */
  weights: MlpWeights;
  history: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Compute backend the fit ran on (e.g. `wasm`), recorded in the model metadata. */
  backend: string;
}

/**
 * Fits the MLP (sigmoid output, ReLU hidden layers) on standardised rows with early stopping on the
 * validation loss. The TensorFlow.js trainer in Lambda; deterministic for a given seed.
 */
export interface NetworkTrainer {
  fit(
    train: LabelledRows,
    validation: LabelledRows,
    normalisation: FeatureNormalisation,
    options: MlpTrainingOptions,
  ): Promise<FittedNetwork>;
}
