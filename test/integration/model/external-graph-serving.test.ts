/**
 * Bring your own model: graphs this trainer did not write — a hand-built Gemm network and an
 * `ai.onnx.ml` tree ensemble — serve through S3ModelScorer when their serving-only metadata (v2)
 * matches this build, and are refused with a clear reason when it does not. Real s3rver and
 * onnxruntime-node; published the way the README says (S3 keys, then `promote`).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { onnx } from 'onnx-proto';
import { S3ModelRegistry } from '../../../functions/commons/s3-model-registry';
import { S3ModelScorer } from '../../../functions/commons/s3-model-scorer';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import {
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SCHEMA_VERSION,
} from '../../../shared/features/feature-vector';
import { sigmoid } from '../../../shared/model/mlp-weights';
import { sha256Hex } from '../../../shared/model/model-compatibility';
import {
  createModelPointer,
  CURRENT_POINTER_KEY,
  modelObjectKeys,
} from '../../../shared/model/model-metadata';
import { tensorValueInfo } from '../../../shared/model/onnx-export';
import { createRandom } from '../../../shared/model/seeded-random';

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;
const F = FEATURE_COUNT;

const floats = (name: string, dims: number[], values: number[]): onnx.ITensorProto => ({
  name,
  dims,
  dataType: DataType.FLOAT,
  floatData: values,
});
const ints = (name: string, values: number[]): onnx.IAttributeProto => ({
  name,
  type: AttributeType.INTS,
  ints: values,
});
const strings = (name: string, values: string[]): onnx.IAttributeProto => ({
  name,
  type: AttributeType.STRINGS,
  strings: values.map((v) => new TextEncoder().encode(v)),
});

function encode(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Gemm(W1, b1) → Relu → Gemm(W2, b2) → Sigmoid, input `x`, output `p`: nothing like the trainer's graph. */
function gemmNetwork(hidden: number, seed: number) {
  const random = createRandom(seed);
  const w1 = Array.from({ length: F * hidden }, () => (random() * 2 - 1) * 0.3);
  const b1 = Array.from({ length: hidden }, () => random() * 0.2);
  const w2 = Array.from({ length: hidden }, () => random() * 2 - 1);
  const b2 = [-0.3];
  const bytes = encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'someone-else',
    graph: {
      name: 'gemm_net',
      initializer: [
        floats('W1', [F, hidden], w1),
        floats('B1', [hidden], b1),
        floats('W2', [hidden, 1], w2),
        floats('B2', [1], b2),
      ],
      node: [
        { opType: 'Gemm', input: ['x', 'W1', 'B1'], output: ['h'] },
        { opType: 'Relu', input: ['h'], output: ['r'] },
        { opType: 'Gemm', input: ['r', 'W2', 'B2'], output: ['z'] },
        { opType: 'Sigmoid', input: ['z'], output: ['p'] },
      ],
      input: [tensorValueInfo('x', ['n', F])],
      output: [tensorValueInfo('p', ['n', 1])],
    },
  });
  const reference = (row: Float32Array) => {
    let z = b2[0]!;
    for (let j = 0; j < hidden; j++) {
      let h = b1[j]!;
      for (let i = 0; i < F; i++) h += row[i]! * w1[i * hidden + j]!;
      z += Math.max(h, 0) * w2[j]!;
    }
    return sigmoid(z);
  };
  return { bytes, reference };
}

/**
 * A two-tree regressor over the cart and purchase counts (raw margin), then a Sigmoid: onnxruntime's
 * TreeEnsembleRegressor gives float `[N, 1]`, so no ZipMap or probability-tensor reshaping is needed.
 */
function treeEnsemble(cartFeature: number, purchaseFeature: number) {
  const bytes = encode({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    producerName: 'lightgbm-like',
    graph: {
      name: 'trees',
      node: [
        {
          opType: 'TreeEnsembleRegressor',
          domain: 'ai.onnx.ml',
          input: ['features'],
          output: ['margin'],
          attribute: [
            // Tree 0: cart count ≤ 0.5 → -2, else +1. Tree 1: purchase count ≤ 0.5 → 0, else +0.75.
            ints('nodes_treeids', [0, 0, 0, 1, 1, 1]),
            ints('nodes_nodeids', [0, 1, 2, 0, 1, 2]),
            ints('nodes_featureids', [cartFeature, 0, 0, purchaseFeature, 0, 0]),
            { name: 'nodes_values', type: AttributeType.FLOATS, floats: [0.5, 0, 0, 0.5, 0, 0] },
            strings('nodes_modes', ['BRANCH_LEQ', 'LEAF', 'LEAF', 'BRANCH_LEQ', 'LEAF', 'LEAF']),
            ints('nodes_truenodeids', [1, 0, 0, 1, 0, 0]),
            ints('nodes_falsenodeids', [2, 0, 0, 2, 0, 0]),
            ints('target_treeids', [0, 0, 1, 1]),
            ints('target_nodeids', [1, 2, 1, 2]),
            ints('target_ids', [0, 0, 0, 0]),
            { name: 'target_weights', type: AttributeType.FLOATS, floats: [-2, 1, 0, 0.75] },
            { name: 'n_targets', type: AttributeType.INT, i: 1 },
            { name: 'aggregate_function', type: AttributeType.STRING, s: new TextEncoder().encode('SUM') },
            { name: 'post_transform', type: AttributeType.STRING, s: new TextEncoder().encode('NONE') },
          ],
        },
        { opType: 'Sigmoid', input: ['margin'], output: ['purchase_probability'] },
      ],
      input: [tensorValueInfo('features', ['N', F])],
      output: [tensorValueInfo('purchase_probability', ['N', 1])],
    },
  });
  const reference = (row: Float32Array) =>
    sigmoid((row[cartFeature]! <= 0.5 ? -2 : 1) + (row[purchaseFeature]! <= 0.5 ? 0 : 0.75));
  return { bytes, reference };
}

