import fc from 'fast-check';
import type { Activation, DenseLayerWeights } from '../../../shared/model/mlp-weights';
import { predictMlp } from '../../../shared/model/mlp-weights';
import { ModelInputError } from '../../../shared/model/model-input-error';
import { ONNX_OUTPUTS } from '../../../shared/model/model-outputs';
import type { MultiTaskWeights } from '../../../shared/model/multi-task-weights';
import {
  appendAttributionNodes,
  attributionContract,
  attributionContractSchema,
  attributionNodes,
  headLogit,
  type AttributedHead,
  type NonlinearAttributionMethod,
} from '../../../shared/model/onnx-attribution';
import { randomFeatures, randomMultiTaskWeights } from '../../support/multi-task-fixtures';
import {
  attributionTestGraph,
  normaliseRow,
  referenceIntegratedGradients,
  referenceLogit,
  referenceRescale,
  runContributions,
} from './attribution-reference';

// Each property run builds and loads a graph in onnxruntime (a few ms): enough runs to cover shapes.
const RUNS = { numRuns: 40 };

interface Case {
  weights: MultiTaskWeights;
  /** Raw feature rows (float32-representable, so the graph and the reference see the same input). */
  rows: number[][];
}

const float = (min: number, max: number) =>
  fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map(Math.fround);

function layerArb(
  inputs: number,
  outputs: number,
  activations: readonly Activation[],
  weightRange: [number, number],
): fc.Arbitrary<DenseLayerWeights> {
  return fc.record({
    weights: fc.array(fc.array(float(...weightRange), { minLength: outputs, maxLength: outputs }), {
      minLength: inputs,
      maxLength: inputs,
    }),
    bias: fc.array(float(-1, 1), { minLength: outputs, maxLength: outputs }),
    activation: fc.constantFrom(...activations),
  });
}

/** Layers from `inputs` through `hidden` widths to one sigmoid output unit. */
function stackArb(
  inputs: number,
  hidden: number[],
  activations: readonly Activation[],
  weightRange: [number, number],
): fc.Arbitrary<DenseLayerWeights[]> {
  const widths = [inputs, ...hidden];
  return fc.tuple(
    ...hidden.map((out, l) => layerArb(widths[l]!, out, activations, weightRange)),
    layerArb(widths[widths.length - 1]!, 1, ['sigmoid'], weightRange),
  );
}

/**
 * A multi-task network (trunk → purchase head on the embedding; churn head on the embedding or the
 * features) and a few raw rows. `positive` makes every weight non-negative, so the logit increases in every feature.
 */
function caseArb(
  options: { activations?: readonly Activation[]; positive?: boolean; weightScale?: number } = {},
): fc.Arbitrary<Case> {
  const activations = options.activations ?? ['relu', 'sigmoid'];
  const scale = options.weightScale ?? 1.5;
  const weightRange: [number, number] = [options.positive ? 0 : -scale, scale];
  return fc
    .record({
      features: fc.integer({ min: 1, max: 6 }),
      trunk: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 2 }),
      purchaseHidden: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 1 }),
      churnHidden: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 1 }),
      churnInput: fc.constantFrom('embedding' as const, 'features' as const),
      batch: fc.integer({ min: 1, max: 4 }),
    })
    .chain(({ features, trunk, purchaseHidden, churnHidden, churnInput, batch }) =>
      fc
        .record({
          mean: fc.array(float(-3, 3), { minLength: features, maxLength: features }),
          std: fc.array(float(0.25, 4), { minLength: features, maxLength: features }),
          trunk: fc.tuple(
            ...trunk.map((out, l) =>
              layerArb(l === 0 ? features : trunk[l - 1]!, out, activations, weightRange),
            ),
          ),
          purchase: stackArb(trunk[trunk.length - 1]!, purchaseHidden, activations, weightRange),
          churn: stackArb(
            churnInput === 'features' ? features : trunk[trunk.length - 1]!,
            churnHidden,
            activations,
            weightRange,
          ),
          units: fc.array(fc.array(float(-3, 3), { minLength: features, maxLength: features }), {
            minLength: batch,
            maxLength: batch,
          }),
        })
        .map(({ mean, std, trunk: trunkLayers, purchase, churn, units }) => ({
          weights: {
            normalisation: { mean, std },
            trunk: trunkLayers,
            heads: {
              purchase: { input: 'embedding' as const, layers: purchase },
              churn: { input: churnInput, layers: churn },
            },
          },
          rows: units.map((u) => u.map((v, i) => Math.fround(mean[i]! + std[i]! * v))),
        })),
    );
}

