/**
 * `npx tsx test/bench/attribution-cost.ts`: what the attribution subgraph adds to one inference of a
 * batch of 100 rows, on one thread (a Lambda's one vCPU). The model is the trainer's default shape
 * (FEATURE_COUNT → 32 → 16 relu trunk, purchase and churn heads on the embedding) with seeded random
 * weights; the forward graph is built here the way the multi-task exporter builds it, then the same
 * graph with each method's attribution nodes appended. Prints the median of several timed runs.
 * Not part of `npm run bench` (which measures the published exporter's graph end to end).
 */
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { FEATURE_NAMES } from '../../shared/features/feature-vector';
import type { DenseLayerWeights } from '../../shared/model/mlp-weights';
import type { MultiTaskWeights } from '../../shared/model/multi-task-weights';
import { ONNX_OUTPUTS } from '../../shared/model/model-outputs';
import {
  appendAttributionNodes,
  type AttributionNodesOptions,
  type NonlinearAttributionMethod,
} from '../../shared/model/onnx-attribution';
import { ONNX_IR_VERSION, ONNX_OPSET_VERSION } from '../../shared/model/onnx-export';
import { createRandom, type RandomSource } from '../../shared/model/seeded-random';
import { median } from './bench-report';

const ROWS = 100;
const RUNS = 9;
const INFERENCES_PER_RUN = 500;
const { DataType } = onnx.TensorProto;

function denseLayer(random: RandomSource, inputs: number, outputs: number, last: boolean): DenseLayerWeights {
  const scale = Math.sqrt(2 / (inputs + outputs));
  return {
    weights: Array.from({ length: inputs }, () =>
      Array.from({ length: outputs }, () => (random() * 2 - 1) * scale),
    ),
    bias: Array.from({ length: outputs }, () => (random() * 2 - 1) * 0.1),
    activation: last ? 'sigmoid' : 'relu',
  };
}

function benchWeights(): MultiTaskWeights {
  const random = createRandom(11);
  const f = FEATURE_NAMES.length;
  return {
    normalisation: { mean: FEATURE_NAMES.map(() => 0), std: FEATURE_NAMES.map(() => 1 + random() * 10) },
    trunk: [denseLayer(random, f, 32, false), denseLayer(random, 32, 16, false)],
    heads: {
      purchase: { input: 'embedding', layers: [denseLayer(random, 16, 1, true)] },
      churn: { input: 'embedding', layers: [denseLayer(random, 16, 1, true)] },
    },
  };
}

const float = (name: string, dims: number[], values: number[]): onnx.ITensorProto => ({
  name,
  dims,
  dataType: DataType.FLOAT,
  floatData: values,
});
const valueInfo = (name: string, width: number): onnx.IValueInfoProto => ({
  name,
  type: {
    tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] } },
  },
});

/** Normalise → trunk → two sigmoid heads (the probabilities), plus attributions when asked. */
function benchGraph(weights: MultiTaskWeights, attribution: AttributionNodesOptions | undefined): Uint8Array {
  const f = weights.normalisation.mean.length;
  const graph: onnx.IGraphProto = {
    name: 'bench',
    node: [
      { opType: 'Sub', input: ['features', 'mean'], output: ['centred'] },
      { opType: 'Div', input: ['centred', 'std'], output: ['standardised'] },
    ],
    initializer: [
      float('mean', [f], weights.normalisation.mean),
      float('std', [f], weights.normalisation.std),
    ],
    input: [valueInfo('features', f)],
    output: [],
  };
  const dense = (input: string, layer: DenseLayerWeights, name: string, output: string) => {
    graph.initializer!.push(
      float(`${name}_kernel`, [layer.weights.length, layer.bias.length], layer.weights.flat()),
      float(`${name}_bias`, [layer.bias.length], layer.bias),
    );
    graph.node!.push(
      { opType: 'MatMul', input: [input, `${name}_kernel`], output: [`${name}_product`] },
      { opType: 'Add', input: [`${name}_product`, `${name}_bias`], output: [`${name}_pre`] },
      { opType: layer.activation === 'relu' ? 'Relu' : 'Sigmoid', input: [`${name}_pre`], output: [output] },
    );
    return output;
  };
  let current = 'standardised';
  weights.trunk.forEach((layer, l) => {
    current = dense(
      current,
      layer,
      `trunk_${l}`,
      l === weights.trunk.length - 1 ? ONNX_OUTPUTS.embedding : `trunk_${l}_out`,
    );
  });
  for (const head of ['purchase', 'churn'] as const) {
    dense(current, weights.heads[head]!.layers[0]!, head, ONNX_OUTPUTS[head]);
    graph.output!.push(valueInfo(ONNX_OUTPUTS[head], 1));
  }
  if (attribution) appendAttributionNodes(graph, weights, ['purchase', 'churn'], attribution);
  const model: onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET_VERSION }],
    graph,
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Median ms per inference of a batch of {@link ROWS} rows. */
async function timeGraph(bytes: Uint8Array, input: ort.Tensor): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  for (let i = 0; i < INFERENCES_PER_RUN; i++) await session.run({ features: input });
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < INFERENCES_PER_RUN; i++) await session.run({ features: input });
    runs.push(Number(process.hrtime.bigint() - start) / 1e6 / INFERENCES_PER_RUN);
  }
  await session.release();
  return median(runs);
}

async function main(): Promise<void> {
  const weights = benchWeights();
  const random = createRandom(5);
  const f = FEATURE_NAMES.length;
  const input = new ort.Tensor(
    'float32',
    Float32Array.from({ length: ROWS * f }, () => random() * 6),
    [ROWS, f],
  );
  const variants: [string, AttributionNodesOptions | undefined][] = [
    ['probabilities only', undefined],
    ...(['rescale', 'integrated-gradients'] as NonlinearAttributionMethod[]).map(
      (method): [string, AttributionNodesOptions] => [
        method === 'rescale' ? '+ rescale attributions, 2 heads' : '+ integrated gradients m=16, 2 heads',
        { normalisedInput: 'standardised', method, steps: 16 },
      ],
    ),
  ];
  let base = 0;
  for (const [label, attribution] of variants) {
    const ms = await timeGraph(benchGraph(weights, attribution), input);
    if (attribution === undefined) base = ms;
    const extra = ms - base;
    console.log(
      `${label.padEnd(38)} ${ms.toFixed(3)} ms/batch of ${ROWS}` +
        (attribution ? `  extra ${extra.toFixed(3)} ms = ${((extra * 1000) / ROWS).toFixed(2)} µs/row` : ''),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
