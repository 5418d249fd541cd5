/**
 * Attribution subgraphs appended to the multi-task ONNX graph, so the reasons behind the purchase
 * and churn probabilities come out of the same batch inference as the probabilities themselves
 * (`ONNX_OUTPUTS.purchaseContributions` / `churnContributions`, float32 [batch, F], LOGIT units).
 *
 * What is explained: the head's logit, the pre-sigmoid value of its output unit. The calibrated
 * sigmoid is monotone, so explaining the logit keeps the sign of every reason and keeps
 * contributions additive. Baseline: the training mean of every feature, i.e. z0 = 0 in normalised
 * space (see {@link attributionContract}, which also gives the head's logit there). Every method
 * satisfies completeness, Σ_i contribution_i ≈ logit(z) − logit(0):
 *
 * - `exact-linear`, for a head with no nonlinear hidden layer (a logistic regression over the
 *   features): w ⊙ z, one `Mul`, exact.
 * - `rescale` (the default; DeepLIFT's rescale rule): backpropagate through the dense layers with
 *   each unit's secant slope (a − a0) / (pre − pre0) between input and baseline in place of its
 *   derivative. Completeness then holds exactly (up to float32 rounding) and it costs one forward
 *   and one backward pass over the batch. For a single nonlinear layer it is the exact attribution
 *   of each unit's change split along its inputs.
 * - `integrated-gradients` with m steps (midpoint rule): z_i · (1/m) Σ_k ∂logit/∂z_i(α_k z),
 *   α_k = (k + ½) / m, gradients analytic in the graph (relu → mask of active units, sigmoid →
 *   s·(1 − s)). Completeness only in the limit: the error falls as 1/m for relu networks (each
 *   kink on the path is sampled, not integrated) and costs m forward and backward passes.
 *
 * Raw-feature axis: z_i = (x_i − mean_i) / std_i, so an attribution with respect to the raw x_i
 * from x0 = mean is (x_i − mean_i) · ∂logit/∂x_i = z_i · std_i · ∂logit/∂z_i / std_i: the same number.
 * Column i of the output is raw feature i (`feature_names[i]`).
 */
import { onnx } from 'onnx-proto';
import { z } from 'zod';
import { assertMlpWeights, type DenseLayerWeights } from './mlp-weights';
import { ModelInputError } from './model-input-error';
import { ONNX_OUTPUTS } from './model-outputs';
import type { MultiTaskWeights } from './multi-task-weights';

/** The heads that carry attributions: the binary ones. */
export const ATTRIBUTED_HEADS = ['purchase', 'churn'] as const;
/** One of {@link ATTRIBUTED_HEADS}. */
export type AttributedHead = (typeof ATTRIBUTED_HEADS)[number];

/** Interpolation steps of `integrated-gradients` when none are given. */
export const DEFAULT_ATTRIBUTION_STEPS = 16;

/** How the contributions of a head are computed (see the module comment). */
export const ATTRIBUTION_METHODS = ['rescale', 'integrated-gradients', 'exact-linear'] as const;
/** A method a caller may ask for; a head with no nonlinear hidden layer always gets `exact-linear`. */
export type NonlinearAttributionMethod = 'rescale' | 'integrated-gradients';

/** Schema of {@link AttributionContract}, for the model metadata's serving contract. */
export const attributionContractSchema = z
  .object({
    method: z.enum(ATTRIBUTION_METHODS),
    /** Interpolation steps of `integrated-gradients`; 1 for the other methods. */
    steps: z.number().int().min(1),
    units: z.literal('logit'),
    /** The reference point contributions are measured from. */
    baseline: z
      .object({
        description: z.string().min(1),
        /** Raw feature values of the baseline, in feature order (the training mean). */
        features: z.array(z.number()).min(1),
        /** The head's logit at the baseline: Σ contributions ≈ logit(x) − this. */
        logit: z.number(),
      })
      .strict(),
  })
  .strict();
/** What a reader needs to interpret a head's contributions: method, units and baseline. */
export type AttributionContract = z.infer<typeof attributionContractSchema>;

/** Where the attribution nodes read from and how they compute. */
export interface AttributionNodesOptions {
  /** Name of the graph tensor holding the NORMALISED features, float32 [batch, F]. */
  normalisedInput: string;
  /**
   * How to attribute a head with nonlinear hidden layers. Rescale is exact in completeness and costs
   * about what one more forward pass costs; integrated gradients costs m of them (measured by
   * `test/bench/attribution-cost.ts`). @default 'rescale'
   */
  method?: NonlinearAttributionMethod;
  /** Interpolation steps m of `integrated-gradients`. @default DEFAULT_ATTRIBUTION_STEPS */
  steps?: number;
  /** Name of the symbolic batch dimension of the output. @default 'batch' */
  batchDim?: string;
}