/** Contributions of each of `heads` per row, from ONE onnxruntime run of one graph. */
async function contributionsOfHeads(
  { weights, rows }: Case,
  heads: readonly AttributedHead[],
  options: { method?: NonlinearAttributionMethod; steps?: number } = {},
): Promise<Partial<Record<AttributedHead, number[][]>>> {
  const outputs = await runContributions(attributionTestGraph(weights, heads, options), rows);
  const width = weights.normalisation.mean.length;
  return Object.fromEntries(
    heads.map((head) => {
      const all =
        outputs[head === 'purchase' ? ONNX_OUTPUTS.purchaseContributions : ONNX_OUTPUTS.churnContributions]!;
      return [head, rows.map((_, r) => Array.from(all.subarray(r * width, (r + 1) * width)))];
    }),
  );
}

/** Contributions of `head` per row, from a graph with that head alone. */
async function contributionsOf(
  c: Case,
  head: AttributedHead,
  options: { method?: NonlinearAttributionMethod; steps?: number } = {},
): Promise<number[][]> {
  return (await contributionsOfHeads(c, [head], options))[head]!;
}

const isLogisticChurn = (c: Case) =>
  c.weights.heads.churn!.input === 'features' && c.weights.heads.churn!.layers.length === 1;
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const logitGain = (weights: MultiTaskWeights, head: AttributedHead, row: readonly number[]) =>
  referenceLogit(weights, head, normaliseRow(weights, row)) -
  referenceLogit(
    weights,
    head,
    row.map(() => 0),
  );

