/**
 * Writes a trained network as the ONNX graph onnxruntime runs in the ingest function. The multi-task
 * graph ({@link exportMultiTaskToOnnx}):
 *
 *   features [B, F] → Sub(mean) → Div(std) → normalised
 *     → trunk (MatMul → Add → activation)* → embedding [B, E]           (only when the trunk has layers)
 *     → purchase head … → purchase_logit → Sigmoid → purchase_probability [B, 1]
 *     → churn head    … → churn_logit    → Sigmoid → churn_probability [B, 1]          (optional)
 *     → category head … → next_category_logits → Softmax → next_category_probabilities [B, K + 1]
 *
 * A head reads `embedding` or `normalised` as its weights say. Normalisation is baked in as
 * initializers so the caller feeds raw feature vectors and the scaling can never drift from the
 * weights it was trained with. Further nodes and outputs (the attribution subgraph) are appended
 * through {@link MultiTaskExportOptions.extend}, which receives the {@link OnnxGraphBuilder} and the
 * names of the tensors above.
 */
import { onnx } from 'onnx-proto';
import { ONNX_INPUT_NAME, type ServingOutputs } from './model-metadata';
import { assertMlpWeights, type DenseLayerWeights, type MlpWeights } from './mlp-weights';
import { ModelInputError } from './model-input-error';
import { ONNX_OUTPUTS } from './model-outputs';
import { assertMultiTaskWeights } from './multi-task-network';
import type { MultiTaskWeights } from './multi-task-weights';

/** ONNX default-domain operator set the graph is written against (Sub, Div, MatMul, Add, Relu, Sigmoid, Softmax). */
export const ONNX_OPSET_VERSION = 17;
/** ONNX IR version 8 (ONNX 1.10+), the newest the `onnx-proto` definitions know. */
export const ONNX_IR_VERSION = 8;
/** Name of the symbolic batch dimension. */
export const BATCH_DIM = 'batch';

/** Descriptive fields written into the model file. */
export interface OnnxExportOptions {
  /** Feature names in input column order; stored as JSON in the `feature_names` metadata property. */
  featureNames: readonly string[];
  /** `producer_name` of the model, e.g. `profile-stream-train`. */
  producer: string;
  /** Stored in the `model_version` metadata property (ONNX's own field is an integer). */
  modelVersion: string;
}

const { DataType } = onnx.TensorProto;

/** A float32 tensor value-info, e.g. a graph output; `batch` dims are symbolic. */
export function tensorValueInfo(name: string, dims: readonly (number | string)[]): onnx.IValueInfoProto {
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

/** Names for a dense layer's pre-activation and output tensors. */
export interface DenseTensorNames {
  logit?: string;
  output?: string;
}

/**
 * Collects the nodes, initializers and outputs of one graph, refusing a tensor name written twice (a
 * second writer would silently shadow the first). Exposed so the attribution subgraph can append to
 * the exported graph without re-deriving its names.
 */
export class OnnxGraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly written = new Set<string>([ONNX_INPUT_NAME]);

  private claim(name: string): string {
    if (this.written.has(name)) throw new ModelInputError('graph', 'tensor names must be unique', name);
    this.written.add(name);
    return name;
  }

  /** A float32 initializer of shape `dims`, row-major `values`; returns its name. */
  constant(name: string, dims: readonly number[], values: readonly number[]): string {
    this.initializers.push({
      name: this.claim(name),
      dims: [...dims],
      dataType: DataType.FLOAT,
      floatData: [...values],
    });
    return name;
  }

  /** One node writing the tensor `output` (the node is named after it); returns `output`. */
  node(
    opType: string,
    inputs: readonly string[],
    output: string,
    attribute: onnx.IAttributeProto[] = [],
  ): string {
    this.nodes.push({
      name: `${this.claim(output)}_${opType.toLowerCase()}`,
      opType,
      input: [...inputs],
      output: [output],
      attribute,
    });
    return output;
  }

  /**
   * `activation(input · kernel + bias)` as MatMul → Add (→ Relu | Sigmoid), tensors named after
   * `prefix` unless `names` says otherwise. Returns the pre-activation (`logit`) and the layer's output
   * (the same tensor for a linear layer, named `names.output ?? names.logit`).
   */
  dense(
    prefix: string,
    input: string,
    layer: DenseLayerWeights,
    names: DenseTensorNames = {},
  ): { logit: string; output: string } {
    const dims = [layer.weights.length, layer.bias.length];
    const kernel = this.constant(`${prefix}_kernel`, dims, layer.weights.flat());
    const bias = this.constant(`${prefix}_bias`, [layer.bias.length], layer.bias);
    const product = this.node('MatMul', [input, kernel], `${prefix}_product`);
    if (layer.activation === 'linear') {
      const logit = this.node('Add', [product, bias], names.output ?? names.logit ?? `${prefix}_logit`);
      return { logit, output: logit };
    }
    const logit = this.node('Add', [product, bias], names.logit ?? `${prefix}_logit`);
    const opType = layer.activation === 'relu' ? 'Relu' : 'Sigmoid';
    return { logit, output: this.node(opType, [logit], names.output ?? `${prefix}_${layer.activation}`) };
  }

  /** Dense layers in sequence from `input`, named `${prefix}_${l}`; `last` names the last layer's tensors. */
  denseChain(
    prefix: string,
    input: string,
    layers: readonly DenseLayerWeights[],
    last: DenseTensorNames = {},
  ): { logit: string; output: string } {
    let current = { logit: input, output: input };
    layers.forEach((layer, l) => {
      current = this.dense(`${prefix}_${l}`, current.output, layer, l === layers.length - 1 ? last : {});
    });
    return current;
  }

  /**
   * Append a subgraph built elsewhere (e.g. `attributionNodes` of `onnx-attribution.ts`), refusing any
   * tensor it writes that the graph already has.
   */
  append(piece: {
    nodes: readonly onnx.INodeProto[];
    initializers: readonly onnx.ITensorProto[];
    outputs: readonly onnx.IValueInfoProto[];
  }): void {
    for (const tensor of piece.initializers) this.claim(tensor.name ?? '');
    for (const node of piece.nodes) for (const output of node.output ?? []) this.claim(output);
    this.initializers.push(...piece.initializers);
    this.nodes.push(...piece.nodes);
    this.outputs.push(...piece.outputs);
  }

  /** Declare `name` a float32 graph output of shape `dims` (use {@link BATCH_DIM} for the rows). */
  output(name: string, dims: readonly (number | string)[]): void {
    this.outputs.push(tensorValueInfo(name, dims));
  }
}

