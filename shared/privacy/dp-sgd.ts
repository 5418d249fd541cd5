/**
 * Differentially private training of the multi-task network (DP-SGD, Abadi et al. 2016), in plain
 * TypeScript: TF.js has no per-example gradients (no `vmap`), and for a network of a few thousand
 * weights the closed-form backward pass below is fast enough (≈ 7k multiply-adds per row).
 *
 * One step: every privacy unit (a profile: all its training rows) joins the batch independently with
 * probability q (POISSON sampling, which the RDP accountant assumes) → the gradient of the unit's mean
 * row loss, computed by hand through the ReLU trunk and every head → clipped to L2 norm ≤ C → summed
 * → Gaussian noise N(0, σ²C²) added to every coordinate → divided by the EXPECTED batch q·n (the real
 * size is private) → Adam (post-processing, as is the L2 penalty, which reads no data).
 *
 * What this fit does not do, because each would read the private rows outside the accountant: no
 * early stopping or best-epoch choice on validation (it runs `maxEpochs` and returns the last weights;
 * validation loss is recorded for the operator only), no dropout (the noise regularises), no class
 * weights derived from label counts (the caller passes fixed ones).
 */
import type { DifferentialPrivacyRecord } from '../model/model-metadata';
import type { DenseLayerWeights, FeatureNormalisation } from '../model/mlp-weights';
import { normaliseMatrix, sigmoid } from '../model/mlp-weights';
import { ModelInputError } from '../model/model-input-error';
import type { MultiTaskWeights } from '../model/multi-task-weights';
import { createRandom, type RandomSource } from '../model/seeded-random';
import type {
  DifferentialPrivacyOptions,
  EpochRecord,
  FittedNetwork,
  MlpTrainingOptions,
  MultiTaskRows,
  NetworkTrainer,
} from '../training/training-ports';
import { defaultDelta, dpSgdEpsilon, noiseMultiplierForEpsilon } from './rdp-accountant';

/** Backend name recorded for a DP-SGD fit. */
export const DP_SGD_BACKEND = 'dp-sgd-js';
/** Default L2 bound C of each unit's gradient. */
export const DEFAULT_CLIP_NORM = 1;
/** Default expected units per step (q = this / units). */
export const DEFAULT_EXPECTED_BATCH_UNITS = 256;
/** Epochs the evaluate CLI runs under DP-SGD (every step spends budget: fewer, larger steps). */
export const DEFAULT_DP_EPOCHS = 30;
/** Adam learning rate the evaluate CLI uses under DP-SGD (few noisy steps need larger ones). */
export const DEFAULT_DP_LEARNING_RATE = 1e-2;

/**
 * Uniform [0, 1) numbers from the platform CSPRNG (Web Crypto, global in Node 20 and Lambda), 53 bits
 * each, drawn in blocks. DP noise must be unpredictable: see {@link DifferentialPrivacyOptions.random}.
 */
export function secureRandom(): RandomSource {
  const block = new Uint32Array(2048);
  let next = block.length;
  return () => {
    if (next >= block.length) {
      globalThis.crypto.getRandomValues(block);
      next = 0;
    }
    const high = block[next++]! >>> 5;
    const low = block[next++]! >>> 6;
    return (high * 67_108_864 + low) / 9_007_199_254_740_992;
  };
}

/** Where one dense layer's kernel (`[inputs][units]`, row-major) and bias sit in the parameter vector. */
export interface LayerSlot {
  inputs: number;
  units: number;
  kernel: number;
  bias: number;
}

/** Every weight of the network in one vector, so a unit's gradient is clipped as a whole. */
export interface ParameterLayout {
  trunk: LayerSlot[];
  purchase: LayerSlot;
  churn?: LayerSlot;
  nextCategory?: LayerSlot;
  size: number;
}

