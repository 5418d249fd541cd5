/**
 * Platt scaling: refit `sigmoid(slope · logit + intercept)` on held-out rows. Class weighting trades
 * calibration for recall (it inflates every probability); because the network ends in one linear unit
 * followed by a sigmoid, the correction folds exactly into the last layer and the graph is unchanged.
 */
import { fitLogisticRegression } from './logistic-regression';
import type { DenseLayerWeights, MlpWeights } from './mlp-weights';
import { ModelInputError } from './model-input-error';

/** Probabilities are clipped before taking the logit so a saturated float32 output stays finite. */
const LOGIT_EPSILON = 1e-7;

/** Coefficients of the recalibration. */
export interface PlattScaling {
  slope: number;
  intercept: number;
}

/** Fit the recalibration of `probabilities` against `labels` (unpenalised, unweighted). */
export function fitPlattScaling(labels: ArrayLike<number>, probabilities: ArrayLike<number>): PlattScaling {
  const logits = Float32Array.from({ length: probabilities.length }, (_, i) => {
    const p = Math.min(Math.max(probabilities[i] as number, LOGIT_EPSILON), 1 - LOGIT_EPSILON);
    return Math.log(p / (1 - p));
  });
  // Constant scores carry no ranking: the best recalibration is the base rate (and the unpenalised
  // fit below would face a singular Hessian).
  if (logits.every((z) => z === logits[0])) {
    let positives = 0;
    for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
    const rate = Math.min(Math.max(positives / labels.length, LOGIT_EPSILON), 1 - LOGIT_EPSILON);
    return { slope: 0, intercept: Math.log(rate / (1 - rate)) };
  }
  const fit = fitLogisticRegression({ values: logits, rows: logits.length, columns: 1 }, labels, { l2: 0 });
  return { slope: fit.coefficients[0] as number, intercept: fit.intercept };
}

/** New weights whose output is `sigmoid(slope · z + intercept)` where `z` was the last layer's logit. */
export function applyPlattScaling(weights: MlpWeights, scaling: PlattScaling): MlpWeights {
  const last = weights.layers[weights.layers.length - 1];
  if (last === undefined || last.activation !== 'sigmoid' || last.bias.length !== 1) {
    throw new ModelInputError('layers', 'must end in one sigmoid unit', String(last?.activation));
  }
  const { slope, intercept } = scaling;
  const scaled: DenseLayerWeights = {
    weights: last.weights.map((row) => row.map((w) => w * slope)),
    bias: [(last.bias[0] as number) * slope + intercept],
    activation: 'sigmoid',
  };
  return { normalisation: weights.normalisation, layers: [...weights.layers.slice(0, -1), scaled] };
}
