/**
 * Purchase-propensity training, I/O-free: arrays in, ONNX bytes plus metadata and an HTML report out.
 *
 * Flow: stratified seeded split → standardisation from the train split → MLP (TF.js, class-weighted,
 * early stopping on validation loss, best epoch restored) → Platt recalibration on validation, folded
 * into the last layer → baselines (single-feature heuristic, logistic regression) → test-split metrics
 * for all three → ONNX export → metadata with checksum.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { type DatasetSplit, splitStratified } from '../../shared/model/dataset-split';
import { renderEvaluationReportHtml } from '../../shared/model/evaluation-report';
import { fitFeatureHeuristic, scoreFeatureHeuristic } from '../../shared/model/feature-heuristic';
import { fitLogisticRegressionModel } from '../../shared/model/logistic-regression';
import {
  assertBinaryLabels,
  type FeatureMatrix,
  takeLabels,
  takeRows,
  toFeatureMatrix,
} from '../../shared/model/matrix';
import { type EvaluationReport, evaluateScores, LOG_LOSS_EPSILON } from '../../shared/model/metrics';
import {
  computeNormalisation,
  DEFAULT_STD_FLOOR,
  type FeatureNormalisation,
  type MlpWeights,
  normaliseMatrix,
  predictMlp,
} from '../../shared/model/mlp-weights';
import { ModelInputError } from '../../shared/model/model-input-error';
import {
  type MetricSummary,
  type ModelMetadata,
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  parseModelMetadata,
} from '../../shared/model/model-metadata';
import { exportMlpToOnnx } from '../../shared/model/onnx-export';
import { applyPlattScaling, fitPlattScaling } from '../../shared/model/platt-scaling';
import { createRandom, randomPermutation } from '../../shared/model/seeded-random';

/** TF.js backends the trainer can run on. */
export const TRAINING_BACKENDS = ['wasm', 'cpu'] as const;
/** One of {@link TRAINING_BACKENDS}. */
export type TrainingBackend = (typeof TRAINING_BACKENDS)[number];

let activeBackend: Promise<TrainingBackend> | undefined;

/**
 * Select the TF.js backend once per process. WebAssembly trains about 2.5–4× faster than the pure-JS
 * CPU kernels here; if its binaries cannot be loaded (e.g. a bundle that left out the `.wasm` files)
 * training still works on `cpu`, only slower. TF.js backends are process-global, so the first call
 * decides and later calls return the same promise whatever they ask for.
 *
 * @param preferred @default 'wasm'
 * @param wasmDirectory folder holding `tfjs-backend-wasm*.wasm`, with a trailing slash.
 *   @default the package's own `dist/` folder
 */
