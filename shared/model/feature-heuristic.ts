/**
 * The "recent cart activity" baseline: score a profile by one named feature (for example a decayed
 * add-to-cart count), scaled to [0, 1]. It is what a marketer would do without a model, so the MLP
 * has to beat it to earn its keep.
 */
import type { FeatureMatrix } from './matrix';
import { ModelInputError } from './model-input-error';

/** A fitted single-feature heuristic. */
export interface FeatureHeuristic {
  featureName: string;
  featureIndex: number;
  /** Value mapped to 0 (training minimum). */
  low: number;
  /** Value mapped to 1 (training 99th percentile, so one outlier does not squash every score to 0). */
  high: number;
}

/** Which quantile of the training values maps to a score of 1. */
const HIGH_QUANTILE = 0.99;

/** Find `featureName` and take its scaling range from the training matrix. */
export function fitFeatureHeuristic(
  train: FeatureMatrix,
  featureNames: readonly string[],
  featureName: string,
): FeatureHeuristic {
  const featureIndex = featureNames.indexOf(featureName);
  if (featureIndex < 0) {
    throw new ModelInputError('heuristicFeature', 'must be one of the feature names', featureName);
  }
  if (train.rows === 0) throw new ModelInputError('features', 'needs at least one row', '0 rows');
  const column = Float64Array.from(
    { length: train.rows },
    (_, r) => train.values[r * train.columns + featureIndex] as number,
  ).sort();
  const low = column[0] as number;
  const high = column[Math.min(column.length - 1, Math.floor(HIGH_QUANTILE * column.length))] as number;
  return { featureName, featureIndex, low, high };
}

/**
 * Scores in [0, 1], non-decreasing in the feature (values above the training 99th percentile tie at 1).
 * They rank rather than estimate: they are not calibrated probabilities, which the log-loss and
 * calibration columns of the report make visible.
 */
export function scoreFeatureHeuristic(heuristic: FeatureHeuristic, matrix: FeatureMatrix): Float64Array {
  const { featureIndex, low, high } = heuristic;
  const range = high > low ? high - low : 1;
  return Float64Array.from({ length: matrix.rows }, (_, r) => {
    const value = matrix.values[r * matrix.columns + featureIndex] as number;
    return Math.min(Math.max((value - low) / range, 0), 1);
  });
}
