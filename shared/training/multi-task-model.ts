/**
 * Multi-task training, I/O-free: arrays in; the published {@link MultiTaskWeights}, per-head metrics
 * and choices, and the files of today's single-output model out.
 *
 * Flow: split (the caller's time split, or a stratified seeded one) → standardisation from the train
 * split → the multi-task network through the {@link NetworkTrainer} port (balanced class weights per
 * binary head, early stopping on validation) → baselines per head, fitted in the same run:
 * - purchase: the cart heuristic (one feature) and a logistic regression;
 * - churn: an inactivity heuristic ({@link CHURN_HEURISTIC_FEATURE}) and a logistic regression;
 * - next category: popularity (train frequencies), and two baselines read from the profile STATE, not
 *   the features (its own affinity order, its last category; each filled up with popularity);
 * → every binary candidate Platt-calibrated on validation (folded into its last layer) → per head, the
 * candidate with the best VALIDATION score is published (ROC-AUC; recall@3 then NDCG@3), so a head is
 * never worse than its baselines there; a baseline that wins becomes a one-layer head reading the
 * features → test-split metrics of every candidate with bootstrap intervals → the purchase head
 * exported (single-output ONNX, metadata v1) → HTML report.
 *
 * Why the state baselines are measured but not published: the feature vector says how concentrated a
 * profile's interests are, not WHICH categories they are (that would tie the vector to a vocabulary),
 * so no graph head can reproduce "the profile's own top category". When one of them beats the
 * published head on validation the result says so (`stateBaselineAhead`): the serving side can rank
 * from the stored state instead (it holds the categories), which is its decision, not the graph's.
 */
import { type DatasetSplit, splitStratified } from '../model/dataset-split';
import { type EvaluationReportPage, renderEvaluationReportHtml } from '../model/evaluation-report';
import { fitLogisticRegressionModel } from '../model/logistic-regression';
import { assertBinaryLabels, type FeatureMatrix, takeRows, toFeatureMatrix } from '../model/matrix';
import { type EvaluationReport, evaluateScores, rocAuc } from '../model/metrics';
import {
  computeNormalisation,
  DEFAULT_STD_FLOOR,
  type DenseLayerWeights,
  type FeatureNormalisation,
} from '../model/mlp-weights';
import { ModelInputError } from '../model/model-input-error';
import {
  declaredOutputNames,
  type MetricSummary,
  type ModelMetadataV2,
  type ModelProvenance,
} from '../model/model-metadata';
import { predictMultiTask } from '../model/multi-task-forward';
import type { BinaryHeadWeights, CategoryHeadWeights, MultiTaskWeights } from '../model/multi-task-weights';
import { exportServedModel } from '../model/served-model';
import { applyPlattScaling, fitPlattScaling } from '../model/platt-scaling';
import { evaluateRankings, type RankingReport, topKOfScores } from '../model/ranking-metrics';
import type { EpochRecord, MlpTrainingOptions, MultiTaskRows, NetworkTrainer } from './training-ports';
import { DEFAULT_CHURN_HORIZON_MS } from './training-set';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** How many next categories a profile is shown, and the k of recall@k / NDCG@k. */
export const NEXT_CATEGORY_TOP_K = 3;
/**
 * Feature the churn heuristic scores by: recent activity (product views decayed with a 1-day half-life),
 * low meaning likely churn (Platt scaling on validation learns the negative slope). Not the hours since
 * the last event: every cutoff IS an event time, so that feature is 0 on every row (measured: ROC-AUC
 * exactly 0.5 on the 9-day slice).
 */
export const CHURN_HEURISTIC_FEATURE = 'decay_1d_product_view_log1p';
/**
 * L2 of the logistic-regression baselines (on the summed loss of standardised features). A near-zero
 * penalty lets collinear features (decays of one type at several half-lives) blow up and the fit
 * collapses on later periods (measured: ROC-AUC 0.648 → 0.580 at 6 h on the 9-day slice).
 */
export const DEFAULT_LOGISTIC_REGRESSION_L2 = 3;

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

/** The next-category labels and what the state baselines read, by row. */
export interface NextCategoryInput {
  /** A class index into `categories` per row, −1 when the row has none. */
  labels: Int16Array;
  /** The K named classes, then `other`. */
  categories: readonly string[];
  /** Row-major `rows × categories.length`: the profile's affinity shares at the cutoff. */
  affinity: Float32Array;
  /** The class of the profile's last categorised event at the cutoff, −1 when none. */
  lastCategory: Int16Array;
}

