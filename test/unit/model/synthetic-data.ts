import { createRandom, randomNormal } from '../../../shared/model/seeded-random';

/** A generated classification problem. */
export interface SyntheticProblem {
  features: Float32Array;
  labels: Uint8Array;
  featureNames: string[];
  rows: number;
  columns: number;
}

/** Options of {@link syntheticPropensityData}. */
export interface SyntheticOptions {
  rows: number;
  columns: number;
  seed: number;
  /** Logit offset: more negative means fewer positives. @default 0 */
  offset?: number;
  /** Scale of the signal; 0 gives pure noise labels. @default 3 */
  signal?: number;
}

/**
 * Rows of standard-normal features with shifted means and scales (so standardisation matters). The
 * label is drawn from a logistic model over the first few features plus one interaction, with
 * feature 0 (`cart_adds_decayed`) the strongest single signal, like cart activity in the real data.
 */
export function syntheticPropensityData(options: SyntheticOptions): SyntheticProblem {
  const { rows, columns, seed, offset = 0, signal = 3 } = options;
  const random = createRandom(seed);
  const features = new Float32Array(rows * columns);
  const labels = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const z: number[] = [];
    for (let c = 0; c < columns; c++) {
      const value = randomNormal(random);
      z.push(value);
      features[r * columns + c] = 10 * c + (c + 1) * value;
    }
    const [a = 0, b = 0, c = 0, d = 0] = z;
    const logit = offset + signal * (1.2 * a + 0.8 * b - 0.6 * c + 0.7 * b * d);
    labels[r] = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  const featureNames = Array.from({ length: columns }, (_, c) =>
    c === 0 ? 'cart_adds_decayed' : `feature_${c}`,
  );
  return { features, labels, featureNames, rows, columns };
}