/** Lay out a trunk of `hiddenUnits` over `inputs` features and the heads the rows have labels for. */
export function parameterLayout(
  inputs: number,
  hiddenUnits: readonly number[],
  heads: { churn: boolean; categories: number },
): ParameterLayout {
  let size = 0;
  const slot = (from: number, units: number): LayerSlot => {
    const layer = { inputs: from, units, kernel: size, bias: size + from * units };
    size += from * units + units;
    return layer;
  };
  let width = inputs;
  const trunk = hiddenUnits.map((units) => {
    const layer = slot(width, units);
    width = units;
    return layer;
  });
  const purchase = slot(width, 1);
  const churn = heads.churn ? slot(width, 1) : undefined;
  const nextCategory = heads.categories > 0 ? slot(width, heads.categories) : undefined;
  return {
    trunk,
    purchase,
    ...(churn === undefined ? {} : { churn }),
    ...(nextCategory === undefined ? {} : { nextCategory }),
    size,
  };
}

/** Glorot-uniform kernels (zero biases) in the order the TF.js trainer draws them, from the seeded source. */
export function initialParameters(layout: ParameterLayout, random: RandomSource): Float64Array {
  const params = new Float64Array(layout.size);
  for (const layer of layoutLayers(layout)) {
    const limit = Math.sqrt(6 / (layer.inputs + layer.units));
    for (let k = 0; k < layer.inputs * layer.units; k++)
      params[layer.kernel + k] = (2 * random() - 1) * limit;
  }
  return params;
}

const layoutLayers = (layout: ParameterLayout): LayerSlot[] =>
  [...layout.trunk, layout.purchase, layout.churn, layout.nextCategory].filter(
    (layer): layer is LayerSlot => layer !== undefined,
  );

/** Standardised rows and their labels, as the gradient reads them. */
export interface GradientRows {
  /** Row-major standardised features. */
  x: Float32Array;
  columns: number;
  purchase: Uint8Array;
  churn?: Uint8Array;
  nextCategory?: Int16Array;
}

/** Per-row loss weights: head weight × class weight, as the TF.js trainer's loss. */
export interface LossWeights {
  purchase: readonly [number, number];
  churn: readonly [number, number];
  nextCategory: number;
}

/** Reusable buffers of one forward/backward pass. */
interface Scratch {
  activations: Float64Array[];
  deltas: Float64Array[];
  logits: Float64Array;
}

function createScratch(layout: ParameterLayout): Scratch {
  return {
    activations: layout.trunk.map((l) => new Float64Array(l.units)),
    deltas: layout.trunk.map((l) => new Float64Array(l.units)),
    logits: new Float64Array(layout.nextCategory?.units ?? 0),
  };
}

/** Binary cross-entropy of a logit, in the stable form. */
const binaryLoss = (z: number, y: number) => Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));

/** `h · kernel + bias` of a one-unit head. */
function unitLogit(params: Float64Array, slot: LayerSlot, h: Float64Array): number {
  let z = params[slot.bias]!;
  for (let i = 0; i < slot.inputs; i++) z += h[i]! * params[slot.kernel + i]!;
  return z;
}

/**
 * The row's loss; when `gradient` is given, also adds `scale` × its gradient into it (closed-form
 * backward pass: sigmoid/soft-max cross-entropy heads over a ReLU trunk).
 */
