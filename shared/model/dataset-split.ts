import { ModelInputError } from './model-input-error';
import { createRandom, shuffleInPlace } from './seeded-random';

/** Row indices of each split, ascending. */
export interface DatasetSplit {
  train: number[];
  validation: number[];
  test: number[];
}

/** Options for {@link splitStratified}. */
export interface SplitOptions {
  /** Share of rows for early stopping and calibration. @default 0.15 */
  validationFraction?: number;
  /** Share of rows held out for the reported metrics. @default 0.15 */
  testFraction?: number;
  /** Seed of the shuffle. @default 42 */
  seed?: number;
}

/**
 * Seeded split that keeps the positive rate equal across splits: with a few percent positives a
 * plain random split can leave the test set with a handful of buyers and an unstable AUC.
 */
export function splitStratified(labels: ArrayLike<number>, options: SplitOptions = {}): DatasetSplit {
  const { validationFraction = 0.15, testFraction = 0.15, seed = 42 } = options;
  if (!(validationFraction >= 0 && testFraction >= 0 && validationFraction + testFraction < 1)) {
    throw new ModelInputError(
      'validationFraction+testFraction',
      'must be non-negative and sum below 1',
      `${validationFraction}+${testFraction}`,
    );
  }
  const random = createRandom(seed);
  const split: DatasetSplit = { train: [], validation: [], test: [] };
  for (const label of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === label) rows.push(i);
    shuffleInPlace(rows, random);
    const testCount = Math.round(rows.length * testFraction);
    const validationCount = Math.round(rows.length * validationFraction);
    split.test.push(...rows.slice(0, testCount));
    split.validation.push(...rows.slice(testCount, testCount + validationCount));
    split.train.push(...rows.slice(testCount + validationCount));
  }
  const ascending = (a: number, b: number) => a - b;
  return {
    train: split.train.sort(ascending),
    validation: split.validation.sort(ascending),
    test: split.test.sort(ascending),
  };
}
