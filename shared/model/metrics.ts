/**
 * Evaluation metrics for a binary scorer, in plain TypeScript so the trainer, the report and the tests
 * agree on one definition. Labels are 0/1; scores are probabilities for the calibration-type metrics
 * (log loss, Brier, ECE) and any finite numbers for the ranking ones (ROC-AUC, PR-AUC).
 */
import { assertBinaryLabels } from './matrix';
import { ModelInputError } from './model-input-error';
import { createRandom } from './seeded-random';

/** Probabilities are clipped to `[LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON]` so one confident miss is finite. */
export const LOG_LOSS_EPSILON = 1e-7;
/** Bootstrap resamples for the AUC interval: enough for stable 2.5/97.5 percentiles at report precision. */
export const DEFAULT_BOOTSTRAP_RESAMPLES = 200;
/** Equal-width bins for calibration and ECE. */
export const DEFAULT_CALIBRATION_BINS = 10;
/** Points kept on the plotted ROC curve. */
export const DEFAULT_ROC_POINTS = 201;

/** One operating point of the ROC curve (scores `>= threshold` predicted positive). */
export interface RocPoint {
  falsePositiveRate: number;
  truePositiveRate: number;
  threshold: number;
}

/** One bin of a reliability diagram. Empty bins have `count` 0 and `NaN` means. */
export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

/** A two-sided interval. */
export interface Interval {
  lower: number;
  upper: number;
}

/** Everything {@link evaluateScores} measures about one scorer on one data set. */
export interface EvaluationReport {
  count: number;
  positives: number;
  rocAuc: number;
  /** Percentile bootstrap 95% interval of the ROC-AUC. */
  rocAucCi95: Interval;
  /** Average precision (step-wise area under the precision–recall curve). */
  prAuc: number;
  logLoss: number;
  brierScore: number;
  expectedCalibrationError: number;
  rocCurve: RocPoint[];
  calibrationBins: CalibrationBin[];
}

/** Options for {@link evaluateScores}. */
export interface EvaluationOptions {
  /** Seed of the bootstrap. */
  seed: number;
  /** @default DEFAULT_BOOTSTRAP_RESAMPLES (200) */
  bootstrapResamples?: number;
  /** @default DEFAULT_CALIBRATION_BINS (10) */
  calibrationBinCount?: number;
  /** @default DEFAULT_ROC_POINTS (201) */
  rocPoints?: number;
}

function assertScores(labels: ArrayLike<number>, scores: ArrayLike<number>, probabilities: boolean): void {
  assertBinaryLabels(labels, scores.length);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (!Number.isFinite(s) || (probabilities && (s < 0 || s > 1))) {
      throw new ModelInputError(
        `scores[${i}]`,
        probabilities ? 'must be a probability in [0, 1]' : 'must be finite',
        String(s),
      );
    }
  }
}

function countPositives(labels: ArrayLike<number>): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
  return positives;
}

function assertBothClasses(labels: ArrayLike<number>): void {
  const positives = countPositives(labels);
  if (positives === 0 || positives === labels.length) {
    throw new ModelInputError(
      'labels',
      'must contain both classes',
      `${positives} of ${labels.length} positive`,
    );
  }
}

/** Row indices ordered by ascending score (stable, so equal scores keep input order). */
function ascendingOrder(scores: ArrayLike<number>): Uint32Array {
  return Uint32Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number) || a - b,
  );
}

/**
 * Walk rows in the given order, one call per run of equal scores, with the (multiplicity-weighted)
 * counts of positives and negatives in the run. Every ranking metric here treats ties as one group.
 */
function forEachTieGroup(
  order: Uint32Array,
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  visit: (score: number, positives: number, negatives: number) => void,
  weights?: Uint32Array,
): void {
  let i = 0;
  while (i < order.length) {
    const score = scores[order[i] as number] as number;
    let positives = 0;
    let negatives = 0;
    for (; i < order.length && scores[order[i] as number] === score; i++) {
      const row = order[i] as number;
      const w = weights ? (weights[row] as number) : 1;
      if (labels[row] === 1) positives += w;
      else negatives += w;
    }
    visit(score, positives, negatives);
  }
}