/** What the model is, beyond its arrays: recorded in the metadata. */
export interface MultiTaskTrainingInput {
  /** Row-major `rows × featureNames.length` feature matrix. */
  features: Float32Array;
  /** 0/1 per row: purchased within the label horizon. */
  labels: ArrayLike<number>;
  /** 0/1 per row: no event within the churn horizon. Without it there is no churn head. */
  churnLabels?: ArrayLike<number>;
  /** Without it there is no next-category head. */
  nextCategory?: NextCategoryInput;
  featureNames: readonly string[];
  featureSchemaVersion: number;
  /** Feature the purchase heuristic scores by, e.g. a decayed add-to-cart count. */
  heuristicFeature: string;
  /** @default CHURN_HEURISTIC_FEATURE */
  churnHeuristicFeature?: string;
  modelVersion: string;
  /** Event-time span the examples were built from. */
  trainingWindow: { fromMs: number; toMs: number };
  /** Timestamp written as `createdAt` (passed in so the trainer stays deterministic). */
  createdAtMs: number;
  /** @default 'profile-stream-train' */
  producer?: string;
  /** Explicit split (e.g. by time); by default a stratified seeded random split on the purchase label. */
  split?: DatasetSplit;
  /**
   * The privacy unit of each row (its profile id), read only when training with differential privacy:
   * the guarantee then protects a whole profile rather than one of its rows.
   */
  privacyUnits?: readonly string[];
  /**
   * The label windows the rows were built with, recorded in the serving contract.
   * @default purchase unrecorded, churn DEFAULT_CHURN_HORIZON_MS
   */
  horizons?: { purchaseMs: number; churnMs: number };
}

/** Options of {@link trainMultiTaskModel}. */
export interface MultiTaskTrainingOptions extends Omit<MlpTrainingOptions, 'classWeights' | 'categories'> {
  /** @default 0.15 */
  validationFraction?: number;
  /** @default 0.15 */
  testFraction?: number;
  /** `balanced` weights the rarer class up so a binary head does not settle on "never". @default 'balanced' */
  classWeighting?: 'balanced' | 'none';
  /** Platt-recalibrate every binary candidate on validation (folded into its last layer). @default true */
  calibrate?: boolean;
  /** @default DEFAULT_STD_FLOOR (1e-3) */
  stdFloor?: number;
  /** Bootstrap resamples of every interval. @default 200 */
  bootstrapResamples?: number;
  /** @default DEFAULT_LOGISTIC_REGRESSION_L2 */
  logisticRegressionL2?: number;
  /**
   * The scorers a binary head may publish (all are still evaluated), e.g. `['network']` for a model
   * that must reflect its labels only: a baseline's structure (cart activity buys) needs no labels.
   * @default BINARY_SCORERS
   */
  publishable?: readonly BinaryScorer[];
}

/** Scorers compared for a binary head. */
export const BINARY_SCORERS = ['network', 'logisticRegression', 'heuristic'] as const;
/** One of {@link BINARY_SCORERS}. */
export type BinaryScorer = (typeof BINARY_SCORERS)[number];
/** Scorers the graph can serve for the next-category head, then those read from the profile state. */
export const CATEGORY_SCORERS = ['network', 'popularity', 'affinity', 'lastCategory'] as const;
/** One of {@link CATEGORY_SCORERS}. */
export type CategoryScorer = (typeof CATEGORY_SCORERS)[number];
/** The next-category scorers a graph head can serve. */
export type GraphCategoryScorer = Extract<CategoryScorer, 'network' | 'popularity'>;

/** How a binary head was chosen and how every candidate did. */
export interface BinaryHeadResult {
  /** The published scorer: best validation ROC-AUC (earlier in {@link BINARY_SCORERS} on ties). */
  chosen: BinaryScorer;
  validationRocAuc: Record<BinaryScorer, number>;
  /** Test-split metrics of every candidate, calibrated as published. */
  test: Record<BinaryScorer, EvaluationReport>;
  /** Feature the heuristic read. */
  heuristicFeature: string;
  classWeights: [number, number];
}

/** How the next-category head was chosen and how every candidate did (rows with a label only). */
export interface CategoryHeadResult {
  /** The published graph scorer: best validation recall@3, then NDCG@3 (network first on ties; always the network under DP). */
  chosen: GraphCategoryScorer;
  validation: Record<CategoryScorer, RankingReport>;
  test: Record<CategoryScorer, RankingReport>;
  /** A state-served baseline with a better validation recall@3 than `chosen`, if any (module comment). */
  stateBaselineAhead?: 'affinity' | 'lastCategory';
  /** Who ranks the stored next categories: the graph head, or each profile's own affinity. */
  rankedBy: 'model' | 'profile-affinity';
  categories: readonly string[];
}

