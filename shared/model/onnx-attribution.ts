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
 * How the graph is built, for speed: onnxruntime's cost on ingest's batches (≈ 16 rows) is mostly
 * per node, not per value, so the rescale subgraph is written in as few nodes as it can be. Relu
 * layers take four nodes (five when a layer above reads them; {@link rescaledReluLayer}) instead of
 * nine, rescaled heads of the same layout (the trainer's purchase and churn heads) run stacked along
 * a leading head axis and are split at the end, and the constant gradient above the topmost
 * nonlinear layer is folded into that layer's transposed kernel. On the bench model (45 → 32 → 16
 * trunk, purchase and churn 16 → 4 → 1, next categories) the whole graph went from 76 nodes (61 after
 * onnxruntime's fusions) to 48 (33), and a 16-row run from 0.133 to 0.092 CPU ms (0.047 without
 * attributions), 2026-12-01 on a 2-core machine at load ≈ 9 (README, Features and scoring).
 *
 * Cost (`test/bench/attribution-cost.ts`, 100 rows, one thread, FEATURE_COUNT → 32 → 16 trunk and
 * two heads reading it directly, on a loaded 2-core machine, load ≈ 8.8): probabilities alone 0.057
 * ms; rescale adds 0.152 ms (0.196 before the node count came down); integrated gradients with
 * m = 16 adds 1.5 ms, about ingest's whole per-batch budget at 50,000 events/s (2 ms per 100 events).
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

/** Below this |pre − pre0| a sigmoid unit's secant slope is replaced by its derivative at the baseline. */
const RESCALE_EPSILON = 1e-4;

/** The smallest normal float32: stands in for a baseline pre-activation of exactly 0 (see below). */
const MIN_NORMAL_FLOAT32 = 2 ** -126;

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

  /** An int64 vector (e.g. the shape `Reshape` takes). */
  int64s(name: string, values: number[]): string {
    this.initializers.push({ name, dims: [values.length], dataType: DataType.INT64, int64Data: values });
    return name;
  }
}

/**
 * The same layer of H heads whose attributions are computed together, one per head with its
 * baseline. H = 1 for a head alone and for the trunk the heads share. `stacked` (H ≥ 2): the
 * group's tensors carry a leading head axis, [H, batch, width], and its constants [H, 1, width] or
 * [H, in, out], so one node serves every head of the group (onnxruntime's cost here is mostly per
 * node, not per value: 100-row tensors of at most a few thousand values).
 */
interface LayerGroup {
  layers: readonly DenseLayerWeights[];
  baselines: readonly { pre: number[]; activation: number[] }[];
  stacked: boolean;
}

/** A per-unit constant, one row per head: [width], or [H, 1, width] stacked (broadcast over the rows). */
function unitConstant(g: SubgraphBuilder, name: string, perHead: number[][], stacked: boolean): string {
  const width = perHead[0]!.length;
  return g.constant(name, stacked ? [perHead.length, 1, width] : [width], perHead.flat());
}

/** A [rows][columns] matrix per head: [rows, columns], or [H, rows, columns] stacked. */
function matrixConstant(g: SubgraphBuilder, name: string, perHead: number[][][], stacked: boolean): string {
  const dims = [perHead[0]!.length, perHead[0]![0]?.length ?? 0];
  return g.constant(name, stacked ? [perHead.length, ...dims] : dims, perHead.flat(2));
}

const transposed = (matrix: readonly number[][]): number[][] =>
  (matrix[0] ?? []).map((_, j) => matrix.map((row) => row[j] as number));

/** One layer of the attribution's forward pass: what the next layer reads and the layer's slope. */
interface ForwardLayer {
  /** Integrated gradients: the activation at the path points. Rescale: activation − baseline's. */
  output: string;
  /** Tensor of d a / d pre to backpropagate with, or undefined for a linear layer (slope 1). */
  slope: string | undefined;
  /**
   * The kernel per head that the backward pass carries the gradient through, [in][out] as the layer
   * has it, except that a rescaled relu layer's columns are multiplied by σ (see
   * {@link rescaledReluLayer}).
   */
  kernels: number[][][];
}