/** Tensor names of the exported graph that an extension may read. */
export interface MultiTaskTensors {
  /** Raw features `[B, F]`. */
  input: string;
  /** Standardised features `[B, F]`. */
  normalised: string;
  /** `[B, E]`, when the trunk has layers. */
  embedding?: string;
  /** Pre-sigmoid `[B, 1]` of the purchase head. */
  purchaseLogit: string;
  churnLogit?: string;
  /** Pre-softmax `[B, K + 1]`. */
  categoryLogits?: string;
}

/** Options of {@link exportMultiTaskToOnnx}. */
export interface MultiTaskExportOptions extends OnnxExportOptions {
  /**
   * Appends nodes, initializers and outputs after the heads (e.g. the attribution subgraph). Called
   * once, after the weights were checked.
   */
  extend?: (graph: OnnxGraphBuilder, tensors: MultiTaskTensors) => void;
}

/**
 * Serialise a multi-task network to ONNX protobuf bytes: one input, one named output per head (see
 * the file comment). Throws {@link ModelInputError} when shapes do not chain or the feature names do
 * not match the input width.
 */
export function exportMultiTaskToOnnx(
  weights: MultiTaskWeights,
  options: MultiTaskExportOptions,
): Uint8Array {
  const { featureNames, producer, modelVersion, extend } = options;
  const inputSize = featureNames.length;
  if (inputSize === 0) throw new ModelInputError('featureNames', 'needs at least one name', '0');
  assertMultiTaskWeights(weights, inputSize);

  const graph = new OnnxGraphBuilder();
  const mean = graph.constant('normalisation_mean', [inputSize], weights.normalisation.mean);
  const std = graph.constant('normalisation_std', [inputSize], weights.normalisation.std);
  const centred = graph.node('Sub', [ONNX_INPUT_NAME, mean], 'centred');
  const normalised = graph.node('Div', [centred, std], 'standardised');

  let embedding: string | undefined;
  if (weights.trunk.length > 0) {
    embedding = graph.denseChain('trunk', normalised, weights.trunk, {
      output: ONNX_OUTPUTS.embedding,
    }).output;
  }
  const inputOf = (input: 'embedding' | 'features') =>
    input === 'embedding' ? (embedding as string) : normalised;
  const { purchase, churn, nextCategories } = weights.heads;
  const tensors: MultiTaskTensors = {
    input: ONNX_INPUT_NAME,
    normalised,
    ...(embedding === undefined ? {} : { embedding }),
    purchaseLogit: graph.denseChain('purchase', inputOf(purchase.input), purchase.layers, {
      logit: 'purchase_logit',
      output: ONNX_OUTPUTS.purchase,
    }).logit,
  };
  graph.output(ONNX_OUTPUTS.purchase, [BATCH_DIM, 1]);
  if (churn !== undefined) {
    tensors.churnLogit = graph.denseChain('churn', inputOf(churn.input), churn.layers, {
      logit: 'churn_logit',
      output: ONNX_OUTPUTS.churn,
    }).logit;
    graph.output(ONNX_OUTPUTS.churn, [BATCH_DIM, 1]);
  }
  if (nextCategories !== undefined) {
    const logits = graph.denseChain('next_category', inputOf(nextCategories.input), nextCategories.layers, {
      output: 'next_category_logits',
    }).output;
    tensors.categoryLogits = logits;
    // Softmax over the class axis (opset ≥ 13 normalises along `axis` alone).
    graph.node('Softmax', [logits], ONNX_OUTPUTS.nextCategories, [
      { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 },
    ]);
    graph.output(ONNX_OUTPUTS.nextCategories, [BATCH_DIM, nextCategories.categories.length]);
  }
  if (embedding !== undefined) graph.output(embedding, [BATCH_DIM, weights.trunk.at(-1)!.bias.length]);
  extend?.(graph, tensors);

  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET_VERSION }],
    producerName: producer,
    producerVersion: modelVersion,
    docString: 'Profile model: purchase probability within the label horizon, and the optional heads.',
    graph: {
      name: 'profile_model',
      node: graph.nodes,
      initializer: graph.initializers,
      input: [tensorValueInfo(ONNX_INPUT_NAME, [BATCH_DIM, inputSize])],
      output: graph.outputs,
    },
    metadataProps: [
      { key: 'model_version', value: modelVersion },
      { key: 'feature_names', value: JSON.stringify(featureNames) },
    ],
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Head parameters the weights do not carry. */
export interface HeadParameters {
  labelHorizonHours: number;
  /** Required when the weights have a churn head. */
  churnHorizonDays?: number;
}