/** Per-head results. */
export interface HeadResults {
  purchase: BinaryHeadResult;
  churn?: BinaryHeadResult;
  nextCategories?: CategoryHeadResult;
}

/** Everything the train function publishes, plus details for tests and logs. */
export interface TrainedMultiTaskModel {
  /** The published network: what the multi-task exporter takes. */
  multiTask: MultiTaskWeights;
  heads: HeadResults;
  /** The multi-task graph with the attribution outputs of the purchase and churn heads. */
  onnx: Uint8Array;
  metadata: ModelMetadataV2;
  /** What `reportHtml` renders; a caller that scores the graph adds global importance and re-renders. */
  reportPage: EvaluationReportPage;
  reportHtml: string;
  /** The published purchase head (`model`) and its baselines on the test split. */
  evaluations: { model: EvaluationReport; heuristic: EvaluationReport; logisticRegression: EvaluationReport };
  history: EpochRecord[];
}

/** The headline metrics of an evaluation, as stored in model metadata. */
export function summarise(report: EvaluationReport): MetricSummary {
  const { rocAuc, rocAucCi95, prAuc, logLoss, brierScore, expectedCalibrationError } = report;
  return { rocAuc, rocAucCi95, prAuc, logLoss, brierScore, expectedCalibrationError };
}

const countOnes = (values: ArrayLike<number>, rows: readonly number[]) =>
  rows.reduce((n, r) => n + (values[r] === 1 ? 1 : 0), 0);
const hasBothClasses = (values: ArrayLike<number>, rows: readonly number[]) => {
  const ones = countOnes(values, rows);
  return ones > 0 && ones < rows.length;
};

/** A one-layer head over the features: logit = bias + Σ weight·standardised feature. */
function featureHead(weights: number[][], bias: number[], activation: DenseLayerWeights['activation']) {
  return { input: 'features' as const, layers: [{ weights, bias, activation }] };
}

/** One binary head's probabilities, through the same forward pass the published model uses. */
function scoreBinaryHead(
  normalisation: FeatureNormalisation,
  trunk: readonly DenseLayerWeights[],
  head: BinaryHeadWeights,
  matrix: FeatureMatrix,
): Float64Array {
  return predictMultiTask({ normalisation, trunk: [...trunk], heads: { purchase: head } }, matrix).purchase;
}

interface BinaryHeadChoice {
  head: BinaryHeadWeights;
  result: BinaryHeadResult;
}

interface BinaryHeadContext {
  normalisation: FeatureNormalisation;
  trunk: readonly DenseLayerWeights[];
  train: FeatureMatrix;
  validation: FeatureMatrix;
  test: FeatureMatrix;
  featureNames: readonly string[];
  calibrate: boolean;
  logisticRegressionL2: number;
  publishable: readonly [BinaryScorer, ...BinaryScorer[]];
  evaluate: (labels: Uint8Array, scores: ArrayLike<number>) => EvaluationReport;
}

/** Fit the baselines of one binary head, calibrate every candidate, choose on validation, test all. */
function chooseBinaryHead(
  context: BinaryHeadContext,
  labels: { train: Uint8Array; validation: Uint8Array; test: Uint8Array },
  network: BinaryHeadWeights,
  heuristicFeature: string,
  classWeights: [number, number],
): BinaryHeadChoice {
  const { normalisation, trunk, featureNames } = context;
  const featureIndex = featureNames.indexOf(heuristicFeature);
  if (featureIndex < 0) {
    throw new ModelInputError('heuristicFeature', 'must be one of the feature names', heuristicFeature);
  }
  const lr = fitLogisticRegressionModel(context.train, labels.train, normalisation, {
    l2: context.logisticRegressionL2,
  });
  const uncalibrated: Record<BinaryScorer, BinaryHeadWeights> = {
    network,
    logisticRegression: featureHead(lr.layers[0]!.weights, lr.layers[0]!.bias, 'sigmoid'),
    // The heuristic ranks by one feature; as a head it is that feature with weight 1, and Platt
    // scaling below turns its ranking into probabilities.
    heuristic: featureHead(
      featureNames.map((_, c) => [c === featureIndex ? 1 : 0]),
      [0],
      'sigmoid',
    ),
  };
  const heads = {} as Record<BinaryScorer, BinaryHeadWeights>;
  const validationRocAuc = {} as Record<BinaryScorer, number>;
  const test = {} as Record<BinaryScorer, EvaluationReport>;
  for (const scorer of BINARY_SCORERS) {
    let head = uncalibrated[scorer];
    const headTrunk = head.input === 'embedding' ? trunk : [];
    if (context.calibrate) {
      const scores = scoreBinaryHead(normalisation, headTrunk, head, context.validation);
      const scaling = fitPlattScaling(labels.validation, scores);
      head = {
        input: head.input,
        layers: applyPlattScaling({ normalisation, layers: head.layers }, scaling).layers,
      };
    }
    heads[scorer] = head;
    validationRocAuc[scorer] = rocAuc(
      labels.validation,
      scoreBinaryHead(normalisation, headTrunk, head, context.validation),
    );
    test[scorer] = context.evaluate(
      labels.test,
      scoreBinaryHead(normalisation, headTrunk, head, context.test),
    );
  }
  // Strictly better to displace an earlier scorer: on a tie the network (then the LR) serves.
  const chosen = context.publishable.reduce((best, scorer) =>
    validationRocAuc[scorer] > validationRocAuc[best] ? scorer : best,
  );
  return { head: heads[chosen], result: { chosen, validationRocAuc, test, heuristicFeature, classWeights } };
}

