/**
 * Purchase-propensity training, I/O-free: arrays in, ONNX bytes plus metadata and an HTML report out.
 *
 * Flow: stratified seeded split (unless the caller brings one) → standardisation from the train split →
 * MLP through the {@link NetworkTrainer} port (class-weighted, early stopping on validation loss, best
 * epoch restored) → Platt recalibration on validation, folded into the last layer → baselines
 * (single-feature heuristic, logistic regression) → test-split metrics for all three → ONNX export →
 * metadata with checksum → HTML report.
 */
import { type DatasetSplit, splitStratified } from '../model/dataset-split';
import { renderEvaluationReportHtml } from '../model/evaluation-report';
import { fitFeatureHeuristic, scoreFeatureHeuristic } from '../model/feature-heuristic';
import { fitLogisticRegressionModel } from '../model/logistic-regression';
import { assertBinaryLabels, takeLabels, takeRows, toFeatureMatrix } from '../model/matrix';
import { type EvaluationReport, evaluateScores } from '../model/metrics';
import { computeNormalisation, DEFAULT_STD_FLOOR, type MlpWeights, predictMlp } from '../model/mlp-weights';
import { sha256Hex } from '../model/model-compatibility';
import { ModelInputError } from '../model/model-input-error';
import {
  type MetricSummary,
  type ModelMetadata,
  ONNX_INPUT_NAME,
  ONNX_OUTPUT_NAME,
  parseModelMetadata,
} from '../model/model-metadata';
import { exportMlpToOnnx } from '../model/onnx-export';
import { applyPlattScaling, fitPlattScaling } from '../model/platt-scaling';
import type { EpochRecord, LabelledRows, MlpTrainingOptions, NetworkTrainer } from './training-ports';

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

/**
 * Train, evaluate against both baselines on the test split, and package the model.
 *
 * @param network - fits the MLP (the TensorFlow.js trainer in Lambda)
 */
export async function trainPropensityModel(
  network: NetworkTrainer,
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
  const fitted = await network.fit(train, validation, normalisation, {
    ...options,
    seed,
    hiddenUnits,
    maxEpochs,
    classWeights,
  });
  const { backend } = fitted;
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
    sha256: sha256Hex(onnx),
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