/**
 * The `outputs` section of v2 metadata for the graph {@link exportMultiTaskToOnnx} writes from
 * `weights` (without `contributions`: the attribution subgraph declares its own).
 */
export function multiTaskServingOutputs(
  weights: MultiTaskWeights,
  parameters: HeadParameters,
): ServingOutputs {
  const { churn, nextCategories } = weights.heads;
  if (churn !== undefined && parameters.churnHorizonDays === undefined) {
    throw new ModelInputError('churnHorizonDays', 'is required with a churn head', 'undefined');
  }
  const embeddingSize = weights.trunk.at(-1)?.bias.length;
  return {
    purchase: { name: ONNX_OUTPUTS.purchase, labelHorizonHours: parameters.labelHorizonHours },
    ...(churn === undefined
      ? {}
      : { churn: { name: ONNX_OUTPUTS.churn, horizonDays: parameters.churnHorizonDays! } }),
    ...(nextCategories === undefined
      ? {}
      : {
          nextCategories: { name: ONNX_OUTPUTS.nextCategories, categories: [...nextCategories.categories] },
        }),
    ...(embeddingSize === undefined
      ? {}
      : { embedding: { name: ONNX_OUTPUTS.embedding, size: embeddingSize } }),
  };
}

/**
 * Serialise a single-head network (MLP or one-layer logistic regression) to ONNX protobuf bytes: the
 * multi-task graph with the purchase head alone, reading the features (so no embedding output).
 * Throws {@link ModelInputError} when shapes do not chain or the feature names do not match the input width.
 */
export function exportMlpToOnnx(weights: MlpWeights, options: OnnxExportOptions): Uint8Array {
  if (options.featureNames.length === 0)
    throw new ModelInputError('featureNames', 'needs at least one name', '0');
  assertMlpWeights(weights, options.featureNames.length);
  return exportMultiTaskToOnnx(
    {
      normalisation: weights.normalisation,
      trunk: [],
      heads: { purchase: { input: 'features', layers: weights.layers } },
    },
    options,
  );
}

/** What {@link inspectOnnxModel} reads back from model bytes. */
export interface OnnxModelSummary {
  irVersion: number;
  /** Version of the default ONNX domain, or 0 if absent. */
  opsetVersion: number;
  producer: string;
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: { name: string; shape: (number | string)[] }[];
  operators: string[];
  metadata: Record<string, string>;
}

function shapeOf(info: onnx.IValueInfoProto): (number | string)[] {
  return (info.type?.tensorType?.shape?.dim ?? []).map((d) =>
    d.dimParam ? d.dimParam : Number(d.dimValue ?? 0),
  );
}

/** Decode model bytes enough to check their interface (no runtime needed). */
export function inspectOnnxModel(bytes: Uint8Array): OnnxModelSummary {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  const defaultDomain = model.opsetImport.find((o) => !o.domain);
  return {
    irVersion: Number(model.irVersion),
    opsetVersion: Number(defaultDomain?.version ?? 0),
    producer: model.producerName,
    inputs: (graph?.input ?? []).map((i) => ({ name: i.name ?? '', shape: shapeOf(i) })),
    outputs: (graph?.output ?? []).map((o) => ({ name: o.name ?? '', shape: shapeOf(o) })),
    operators: (graph?.node ?? []).map((n) => n.opType ?? ''),
    metadata: Object.fromEntries(model.metadataProps.map((p) => [p.key ?? '', p.value ?? ''])),
  };
}