export function initialiseTrainingBackend(
  preferred: TrainingBackend = 'wasm',
  wasmDirectory?: string,
): Promise<TrainingBackend> {
  activeBackend ??= (async () => {
    if (preferred === 'wasm') {
      try {
        setWasmPaths(wasmDirectory ?? `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
        if (await tf.setBackend('wasm')) return 'wasm';
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        // Fall through to cpu: a missing wasm binary is a performance problem, not a correctness one.
      }
    }
    await tf.setBackend('cpu');
    return 'cpu';
  })();
  return activeBackend;
}

/** A labelled matrix. */
export interface LabelledRows {
  matrix: FeatureMatrix;
  labels: Uint8Array;
}

/** Hyper-parameters of {@link fitMlp}. */
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

/** Result of {@link fitMlp}. The caller owns `model` and must `dispose()` it. */
export interface FittedMlp {
  model: tfl.Sequential;
  /** Weights of the best epoch, which `model` also holds. */
  weights: MlpWeights;
  history: EpochRecord[];
  bestEpoch: number;
  stoppedEarly: boolean;
}

/** `n / (2 · n_class)`: both classes then carry equal total weight in the loss. */
export function balancedClassWeights(labels: ArrayLike<number>): [number, number] {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new ModelInputError(
      'labels',
      'must contain both classes',
      `${positives} of ${labels.length} positive`,
    );
  }
  return [labels.length / (2 * negatives), labels.length / (2 * positives)];
}

/** Class-weighted mean cross-entropy, the quantity the optimiser minimises, used for early stopping. */
function weightedLogLoss(
  labels: Uint8Array,
  probabilities: Float32Array,
  classWeights: readonly [number, number],
): number {
  let loss = 0;
  let weight = 0;
  labels.forEach((label, i) => {
    const p = Math.min(Math.max(probabilities[i] as number, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
    const w = classWeights[label] as number;
    loss -= w * (label === 1 ? Math.log(p) : Math.log(1 - p));
    weight += w;
  });
  return loss / weight;
}

function buildModel(inputSize: number, hiddenUnits: readonly number[], seed: number): tfl.Sequential {
  const model = tfl.sequential();
  [...hiddenUnits, 1].forEach((units, l) => {
    model.add(
      tfl.layers.dense({
        ...(l === 0 ? { inputShape: [inputSize] } : {}),
        units,
        activation: l === hiddenUnits.length ? 'sigmoid' : 'relu',
        // One seed per layer: the same seed everywhere would give layers of equal shape identical weights.
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + l }),
        biasInitializer: 'zeros',
      }),
    );
  });
  return model;
}

/** Probabilities from a TF.js model for raw (unstandardised) rows. */
export function predictWithTf(
  model: tfl.LayersModel,
  normalisation: FeatureNormalisation,
  matrix: FeatureMatrix,
): Float32Array {
  const standardised = normaliseMatrix(matrix, normalisation);
  return tf.tidy(() => {
    const output = model.predict(
      tf.tensor2d(standardised.values, [matrix.rows, matrix.columns]),
    ) as tf.Tensor;
    return output.dataSync() as Float32Array;
  });
}

/** Read a dense model's weights into the plain {@link MlpWeights} format. */
export function exportTfWeights(model: tfl.LayersModel, normalisation: FeatureNormalisation): MlpWeights {
  return {
    normalisation,
    layers: model.layers.map((layer, l) => {
      const [kernel, bias] = layer.getWeights();
      if (kernel === undefined || bias === undefined) {
        throw new ModelInputError(`layers[${l}]`, 'must be a dense layer with a bias', layer.name);
      }
      return {
        weights: kernel.arraySync() as number[][],
        bias: bias.arraySync() as number[],
        activation: l === model.layers.length - 1 ? ('sigmoid' as const) : ('relu' as const),
      };
    }),
  };
}

/**
 * Train the MLP with mini-batch Adam. Rows are shuffled every epoch by a seeded permutation (not
 * TF.js's own shuffle, which is not seedable); the weights of the epoch with the lowest validation
 * loss are restored at the end (TF.js's EarlyStopping cannot restore them).
 */
export async function fitMlp(
  train: LabelledRows,
  validation: LabelledRows,
  normalisation: FeatureNormalisation,
  options: MlpTrainingOptions = {},
): Promise<FittedMlp> {
  const {
    hiddenUnits = [32, 16],
    maxEpochs = 60,
    patience = 5,
    minDelta = 1e-4,
    batchSize = 256,
    learningRate = 1e-3,
    classWeights = [1, 1],
    seed = 42,
  } = options;
  await initialiseTrainingBackend();
  const { columns } = train.matrix;
  const model = buildModel(columns, hiddenUnits, seed);
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'binaryCrossentropy' });
  const standardised = normaliseMatrix(train.matrix, normalisation);
  const random = createRandom(seed);
  const history: EpochRecord[] = [];
  let best: { loss: number; epoch: number; weights: tf.Tensor[] } | undefined;
  let epochsWithoutImprovement = 0;
  let stoppedEarly = false;

  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    const order = randomPermutation(train.matrix.rows, random);
    const xs = tf.tensor2d(takeRows(standardised, order).values, [order.length, columns]);
    const ys = tf.tensor2d(
      Float32Array.from(order, (i) => train.labels[i] as number),
      [order.length, 1],
    );
    const fitted = await model.fit(xs, ys, {
      epochs: 1,
      batchSize,
      shuffle: false,
      verbose: 0,
      classWeight: { 0: classWeights[0], 1: classWeights[1] },
    });
    tf.dispose([xs, ys]);
    const validationLoss = weightedLogLoss(
      validation.labels,
      predictWithTf(model, normalisation, validation.matrix),
      classWeights,
    );
    history.push({ epoch, trainLoss: Number(fitted.history.loss?.[0]), validationLoss });
    if (best === undefined || validationLoss < best.loss - minDelta) {
      if (best) tf.dispose(best.weights);
      best = { loss: validationLoss, epoch, weights: model.getWeights().map((w) => w.clone()) };
      epochsWithoutImprovement = 0;
    } else if (++epochsWithoutImprovement >= patience) {
      stoppedEarly = true;
      break;
    }
  }
  if (best === undefined) throw new ModelInputError('maxEpochs', 'must be at least 1', String(maxEpochs));
  model.setWeights(best.weights);
  tf.dispose(best.weights);
  return {
    model,
    weights: exportTfWeights(model, normalisation),
    history,
    bestEpoch: best.epoch,
    stoppedEarly,
  };
}

/** What the model is, beyond its arrays: recorded in the metadata. */
export interface PropensityTrainingInput {
  /** Row-major `rows × featureNames.length` feature matrix. */
  features: Float32Array;
  /** 0/1 per row: purchased within the label horizon. */
  labels: ArrayLike<number>;
  featureNames: readonly string[];
  featureSchemaVersion: number;
  /** Feature the "recent cart activity" heuristic scores by, e.g. a decayed add-to-cart count. */
  heuristicFeature: string;
  modelVersion: string;
  /** Event-time span the examples were built from. */
  trainingWindow: { fromMs: number; toMs: number };
  /** Timestamp written as `createdAt` (passed in so the trainer stays deterministic). */
  createdAtMs: number;
  /** @default 'profile-stream-train' */
  producer?: string;
  /** Explicit split (e.g. by time); by default a stratified seeded random split. */
  split?: DatasetSplit;
}

/** Options of {@link trainPropensityModel}. */
export interface PropensityTrainingOptions extends MlpTrainingOptions {
  /** @default 0.15 */
  validationFraction?: number;
  /** @default 0.15 */
  testFraction?: number;
  /** `balanced` weights the rarer class up so the network does not settle on "never buys". @default 'balanced' */
  classWeighting?: 'balanced' | 'none';
  /** Recalibrate the output on the validation split (Platt scaling folded into the last layer). @default true */
  calibrate?: boolean;
  /** @default DEFAULT_STD_FLOOR (1e-3) */
  stdFloor?: number;
  /** Bootstrap resamples of the AUC interval. @default 200 */
  bootstrapResamples?: number;
}

/** Everything the train function publishes, plus details for tests and logs. */
export interface TrainedPropensityModel {
  onnx: Uint8Array;
  metadata: ModelMetadata;
  reportHtml: string;
  weights: MlpWeights;
  evaluations: { model: EvaluationReport; heuristic: EvaluationReport; logisticRegression: EvaluationReport };
  history: EpochRecord[];
}

/** The headline metrics of an evaluation, as stored in model metadata. */
export function summarise(report: EvaluationReport): MetricSummary {
  const { rocAuc, rocAucCi95, prAuc, logLoss, brierScore, expectedCalibrationError } = report;
  return { rocAuc, rocAucCi95, prAuc, logLoss, brierScore, expectedCalibrationError };
}

/** Train, evaluate against both baselines on the test split, and package the model. */
export async function trainPropensityModel(
  input: PropensityTrainingInput,
  options: PropensityTrainingOptions = {},
): Promise<TrainedPropensityModel> {
  const {
    validationFraction,
    testFraction,
    classWeighting = 'balanced',
    calibrate = true,
    stdFloor = DEFAULT_STD_FLOOR,
    bootstrapResamples,
    seed = 42,
    hiddenUnits = [32, 16],
    maxEpochs = 60,
  } = options;
  const { featureNames, producer = 'profile-stream-train' } = input;
  const all = toFeatureMatrix(input.features, featureNames.length);
  assertBinaryLabels(input.labels, all.rows);
  const split = input.split ?? splitStratified(input.labels, { validationFraction, testFraction, seed });
  const subset = (indices: number[]): LabelledRows => ({
    matrix: takeRows(all, indices),
    labels: takeLabels(input.labels, indices),
  });
  const train = subset(split.train);
  const validation = subset(split.validation);
  const test = subset(split.test);

  const normalisation = computeNormalisation(train.matrix, stdFloor);
  const classWeights = classWeighting === 'balanced' ? balancedClassWeights(train.labels) : ([1, 1] as const);
  const backend = await initialiseTrainingBackend();
  const fitted = await fitMlp(train, validation, normalisation, {
    ...options,
    seed,
    hiddenUnits,
    maxEpochs,
    classWeights,
  });
  fitted.model.dispose();
  const weights = calibrate
    ? applyPlattScaling(
        fitted.weights,
        fitPlattScaling(validation.labels, predictMlp(fitted.weights, validation.matrix)),
      )
    : fitted.weights;

  const heuristic = fitFeatureHeuristic(train.matrix, featureNames, input.heuristicFeature);
  const logisticRegression = fitLogisticRegressionModel(train.matrix, train.labels, normalisation);
  const evaluate = (scores: ArrayLike<number>) =>
    evaluateScores(test.labels, scores, { seed, ...(bootstrapResamples ? { bootstrapResamples } : {}) });
  const evaluations = {
    model: evaluate(predictMlp(weights, test.matrix)),
    heuristic: evaluate(scoreFeatureHeuristic(heuristic, test.matrix)),
    logisticRegression: evaluate(predictMlp(logisticRegression, test.matrix)),
  };

  const onnx = exportMlpToOnnx(weights, { featureNames, producer, modelVersion: input.modelVersion });
  const createdAt = new Date(input.createdAtMs).toISOString();
  const positives = split.train
    .concat(split.validation, split.test)
    .filter((i) => input.labels[i] === 1).length;
  const metadata = parseModelMetadata({
    modelVersion: input.modelVersion,
    featureSchemaVersion: input.featureSchemaVersion,
    featureNames: [...featureNames],
    inputName: ONNX_INPUT_NAME,
    outputName: ONNX_OUTPUT_NAME,
    trainingWindow: input.trainingWindow,
    exampleCounts: {
      train: split.train.length,
      validation: split.validation.length,
      test: split.test.length,
      positives,
    },
    metrics: {
      model: summarise(evaluations.model),
      heuristic: summarise(evaluations.heuristic),
      logisticRegression: summarise(evaluations.logisticRegression),
    },
    training: {
      seed,
      backend,
      hiddenUnits: [...hiddenUnits],
      epochsRun: fitted.history.length,
      bestEpoch: fitted.bestEpoch,
      maxEpochs,
      stoppedEarly: fitted.stoppedEarly,
      classWeights: [...classWeights],
      calibrated: calibrate,
      heuristicFeature: input.heuristicFeature,
    },
    createdAt,
    sizeBytes: onnx.byteLength,
    sha256: createHash('sha256').update(onnx).digest('hex'),
  });
  const reportHtml = renderEvaluationReportHtml({
    title: 'Purchase propensity model — evaluation',
    modelVersion: input.modelVersion,
    createdAt,
    scorers: [
      { name: `MLP ${featureNames.length}→${hiddenUnits.join('→')}→1`, report: evaluations.model },
      { name: `Heuristic (${input.heuristicFeature})`, report: evaluations.heuristic },
      { name: 'Logistic regression', report: evaluations.logisticRegression },
    ],
    facts: [
      [
        'Training window',
        `${new Date(input.trainingWindow.fromMs).toISOString()} – ${new Date(input.trainingWindow.toMs).toISOString()}`,
      ],
      [
        'Examples (train / validation / test)',
        `${split.train.length} / ${split.validation.length} / ${split.test.length}`,
      ],
      ['Positives (all splits)', String(positives)],
      ['Epochs (best / run / max)', `${fitted.bestEpoch} / ${fitted.history.length} / ${maxEpochs}`],
      ['Backend', backend],
      ['Class weights', classWeights.map((w) => w.toFixed(3)).join(' / ')],
      ['ONNX size', `${onnx.byteLength} bytes`],
    ],
  });
  return { onnx, metadata, reportHtml, weights, evaluations, history: fitted.history };
}
