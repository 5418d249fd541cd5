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
 *   and one backward pass over the batch: each unit's change from the baseline is shared among
 *   the inputs in proportion to how much each moved the unit's pre-activation. Unlike integrated
 *   gradients it depends on how the network is built, not only on the function it computes; we
 *   explain one network, so that costs nothing here.
 * - `integrated-gradients` with m steps (midpoint rule): z_i · (1/m) Σ_k ∂logit/∂z_i(α_k z),
 *   α_k = (k + ½) / m, gradients analytic in the graph (relu → mask of active units, sigmoid →
 *   s·(1 − s)). Completeness only in the limit: the error falls as 1/m for relu networks (each
 *   kink on the path is sampled, not integrated) and costs m forward and backward passes.
 *
 * Cost (`test/bench/attribution-cost.ts`, 100 rows, one thread, FEATURE_COUNT → 32 → 16 trunk and
 * two heads, on a loaded 2-core machine): probabilities alone 0.09–0.13 ms; rescale adds 0.19–0.27
 * ms (heads on the embedding share one trunk pass); integrated gradients with m = 16 adds 1.7–2.4 ms,
 * more than ingest's whole per-batch budget at 50,000 events/s (2 ms per 100 events).
 *
 * Raw-feature axis: z_i = (x_i − mean_i) / std_i, so an attribution with respect to the raw x_i
 * from x0 = mean is (x_i − mean_i) · ∂logit/∂x_i = z_i · std_i · ∂logit/∂z_i / std_i: the same number.
 * Column i of the output is raw feature i (`feature_names[i]`).
 */
import { onnx } from 'onnx-proto';
import { z } from 'zod';
import { assertMlpWeights, type DenseLayerWeights } from './mlp-weights';
import { ModelInputError } from './model-input-error';
import { attributionBaselineSchema } from './model-metadata';
import { ONNX_OUTPUTS } from './model-outputs';
import type { MultiTaskWeights } from './multi-task-weights';
import { tensorValueInfo } from './onnx-export';

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
    baseline: attributionBaselineSchema,
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

/** Nodes, initializers and graph outputs that compute the heads' contributions. */
export interface AttributionSubgraph {
  nodes: onnx.INodeProto[];
  initializers: onnx.ITensorProto[];
  /** One output per head, `ONNX_OUTPUTS.<head>Contributions`, float32 [batch, F], in head order. */
  outputs: onnx.IValueInfoProto[];
  /** The method each head got. */
  methods: Partial<Record<AttributedHead, AttributionContract['method']>>;
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
  return forwardFloat64(layers, Array.from(normalised))[layers.length - 1]?.pre[0] as number;
}

/** Pre-activations and activations of every layer at `input`, float64. */
function forwardFloat64(
  layers: DenseLayerWeights[],
  input: number[],
): { pre: number[]; activation: number[] }[] {
  let activation = input;
  return layers.map((layer) => {
    const pre = layer.bias.slice();
    activation.forEach((a, i) => {
      const row = layer.weights[i] as number[];
      for (let j = 0; j < pre.length; j++) pre[j] = (pre[j] as number) + a * (row[j] as number);
    });
    activation = pre.map((v) => activate(layer.activation, v));
    return { pre, activation };
  });
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

/** Below this |pre − pre0| a unit's secant slope is replaced by its derivative at the baseline. */
const RESCALE_EPSILON = 1e-4;

/** Nodes and initializers under construction; every node is named after its one output. */
class SubgraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];

  node(opType: string, input: string[], output: string, attribute?: onnx.IAttributeProto[]): string {
    this.nodes.push({ name: output, opType, input, output: [output], attribute });
    return output;
  }

  constant(name: string, dims: number[], values: number[]): string {
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }
}

/** One layer of the attribution's forward pass: what the next layer reads and the layer's slope. */
interface ForwardLayer {
  /** Integrated gradients: the activation at the path points. Rescale: activation − baseline's. */
  output: string;
  /** Tensor of d a / d pre to backpropagate with, or undefined for a linear layer (slope 1). */
  slope: string | undefined;
}