/**
 * ROC-AUC with per-row multiplicities, over rows in ascending score order. Within a group of tied
 * scores a positive beats the negatives below the group and half-beats those inside it, which equals
 * the Mann–Whitney statistic with average ranks. Returns NaN if the weighted sample lacks a class.
 */
function weightedAuc(
  order: Uint32Array,
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  weights?: Uint32Array,
): number {
  let negativesBelow = 0;
  let positivesTotal = 0;
  let wins = 0;
  forEachTieGroup(
    order,
    labels,
    scores,
    (_, positives, negatives) => {
      wins += positives * (negativesBelow + negatives / 2);
      negativesBelow += negatives;
      positivesTotal += positives;
    },
    weights,
  );
  return positivesTotal === 0 || negativesBelow === 0 ? Number.NaN : wins / (positivesTotal * negativesBelow);
}

/** Exact ROC-AUC; ties count one half (average ranks). Throws {@link ModelInputError} with a single class. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  assertScores(labels, scores, false);
  assertBothClasses(labels);
  return weightedAuc(ascendingOrder(scores), labels, scores);
}

/**
 * Percentile bootstrap interval of the ROC-AUC: `resamples` draws of n rows with replacement, seeded.
 * Resamples that happen to miss a class are redrawn-free skipped (they have no AUC); with realistic
 * test sets that never happens.
 */
export function bootstrapRocAucInterval(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  options: { seed: number; resamples?: number; confidence?: number },
): Interval {
  const { seed, resamples = DEFAULT_BOOTSTRAP_RESAMPLES, confidence = 0.95 } = options;
  assertScores(labels, scores, false);
  assertBothClasses(labels);
  const order = ascendingOrder(scores);
  const random = createRandom(seed);
  const n = labels.length;
  const multiplicity = new Uint32Array(n);
  const aucs: number[] = [];
  for (let b = 0; b < resamples; b++) {
    multiplicity.fill(0);
    for (let k = 0; k < n; k++) {
      const row = Math.floor(random() * n);
      multiplicity[row] = (multiplicity[row] as number) + 1;
    }
    const auc = weightedAuc(order, labels, scores, multiplicity);
    if (!Number.isNaN(auc)) aucs.push(auc);
  }
  aucs.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return { lower: quantileSorted(aucs, alpha), upper: quantileSorted(aucs, 1 - alpha) };
}

/** Linear-interpolated quantile of an ascending array (NaN when empty). */
function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const a = sorted[below] as number;
  return a + (position - below) * ((sorted[above] as number) - a);
}

/**
 * ROC curve from (0, 0) to (1, 1), one point per distinct score (highest first), thinned to at most
 * `maxPoints` evenly spaced points for plotting (end points always kept).
 */
export function rocCurve(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  maxPoints = DEFAULT_ROC_POINTS,
): RocPoint[] {
  assertScores(labels, scores, false);
  assertBothClasses(labels);
  const positives = countPositives(labels);
  const negatives = labels.length - positives;
  const order = ascendingOrder(scores).reverse();
  const points: RocPoint[] = [
    { falsePositiveRate: 0, truePositiveRate: 0, threshold: Number.POSITIVE_INFINITY },
  ];
  let truePositives = 0;
  let falsePositives = 0;
  forEachTieGroup(order, labels, scores, (threshold, groupPositives, groupNegatives) => {
    truePositives += groupPositives;
    falsePositives += groupNegatives;
    points.push({
      falsePositiveRate: falsePositives / negatives,
      truePositiveRate: truePositives / positives,
      threshold,
    });
  });
  if (points.length <= maxPoints) return points;
  const step = (points.length - 1) / (maxPoints - 1);
  return Array.from({ length: maxPoints }, (_, k) => points[Math.round(k * step)] as RocPoint);
}