/** Nodes, initializers and the graph output that compute one head's contributions. */
export interface AttributionSubgraph {
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
  /** One output, `ONNX_OUTPUTS.<head>Contributions`, float32 [batch, F]. */
  outputs: onnx.IValueInfoProto[];
  method: AttributionContract['method'];
}

const { DataType } = onnx.TensorProto;

const OUTPUT_NAMES: Record<AttributedHead, string> = {
  purchase: ONNX_OUTPUTS.purchaseContributions,
  churn: ONNX_OUTPUTS.churnContributions,
};

/**
 * The dense layers from the normalised features to the head's output unit: the trunk's, then the
 * head's when it reads the embedding, the head's alone when it reads the features. Throws
 * {@link ModelInputError} when the head is absent or the layers do not chain down to one sigmoid unit.
 */
export function attributedLayers(weights: MultiTaskWeights, head: AttributedHead): DenseLayerWeights[] {
  const headWeights = weights.heads[head];
  if (headWeights === undefined) throw new ModelInputError(`heads.${head}`, 'must be present', 'absent');
  const layers =
    headWeights.input === 'embedding' ? [...weights.trunk, ...headWeights.layers] : headWeights.layers;
  assertMlpWeights({ normalisation: weights.normalisation, layers }, weights.normalisation.mean.length);
  return layers;
}

/**
 * The head's logit (pre-sigmoid value of its output unit) at normalised features `normalised`, in
 * float64. Serving goes through onnxruntime; this gives the baseline's logit for the contract.
 */
export function headLogit(
  weights: MultiTaskWeights,
  head: AttributedHead,
  normalised: ArrayLike<number>,
): number {
  const layers = attributedLayers(weights, head);
  let activations = Array.from(normalised);
  let logit = 0;
  layers.forEach((layer, l) => {
    const pre = layer.bias.slice();
    activations.forEach((a, i) => {
      const row = layer.weights[i] as number[];
      for (let j = 0; j < pre.length; j++) pre[j] = (pre[j] as number) + a * (row[j] as number);
    });
    if (l === layers.length - 1) logit = pre[0] as number;
    else activations = pre.map((v) => activate(layer.activation, v));
  });
  return logit;
}

function activate(activation: string, v: number): number {
  switch (activation) {
    case 'relu':
      return Math.max(v, 0);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-v));
    case 'linear':
      return v;
    default:
      throw unsupportedActivation(activation);
  }
}

function unsupportedActivation(activation: string): ModelInputError {
  return new ModelInputError('layers.activation', 'must be relu, sigmoid or linear to attribute', activation);
}

function resolveSteps(steps: number | undefined): number {
  const m = steps ?? DEFAULT_ATTRIBUTION_STEPS;
  if (!Number.isInteger(m) || m < 1)
    throw new ModelInputError('steps', 'must be a positive integer', String(m));
  return m;
}

const isLinear = (layer: DenseLayerWeights) => (layer.activation as string) === 'linear';

/** The method used: with no nonlinear hidden layer the logit is linear in z, so exact. */
function methodOf(
  layers: DenseLayerWeights[],
  requested: NonlinearAttributionMethod | undefined,
): AttributionContract['method'] {
  return layers.slice(0, -1).every(isLinear) ? 'exact-linear' : (requested ?? 'rescale');
}

/** `weights · column` for weights laid out [in][out]: a constant gradient carried down one layer. */
const carryDown = (layer: DenseLayerWeights, column: number[]): number[] =>
  layer.weights.map((row) => row.reduce((sum, w, j) => sum + w * (column[j] as number), 0));

/**
 * The serving contract of a head's contributions (method, steps, units, baseline = training mean and
 * the head's logit there), to be stored in the model metadata next to the graph.
 */
export function attributionContract(
  weights: MultiTaskWeights,
  head: AttributedHead,
  options: Pick<AttributionNodesOptions, 'method' | 'steps'> = {},
): AttributionContract {
  const layers = attributedLayers(weights, head);
  const method = methodOf(layers, options.method);
  const featureCount = weights.normalisation.mean.length;
  return {
    method,
    steps: method === 'integrated-gradients' ? resolveSteps(options.steps) : 1,
    units: 'logit',
    baseline: {
      description: 'training mean of every feature (zero in normalised space)',
      features: weights.normalisation.mean.slice(),
      logit: headLogit(weights, head, new Array<number>(featureCount).fill(0)),
    },
  };
}

const floatTensor = (name: string, dims: number[], values: number[]): onnx.ITensorProto => ({
  name,
  dims,
  dataType: DataType.FLOAT,
  floatData: values,
});