/**
 * One dense layer of the attribution's forward pass, named `<prefix>_dense_<l>_*`.
 *
 * Integrated gradients runs the layer on the path points and keeps the activation's derivative.
 * Rescale carries differences from the baseline: Δpre = Δa_in · W (the bias cancels), pre = Δpre +
 * pre0, and the slope is the secant Δa / Δpre, or the derivative at the baseline where |Δpre| < ε
 * (where the secant is 0/0 and either slope moves the logit by less than ε · |weights|).
 */
function forwardLayer(
  g: SubgraphBuilder,
  method: NonlinearAttributionMethod,
  input: string,
  layer: DenseLayerWeights,
  baseline: { pre: number[]; activation: number[] },
  name: string,
): ForwardLayer {
  const width = layer.bias.length;
  const kernel = g.constant(`${name}_kernel`, [layer.weights.length, width], layer.weights.flat());
  const product = g.node('MatMul', [input, kernel], `${name}_product`);
  const offset =
    method === 'rescale'
      ? g.constant(`${name}_baseline_pre`, [width], baseline.pre)
      : g.constant(`${name}_bias`, [width], layer.bias);
  const pre = g.node('Add', [product, offset], `${name}_pre`);
  const kind: string = layer.activation;
  if (kind === 'linear') return { output: method === 'rescale' ? product : pre, slope: undefined };
  if (kind !== 'relu' && kind !== 'sigmoid') throw unsupportedActivation(kind);
  const activation = g.node(kind === 'relu' ? 'Relu' : 'Sigmoid', [pre], `${name}_${kind}`);
  if (method === 'integrated-gradients') {
    const slope =
      kind === 'relu'
        ? // Sign(relu(v)) is 1 where the unit is active and 0 elsewhere: the relu's derivative.
          g.node('Sign', [activation], `${name}_relu_mask`)
        : g.node(
            'Mul',
            [
              activation,
              g.node('Sub', [g.constant(`${name}_one`, [], [1]), activation], `${name}_complement`),
            ],
            `${name}_sigmoid_derivative`,
          );
    return { output: activation, slope };
  }
  const delta = g.node(
    'Sub',
    [activation, g.constant(`${name}_baseline_activation`, [width], baseline.activation)],
    `${name}_delta`,
  );
  const close = g.node(
    'Less',
    [g.node('Abs', [product], `${name}_abs_delta_pre`), g.constant(`${name}_epsilon`, [], [RESCALE_EPSILON])],
    `${name}_close_to_baseline`,
  );
  // The denominator is made safe before dividing, so no inf or NaN is ever computed.
  const denominator = g.node(
    'Where',
    [close, g.constant(`${name}_unit`, [], [1]), product],
    `${name}_denominator`,
  );
  const secant = g.node('Div', [delta, denominator], `${name}_secant`);
  const atBaseline = baseline.pre.map((v, j) =>
    kind === 'relu'
      ? v > 0
        ? 1
        : 0
      : (baseline.activation[j] as number) * (1 - (baseline.activation[j] as number)),
  );
  const slope = g.node(
    'Where',
    [close, g.constant(`${name}_baseline_derivative`, [width], atBaseline), secant],
    `${name}_multiplier`,
  );
  return { output: delta, slope };
}

/**
 * Nodes that compute the contributions of each of `heads` from the normalised features, to be
 * appended to a graph that already computes `options.normalisedInput`. Heads that read the
 * embedding share one forward pass through the trunk. Tensor names start with `attribution_trunk_`
 * or `<head>_attribution_`, so they never clash with the forward pass. Throws
 * {@link ModelInputError} when a head is absent, its layers do not chain or `steps` is not a
 * positive integer.
 */
