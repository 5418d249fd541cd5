/**
 * What the stored reasons and the report's global importance are made of: the per-row, per-feature
 * contributions a model's attribution outputs give (`BatchScores.contributions`, logit units).
 */
import { ModelInputError } from './model-input-error';
import type { ScoreReason } from './model-outputs';

/** How many reasons are stored per probability. */
export const REASONS_PER_HEAD = 3;

/** One feature's global importance. */
export interface FeatureImportance {
  feature: string;
  /** Mean |contribution| over the rows, logit units. */
  meanAbsoluteContribution: number;
  /** Mean signed contribution over the rows: which way the feature pushes on average. */
  meanContribution: number;
}

function assertShape(contributions: ArrayLike<number>, rows: number, featureNames: readonly string[]): void {
  if (contributions.length !== rows * featureNames.length) {
    throw new ModelInputError(
      'contributions',
      `must hold rows × features = ${rows} × ${featureNames.length} values`,
      String(contributions.length),
    );
  }
}

/**
 * Global importance: mean |contribution| of every feature over `rows` row-major rows of
 * contributions, most important first (ties keep feature order). Zero rows give zeros.
 */
export function globalImportance(
  contributions: ArrayLike<number>,
  rows: number,
  featureNames: readonly string[],
): FeatureImportance[] {
  assertShape(contributions, rows, featureNames);
  const width = featureNames.length;
  const absolute = new Float64Array(width);
  const signed = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < width; i++) {
      const c = contributions[r * width + i] as number;
      absolute[i] = (absolute[i] as number) + Math.abs(c);
      signed[i] = (signed[i] as number) + c;
    }
  }
  const per = Math.max(rows, 1);
  return featureNames
    .map((feature, i) => ({
      feature,
      meanAbsoluteContribution: (absolute[i] as number) / per,
      meanContribution: (signed[i] as number) / per,
    }))
    .sort((a, b) => b.meanAbsoluteContribution - a.meanAbsoluteContribution);
}

/**
 * The `count` largest contributions of row `row` by magnitude, largest first; zero contributions are
 * no reason and are left out (ties keep feature order).
 */
export function topReasons(
  contributions: ArrayLike<number>,
  row: number,
  featureNames: readonly string[],
  count = REASONS_PER_HEAD,
): ScoreReason[] {
  const width = featureNames.length;
  if (!Number.isInteger(row) || row < 0 || (row + 1) * width > contributions.length) {
    throw new ModelInputError('row', `must be a row of the ${width}-wide contributions`, String(row));
  }
  return featureNames
    .map((feature, i) => ({ feature, contribution: contributions[row * width + i] as number }))
    .filter((reason) => reason.contribution !== 0)
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution))
    .slice(0, count);
}