interface CategoryHeadContext {
  normalisation: FeatureNormalisation;
  trunk: readonly DenseLayerWeights[];
  featureNames: readonly string[];
  seed: number;
  bootstrapResamples: number | undefined;
  /** Publish the network and rank by it, whatever validation says (differential privacy). */
  networkOnly: boolean;
}

/** Fit popularity, rank with every candidate, choose on validation, test all. */
function chooseCategoryHead(
  context: CategoryHeadContext,
  input: NextCategoryInput,
  all: FeatureMatrix,
  split: DatasetSplit,
  network: CategoryHeadWeights,
): { head: CategoryHeadWeights; result: CategoryHeadResult } | undefined {
  const classes = input.categories.length;
  const labelled = (rows: readonly number[]) => rows.filter((r) => input.labels[r]! >= 0);
  const rows = {
    train: labelled(split.train),
    validation: labelled(split.validation),
    test: labelled(split.test),
  };
  if (rows.train.length === 0 || rows.validation.length === 0 || rows.test.length === 0) return undefined;
  // Popularity with add-one smoothing: a class never seen in train keeps a finite logit.
  const counts = new Float64Array(classes).fill(1);
  for (const r of rows.train) counts[input.labels[r]!]! += 1;
  const total = counts.reduce((sum, c) => sum + c, 0);
  const popularity = Array.from(counts, (c) => c / total);
  const popularityHead: CategoryHeadWeights = {
    ...featureHead(
      context.featureNames.map(() => new Array<number>(classes).fill(0)),
      popularity.map(Math.log),
      'linear',
    ),
    categories: [...input.categories],
  };
  const { normalisation, trunk } = context;
  const topK = (scorer: CategoryScorer, subset: readonly number[]): Int16Array => {
    if (scorer === 'network' || scorer === 'popularity') {
      const head = scorer === 'network' ? network : popularityHead;
      const weights: MultiTaskWeights = {
        normalisation,
        trunk: head.input === 'embedding' ? [...trunk] : [],
        heads: {
          purchase: featureHead(
            context.featureNames.map(() => [0]),
            [0],
            'sigmoid',
          ),
          nextCategories: head,
        },
      };
      const probabilities = predictMultiTask(weights, takeRows(all, subset)).nextCategories!;
      return topKOfScores(probabilities, subset.length, classes, NEXT_CATEGORY_TOP_K);
    }
    // State baselines: the profile's own order first, popularity (scaled far below) fills the rest.
    const scores = new Float64Array(subset.length * classes);
    subset.forEach((r, i) => {
      for (let c = 0; c < classes; c++) {
        const own =
          scorer === 'affinity' ? input.affinity[r * classes + c]! : input.lastCategory[r] === c ? 1 : 0;
        scores[i * classes + c] = own + 1e-6 * popularity[c]!;
      }
    });
    return topKOfScores(scores, subset.length, classes, NEXT_CATEGORY_TOP_K);
  };
  const evaluate = (scorer: CategoryScorer, subset: readonly number[]) =>
    evaluateRankings(
      Int16Array.from(subset, (r) => input.labels[r]!),
      topK(scorer, subset),
      NEXT_CATEGORY_TOP_K,
      {
        seed: context.seed,
        ...(context.bootstrapResamples ? { bootstrapResamples: context.bootstrapResamples } : {}),
      },
    );
  const validation = {} as Record<CategoryScorer, RankingReport>;
  const test = {} as Record<CategoryScorer, RankingReport>;
  for (const scorer of CATEGORY_SCORERS) {
    validation[scorer] = evaluate(scorer, rows.validation);
    test[scorer] = evaluate(scorer, rows.test);
  }
  const better = (a: RankingReport, b: RankingReport) =>
    a.recall > b.recall || (a.recall === b.recall && a.ndcg > b.ndcg);
  const chosen =
    !context.networkOnly && better(validation.popularity, validation.network) ? 'popularity' : 'network';
  const stateAhead = (['affinity', 'lastCategory'] as const).filter((s) =>
    better(validation[s], validation[chosen]),
  );
  const stateBaselineAhead = stateAhead.sort((a, b) => (better(validation[a], validation[b]) ? -1 : 1))[0];
  // Serving can rank a profile's own affinities (the state is at hand when it scores); the last
  // category alone is not kept in the state, so affinity is what serving can use.
  const rankedBy =
    !context.networkOnly && better(validation.affinity, validation[chosen]) ? 'profile-affinity' : 'model';
  return {
    head: chosen === 'network' ? network : popularityHead,
    result: {
      chosen,
      validation,
      test,
      categories: input.categories,
      rankedBy,
      ...(stateBaselineAhead === undefined ? {} : { stateBaselineAhead }),
    },
  };
}