/**
 * Average precision: Σ (recall_k − recall_{k−1}) · precision_k over distinct thresholds, highest first
 * (the step-wise PR-AUC, no interpolation; same definition as scikit-learn).
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  assertScores(labels, scores, false);
  assertBothClasses(labels);
  const positives = countPositives(labels);
  const order = ascendingOrder(scores).reverse();
  let truePositives = 0;
  let seen = 0;
  let area = 0;
  forEachTieGroup(order, labels, scores, (_, groupPositives, groupNegatives) => {
    truePositives += groupPositives;
    seen += groupPositives + groupNegatives;
    area += (groupPositives / positives) * (truePositives / seen);
  });
  return area;
}

/** Mean binary cross-entropy in nats, probabilities clipped by {@link LOG_LOSS_EPSILON}. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  assertScores(labels, probabilities, true);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(probabilities[i] as number, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
    total -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return total / labels.length;
}

/** Mean squared error of the probabilities. */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  assertScores(labels, probabilities, true);
  let total = 0;
  for (let i = 0; i < labels.length; i++)
    total += ((probabilities[i] as number) - (labels[i] as number)) ** 2;
  return total / labels.length;
}

/** Equal-width bins over [0, 1]; bin k holds `k/b <= p < (k+1)/b`, and p = 1 falls in the last bin. */
export function calibrationBins(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  binCount = DEFAULT_CALIBRATION_BINS,
): CalibrationBin[] {
  assertScores(labels, probabilities, true);
  const count = new Float64Array(binCount);
  const predicted = new Float64Array(binCount);
  const observed = new Float64Array(binCount);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i] as number;
    const bin = Math.min(Math.floor(p * binCount), binCount - 1);
    count[bin] = (count[bin] as number) + 1;
    predicted[bin] = (predicted[bin] as number) + p;
    observed[bin] = (observed[bin] as number) + (labels[i] as number);
  }
  return Array.from(count, (c, k) => ({
    lower: k / binCount,
    upper: (k + 1) / binCount,
    count: c,
    meanPredicted: c > 0 ? (predicted[k] as number) / c : Number.NaN,
    observedRate: c > 0 ? (observed[k] as number) / c : Number.NaN,
  }));
}

/** Expected calibration error: bin-size-weighted mean |mean predicted − observed rate| over non-empty bins. */
export function expectedCalibrationError(bins: readonly CalibrationBin[]): number {
  const total = bins.reduce((sum, bin) => sum + bin.count, 0);
  if (total === 0) return Number.NaN;
  return bins.reduce(
    (sum, bin) =>
      bin.count > 0 ? sum + (bin.count / total) * Math.abs(bin.meanPredicted - bin.observedRate) : sum,
    0,
  );
}

/** Every metric of one scorer on one labelled set. Throws {@link ModelInputError} on bad input or one class. */
export function evaluateScores(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  options: EvaluationOptions,
): EvaluationReport {
  const {
    seed,
    bootstrapResamples = DEFAULT_BOOTSTRAP_RESAMPLES,
    calibrationBinCount = DEFAULT_CALIBRATION_BINS,
    rocPoints = DEFAULT_ROC_POINTS,
  } = options;
  const bins = calibrationBins(labels, probabilities, calibrationBinCount);
  return {
    count: labels.length,
    positives: countPositives(labels),
    rocAuc: rocAuc(labels, probabilities),
    rocAucCi95: bootstrapRocAucInterval(labels, probabilities, { seed, resamples: bootstrapResamples }),
    prAuc: averagePrecision(labels, probabilities),
    logLoss: logLoss(labels, probabilities),
    brierScore: brierScore(labels, probabilities),
    expectedCalibrationError: expectedCalibrationError(bins),
    rocCurve: rocCurve(labels, probabilities, rocPoints),
    calibrationBins: bins,
  };
}
