/**
 * Writes a trained {@link MlpWeights} as an ONNX graph that onnxruntime runs in the ingest function:
 *
 *   features [batch, d] → Sub(mean) → Div(std) → (MatMul → Add → Relu)* → MatMul → Add → Sigmoid
 *   → purchase_probability [batch, 1]
 *
 * Normalisation is baked in as initializers so the caller feeds raw feature vectors and the scaling
 * can never drift from the weights it was trained with.
 */
import { onnx } from 'onnx-proto';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from './model-metadata';
import { assertMlpWeights, type MlpWeights } from './mlp-weights';
import { ModelInputError } from './model-input-error';

/** ONNX default-domain operator set the graph is written against (Sub, Div, MatMul, Add, Relu, Sigmoid). */
export const ONNX_OPSET_VERSION = 17;
/** ONNX IR version 8 (ONNX 1.10+), the newest the `onnx-proto` definitions know. */
export const ONNX_IR_VERSION = 8;
/** Name of the symbolic batch dimension. */
const BATCH_DIM = 'batch';

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

function floatInitializer(name: string, dims: number[], values: number[]): onnx.ITensorProto {
  return { name, dims, dataType: DataType.FLOAT, floatData: values };
}

function tensorValueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
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

/**
 * Serialise the network (MLP or one-layer logistic regression) to ONNX protobuf bytes.
 * Throws {@link ModelInputError} when shapes do not chain or the feature names do not match the input width.
 */
export function exportMlpToOnnx(weights: MlpWeights, options: OnnxExportOptions): Uint8Array {
  const { featureNames, producer, modelVersion } = options;
  const inputSize = featureNames.length;
  if (inputSize === 0) throw new ModelInputError('featureNames', 'needs at least one name', '0');
  assertMlpWeights(weights, inputSize);

  const initializer: onnx.ITensorProto[] = [
    floatInitializer('normalisation_mean', [inputSize], weights.normalisation.mean),
    floatInitializer('normalisation_std', [inputSize], weights.normalisation.std),
  ];
  const node: onnx.INodeProto[] = [
    {
      name: 'subtract_mean',
      opType: 'Sub',
      input: [ONNX_INPUT_NAME, 'normalisation_mean'],
      output: ['centred'],
    },
    { name: 'divide_std', opType: 'Div', input: ['centred', 'normalisation_std'], output: ['standardised'] },
  ];
  let current = 'standardised';
  weights.layers.forEach((layer, l) => {
    const inWidth = layer.weights.length;
    const outWidth = layer.bias.length;
    const isLast = l === weights.layers.length - 1;
    initializer.push(
      floatInitializer(`dense_${l}_kernel`, [inWidth, outWidth], layer.weights.flat()),
      floatInitializer(`dense_${l}_bias`, [outWidth], layer.bias),
    );
    node.push(
      {
        name: `dense_${l}_matmul`,
        opType: 'MatMul',
        input: [current, `dense_${l}_kernel`],
        output: [`dense_${l}_product`],
      },
      {
        name: `dense_${l}_add`,
        opType: 'Add',
        input: [`dense_${l}_product`, `dense_${l}_bias`],
        output: [`dense_${l}_logit`],
      },
    );
    const activated = isLast ? ONNX_OUTPUT_NAME : `dense_${l}_activation`;
    node.push({
      name: `dense_${l}_${layer.activation}`,
      opType: layer.activation === 'relu' ? 'Relu' : 'Sigmoid',
      input: [`dense_${l}_logit`],
      output: [activated],
    });
    current = activated;
  });

  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET_VERSION }],
    producerName: producer,
    producerVersion: modelVersion,
    docString: 'Purchase propensity: probability that the profile purchases within the label horizon.',
    graph: {
      name: 'purchase_propensity',
      node,
      initializer,
      input: [tensorValueInfo(ONNX_INPUT_NAME, [BATCH_DIM, inputSize])],
      output: [tensorValueInfo(ONNX_OUTPUT_NAME, [BATCH_DIM, 1])],
    },
    metadataProps: [
      { key: 'model_version', value: modelVersion },
      { key: 'feature_names', value: JSON.stringify(featureNames) },
    ],
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
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