const SCORER_LABELS: Record<BinaryScorer, string> = {
  network: 'multi-task network',
  logisticRegression: 'logistic regression',
  heuristic: 'heuristic',
};

/**
 * Train every head, choose each head's scorer on validation, evaluate on test, package the model.
 *
 * @param network - fits the multi-task network (the TensorFlow.js trainer in Lambda)
 */
export async function trainMultiTaskModel(
  network: NetworkTrainer,
  input: MultiTaskTrainingInput,
  options: MultiTaskTrainingOptions = {},
): Promise<TrainedMultiTaskModel> {
  const { differentialPrivacy } = options;
  const dp = differentialPrivacy === undefined ? undefined : differentiallyPrivateChoices(options);
  const {
    validationFraction,
    testFraction,
    classWeighting = 'balanced',
    calibrate = true,
    stdFloor = DEFAULT_STD_FLOOR,
    bootstrapResamples,
    logisticRegressionL2 = DEFAULT_LOGISTIC_REGRESSION_L2,
    publishable = BINARY_SCORERS,
    seed = 42,
    hiddenUnits = [32, 16],
    maxEpochs = 60,
  } = { ...options, ...dp };
  const {
    featureNames,
    producer = 'profile-stream-train',
    churnHeuristicFeature = CHURN_HEURISTIC_FEATURE,
  } = input;
  const all = toFeatureMatrix(input.features, featureNames.length);
  assertBinaryLabels(input.labels, all.rows);
  if (input.churnLabels !== undefined) assertBinaryLabels(input.churnLabels, all.rows);
  const split = input.split ?? splitStratified(input.labels, { validationFraction, testFraction, seed });
  const labelsOf = (values: ArrayLike<number>) => ({
    train: Uint8Array.from(split.train, (r) => values[r]!),
    validation: Uint8Array.from(split.validation, (r) => values[r]!),
    test: Uint8Array.from(split.test, (r) => values[r]!),
  });
  // A head is learnt only when every split holds both of its classes (or, for the categories, a label).
  const churnUsable =
    input.churnLabels !== undefined &&
    [split.train, split.validation, split.test].every((rows) => hasBothClasses(input.churnLabels!, rows));
  const churn = churnUsable ? labelsOf(input.churnLabels!) : undefined;
  const nextCategory =
    input.nextCategory !== undefined &&
    input.nextCategory.categories.length >= 2 &&
    [split.train, split.validation].every((rows) => rows.some((r) => input.nextCategory!.labels[r]! >= 0))
      ? input.nextCategory
      : undefined;
  const purchase = labelsOf(input.labels);
  const matrices = {
    train: takeRows(all, split.train),
    validation: takeRows(all, split.validation),
    test: takeRows(all, split.test),
  };
  const units = dp === undefined ? undefined : privacyUnitIndices(input.privacyUnits, all.rows);
  const rowsOf = (name: 'train' | 'validation'): MultiTaskRows => ({
    matrix: matrices[name],
    purchase: purchase[name],
    ...(units === undefined ? {} : { units: Int32Array.from(split[name], (r) => units[r]!) }),
    ...(churn === undefined ? {} : { churn: churn[name] }),
    ...(nextCategory === undefined
      ? {}
      : { nextCategory: Int16Array.from(split[name], (r) => nextCategory.labels[r]!) }),
  });

  const normalisation = computeNormalisation(matrices.train, stdFloor);
  const weightsFor = (labels: Uint8Array): [number, number] =>
    classWeighting === 'balanced' ? balancedClassWeights(labels) : [1, 1];
  const classWeights = {
    purchase: weightsFor(purchase.train),
    ...(churn === undefined ? {} : { churn: weightsFor(churn.train) }),
  };
  const fitted = await network.trainNetwork(rowsOf('train'), rowsOf('validation'), normalisation, {
    ...options,
    seed,
    hiddenUnits,
    maxEpochs,
    classWeights,
    ...(nextCategory === undefined ? {} : { categories: nextCategory.categories }),
  });
  const { trunk } = fitted.weights;
  if (dp !== undefined && fitted.differentialPrivacy === undefined) {
    // A trainer that ignored the option must not yield a model whose metadata claims a guarantee.
    throw new ModelInputError(
      'differentialPrivacy',
      'was not honoured by the network trainer',
      fitted.backend,
    );
  }
  const evaluate = (labels: Uint8Array, scores: ArrayLike<number>) =>
    evaluateScores(labels, scores, { seed, ...(bootstrapResamples ? { bootstrapResamples } : {}) });
  const context: BinaryHeadContext = {
    normalisation,
    trunk,
    ...matrices,
    featureNames,
    calibrate,
    logisticRegressionL2,
    publishable: BINARY_SCORERS.filter((s) => publishable.includes(s)) as [BinaryScorer, ...BinaryScorer[]],
    evaluate,
  };
  if (context.publishable.length === 0) {
    throw new ModelInputError('publishable', `must name one of ${BINARY_SCORERS.join(', ')}`, '[]');
  }

  const purchaseChoice = chooseBinaryHead(
    context,
    purchase,
    fitted.weights.heads.purchase,
    input.heuristicFeature,
    classWeights.purchase,
  );
  const churnChoice =
    churn === undefined || fitted.weights.heads.churn === undefined
      ? undefined
      : chooseBinaryHead(
          context,
          churn,
          fitted.weights.heads.churn,
          churnHeuristicFeature,
          classWeights.churn!,
        );
  const categoryChoice =
    nextCategory === undefined || fitted.weights.heads.nextCategories === undefined
      ? undefined
      : chooseCategoryHead(
          { normalisation, trunk, featureNames, seed, bootstrapResamples, networkOnly: dp !== undefined },
          nextCategory,
          all,
          split,
          fitted.weights.heads.nextCategories,
        );
  const heads: MultiTaskWeights['heads'] = {
    purchase: purchaseChoice.head,
    ...(churnChoice === undefined ? {} : { churn: churnChoice.head }),
    ...(categoryChoice === undefined ? {} : { nextCategories: categoryChoice.head }),
  };
  // The trunk stays even when every head is a baseline over the features: its last layer is the user
  // embedding look-alike audiences and retrieval read, and it costs one small matmul per batch.
  const multiTask: MultiTaskWeights = { normalisation, trunk, heads };
  const headResults: HeadResults = {
    purchase: purchaseChoice.result,
    ...(churnChoice === undefined ? {} : { churn: churnChoice.result }),
    ...(categoryChoice === undefined ? {} : { nextCategories: categoryChoice.result }),
  };

  const purchaseTest = purchaseChoice.result.test;
  const evaluations = {
    model: purchaseTest[purchaseChoice.result.chosen],
    heuristic: purchaseTest.heuristic,
    logisticRegression: purchaseTest.logisticRegression,
  };
  const createdAt = new Date(input.createdAtMs).toISOString();
  const positives = countOnes(input.labels, [...split.train, ...split.validation, ...split.test]);
  const exampleCounts = {
    train: split.train.length,
    validation: split.validation.length,
    test: split.test.length,
    positives,
  };
  const training = {
    seed,
    backend: fitted.backend,
    hiddenUnits: [...hiddenUnits],
    epochsRun: fitted.history.length,
    bestEpoch: fitted.bestEpoch,
    maxEpochs,
    stoppedEarly: fitted.stoppedEarly,
    classWeights,
    calibrated: calibrate,
    heuristicFeature: input.heuristicFeature,
    churnHeuristicFeature,
  };
  const horizons = input.horizons ?? { purchaseMs: undefined, churnMs: DEFAULT_CHURN_HORIZON_MS };
  const privacy =
    fitted.differentialPrivacy === undefined
      ? undefined
      : {
          ...fitted.differentialPrivacy,
          notCovered: [
            ...fitted.differentialPrivacy.notCovered,
            ...notCoveredByDpSgd(categoryChoice !== undefined),
          ],
        };
  const { onnx, metadata } = exportServedModel(multiTask, {
    featureNames,
    ...(categoryChoice?.result.rankedBy === 'profile-affinity'
      ? { nextCategoriesRankedBy: 'profile-affinity' as const }
      : {}),
    featureSchemaVersion: input.featureSchemaVersion,
    modelVersion: input.modelVersion,
    producer,
    createdAt,
    // Without a known label horizon the contract says nothing about it rather than a made-up one.
    ...(horizons.purchaseMs === undefined ? {} : { labelHorizonHours: horizons.purchaseMs / HOUR_MS }),
    churnHorizonDays: horizons.churnMs / DAY_MS,
    provenance: {
      producer,
      trainingWindow: input.trainingWindow,
      exampleCounts,
      heads: headProvenance(headResults),
      training,
      ...(privacy === undefined ? {} : { differentialPrivacy: privacy }),
    },
  });
  const reportPage: EvaluationReportPage = {
    title: 'Multi-task profile model — evaluation',
    modelVersion: input.modelVersion,
    createdAt,
    ...(privacy === undefined ? {} : { differentialPrivacy: privacy }),
    scorers: binaryScorerRows(purchaseChoice.result, `MLP ${featureNames.length}→${hiddenUnits.join('→')}→1`),
    ...(churnChoice === undefined
      ? {}
      : {
          churnScorers: binaryScorerRows(
            churnChoice.result,
            `MLP ${featureNames.length}→${hiddenUnits.join('→')}→1`,
          ),
        }),
    ...(categoryChoice === undefined
      ? {}
      : {
          rankings: CATEGORY_SCORERS.map((scorer) => ({
            name: `${scorer}${scorer === categoryChoice.result.chosen ? ' (published)' : ''}${scorer === 'affinity' || scorer === 'lastCategory' ? ' (profile state, not in the graph)' : ''}`,
            report: categoryChoice.result.test[scorer],
          })),
        }),
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
      ['Backend', fitted.backend],
      ['Class weights (purchase)', classWeights.purchase.map((w) => w.toFixed(3)).join(' / ')],
      ['ONNX size', `${onnx.byteLength} bytes`],
      ['Outputs', declaredOutputNames(metadata.outputs).join(', ')],
      ...describeHeadChoices(headResults),
    ],
  };
  return {
    multiTask,
    heads: headResults,
    onnx,
    metadata,
    reportPage,
    reportHtml: renderEvaluationReportHtml(reportPage),
    evaluations,
    history: fitted.history,
  };
}