const negatedWhere = (layer: DenseLayerWeights, flip: readonly boolean[]): number[][] =>
  layer.weights.map((row) => row.map((w, j) => (flip[j] ? -w : w)));

/**
 * A relu layer under the rescale rule in four nodes (five when a layer above reads its output),
 * exact where the secant is 0 or 1 and never dividing by zero. With pre0 the unit's baseline
 * pre-activation and Δ = pre − pre0:
 *
 * - pre0 > 0 (active at the baseline): Δa = max(Δ, −pre0), so the secant is 1 while the unit stays
 *   active and pre0 / −Δ once it switches off. With t = −Δ: slope = pre0 / max(t, pre0).
 * - pre0 ≤ 0 (inactive): Δa = max(Δ − |pre0|, 0), so the secant is 0 until Δ passes |pre0| and
 *   1 − |pre0| / Δ after. With t = Δ: slope = 1 − |pre0| / max(t, |pre0|).
 *
 * So with σ = −1 for active units and +1 for inactive ones, t = σΔ comes out of the MatMul with the
 * unit's kernel column multiplied by σ (a sign flip, exact), r = |pre0| / max(t, |pre0|) ∈ (0, 1],
 * and σ · slope = α − r with α = 0 for active units, 1 for inactive ones: `Max`, `Div`, `Sub`
 * instead of the Add, Relu, Sub, Abs, Less, Where, Div, Where the general form takes (which gets
 * Δa by cancellation, so it must replace the secant by the derivative where |Δ| < ε; here the
 * secant is exactly the derivative there unless |pre0| < |Δ|). The layer hands on Δa = (σ · slope)
 * · t, and the backward pass takes the σ-folded slope with the same σ-flipped kernel, transposed,
 * so σ cancels (σ² = 1). A baseline of exactly 0 (the kink) counts as inactive with |pre0| the
 * smallest normal float32: slope 0 below, 1 − 2⁻¹²⁶ / Δ above.
 */
function rescaledReluLayer(
  g: SubgraphBuilder,
  input: string,
  group: LayerGroup,
  name: string,
  handsOn: boolean,
): ForwardLayer {
  const active = group.baselines.map((baseline) => baseline.pre.map((v) => v > 0));
  const kernels = group.layers.map((layer, h) => negatedWhere(layer, active[h]!));
  const { stacked } = group;
  const kernel = matrixConstant(g, `${name}_signed_kernel`, kernels, stacked);
  const t = g.node('MatMul', [input, kernel], `${name}_signed_delta_pre`);
  const knee = unitConstant(
    g,
    `${name}_baseline_distance_to_kink`,
    group.baselines.map((baseline) => baseline.pre.map((v) => Math.max(Math.abs(v), MIN_NORMAL_FLOAT32))),
    stacked,
  );
  const ratio = g.node('Div', [knee, g.node('Max', [t, knee], `${name}_bounded`)], `${name}_ratio`);
  const inactive = unitConstant(
    g,
    `${name}_inactive_at_baseline`,
    active.map((units) => units.map((a) => (a ? 0 : 1))),
    stacked,
  );
  const slope = g.node('Sub', [inactive, ratio], `${name}_signed_multiplier`);
  // The topmost nonlinear layer's Δa would feed no node: not emitted (onnxruntime runs dead nodes).
  return { output: handsOn ? g.node('Mul', [slope, t], `${name}_delta`) : '', slope, kernels };
}

/**
 * One dense layer of the attribution's forward pass, named `<prefix>_dense_<l>_*`.
 *
 * Integrated gradients runs the layer on the path points and keeps the activation's derivative.
 * Rescale carries differences from the baseline: Δpre = Δa_in · W (the bias cancels); relu layers
 * as {@link rescaledReluLayer} says; for sigmoid layers pre = Δpre + pre0 and the slope is the
 * secant Δa / Δpre, or the derivative at the baseline where |Δpre| < ε (where the secant is 0/0 and
 * either slope moves the logit by less than ε · |weights|). `handsOn`: a layer above reads the output.
 */