export function rowLoss(
  layout: ParameterLayout,
  params: Float64Array,
  rows: GradientRows,
  row: number,
  weights: LossWeights,
  scratch: Scratch = createScratch(layout),
  gradient?: Float64Array,
  scale = 1,
): number {
  const { columns } = rows;
  const input = rows.x.subarray(row * columns, (row + 1) * columns);
  // Forward through the trunk.
  let previous: ArrayLike<number> = input;
  layout.trunk.forEach((layer, l) => {
    const out = scratch.activations[l]!;
    for (let j = 0; j < layer.units; j++) out[j] = params[layer.bias + j]!;
    for (let i = 0; i < layer.inputs; i++) {
      const a = previous[i]!;
      if (a === 0) continue;
      const base = layer.kernel + i * layer.units;
      for (let j = 0; j < layer.units; j++) out[j] = out[j]! + a * params[base + j]!;
    }
    for (let j = 0; j < layer.units; j++) if (out[j]! < 0) out[j] = 0;
    previous = out;
  });
  const embedding = previous as Float64Array;
  const top = layout.trunk.length - 1;
  const dEmbedding = gradient === undefined ? undefined : scratch.deltas[top]!;
  dEmbedding?.fill(0);
  let loss = 0;
  const binaryHead = (slot: LayerSlot, label: number, classWeights: readonly [number, number]) => {
    const w = classWeights[label]!;
    const z = unitLogit(params, slot, embedding);
    loss += w * binaryLoss(z, label);
    if (gradient === undefined || dEmbedding === undefined) return;
    const dz = scale * w * (sigmoid(z) - label);
    gradient[slot.bias] = gradient[slot.bias]! + dz;
    for (let i = 0; i < slot.inputs; i++) {
      gradient[slot.kernel + i] = gradient[slot.kernel + i]! + dz * embedding[i]!;
      dEmbedding[i] = dEmbedding[i]! + dz * params[slot.kernel + i]!;
    }
  };
  binaryHead(layout.purchase, rows.purchase[row]!, weights.purchase);
  if (layout.churn !== undefined && rows.churn !== undefined) {
    binaryHead(layout.churn, rows.churn[row]!, weights.churn);
  }
  const category = rows.nextCategory?.[row] ?? -1;
  const slot = layout.nextCategory;
  if (slot !== undefined && category >= 0) {
    const logits = scratch.logits;
    let max = -Infinity;
    for (let j = 0; j < slot.units; j++) {
      let z = params[slot.bias + j]!;
      for (let i = 0; i < slot.inputs; i++) z += embedding[i]! * params[slot.kernel + i * slot.units + j]!;
      logits[j] = z;
      if (z > max) max = z;
    }
    let total = 0;
    for (let j = 0; j < slot.units; j++) total += Math.exp(logits[j]! - max);
    const logTotal = Math.log(total) + max;
    loss += weights.nextCategory * (logTotal - logits[category]!);
    if (gradient !== undefined && dEmbedding !== undefined) {
      for (let j = 0; j < slot.units; j++) {
        const dz =
          scale * weights.nextCategory * (Math.exp(logits[j]! - logTotal) - (j === category ? 1 : 0));
        gradient[slot.bias + j] = gradient[slot.bias + j]! + dz;
        for (let i = 0; i < slot.inputs; i++) {
          const k = slot.kernel + i * slot.units + j;
          gradient[k] = gradient[k]! + dz * embedding[i]!;
          dEmbedding[i] = dEmbedding[i]! + dz * params[k]!;
        }
      }
    }
  }
  if (gradient === undefined) return loss;
  // Backward through the trunk: δ_l = dh_l ⊙ [z_l > 0] (the activation is 0 exactly where ReLU cut).
  for (let l = top; l >= 0; l--) {
    const layer = layout.trunk[l]!;
    const delta = scratch.deltas[l]!;
    const out = scratch.activations[l]!;
    for (let j = 0; j < layer.units; j++) if (out[j]! === 0) delta[j] = 0;
    const below: ArrayLike<number> = l === 0 ? input : scratch.activations[l - 1]!;
    const dBelow = l === 0 ? undefined : scratch.deltas[l - 1]!;
    dBelow?.fill(0);
    for (let j = 0; j < layer.units; j++) gradient[layer.bias + j] = gradient[layer.bias + j]! + delta[j]!;
    for (let i = 0; i < layer.inputs; i++) {
      const a = below[i]!;
      const base = layer.kernel + i * layer.units;
      let back = 0;
      for (let j = 0; j < layer.units; j++) {
        const d = delta[j]!;
        if (d === 0) continue;
        gradient[base + j] = gradient[base + j]! + a * d;
        back += d * params[base + j]!;
      }
      if (dBelow !== undefined) dBelow[i] = back;
    }
  }
  return loss;
}