describe('attributionNodes (rescale, the default)', () => {
  // Stated tolerance: float32 rounding over the terms, |Σ − Δ| ≤ 1e-4 · (1 + Σ|c_i|).
  // Measured on 40 × 32 × 16 relu networks: max |Σ − Δ| 3e-6 logit.
  it('is complete: contributions sum to logit(x) − logit(training mean), for every head', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(), async (c) => {
        // Act: both heads in one graph, sharing the trunk's forward pass when both read the embedding.
        const outputs = await runContributions(
          attributionTestGraph(c.weights, ['purchase', 'churn']),
          c.rows,
        );
        for (const head of ['purchase', 'churn'] as const) {
          // Assess
          const width = c.weights.normalisation.mean.length;
          const all =
            outputs[
              head === 'purchase' ? ONNX_OUTPUTS.purchaseContributions : ONNX_OUTPUTS.churnContributions
            ]!;
          const contributions = c.rows.map((_, r) => Array.from(all.subarray(r * width, (r + 1) * width)));
          contributions.forEach((row, r) => {
            const gain = logitGain(c.weights, head, c.rows[r]!);
            const size = sum(row.map(Math.abs));
            expect(Math.abs(sum(row) - gain)).toBeLessThanOrEqual(1e-4 * (1 + size));
          });
        }
      }),
      RUNS,
    );
  });

  it('computes in onnxruntime what the float64 reference computes', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(), async (c) => {
        // Act
        const both = await contributionsOfHeads(c, ['purchase', 'churn']);
        // Assess
        for (const head of ['purchase', 'churn'] as const) {
          both[head]!.forEach((row, r) => {
            const expected = referenceRescale(c.weights, head, normaliseRow(c.weights, c.rows[r]!));
            row.forEach((v, i) =>
              expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(expected[i]!))),
            );
          });
        }
      }),
      RUNS,
    );
  });

  it('gives a monotone network contributions of the sign of each feature’s move from the mean', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb({ positive: true }), async (c) => {
        // Act
        const contributions = await contributionsOf(c, 'purchase');
        // Assess: a feature above its mean raised the logit, one below lowered it.
        contributions.forEach((row, r) => {
          const z = normaliseRow(c.weights, c.rows[r]!);
          row.forEach((v, i) => expect(v * Math.sign(z[i]!)).toBeGreaterThanOrEqual(-1e-6));
        });
      }),
      RUNS,
    );
  });

  it('raises a monotone network’s contribution of a feature forced up (the others at their mean)', async () => {
    await fc.assert(
      fc.asyncProperty(
        caseArb({ positive: true }),
        fc.nat(),
        float(-3, 3),
        float(0.1, 3),
        async (c, pick, from, by) => {
          // Prepare: one feature at two values, every other at its mean.
          const { mean, std } = c.weights.normalisation;
          const i = pick % mean.length;
          const at = (u: number) => mean.map((m, j) => Math.fround(j === i ? m + std[j]! * u : m));
          // Act
          const [low, high] = await contributionsOf({ ...c, rows: [at(from), at(from + by)] }, 'purchase');
          // Assess
          expect(high![i]!).toBeGreaterThanOrEqual(low![i]! - 1e-6);
          const others = (row: number[]) => row.filter((_, j) => j !== i);
          expect(others(high!).every((v) => v === 0)).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

/**
 * Seeded Glorot-scaled networks (fast-check's doubles are mostly tiny, which leaves relu networks
 * dead) whose purchase and churn heads have one layout (hidden 4 relu → 1 sigmoid, both on the
 * embedding), so the two stack, and a few raw rows.
 */
const twinHeadsArb: fc.Arbitrary<Case> = fc
  .record({
    features: fc.integer({ min: 1, max: 6 }),
    trunk: fc.array(fc.integer({ min: 2, max: 8 }), { minLength: 1, maxLength: 2 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    rows: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ features, trunk, seed, rows }) => {
    const weights = randomMultiTaskWeights(
      { features, trunk, purchaseInput: 'embedding', churnInput: 'embedding' },
      seed,
    );
    const values = randomFeatures(rows, features, seed + 1);
    return {
      weights,
      rows: Array.from({ length: rows }, (_, r) =>
        Array.from(values.subarray(r * features, (r + 1) * features)),
      ),
    };
  });

/** Every bias 0, so units sit at their kink at the baseline, and a row at the training mean (z = 0). */
function atKinks(c: Case): Case {
  const zeroBias = (layer: DenseLayerWeights) => ({ ...layer, bias: layer.bias.map(() => 0) });
  const { purchase, churn } = c.weights.heads;
  return {
    weights: {
      ...c.weights,
      trunk: c.weights.trunk.map(zeroBias),
      heads: {
        purchase: { ...purchase, layers: purchase.layers.map(zeroBias) },
        churn: { ...churn!, layers: churn!.layers.map(zeroBias) },
      },
    },
    rows: [...c.rows, c.weights.normalisation.mean.map(Math.fround)],
  };
}

const anyNonZero = (rows: readonly number[][]) => rows.some((row) => row.some((v) => v !== 0));

describe('attributionNodes (rescale of heads of one layout, and at the kinks)', () => {
  it('computes heads of the same layout together, as it computes each alone', async () => {
    let informative = 0;
    await fc.assert(
      fc.asyncProperty(twinHeadsArb, async (c) => {
        // Act
        const piece = attributionNodes(c.weights, ['purchase', 'churn'], { normalisedInput: 'standardised' });
        const together = await contributionsOfHeads(c, ['purchase', 'churn']);
        // Assess: one pass for both heads, split at the end, and each head's numbers as alone.
        const splits = piece.nodes.filter((n) => n.opType === 'Split');
        expect(splits.map((n) => n.output)).toEqual([
          [ONNX_OUTPUTS.purchaseContributions, ONNX_OUTPUTS.churnContributions],
        ]);
        expect(piece.nodes.some((n) => n.name!.startsWith('purchase_attribution_'))).toBe(false);
        for (const head of ['purchase', 'churn'] as const) {
          const alone = await contributionsOf(c, head);
          together[head]!.forEach((row, r) =>
            row.forEach((v, i) =>
              expect(Math.abs(v - alone[r]![i]!)).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(v))),
            ),
          );
        }
        if (anyNonZero(together.purchase!) && anyNonZero(together.churn!)) informative++;
      }),
      RUNS,
    );
    // Dead networks (every contribution 0) would pass anything: most cases must not be.
    expect(informative).toBeGreaterThan(RUNS.numRuns / 2);
  });

  it('stays finite and complete where units sit at their kink or see no change (zero at the mean)', async () => {
    await fc.assert(
      fc.asyncProperty(twinHeadsArb.map(atKinks), async (c) => {
        // Act
        const both = await contributionsOfHeads(c, ['purchase', 'churn']);
        // Assess
        for (const head of ['purchase', 'churn'] as const) {
          both[head]!.forEach((row, r) => {
            expect(row.every(Number.isFinite)).toBe(true);
            const gain = logitGain(c.weights, head, c.rows[r]!);
            expect(Math.abs(sum(row) - gain)).toBeLessThanOrEqual(1e-4 * (1 + sum(row.map(Math.abs))));
          });
          expect(both[head]!.at(-1)!.every((v) => v === 0)).toBe(true);
        }
      }),
      RUNS,
    );
  });
});

describe('attributionNodes (integrated gradients)', () => {
  it('computes analytically the integrated gradients a numerical gradient gives', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(), fc.integer({ min: 1, max: 32 }), async (c, steps) => {
        // Act
        const contributions = await contributionsOf(c, 'purchase', { method: 'integrated-gradients', steps });
        // Assess
        contributions.forEach((row, r) => {
          const z = normaliseRow(c.weights, c.rows[r]!);
          const expected = referenceIntegratedGradients(c.weights, 'purchase', z, steps);
          row.forEach((v, i) =>
            expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(expected[i]!))),
          );
        });
      }),
      RUNS,
    );
  });

  // Stated tolerance for smooth (sigmoid) hidden layers at m = 16: |Σ − Δ| ≤ 1e-3 + 1e-2 · |Δ|.
  // Measured: 3.6e-4 logit on a 6 × 8 sigmoid network with weights to ±3. Relu networks converge as
  // 1/m only (2e-2 logit on 40 × 32 × 16 at m = 16), which is why rescale is the default.
  it('is complete within the midpoint rule’s error for smooth hidden layers', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb({ activations: ['sigmoid'] }), async (c) => {
        // Act
        const contributions = await contributionsOf(c, 'purchase', {
          method: 'integrated-gradients',
          steps: 16,
        });
        // Assess
        contributions.forEach((row, r) => {
          const gain = logitGain(c.weights, 'purchase', c.rows[r]!);
          expect(Math.abs(sum(row) - gain)).toBeLessThanOrEqual(1e-3 + 1e-2 * Math.abs(gain));
        });
      }),
      RUNS,
    );
  });
});