function forwardLayer(
  g: SubgraphBuilder,
  method: NonlinearAttributionMethod,
  input: string,
  group: LayerGroup,
  name: string,
  handsOn: boolean,
): ForwardLayer {
  const kind: string = group.layers[0]!.activation;
  if (method === 'rescale' && kind === 'relu') return rescaledReluLayer(g, input, group, name, handsOn);
  const { stacked, baselines } = group;
  const kernels = group.layers.map((layer) => layer.weights);
  const kernel = matrixConstant(g, `${name}_kernel`, kernels, stacked);
  const product = g.node('MatMul', [input, kernel], `${name}_product`);
  // Rescale carries Δpre itself through a linear layer; the bias cancels.
  if (kind === 'linear' && method === 'rescale') return { output: product, slope: undefined, kernels };
  const offset =
    method === 'rescale'
      ? unitConstant(
          g,
          `${name}_baseline_pre`,
          baselines.map((b) => b.pre),
          stacked,
        )
      : unitConstant(
          g,
          `${name}_bias`,
          group.layers.map((layer) => layer.bias),
          stacked,
        );
  const pre = g.node('Add', [product, offset], `${name}_pre`);
  if (kind === 'linear') return { output: pre, slope: undefined, kernels };
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
    return { output: activation, slope, kernels };
  }
  const delta = g.node(
    'Sub',
    [
      activation,
      unitConstant(
        g,
        `${name}_baseline_activation`,
        baselines.map((b) => b.activation),
        stacked,
      ),
    ],
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
  const slope = g.node(
    'Where',
    [
      close,
      unitConstant(
        g,
        `${name}_baseline_derivative`,
        baselines.map((b) => b.activation.map((a) => a * (1 - a))),
        stacked,
      ),
      secant,
    ],
    `${name}_multiplier`,
  );
  return { output: delta, slope, kernels };
}

/** What one group of heads computes together (see {@link LayerGroup}). */
interface HeadGroup {
  heads: AttributedHead[];
  method: AttributionContract['method'];
  /** Every head's layers from the normalised features to its output unit (same shapes in a group). */
  layers: DenseLayerWeights[][];
}

/** Heads whose attributed layers have the same shapes and activations (and input) can be stacked. */
function layoutOf(weights: MultiTaskWeights, head: AttributedHead, layers: DenseLayerWeights[]): string {
  const shapes = layers.map((layer) => `${layer.weights.length}x${layer.bias.length}:${layer.activation}`);
  return `${weights.heads[head]?.input}|${shapes.join(',')}`;
}

/**
 * The heads in groups: rescaled heads of the same layout together (computed stacked), every other
 * head alone. Order: the first head of each group decides where the group comes.
 */
function headGroups(
  weights: MultiTaskWeights,
  heads: readonly AttributedHead[],
  requested: NonlinearAttributionMethod | undefined,
): HeadGroup[] {
  const groups: HeadGroup[] = [];
  const byLayout = new Map<string, HeadGroup>();
  for (const head of heads) {
    const layers = attributedLayers(weights, head);
    const method = methodOf(layers, requested);
    const layout = method === 'rescale' ? layoutOf(weights, head, layers) : undefined;
    const joined = layout === undefined ? undefined : byLayout.get(layout);
    if (joined !== undefined) {
      joined.heads.push(head);
      joined.layers.push(layers);
      continue;
    }
    const group: HeadGroup = { heads: [head], method, layers: [layers] };
    groups.push(group);
    if (layout !== undefined) byLayout.set(layout, group);
  }
  return groups;
}