/** Gradient of the mean loss of `unitRows` (one privacy unit's rows) into `out` (overwritten). */
export function unitGradient(
  layout: ParameterLayout,
  params: Float64Array,
  rows: GradientRows,
  unitRows: readonly number[],
  weights: LossWeights,
  out: Float64Array,
  scratch: Scratch = createScratch(layout),
): Float64Array {
  out.fill(0);
  const scale = 1 / unitRows.length;
  for (const row of unitRows) rowLoss(layout, params, rows, row, weights, scratch, out, scale);
  return out;
}

/** Scale `vector` in place so its L2 norm is at most `clipNorm`; returns the norm before clipping. */
export function clipToNorm(vector: Float64Array, clipNorm: number): number {
  let squares = 0;
  for (let i = 0; i < vector.length; i++) squares += vector[i]! * vector[i]!;
  const norm = Math.sqrt(squares);
  if (norm > clipNorm) {
    const factor = clipNorm / norm;
    for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! * factor;
  }
  return norm;
}

/** Add independent N(0, std²) noise to every coordinate (Box–Muller over `random`). */
export function addGaussianNoise(vector: Float64Array, std: number, random: RandomSource): void {
  for (let i = 0; i < vector.length; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    vector[i] = vector[i]! + radius * Math.cos(angle);
    if (i + 1 < vector.length) vector[i + 1] = vector[i + 1]! + radius * Math.sin(angle);
  }
}

/** The DP-SGD schedule a fit will run, and its guarantee, before any data is touched. */
export interface DpSgdPlan {
  samplingProbability: number;
  stepsPerEpoch: number;
  steps: number;
  noiseMultiplier: number;
  clipNorm: number;
  record: DifferentialPrivacyRecord;
}

/**
 * Resolve σ (from a target ε, or as given) and the (ε, δ) spent by `epochs` epochs of ⌈1/q⌉ steps with
 * `units` privacy units. Throws {@link ModelInputError} on settings that give no guarantee.
 */
export function planDpSgd(
  options: DifferentialPrivacyOptions,
  units: number,
  epochs: number,
  unit: DifferentialPrivacyRecord['unit'],
): DpSgdPlan {
  const {
    targetEpsilon,
    noiseMultiplier: givenSigma,
    clipNorm = DEFAULT_CLIP_NORM,
    expectedBatchUnits = DEFAULT_EXPECTED_BATCH_UNITS,
  } = options;
  if ((targetEpsilon === undefined) === (givenSigma === undefined)) {
    throw new ModelInputError(
      'differentialPrivacy',
      'needs exactly one of targetEpsilon or noiseMultiplier',
      `${targetEpsilon} / ${givenSigma}`,
    );
  }
  if (!(clipNorm > 0))
    throw new ModelInputError('differentialPrivacy.clipNorm', 'must be positive', String(clipNorm));
  if (!(expectedBatchUnits > 0)) {
    throw new ModelInputError(
      'differentialPrivacy.expectedBatchUnits',
      'must be positive',
      String(expectedBatchUnits),
    );
  }
  if (!(Number.isInteger(epochs) && epochs >= 1)) {
    throw new ModelInputError('maxEpochs', 'must be a positive integer under DP-SGD', String(epochs));
  }
  const delta = options.delta ?? defaultDelta(units);
  const samplingProbability = Math.min(1, expectedBatchUnits / units);
  const stepsPerEpoch = Math.ceil(1 / samplingProbability);
  const steps = epochs * stepsPerEpoch;
  const noiseMultiplier =
    givenSigma ?? noiseMultiplierForEpsilon(targetEpsilon!, { samplingProbability, steps }, delta);
  if (!(noiseMultiplier > 0)) {
    throw new ModelInputError(
      'differentialPrivacy.noiseMultiplier',
      'must be positive',
      String(noiseMultiplier),
    );
  }
  const spent = dpSgdEpsilon({ samplingProbability, noiseMultiplier, steps }, delta);
  return {
    samplingProbability,
    stepsPerEpoch,
    steps,
    noiseMultiplier,
    clipNorm,
    record: {
      mechanism: 'dp-sgd',
      epsilon: spent.epsilon,
      delta,
      unit,
      units,
      noiseMultiplier,
      clipNorm,
      sampling: 'poisson',
      samplingProbability,
      steps,
      epochs,
      accountant: 'rdp',
      rdpOrder: spent.order,
      ...(targetEpsilon === undefined ? {} : { targetEpsilon }),
      notCovered: [],
    },
  };
}