describe('attributionNodes (a logistic regression head)', () => {
  it('emits one Mul whose contributions are exactly w ⊙ (z − 0)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb().filter(isLogisticChurn), async (c) => {
        const layer = c.weights.heads.churn!.layers[0]!;
        // Act
        const piece = attributionNodes(c.weights, ['churn'], { normalisedInput: 'standardised' });
        const contributions = await contributionsOf(c, 'churn');
        // Assess
        expect(piece.methods).toEqual({ churn: 'exact-linear' });
        expect(piece.nodes.map((n) => n.opType)).toEqual(['Mul']);
        contributions.forEach((row, r) => {
          const z = normaliseRow(c.weights, c.rows[r]!);
          row.forEach((v, i) => expect(v).toBeCloseTo(layer.weights[i]![0]! * z[i]!, 4));
          expect(sum(row)).toBeCloseTo(referenceLogit(c.weights, 'churn', z) - layer.bias[0]!, 4);
        });
      }),
      RUNS,
    );
  });

  it('moves a feature’s contribution by w_i · δ / std_i when the feature is forced up by δ', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb().filter(isLogisticChurn), fc.nat(), float(0.5, 5), async (c, pick, by) => {
        // Prepare
        const { std } = c.weights.normalisation;
        const i = pick % std.length;
        const w = c.weights.heads.churn!.layers[0]!.weights[i]![0]!;
        const raised = c.rows.map((row) => row.map((v, j) => (j === i ? Math.fround(v + by) : v)));
        // Act
        const before = await contributionsOf(c, 'churn');
        const after = await contributionsOf({ ...c, rows: raised }, 'churn');
        // Assess: up for a positive weight, down for a negative one, by the weight's share.
        before.forEach((row, r) => {
          const moved = after[r]![i]! - row[i]!;
          expect(moved).toBeCloseTo((w * (raised[r]![i]! - c.rows[r]![i]!)) / std[i]!, 3);
        });
      }),
      RUNS,
    );
  });
});