/**
 * Nodes that compute the contributions of each of `heads` from the normalised features, to be
 * appended to a graph that already computes `options.normalisedInput`. Heads that read the
 * embedding share one forward pass through the trunk; rescaled heads of the same layout (the
 * trainer's purchase and churn heads) are computed stacked, one node for both, and split at the
 * end. Tensor names start with `attribution_trunk_` or `<head>[_<head>]_attribution_`, so they
 * never clash with the forward pass. Throws {@link ModelInputError} when a head is absent, its
 * layers do not chain or `steps` is not a positive integer.
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
    outputs.push(tensorValueInfo(OUTPUT_NAMES[head], [options.batchDim ?? 'batch', featureCount]));
  }

  for (const { heads: members, method, layers: layersOf } of headGroups(weights, heads, options.method)) {
    for (const head of members) methods[head] = method;
    const layers = layersOf[0]!;
    const stacked = members.length > 1;
    const prefix = `${members.join('_')}_attribution`;

    // d logit / d a is a constant above the topmost nonlinear hidden layer: fold it here, not in the graph.
    const lastNonlinear = layers.findLastIndex((layer, l) => l < layers.length - 1 && !isLinear(layer));
    const constantGradients = layersOf.map((headLayers) => {
      let gradient = (headLayers[headLayers.length - 1] as DenseLayerWeights).weights.map(
        (r) => r[0] as number,
      );
      for (let l = headLayers.length - 2; l > lastNonlinear; l--) {
        gradient = carryDown(headLayers[l] as DenseLayerWeights, gradient);
      }
      return gradient;
    });
    if (method === 'exact-linear') {
      // logit = w·z + b, so w_i · (z_i − 0) is exact and sums to logit(z) − logit(0).
      const [head] = members as [AttributedHead];
      const constant = g.constant(`${prefix}_weights`, [featureCount], constantGradients[0]!);
      g.node('Mul', [z, constant], OUTPUT_NAMES[head]);
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
    const baselines = layersOf.map((headLayers) =>
      forwardFloat64(headLayers, new Array<number>(featureCount).fill(0)),
    );
    const sharedTrunk = weights.heads[members[0]!]?.input === 'embedding' ? weights.trunk.length : 0;
    const forward: ForwardLayer[] = [];
    let input = pathInput;
    for (let l = 0; l <= lastNonlinear; l++) {
      const handsOn = l < lastNonlinear;
      const step =
        l < sharedTrunk
          ? // The trunk's layers and baselines are the same for every head: one group of one.
            (trunkForward[l] ??= forwardLayer(
              g,
              method,
              input,
              { layers: [layersOf[0]![l]!], baselines: [baselines[0]![l]!], stacked: false },
              `attribution_trunk_dense_${l}`,
              true,
            ))
          : forwardLayer(
              g,
              method,
              input,
              {
                layers: layersOf.map((headLayers) => headLayers[l]!),
                baselines: baselines.map((b) => b[l]!),
                stacked,
              },
              `${prefix}_dense_${l}`,
              handsOn,
            );
      forward.push(step);
      input = step.output;
    }

    // Backward from the topmost nonlinear layer: its slope ⊙ the constant row gives the gradient at
    // its pre-activation, then through each kernel (transposed) and each slope below. The row is
    // folded into the topmost kernel, (s ⊙ row) · Wᵀ = s · (diag(row) Wᵀ): one node fewer per head.
    let gradient = forward[lastNonlinear]!.slope as string;
    for (let l = lastNonlinear; l >= 0; l--) {
      // Below the top a trunk layer's kernel is the one every head shares; the topmost carries each
      // head's constant row, so it is per head even where the heads share the layer.
      const { kernels } = forward[l]!;
      const top = l === lastNonlinear;
      const perHead = top ? layersOf.map((_, h) => kernels[kernels.length > 1 ? h : 0]!) : kernels;
      const transposedKernels = perHead.map((kernel, h) => {
        const rows = transposed(kernel);
        return top ? rows.map((row, j) => row.map((w) => w * constantGradients[h]![j]!)) : rows;
      });
      const kernelT = matrixConstant(
        g,
        `${prefix}_dense_${l}_kernel_transposed`,
        transposedKernels,
        transposedKernels.length > 1,
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
    if (!stacked) {
      g.node('Mul', [gradient, z], OUTPUT_NAMES[members[0]!]);
      continue;
    }
    // [H, batch, F] → [H · batch, F] (a view) → H equal [batch, F] blocks of rows, one per head, in
    // one node: Gather per head would take three (onnxruntime rewrites them to Split + a Squeeze each).
    const all = g.node('Mul', [gradient, z], `${prefix}_contributions`);
    const rows = g.node(
      'Reshape',
      [all, g.int64s(`${prefix}_rows_shape`, [-1, featureCount])],
      `${prefix}_contribution_rows`,
    );
    g.nodes.push({
      name: `${prefix}_split`,
      opType: 'Split',
      input: [rows],
      output: members.map((head) => OUTPUT_NAMES[head]),
      attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
    });
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