/** The rows of each privacy unit: `units[r]` when given, else one unit per row. */
function groupRows(rows: MultiTaskRows): number[][] {
  const count = rows.matrix.rows;
  if (rows.units === undefined) return Array.from({ length: count }, (_, r) => [r]);
  if (rows.units.length !== count) {
    throw new ModelInputError('units', `needs one unit per row (${count})`, String(rows.units.length));
  }
  const byUnit = new Map<number, number[]>();
  rows.units.forEach((unit, r) => {
    const list = byUnit.get(unit);
    if (list === undefined) byUnit.set(unit, [r]);
    else list.push(r);
  });
  return [...byUnit.values()];
}

function readLayer(
  params: Float64Array,
  slot: LayerSlot,
  activation: DenseLayerWeights['activation'],
): DenseLayerWeights {
  return {
    weights: Array.from({ length: slot.inputs }, (_, i) =>
      Array.from(params.subarray(slot.kernel + i * slot.units, slot.kernel + (i + 1) * slot.units)),
    ),
    bias: Array.from(params.subarray(slot.bias, slot.bias + slot.units)),
    activation,
  };
}

function readWeights(
  layout: ParameterLayout,
  params: Float64Array,
  normalisation: FeatureNormalisation,
  categories: readonly string[],
): MultiTaskWeights {
  return {
    normalisation,
    trunk: layout.trunk.map((slot) => readLayer(params, slot, 'relu')),
    heads: {
      purchase: { input: 'embedding', layers: [readLayer(params, layout.purchase, 'sigmoid')] },
      ...(layout.churn === undefined
        ? {}
        : { churn: { input: 'embedding' as const, layers: [readLayer(params, layout.churn, 'sigmoid')] } }),
      ...(layout.nextCategory === undefined
        ? {}
        : {
            nextCategories: {
              input: 'embedding' as const,
              categories: [...categories],
              layers: [readLayer(params, layout.nextCategory, 'linear')],
            },
          }),
    },
  };
}

const gradientRowsOf = (rows: MultiTaskRows, normalisation: FeatureNormalisation): GradientRows => ({
  x: normaliseMatrix(rows.matrix, normalisation).values,
  columns: rows.matrix.columns,
  purchase: rows.purchase,
  ...(rows.churn === undefined ? {} : { churn: rows.churn }),
  ...(rows.nextCategory === undefined ? {} : { nextCategory: rows.nextCategory }),
});

/**
 * Fit the multi-task network with DP-SGD (module comment). The result carries the guarantee; the
 * weights are those after the last step.
 */