/**
 * What DP-SGD changes around the network: each choice that would read the private rows outside the
 * accountant is fixed instead. Class weights from label counts → none; Platt calibration on validation
 * → off (without class weights the network's sigmoid is already fitted to the base rate); the choice of
 * a head's scorer on validation → the network (a baseline fitted without DP, or a choice between
 * candidates by their validation scores, would leak what the accountant does not count). Baselines are
 * still fitted and tested: they appear in the report and metadata, marked not publishable. Explicit
 * settings that contradict this are refused.
 */
function differentiallyPrivateChoices(options: MultiTaskTrainingOptions) {
  if (options.calibrate === true) {
    throw new ModelInputError(
      'calibrate',
      'cannot be on with differentialPrivacy (it fits on validation rows)',
      'true',
    );
  }
  if (options.classWeighting === 'balanced') {
    throw new ModelInputError(
      'classWeighting',
      'must be none with differentialPrivacy (it counts labels)',
      'balanced',
    );
  }
  if (options.publishable !== undefined && options.publishable.some((s) => s !== 'network')) {
    throw new ModelInputError(
      'publishable',
      'may name only the network with differentialPrivacy (baselines are not private)',
      options.publishable.join(','),
    );
  }
  return { calibrate: false, classWeighting: 'none' as const, publishable: ['network'] as const };
}