const transpose = (matrix: number[][]): number[] =>
  (matrix[0] ?? []).flatMap((_, j) => matrix.map((row) => row[j] as number));

/** Below this |pre − pre0| a unit's secant slope is replaced by its derivative (0/0 otherwise). */
const RESCALE_EPSILON = 1e-4;

/** A graph under construction, with the tensor-name prefix of one head's attribution. */
class SubgraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  constructor(
    private readonly prefix: string,
    private readonly output: string,
  ) {}

  /** Add a node and return the name of its output (`name` is prefixed unless it is the output). */
  node(opType: string, input: string[], name: string, attribute?: onnx.IAttributeProto[]): string {
    const out = name === this.output ? name : `${this.prefix}_${name}`;
    this.nodes.push({ name: `${this.prefix}_${name}`, opType, input, output: [out], attribute });
    return out;
  }

  /** Add a float32 initializer and return its name. */
  constant(name: string, dims: number[], values: number[]): string {
    this.initializers.push(floatTensor(`${this.prefix}_${name}`, dims, values));
    return `${this.prefix}_${name}`;
  }
}

/**
 * The slope tensor of one nonlinear unit for the backward pass: the activation's derivative
 * (integrated gradients) or the secant (a − a0) / (pre − pre0) between the input and the baseline
 * (rescale), which falls back to the derivative where the two pre-activations (almost) coincide.
 */
function slopeNodes(
  g: SubgraphBuilder,
  l: number,
  kind: 'relu' | 'sigmoid',
  pre: string,
  activation: string,
  baseline: { pre: number[]; activation: number[] } | undefined,
): string {
  const derivative =
    kind === 'relu'
      ? // Sign(relu(v)) is 1 where the unit is active and 0 elsewhere: the relu's derivative.
        g.node('Sign', [activation], `dense_${l}_relu_mask`)
      : g.node(
          'Mul',
          [
            activation,
            g.node('Sub', [g.constant(`dense_${l}_one`, [], [1]), activation], `dense_${l}_complement`),
          ],
          `dense_${l}_sigmoid_derivative`,
        );
  if (baseline === undefined) return derivative;
  const width = baseline.pre.length;
  const deltaPre = g.node(
    'Sub',
    [pre, g.constant(`dense_${l}_baseline_pre`, [width], baseline.pre)],
    `dense_${l}_delta_pre`,
  );
  const deltaActivation = g.node(
    'Sub',
    [activation, g.constant(`dense_${l}_baseline_activation`, [width], baseline.activation)],
    `dense_${l}_delta_activation`,
  );
  const close = g.node(
    'Less',
    [
      g.node('Abs', [deltaPre], `dense_${l}_abs_delta_pre`),
      g.constant(`dense_${l}_epsilon`, [], [RESCALE_EPSILON]),
    ],
    `dense_${l}_close_to_baseline`,
  );
  // The denominator is made safe before dividing, so no inf or NaN is ever computed.
  const denominator = g.node(
    'Where',
    [close, g.constant(`dense_${l}_unit`, [], [1]), deltaPre],
    `dense_${l}_denominator`,
  );
  const secant = g.node('Div', [deltaActivation, denominator], `dense_${l}_secant`);
  return g.node('Where', [close, derivative, secant], `dense_${l}_multiplier`);
}

/**
 * Nodes that compute the contributions of `head` from the normalised features, to be appended to a
 * graph that already computes `options.normalisedInput`. Tensor and node names are prefixed with
 * `<head>_attribution_` so they never clash with the forward pass. Throws {@link ModelInputError}
 * when the head is absent, its layers do not chain or `steps` is not a positive integer.
 */