export function fitMultiTaskNetworkDpSgd(
  train: MultiTaskRows,
  validation: MultiTaskRows,
  normalisation: FeatureNormalisation,
  options: MlpTrainingOptions & { differentialPrivacy: DifferentialPrivacyOptions },
): FittedNetwork {
  const {
    hiddenUnits = [32, 16],
    maxEpochs = 60,
    learningRate = 1e-3,
    l2 = 1e-4,
    categories = [],
    seed = 42,
    differentialPrivacy,
  } = options;
  if (hiddenUnits.length === 0) throw new ModelInputError('hiddenUnits', 'needs at least one layer', '[]');
  if (train.nextCategory !== undefined && categories.length < 2) {
    throw new ModelInputError('categories', 'must name at least two classes', String(categories.length));
  }
  const groups = groupRows(train);
  const plan = planDpSgd(
    differentialPrivacy,
    groups.length,
    maxEpochs,
    train.units === undefined ? 'row' : 'profile',
  );
  const weights: LossWeights = {
    purchase: (options.classWeights?.purchase ?? [1, 1]).map(
      (w) => w * (options.lossWeights?.purchase ?? 1),
    ) as [number, number],
    churn: (options.classWeights?.churn ?? [1, 1]).map((w) => w * (options.lossWeights?.churn ?? 0.5)) as [
      number,
      number,
    ],
    nextCategory: options.lossWeights?.nextCategory ?? 0.5,
  };
  const layout = parameterLayout(train.matrix.columns, hiddenUnits, {
    churn: train.churn !== undefined,
    categories: train.nextCategory === undefined ? 0 : categories.length,
  });
  const params = initialParameters(layout, createRandom(seed));
  const trainRows = gradientRowsOf(train, normalisation);
  const validationRows = gradientRowsOf(validation, normalisation);
  const random = differentialPrivacy.random ?? secureRandom();
  const scratch = createScratch(layout);
  const perUnit = new Float64Array(layout.size);
  const noisySum = new Float64Array(layout.size);
  const moment1 = new Float64Array(layout.size);
  const moment2 = new Float64Array(layout.size);
  const kernelMask = new Uint8Array(layout.size);
  for (const layer of layoutLayers(layout))
    kernelMask.fill(1, layer.kernel, layer.kernel + layer.inputs * layer.units);
  const expectedBatch = plan.samplingProbability * groups.length;
  const meanLoss = (rows: GradientRows, count: number) => {
    let total = 0;
    for (let r = 0; r < count; r++) total += rowLoss(layout, params, rows, r, weights, scratch);
    return count === 0 ? Number.NaN : total / count;
  };
  const history: EpochRecord[] = [];
  let step = 0;
  for (let epoch = 1; epoch <= maxEpochs; epoch++) {
    for (let s = 0; s < plan.stepsPerEpoch; s++) {
      noisySum.fill(0);
      for (const unitRows of groups) {
        if (random() >= plan.samplingProbability) continue;
        unitGradient(layout, params, trainRows, unitRows, weights, perUnit, scratch);
        clipToNorm(perUnit, plan.clipNorm);
        for (let k = 0; k < layout.size; k++) noisySum[k] = noisySum[k]! + perUnit[k]!;
      }
      addGaussianNoise(noisySum, plan.noiseMultiplier * plan.clipNorm, random);
      step++;
      // Adam (TF.js defaults β1 0.9, β2 0.999, ε 1e-7) on the privatised mean gradient plus the penalty.
      const correction1 = 1 - 0.9 ** step;
      const correction2 = 1 - 0.999 ** step;
      for (let k = 0; k < layout.size; k++) {
        const g = noisySum[k]! / expectedBatch + (kernelMask[k] === 1 ? 2 * l2 * params[k]! : 0);
        moment1[k] = 0.9 * moment1[k]! + 0.1 * g;
        moment2[k] = 0.999 * moment2[k]! + 0.001 * g * g;
        params[k] =
          params[k]! -
          (learningRate * (moment1[k]! / correction1)) / (Math.sqrt(moment2[k]! / correction2) + 1e-7);
      }
    }
    history.push({
      epoch,
      trainLoss: meanLoss(trainRows, train.matrix.rows),
      validationLoss: meanLoss(validationRows, validation.matrix.rows),
    });
  }
  return {
    weights: readWeights(layout, params, normalisation, categories),
    history,
    bestEpoch: maxEpochs,
    stoppedEarly: false,
    backend: DP_SGD_BACKEND,
    differentialPrivacy: plan.record,
  };
}

/** The {@link NetworkTrainer} for DP-SGD; refuses options without `differentialPrivacy`. */
export const dpSgdTrainer: NetworkTrainer = {
  trainNetwork: async (train, validation, normalisation, options) => {
    const { differentialPrivacy } = options;
    if (differentialPrivacy === undefined) {
      throw new ModelInputError('differentialPrivacy', 'is required by the DP-SGD trainer', 'undefined');
    }
    return fitMultiTaskNetworkDpSgd(train, validation, normalisation, { ...options, differentialPrivacy });
  },
};
