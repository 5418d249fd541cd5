/**
 * Ports of the training use case: the narrow interfaces through which the domain reaches the archive,
 * the model registry, the network trainer and the ONNX runtime. Adapters in `functions/commons/`
 * (S3, onnxruntime-node) and `functions/train/` (TensorFlow.js) implement them; tests implement them
 * in memory.
 */
import type { ContractEvent } from '../contract/event-contract';
import type { FeatureMatrix } from '../model/matrix';
import type { FeatureNormalisation } from '../model/mlp-weights';
import type { MultiTaskWeights } from '../model/multi-task-weights';
import type { DifferentialPrivacyRecord, ModelMetadataV2, ModelPointer } from '../model/model-metadata';
import type { RandomSource } from '../model/seeded-random';
import type { BatchScores } from '../model/model-outputs';

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
  metadata: ModelMetadataV2;
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
  /** Any stored version's metadata as v2 (`parsePublishedMetadata`); rejects with {@link ModelNotFoundError} or `ModelMetadataViolation`. */
  getMetadata(modelVersion: string): Promise<ModelMetadataV2>;
  /** Rejects with {@link ModelNotFoundError}. */
  getOnnx(modelVersion: string): Promise<Uint8Array>;
  /** Move the pointer to `modelVersion`, provided `previous` still serves. */
  promote(modelVersion: string, previous: string | undefined): Promise<ModelPointer>;
}

/**
 * Runs an ONNX model on raw feature rows in one inference and resolves with every output its contract
 * declares (purchase probabilities always; churn, next categories, embedding, contributions when
 * declared). Rejects with `ModelScoringError` when the model cannot be loaded or run or answers
 * anything else.
 */
export type OnnxRowScorer = (
  onnx: Uint8Array,
  io: Pick<ModelMetadataV2, 'inputName' | 'outputs' | 'featureNames'>,
  matrix: FeatureMatrix,
) => Promise<Omit<BatchScores, 'modelVersion'>>;

/** A labelled matrix. */
export interface LabelledRows {
  matrix: FeatureMatrix;
  labels: Uint8Array;
}

/** Rows with the label of every head the network learns; absent heads are not built. */
export interface MultiTaskRows {
  matrix: FeatureMatrix;
  /** 0/1 per row. */
  purchase: Uint8Array;
  /** 0/1 per row. */
  churn?: Uint8Array;
  /** A class index per row, −1 when the row has none (left out of that head's loss). */
  nextCategory?: Int16Array;
  /**
   * The privacy unit of each row (an index, e.g. of its profile) for differentially private training:
   * a unit's rows are sampled, and their gradient clipped, together. Absent: every row is its own unit.
   */
  units?: Int32Array;
}

/**
 * DP-SGD settings (`shared/privacy/dp-sgd.ts`). Give `targetEpsilon` (the accountant picks the noise)
 * or `noiseMultiplier` (the accountant reports the ε it spends).
 */
export interface DifferentialPrivacyOptions {
  targetEpsilon?: number;
  noiseMultiplier?: number;
  /** @default defaultDelta(units): min(1e-5, units^−1.1) */
  delta?: number;
  /** L2 bound of each unit's gradient. @default 1 */
  clipNorm?: number;
  /** Expected units per step: the sampling probability is this over the units. @default 256 */
  expectedBatchUnits?: number;
  /**
   * Uniform numbers for the Poisson sampling and the noise. The guarantee needs them secret: a seeded
   * generator with a known seed lets anyone replay and subtract the noise. Tests only.
   * @default a CSPRNG (`crypto.getRandomValues`)
   */
  random?: RandomSource;
}

/** Hyper-parameters of a {@link NetworkTrainer}. */
export interface MlpTrainingOptions {
  /** Widths of the shared ReLU trunk; the last one is the embedding. @default [32, 16] */
  hiddenUnits?: readonly number[];
  /** @default 60 */
  maxEpochs?: number;
  /** Epochs without a validation-loss improvement before stopping. @default 8 */
  patience?: number;
  /** Smallest decrease of validation loss that counts as an improvement. @default 1e-4 */
  minDelta?: number;
  /** @default 256 */
  batchSize?: number;
  /** Adam learning rate. @default 1e-3 */
  learningRate?: number;
  /** Dropout rate after every trunk layer while training. @default 0.1 */
  dropout?: number;
  /** L2 penalty on every kernel (summed squares, added to the mean loss). @default 1e-4 */
  l2?: number;
  /** Loss weight of `[negative, positive]` rows per binary head. @default [1, 1] each */
  classWeights?: { purchase?: readonly [number, number]; churn?: readonly [number, number] };
  /** Weight of each head's loss in the sum. @default purchase 1, churn 0.5, next category 0.5 */
  lossWeights?: { purchase?: number; churn?: number; nextCategory?: number };
  /** Names of the next-category classes (K + 1); required when the rows carry that label. */
  categories?: readonly string[];
  /** Seeds the initialisers, the dropout masks and the per-epoch shuffles. @default 42 */
  seed?: number;
  /** Train with DP-SGD for `maxEpochs` epochs exactly (no early stopping, no dropout). */
  differentialPrivacy?: DifferentialPrivacyOptions;
}

/** Loss after one epoch (the weighted sum over heads). */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validationLoss: number;
}

/** A fitted network as plain weights, with how the fit went. */
export interface FittedNetwork {
  /** Weights of the best epoch (lowest validation loss); every head reads the embedding, uncalibrated. */
  weights: MultiTaskWeights;
  history: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Compute backend the fit ran on (e.g. `wasm`), recorded in the model metadata. */
  backend: string;
  /** The guarantee of a DP-SGD fit (its `notCovered` lists only what the trainer itself read). */
  differentialPrivacy?: DifferentialPrivacyRecord;
}

/**
 * Fits the multi-task network (shared ReLU trunk → a sigmoid head per binary label and a soft-max head
 * for the next category) on standardised rows, losses summed with weights, with early stopping on the
 * validation loss. The TensorFlow.js trainer in Lambda; deterministic for a given seed.
 */
export interface NetworkTrainer {
  trainNetwork(
    train: MultiTaskRows,
    validation: MultiTaskRows,
    normalisation: FeatureNormalisation,
    options: MlpTrainingOptions,
  ): Promise<FittedNetwork>;
}