export function attributionNodes(
  weights: MultiTaskWeights,
  heads: readonly AttributedHead[],
  options: AttributionNodesOptions,
): AttributionSubgraph {
  const steps = resolveSteps(options.steps);
  const featureCount = weights.normalisation.mean.length;
  const z = options.normalisedInput;
  const g = new SubgraphBuilder();
  const outputs: onnx.IValueInfoProto[] = [];
  const methods: Partial<Record<AttributedHead, AttributionContract['method']>> = {};
  const trunkForward: ForwardLayer[] = [];
  let pathInput: string | undefined;

  for (const head of heads) {
    const layers = attributedLayers(weights, head);
    const method = methodOf(layers, options.method);
    methods[head] = method;
    const output = OUTPUT_NAMES[head];
    outputs.push(tensorValueInfo(output, [options.batchDim ?? 'batch', featureCount]));
    const prefix = `${head}_attribution`;

    // d logit / d a is a constant above the topmost nonlinear hidden layer: fold it here, not in the graph.
    const lastNonlinear = layers.findLastIndex((layer, l) => l < layers.length - 1 && !isLinear(layer));
    let constantGradient = (layers[layers.length - 1] as DenseLayerWeights).weights.map(
      (r) => r[0] as number,
    );
    for (let l = layers.length - 2; l > lastNonlinear; l--) {
      constantGradient = carryDown(layers[l] as DenseLayerWeights, constantGradient);
    }
    if (method === 'exact-linear') {
      // logit = w·z + b, so w_i · (z_i − 0) is exact and sums to logit(z) − logit(0).
      g.node('Mul', [z, g.constant(`${prefix}_weights`, [featureCount], constantGradient)], output);
      continue;
    }

    // Integrated gradients: [batch, F] · [m, 1, 1] broadcasts to the m points [m, batch, F] on the
    // path from the baseline 0. Rescale: z itself is the input's difference from the baseline.
    pathInput ??=
      method === 'integrated-gradients'
        ? g.node(
            'Mul',
            [
              z,
              g.constant(
                'attribution_alphas',
                [steps, 1, 1],
                Array.from({ length: steps }, (_, k) => (k + 0.5) / steps),
              ),
            ],
            'attribution_path',
          )
        : z;
    const baseline = forwardFloat64(layers, new Array<number>(featureCount).fill(0));
    const sharedTrunk = weights.heads[head]?.input === 'embedding' ? weights.trunk.length : 0;
    const forward: ForwardLayer[] = [];
    let input = pathInput;
    for (let l = 0; l <= lastNonlinear; l++) {
      const layer = layers[l] as DenseLayerWeights;
      const step =
        l < sharedTrunk
          ? (trunkForward[l] ??= forwardLayer(
              g,
              method,
              input,
              layer,
              baseline[l]!,
              `attribution_trunk_dense_${l}`,
            ))
          : forwardLayer(g, method, input, layer, baseline[l]!, `${prefix}_dense_${l}`);
      forward.push(step);
      input = step.output;
    }

    // Backward from the topmost nonlinear layer: its slope times the constant row gives the gradient
    // at its pre-activation, then through each kernel (transposed) and each slope below.
    let gradient = g.node(
      'Mul',
      [
        forward[lastNonlinear]?.slope as string,
        g.constant(`${prefix}_output_gradient`, [constantGradient.length], constantGradient),
      ],
      `${prefix}_dense_${lastNonlinear}_pre_gradient`,
    );
    for (let l = lastNonlinear; l >= 0; l--) {
      const layer = layers[l] as DenseLayerWeights;
      const kernelT = g.constant(
        `${prefix}_dense_${l}_kernel_transposed`,
        [layer.bias.length, layer.weights.length],
        transpose(layer.weights),
      );
      gradient = g.node('MatMul', [gradient, kernelT], `${prefix}_dense_${l}_input_gradient`);
      const below = forward[l - 1]?.slope;
      if (below !== undefined)
        gradient = g.node('Mul', [gradient, below], `${prefix}_dense_${l - 1}_pre_gradient`);
    }
    if (method === 'integrated-gradients') {
      gradient = g.node('ReduceMean', [gradient], `${prefix}_mean_gradient`, [
        { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [0] },
        { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 },
      ]);
    }
    g.node('Mul', [gradient, z], output);
  }
  return { nodes: g.nodes, initializers: g.initializers, outputs, methods };
}

/**
 * Append {@link attributionNodes} to `graph` (nodes, initializers and outputs), for the exporter.
 * Returns the method used per head, for the metadata.
 */
export function appendAttributionNodes(
  graph: onnx.IGraphProto,
  weights: MultiTaskWeights,
  heads: readonly AttributedHead[],
  options: AttributionNodesOptions,
): AttributionSubgraph['methods'] {
  const piece = attributionNodes(weights, heads, options);
  graph.node = [...(graph.node ?? []), ...piece.nodes];
  graph.initializer = [...(graph.initializer ?? []), ...piece.initializers];
  graph.output = [...(graph.output ?? []), ...piece.outputs];
  return piece.methods;
}