describe('attributionContract', () => {
  it('documents the baseline (the training mean) and its logit, and parses with its schema', () => {
    fc.assert(
      fc.property(caseArb(), (c) => {
        for (const head of ['purchase', 'churn'] as const) {
          // Act
          const contract = attributionContract(c.weights, head, {
            method: 'integrated-gradients',
            steps: 24,
          });
          // Assess
          expect(attributionContractSchema.parse(contract)).toEqual(contract);
          expect(contract.baseline.features).toEqual(c.weights.normalisation.mean);
          const zero = c.weights.normalisation.mean.map(() => 0);
          expect(contract.baseline.logit).toBeCloseTo(referenceLogit(c.weights, head, zero), 10);
          const linear = head === 'churn' && isLogisticChurn(c);
          expect(contract.method).toBe(linear ? 'exact-linear' : 'integrated-gradients');
          expect(contract.steps).toBe(linear ? 1 : 24);
        }
      }),
    );
  });

  it('agrees with the probability the existing forward pass computes: sigmoid(headLogit) = predictMlp', () => {
    fc.assert(
      fc.property(caseArb(), (c) => {
        // Prepare: the purchase head as one MLP over the raw features.
        const layers = [...c.weights.trunk, ...c.weights.heads.purchase.layers];
        const mlp = { normalisation: c.weights.normalisation, layers };
        const width = c.weights.normalisation.mean.length;
        // Act
        const expected = predictMlp(mlp, {
          values: Float32Array.from(c.rows.flat()),
          rows: c.rows.length,
          columns: width,
        });
        // Assess
        c.rows.forEach((row, r) => {
          const logit = headLogit(c.weights, 'purchase', normaliseRow(c.weights, row));
          expect(1 / (1 + Math.exp(-logit))).toBeCloseTo(expected[r]!, 6);
        });
      }),
    );
  });
});

describe('appendAttributionNodes', () => {
  it('adds one [batch, F] output per head, under the agreed names, without clashing tensor names', () => {
    fc.assert(
      fc.property(caseArb(), (c) => {
        // Prepare
        const graph = { node: [], initializer: [], output: [] };
        // Act
        const methods = appendAttributionNodes(graph, c.weights, ['purchase', 'churn'], {
          normalisedInput: 'standardised',
        });
        // Assess
        const width = c.weights.normalisation.mean.length;
        expect(graph.output).toEqual([
          expect.objectContaining({ name: ONNX_OUTPUTS.purchaseContributions }),
          expect.objectContaining({ name: ONNX_OUTPUTS.churnContributions }),
        ]);
        for (const output of graph.output as { type: { tensorType: { shape: { dim: unknown[] } } } }[]) {
          expect(output.type.tensorType.shape.dim).toEqual([{ dimParam: 'batch' }, { dimValue: width }]);
        }
        expect(methods).toEqual({
          purchase: 'rescale',
          churn: isLogisticChurn(c) ? 'exact-linear' : 'rescale',
        });
        const trunkKernels = (graph.initializer as { name: string }[]).filter((t) =>
          /^attribution_trunk_dense_\d+_(signed_)?kernel$/.test(t.name),
        );
        expect(trunkKernels).toHaveLength(c.weights.trunk.length);
        const produced = (graph.node as { output: string[] }[]).flatMap((n) => n.output);
        const names = [...produced, ...(graph.initializer as { name: string }[]).map((t) => t.name)];
        expect(new Set(names).size).toBe(names.length);
      }),
    );
  });

  it.each<[string, MultiTaskWeights, AttributedHead, number | undefined, string]>([
    [
      'a head the model lacks',
      {
        normalisation: { mean: [0], std: [1] },
        trunk: [],
        heads: {
          purchase: { input: 'features', layers: [{ weights: [[1]], bias: [0], activation: 'sigmoid' }] },
        },
      },
      'churn',
      undefined,
      'heads.churn',
    ],
    [
      'zero interpolation steps',
      {
        normalisation: { mean: [0], std: [1] },
        trunk: [],
        heads: {
          purchase: { input: 'features', layers: [{ weights: [[1]], bias: [0], activation: 'sigmoid' }] },
        },
      },
      'purchase',
      0,
      'steps',
    ],
    [
      'a head not ending in one sigmoid unit',
      {
        normalisation: { mean: [0], std: [1] },
        trunk: [],
        heads: {
          purchase: { input: 'features', layers: [{ weights: [[1]], bias: [0], activation: 'relu' }] },
        },
      },
      'purchase',
      undefined,
      'layers',
    ],
  ])('refuses %s with a typed error naming the field', (_, weights, head, steps, field) => {
    // Act
    const attempt = () => attributionNodes(weights, [head], { normalisedInput: 'z', steps });
    // Assess
    expect(attempt).toThrow(ModelInputError);
    expect(attempt).toThrow(expect.objectContaining({ field }));
  });
});