export function attributionNodes(
  weights: MultiTaskWeights,
  head: AttributedHead,
  options: AttributionNodesOptions,
): AttributionSubgraph {
  const layers = attributedLayers(weights, head);
  const method = methodOf(layers, options.method);
  const steps = resolveSteps(options.steps);
  const featureCount = weights.normalisation.mean.length;
  const z = options.normalisedInput;
  const output = OUTPUT_NAMES[head];
  const outputs = [floatValueInfo(output, [options.batchDim ?? 'batch', featureCount])];
  const g = new SubgraphBuilder(`${head}_attribution`, output);
  const done = () => ({ nodes: g.nodes, initializers: g.initializers, outputs, method });

  // d logit / d a is a constant above the topmost nonlinear hidden layer: fold it here, not in the graph.
  const lastNonlinear = layers.findLastIndex((layer, l) => l < layers.length - 1 && !isLinear(layer));
  let constantGradient = (layers[layers.length - 1] as DenseLayerWeights).weights.map((r) => r[0] as number);
  for (let l = layers.length - 2; l > lastNonlinear; l--) {
    constantGradient = carryDown(layers[l] as DenseLayerWeights, constantGradient);
  }

  if (method === 'exact-linear') {
    // logit = w·z + b, so w_i · (z_i − 0) is exact and sums to logit(z) − logit(0).
    g.node('Mul', [z, g.constant('weights', [featureCount], constantGradient)], output);
    return done();
  }

  // Integrated gradients: [batch, F] · [m, 1, 1] broadcasts to the m points [m, batch, F] on the
  // path from the baseline 0. Rescale: the input itself, compared with the baseline's activations.
  let activation =
    method === 'integrated-gradients'
      ? g.node(
          'Mul',
          [
            z,
            g.constant(
              'alphas',
              [steps, 1, 1],
              Array.from({ length: steps }, (_, k) => (k + 0.5) / steps),
            ),
          ],
          'path',
        )
      : z;
  const baseline = method === 'rescale' ? baselineActivations(layers, featureCount) : undefined;
  // Forward up to the topmost nonlinear layer, keeping each layer's slope (undefined: linear, slope 1).
  const slopes: (string | undefined)[] = [];
  layers.slice(0, lastNonlinear + 1).forEach((layer, l) => {
    const kernel = g.constant(
      `dense_${l}_kernel`,
      [layer.weights.length, layer.bias.length],
      layer.weights.flat(),
    );
    const bias = g.constant(`dense_${l}_bias`, [layer.bias.length], layer.bias);
    const pre = g.node(
      'Add',
      [g.node('MatMul', [activation, kernel], `dense_${l}_product`), bias],
      `dense_${l}_pre`,
    );
    const kind: string = layer.activation;
    if (kind === 'linear') {
      activation = pre;
      slopes.push(undefined);
      return;
    }
    if (kind !== 'relu' && kind !== 'sigmoid') throw unsupportedActivation(kind);
    activation = g.node(kind === 'relu' ? 'Relu' : 'Sigmoid', [pre], `dense_${l}_${kind}`);
    slopes.push(slopeNodes(g, l, kind, pre, activation, baseline?.[l]));
  });

  // Backward from the topmost nonlinear layer: its slope times the constant row gives the gradient
  // at its pre-activation, then through each kernel (transposed) and each slope below.
  let gradient = g.node(
    'Mul',
    [
      slopes[lastNonlinear] as string,
      g.constant('output_gradient', [constantGradient.length], constantGradient),
    ],
    `dense_${lastNonlinear}_pre_gradient`,
  );
  for (let l = lastNonlinear; l >= 0; l--) {
    const layer = layers[l] as DenseLayerWeights;
    const kernelT = g.constant(
      `dense_${l}_kernel_transposed`,
      [layer.bias.length, layer.weights.length],
      transpose(layer.weights),
    );
    gradient = g.node('MatMul', [gradient, kernelT], `dense_${l}_input_gradient`);
    const below = slopes[l - 1];
    if (below !== undefined) gradient = g.node('Mul', [gradient, below], `dense_${l - 1}_pre_gradient`);
  }
  if (method === 'integrated-gradients') {
    gradient = g.node('ReduceMean', [gradient], 'mean_gradient', [
      { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [0] },
      { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
    ]);
  }
  g.node('Mul', [gradient, z], output);
  return done();
}

/** Pre-activations and activations of each layer at the baseline (normalised features 0), float64. */
function baselineActivations(
  layers: DenseLayerWeights[],
  featureCount: number,
): { pre: number[]; activation: number[] }[] {
  let activation = new Array<number>(featureCount).fill(0);
  return layers.slice(0, -1).map((layer) => {
    const pre = layer.bias.map((b, j) =>
      activation.reduce((sum, a, i) => sum + a * (layer.weights[i]?.[j] as number), b),
    );
    activation = pre.map((v) => activate(layer.activation, v));
    return { pre, activation };
  });
}

/**
 * Append {@link attributionNodes} to `graph` (nodes, initializers and the output), for the exporter.
 * Returns the method used, for the metadata.
 */
export function appendAttributionNodes(
  graph: onnx.IGraphProto,
  weights: MultiTaskWeights,
  head: AttributedHead,
  options: AttributionNodesOptions,
): AttributionContract['method'] {
  const piece = attributionNodes(weights, head, options);
  graph.node = [...(graph.node ?? []), ...piece.nodes];
  graph.initializer = [...(graph.initializer ?? []), ...piece.initializers];
  graph.output = [...(graph.output ?? []), ...piece.outputs];
  return piece.method;
}

function floatValueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
