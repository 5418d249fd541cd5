/**
 * Logistic regression fitted by iteratively reweighted least squares (Newton's method) with an L2
 * penalty. Deterministic (no random start, no mini-batches) and converges in a handful of iterations for
 * the few dozen standardised features used here, so it is a cheap, reproducible baseline.
 */
import { assertBinaryLabels, type FeatureMatrix } from './matrix';
import { type FeatureNormalisation, type MlpWeights, normaliseMatrix, sigmoid } from './mlp-weights';
import { ModelInputError } from './model-input-error';

/** Options for {@link fitLogisticRegression}. */
export interface LogisticRegressionOptions {
  /** L2 penalty on the coefficients (not the intercept). @default 1e-2 */
  l2?: number;
  /** Weight of each class in the loss, `[negative, positive]`. @default [1, 1] */
  classWeights?: readonly [number, number];
  /** Newton iterations at most. @default 50 */
  maxIterations?: number;
  /** Stop when the largest coefficient change is below this. @default 1e-8 */
  tolerance?: number;
}

/** A fitted logistic regression: `p = sigmoid(intercept + x · coefficients)`. */
export interface LogisticRegressionFit {
  coefficients: number[];
  intercept: number;
  iterations: number;
  converged: boolean;
}

/** Fit `p(y=1 | x)` on the matrix as given (no scaling applied here). */
export function fitLogisticRegression(
  matrix: FeatureMatrix,
  labels: ArrayLike<number>,
  options: LogisticRegressionOptions = {},
): LogisticRegressionFit {
  const { l2 = 1e-2, classWeights = [1, 1], maxIterations = 50, tolerance = 1e-8 } = options;
  assertBinaryLabels(labels, matrix.rows);
  if (matrix.rows === 0) throw new ModelInputError('features', 'needs at least one row', '0 rows');
  const { rows, columns, values } = matrix;
  // Parameter 0 is the intercept; the design row is [1, x_0, …, x_{d-1}].
  const size = columns + 1;
  const beta = new Float64Array(size);
  const design = new Float64Array(size);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    const gradient = new Float64Array(size);
    const hessian = new Float64Array(size * size);
    for (let r = 0; r < rows; r++) {
      design[0] = 1;
      let z = beta[0] as number;
      for (let c = 0; c < columns; c++) {
        const v = values[r * columns + c] as number;
        design[c + 1] = v;
        z += v * (beta[c + 1] as number);
      }
      const p = sigmoid(z);
      const label = labels[r] as number;
      const w = classWeights[label] as number;
      const residual = w * (p - label);
      const curvature = w * Math.max(p * (1 - p), 1e-12);
      for (let i = 0; i < size; i++) {
        const di = design[i] as number;
        gradient[i] = (gradient[i] as number) + residual * di;
        const scaled = curvature * di;
        for (let j = 0; j <= i; j++)
          hessian[i * size + j] = (hessian[i * size + j] as number) + scaled * (design[j] as number);
      }
    }
    for (let i = 1; i < size; i++) {
      gradient[i] = (gradient[i] as number) + l2 * (beta[i] as number);
      hessian[i * size + i] = (hessian[i * size + i] as number) + l2;
    }
    // A tiny ridge on the intercept keeps the system solvable when one class is absent from a column.
    hessian[0] = (hessian[0] as number) + 1e-9;
    const step = solveSymmetricPositiveDefinite(hessian, gradient, size);
    let largest = 0;
    for (let i = 0; i < size; i++) {
      beta[i] = (beta[i] as number) - (step[i] as number);
      largest = Math.max(largest, Math.abs(step[i] as number));
    }
    converged = largest < tolerance;
  }
  return { intercept: beta[0] as number, coefficients: Array.from(beta.subarray(1)), iterations, converged };
}

/**
 * Fit a logistic regression on standardised features and return it in the {@link MlpWeights} format
 * (one sigmoid layer) so it exports to ONNX and is evaluated exactly like the MLP.
 */
export function fitLogisticRegressionModel(
  matrix: FeatureMatrix,
  labels: ArrayLike<number>,
  normalisation: FeatureNormalisation,
  options: LogisticRegressionOptions = {},
): MlpWeights {
  const fit = fitLogisticRegression(normaliseMatrix(matrix, normalisation), labels, options);
  return {
    normalisation,
    layers: [{ weights: fit.coefficients.map((c) => [c]), bias: [fit.intercept], activation: 'sigmoid' }],
  };
}

/** Solve `A x = b` for a symmetric positive definite `A` given by its lower triangle (Cholesky). */
function solveSymmetricPositiveDefinite(lower: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = lower[i * n + j] as number;
      for (let k = 0; k < j; k++) sum -= (l[i * n + k] as number) * (l[j * n + k] as number);
      if (i === j) {
        if (!(sum > 0))
          throw new ModelInputError('features', 'Hessian is not positive definite', String(sum));
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / (l[j * n + j] as number);
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i] as number;
    for (let k = 0; k < i; k++) sum -= (l[i * n + k] as number) * (y[k] as number);
    y[i] = sum / (l[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i] as number;
    for (let k = i + 1; k < n; k++) sum -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = sum / (l[i * n + i] as number);
  }
  return x;
}