/** One index per distinct privacy unit, by row; without ids every row is its own unit. */
function privacyUnitIndices(ids: readonly string[] | undefined, rows: number): Int32Array | undefined {
  if (ids === undefined) return undefined;
  if (ids.length !== rows)
    throw new ModelInputError('privacyUnits', `needs one id per row (${rows})`, String(ids.length));
  const index = new Map<string, number>();
  return Int32Array.from(ids, (id) => {
    let i = index.get(id);
    if (i === undefined) index.set(id, (i = index.size));
    return i;
  });
}

/** What reads the private rows around a DP-SGD fit and is not covered by its (ε, δ). */
export function notCoveredByDpSgd(hasCategoryHead: boolean): string[] {
  return [
    'feature standardisation (mean and std of the train split)',
    ...(hasCategoryHead ? ['next-category vocabulary (the most frequent categories of the rows)'] : []),
    'which heads are trained (each needs both classes in every split)',
    'held-out metrics in this metadata and the report (validation and test rows)',
    'hyper-parameters (clip norm, learning rate, batch, epochs) when tuned on the same data',
  ];
}

/** The purchase or churn rows of the report: every candidate, the published one marked. */
function binaryScorerRows(result: BinaryHeadResult, networkName: string) {
  return BINARY_SCORERS.map((scorer) => ({
    name: `${scorer === 'network' ? networkName : scorer === 'heuristic' ? `Heuristic (${result.heuristicFeature})` : 'Logistic regression'}${scorer === result.chosen ? ' (published)' : ''}`,
    report: result.test[scorer],
  }));
}

