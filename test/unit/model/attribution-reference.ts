/**
 * Test-only reference for the attribution subgraph: a float64 forward pass to a head's logit and
 * integrated gradients with NUMERICAL (central-difference) gradients, written independently of the
 * analytic backward pass the ONNX graph does, so the two can check each other.
 */
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import type { DenseLayerWeights } from '../../../shared/model/mlp-weights';
import type { MultiTaskWeights } from '../../../shared/model/multi-task-weights';
import {
  attributionNodes,
  type AttributedHead,
  type AttributionNodesOptions,
} from '../../../shared/model/onnx-attribution';
import { ONNX_IR_VERSION, ONNX_OPSET_VERSION } from '../../../shared/model/onnx-export';

/** The dense layers from the normalised features to the head's output unit. */
function referenceLayers(weights: MultiTaskWeights, head: AttributedHead): DenseLayerWeights[] {
  const h = weights.heads[head];
  if (h === undefined) throw new Error(`no ${head} head`);
  return h.input === 'embedding' ? [...weights.trunk, ...h.layers] : h.layers;
}

/** Normalise one raw row. */
export function normaliseRow(weights: MultiTaskWeights, raw: ArrayLike<number>): number[] {
  const { mean, std } = weights.normalisation;
  return Array.from(raw, (v, i) => (v - mean[i]!) / std[i]!);
}

/** The head's logit (pre-sigmoid) at normalised features `z`, float64. */
export function referenceLogit(
  weights: MultiTaskWeights,
  head: AttributedHead,
  z: readonly number[],
): number {
  const layers = referenceLayers(weights, head);
  let a = z.slice();
  for (const [l, layer] of layers.entries()) {
    const pre = layer.bias.map((b, j) => a.reduce((sum, v, i) => sum + v * layer.weights[i]![j]!, b));
    if (l === layers.length - 1) return pre[0]!;
    a = pre.map((v) => (layer.activation === 'relu' ? Math.max(v, 0) : 1 / (1 + Math.exp(-v))));
  }
  throw new Error('no layers');
}

/**
 * Integrated gradients from the zero baseline with the midpoint rule over `steps` points, the
 * gradient taken by central differences of width `h`.
 */
export function referenceIntegratedGradients(
  weights: MultiTaskWeights,
  head: AttributedHead,
  z: readonly number[],
  steps: number,
  h = 1e-6,
): number[] {
  return z.map((zi, i) => {
    let sum = 0;
    for (let k = 0; k < steps; k++) {
      const point = z.map((v) => (v * (k + 0.5)) / steps);
      const up = point.slice();
      const down = point.slice();
      up[i] = up[i]! + h;
      down[i] = down[i]! - h;
      sum += (referenceLogit(weights, head, up) - referenceLogit(weights, head, down)) / (2 * h);
    }
    return (zi * sum) / steps;
  });
}

/**
 * DeepLIFT's rescale rule by brute force: forward at z and at the baseline 0, every unit's secant
 * slope (its derivative where the two pre-activations coincide), then the chain rule in float64.
 */
export function referenceRescale(
  weights: MultiTaskWeights,
  head: AttributedHead,
  z: readonly number[],
): number[] {
  const layers = referenceLayers(weights, head);
  const slopes: number[][] = [];
  let a = z.slice();
  let a0 = z.map(() => 0);
  const affine = (layer: DenseLayerWeights, input: number[]) =>
    layer.bias.map((b, j) => input.reduce((sum, v, i) => sum + v * layer.weights[i]![j]!, b));
  const f = (kind: string, v: number) => (kind === 'relu' ? Math.max(v, 0) : 1 / (1 + Math.exp(-v)));
  for (const layer of layers.slice(0, -1)) {
    const pre = affine(layer, a);
    const pre0 = affine(layer, a0);
    const next = pre.map((v) => f(layer.activation, v));
    const next0 = pre0.map((v) => f(layer.activation, v));
    slopes.push(
      pre.map((v, j) => {
        if (Math.abs(v - pre0[j]!) > 1e-9) return (next[j]! - next0[j]!) / (v - pre0[j]!);
        return layer.activation === 'relu' ? (v > 0 ? 1 : 0) : next[j]! * (1 - next[j]!);
      }),
    );
    a = next;
    a0 = next0;
  }
  // Chain rule from the output unit down to the inputs, with slopes in place of derivatives.
  let gradient = layers[layers.length - 1]!.weights.map((row) => row[0]!);
  for (let l = layers.length - 2; l >= 0; l--) {
    const atPre = gradient.map((g, j) => g * slopes[l]![j]!);
    gradient = layers[l]!.weights.map((row) => row.reduce((sum, w, j) => sum + w * atPre[j]!, 0));
  }
  return z.map((v, i) => v * gradient[i]!);
}

/**
 * A graph as the exporter will build it: raw features → Sub(mean) → Div(std) → the attribution
 * nodes of every head asked for. Outputs are the heads' contributions.
 */
export function attributionTestGraph(
  weights: MultiTaskWeights,
  heads: readonly AttributedHead[],
  options: Omit<AttributionNodesOptions, 'normalisedInput'> = {},
): Uint8Array {
  const featureCount = weights.normalisation.mean.length;
  const { DataType } = onnx.TensorProto;
  const graph: onnx.IGraphProto = {
    name: 'attribution_test',
    node: [
      { name: 'subtract_mean', opType: 'Sub', input: ['features', 'mean'], output: ['centred'] },
      { name: 'divide_std', opType: 'Div', input: ['centred', 'std'], output: ['standardised'] },
    ],
    initializer: [
      { name: 'mean', dims: [featureCount], dataType: DataType.FLOAT, floatData: weights.normalisation.mean },
      { name: 'std', dims: [featureCount], dataType: DataType.FLOAT, floatData: weights.normalisation.std },
    ],
    input: [
      {
        name: 'features',
        type: {
          tensorType: {
            elemType: DataType.FLOAT,
            shape: { dim: [{ dimParam: 'batch' }, { dimValue: featureCount }] },
          },
        },
      },
    ],
    output: [],
  };
  const piece = attributionNodes(weights, heads, { ...options, normalisedInput: 'standardised' });
  graph.node!.push(...piece.nodes);
  graph.initializer!.push(...piece.initializers);
  graph.output!.push(...piece.outputs);
  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET_VERSION }],
    producerName: 'attribution-test',
    graph,
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Run `bytes` once over `rows` raw rows of width F and return every output by name. */
export async function runContributions(
  bytes: Uint8Array,
  rows: readonly (readonly number[])[],
): Promise<Record<string, Float32Array>> {
  const width = rows[0]?.length ?? 0;
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({
      features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, width]),
    });
    return Object.fromEntries(
      Object.entries(result).map(([name, tensor]) => [name, tensor.data as Float32Array]),
    );
  } finally {
    await session.release();
  }
}