/** The serving part of metadata v2, all an external author writes. */
function servingMetadata(version: string, bytes: Uint8Array, overrides: Record<string, unknown> = {}) {
  return {
    metadataVersion: 2,
    modelVersion: version,
    featureSchemaVersion: FEATURE_SCHEMA_VERSION,
    featureNames: [...FEATURE_NAMES],
    inputName: 'features',
    outputs: { purchase: { name: 'purchase_probability', labelHorizonHours: 6 } },
    createdAt: '2026-12-01T00:00:00.000Z',
    sizeBytes: bytes.byteLength,
    sha256: sha256Hex(bytes),
    ...overrides,
  };
}

/** Rows with the cart and purchase counts at 0/0, 2/0, 0/3, 2/3 and seeded noise elsewhere. */
function probeRows(cartFeature: number, purchaseFeature: number): Float32Array {
  const random = createRandom(9);
  const rows = Float32Array.from({ length: 4 * F }, () => random() * 3);
  [
    [0, 0],
    [2, 0],
    [0, 3],
    [2, 3],
  ].forEach(([cart, purchase], r) => {
    rows[r * F + cartFeature] = cart!;
    rows[r * F + purchaseFeature] = purchase!;
  });
  return rows;
}

describe('serving a model built elsewhere', () => {
  let cloud: LocalCloud;
  let bucketCount = 0;

  beforeAll(async () => {
    cloud = await startLocalCloud();
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  /**
   * A fresh bucket holding `bytes` and `metadata` under the version's keys, then the pointer: moved by
   * the registry (`npm run model -- promote`, which checks the files first) or written by hand (so the
   * scorer's own checks are what is tested).
   */
  async function publish(version: string, bytes: Uint8Array, metadata: object, via: 'promote' | 'pointer') {
    const bucket = `models-external-${++bucketCount}`;
    await cloud.createBucket(bucket);
    const keys = modelObjectKeys(version);
    const put = (Key: string, Body: string | Uint8Array) =>
      cloud.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    await put(keys.onnxKey, bytes);
    await put(keys.metadataKey, JSON.stringify(metadata));
    if (via === 'promote') await new S3ModelRegistry(cloud.clients.s3, bucket).promote(version, undefined);
    else await put(CURRENT_POINTER_KEY, JSON.stringify(createModelPointer(version, Date.now())));
    const refused: string[] = [];
    const scorer = new S3ModelScorer(cloud.clients.s3, bucket, 0, { onRefused: (r) => refused.push(r) });
    return { scorer, refused };
  }

  const cart = FEATURE_NAMES.indexOf('count_add_to_cart_log1p');
  const purchase = FEATURE_NAMES.indexOf('count_purchase_log1p');

  it.each([
    [
      'a hand-built Gemm network (own input and output names)',
      'ext-gemm-1',
      () => gemmNetwork(8, 3),
      { inputName: 'x', outputs: { purchase: { name: 'p', labelHorizonHours: 6 } } },
    ],
    [
      'an ai.onnx.ml TreeEnsembleRegressor with a Sigmoid',
      'ext-trees-1',
      () => treeEnsemble(cart, purchase),
      {},
    ],
  ])('serves %s with serving-only metadata', async (_, version, build, overrides) => {
    // Prepare
    const { bytes, reference } = build();
    const { scorer, refused } = await publish(
      version,
      bytes,
      servingMetadata(version, bytes, overrides),
      'promote',
    );
    const rows = probeRows(cart, purchase);
    // Act
    const scores = await scorer.score(rows, 4, F);
    // Assess
    expect(refused).toEqual([]);
    expect(scores?.modelVersion).toBe(version);
    expect(scores?.churn).toBeUndefined();
    const expected = [0, 1, 2, 3].map((r) => reference(rows.subarray(r * F, (r + 1) * F)));
    expect(Array.from(scores!.purchase)).toEqual(expected.map((p) => expect.closeTo(p, 5)));
  });

  it.each([
    [
      'declares an output the graph lacks',
      {
        outputs: {
          purchase: { name: 'purchase_probability' },
          churn: { name: 'churn_probability', horizonDays: 7 },
        },
      },
      /lacks declared output churn_probability \(it has purchase_probability\)/,
    ],
    [
      'names the features differently',
      { featureNames: FEATURE_NAMES.map((n, i) => (i === 0 ? 'other' : n)) },
      /feature names differ from this build/,
    ],
    ['was built for another feature schema', { featureSchemaVersion: 99 }, /feature schema 99/],
    [
      'declares two heads on one output',
      {
        outputs: {
          purchase: { name: 'purchase_probability' },
          nextCategories: { name: 'purchase_probability', categories: ['a', 'other'] },
        },
      },
      /outputs: names must be unique/,
    ],
  ])('refuses a model that %s, with the reason, and scores nothing', async (_, overrides, reason) => {
    // Prepare
    const { bytes } = treeEnsemble(cart, purchase);
    const version = `ext-refused-${bucketCount + 1}`;
    const metadata = servingMetadata(version, bytes, overrides);
    const { scorer, refused } = await publish(version, bytes, metadata, 'pointer');
    // Act
    const scores = await scorer.score(new Float32Array(F), 1, F);
    // Assess
    expect(scores).toBeUndefined();
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(reason);
  });
});