/**
 * Per head: the published scorer and every candidate's metrics. Test metrics keep their
 * {@link MetricSummary} names (so a reader parses the chosen one back as such); validation ones are
 * prefixed `validation`.
 */
export function headProvenance(heads: HeadResults): NonNullable<ModelProvenance['heads']> {
  const binary = (result: BinaryHeadResult) => ({
    chosen: result.chosen,
    metrics: Object.fromEntries(
      BINARY_SCORERS.map((s) => [
        s,
        { validationRocAuc: result.validationRocAuc[s], ...summarise(result.test[s]) },
      ]),
    ),
  });
  const category = heads.nextCategories;
  return {
    purchase: binary(heads.purchase),
    ...(heads.churn === undefined ? {} : { churn: binary(heads.churn) }),
    ...(category === undefined
      ? {}
      : {
          nextCategories: {
            chosen: category.chosen,
            metrics: Object.fromEntries(
              CATEGORY_SCORERS.map((s) => {
                const { recall, recallCi95, ndcg, ndcgCi95, count } = category.test[s];
                return [
                  s,
                  {
                    validationRecallAt3: category.validation[s].recall,
                    validationNdcgAt3: category.validation[s].ndcg,
                    recallAt3: recall,
                    recallAt3Ci95: recallCi95,
                    ndcgAt3: ndcg,
                    ndcgAt3Ci95: ndcgCi95,
                    count,
                  },
                ];
              }),
            ),
            ...(category.stateBaselineAhead === undefined
              ? {}
              : { aheadOnValidation: category.stateBaselineAhead }),
          },
        }),
  };
}

const fixed = (value: number) => (Number.isFinite(value) ? value.toFixed(4) : '–');

/** Label/value lines naming each head's published scorer and its test metric, for reports and logs. */
export function describeHeadChoices(heads: HeadResults): [string, string][] {
  const binary = (name: string, result: BinaryHeadResult): [string, string] => {
    const test = result.test[result.chosen];
    const others = BINARY_SCORERS.filter((s) => s !== result.chosen)
      .map((s) => `${SCORER_LABELS[s]} ${fixed(result.test[s].rocAuc)}`)
      .join(', ');
    return [
      `${name} head`,
      `${SCORER_LABELS[result.chosen]} (validation ROC-AUC ${fixed(result.validationRocAuc[result.chosen])}); ` +
        `test ROC-AUC ${fixed(test.rocAuc)} [${fixed(test.rocAucCi95.lower)}, ${fixed(test.rocAucCi95.upper)}], ` +
        `ECE ${fixed(test.expectedCalibrationError)}; ${others}`,
    ];
  };
  const lines = [binary('Purchase', heads.purchase)];
  if (heads.churn !== undefined) lines.push(binary('Churn', heads.churn));
  const category = heads.nextCategories;
  if (category !== undefined) {
    const test = category.test[category.chosen];
    lines.push([
      'Next-category head',
      `${category.chosen} (validation recall@3 ${fixed(category.validation[category.chosen].recall)}); test recall@3 ` +
        `${fixed(test.recall)} [${fixed(test.recallCi95.lower)}, ${fixed(test.recallCi95.upper)}], NDCG@3 ${fixed(test.ndcg)}` +
        (category.stateBaselineAhead === undefined
          ? ''
          : `; the state-served ${category.stateBaselineAhead} baseline ranks better ` +
            `(test recall@3 ${fixed(category.test[category.stateBaselineAhead].recall)})`),
    ]);
  }
  return lines;
}
