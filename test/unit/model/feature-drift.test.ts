import fc from 'fast-check';
import {
  binnedDistribution,
  driftReferenceOf,
  measureDrift,
  populationStabilityIndex,
} from '../../../shared/model/feature-drift';

/** Deterministic pseudo-random uniforms (a small LCG), so the samples are the same every run. */
function uniforms(count: number, seed: number): number[] {
  let state = seed >>> 0;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  });
}

const finiteValues = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), {
  minLength: 1,
  maxLength: 300,
});

describe('binnedDistribution', () => {
  it('has strictly increasing edges and one share more than edges, summing to 1', () => {
    fc.assert(
      fc.property(finiteValues, fc.integer({ min: 2, max: 20 }), (values, bins) => {
        const { upperEdges, shares } = binnedDistribution(values, bins);
        expect(shares).toHaveLength(upperEdges.length + 1);
        expect(upperEdges.length).toBeLessThan(bins);
        upperEdges.forEach((edge, i) => i > 0 && expect(edge).toBeGreaterThan(upperEdges[i - 1]!));
        expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      }),
    );
  });

  it('gives tied values one bin: a count that is mostly zero keeps a bin for the zeros', () => {
    // Prepare: 70 % zeros, then 1…30.
    const values = [...new Array<number>(70).fill(0), ...Array.from({ length: 30 }, (_, i) => i + 1)];
    // Act
    const { upperEdges, shares } = binnedDistribution(values, 10);
    // Assess
    // Deciles at ranks 10, 20 … 90: seven of them are 0, then 1, 11 and 21 (bins ≤ 0, (0, 1], …).
    expect(upperEdges).toEqual([0, 1, 11, 21]);
    expect(shares).toEqual([0.7, 0.01, 0.1, 0.1, 0.09]);
  });

  it('puts a constant into one bin and leaves non-finite values out', () => {
    expect(binnedDistribution([5, 5, 5, Number.NaN, Number.POSITIVE_INFINITY])).toEqual({
      upperEdges: [],
      shares: [1],
    });
  });
});

describe('populationStabilityIndex', () => {
  it('is never negative, and zero for the reference sample itself', () => {
    fc.assert(
      fc.property(finiteValues, finiteValues, (referenceValues, live) => {
        const reference = binnedDistribution(referenceValues);
        expect(populationStabilityIndex(reference, live)).toBeGreaterThanOrEqual(0);
        expect(populationStabilityIndex(reference, referenceValues)).toBeCloseTo(0, 4);
      }),
    );
  });

  it('stays near the sampling-noise floor for another sample of the same distribution and passes 0.25 for a shifted one', () => {
    // Prepare
    const reference = binnedDistribution(uniforms(2_000, 1));
    const sameDistribution = uniforms(500, 2);
    const shifted = uniforms(500, 3).map((u) => u * 0.6 + 0.4);
    // Act
    const same = populationStabilityIndex(reference, sameDistribution);
    const moved = populationStabilityIndex(reference, shifted);
    // Assess: (bins − 1)(1/n + 1/m) = 9 × (1/500 + 1/2000) ≈ 0.023 is the expected noise.
    expect(same).toBeLessThan(0.06);
    expect(moved).toBeGreaterThan(0.25);
  });

  it('is NaN when no live value is finite', () => {
    expect(populationStabilityIndex(binnedDistribution([1, 2, 3]), [Number.NaN])).toBeNaN();
  });
});

describe('measureDrift', () => {
  it('ranks the shifted feature first and measures the score shift', () => {
    // Prepare: two features, row-major; only `b` moves in the live rows.
    const rows = 1_000;
    const a = uniforms(rows, 4);
    const b = uniforms(rows, 5);
    const features = Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? a : b)[i >> 1]!);
    const reference = driftReferenceOf({
      featureNames: ['a', 'b'],
      features,
      trainingRows: Array.from({ length: rows }, (_, i) => i),
      testPurchaseScores: Float32Array.from(uniforms(rows, 6)),
    });
    const liveA = uniforms(400, 7);
    const liveB = uniforms(400, 8).map((u) => u + 0.5);
    const liveFeatures = Float32Array.from({ length: 800 }, (_, i) => (i % 2 === 0 ? liveA : liveB)[i >> 1]!);
    // Act
    const report = measureDrift({
      referenceModel: 'v-serving',
      reference,
      featureNames: ['a', 'b'],
      liveFeatures,
      livePurchaseScores: Float32Array.from(uniforms(400, 9), (u) => u * u),
    });
    // Assess
    expect(report.rows).toBe(400);
    expect(report.features.map((f) => f.feature)).toEqual(['b', 'a']);
    expect(report.maxFeaturePsi).toBe(report.features[0]!.psi);
    expect(report.maxFeaturePsi).toBeGreaterThan(0.25);
    expect(report.features[1]!.psi).toBeLessThan(0.1);
    expect(report.scorePsi).toBeGreaterThan(0.1);
  });

  it('omits the score PSI when the reference has no score bins', () => {
    const reference = driftReferenceOf({
      featureNames: ['a'],
      features: Float32Array.from([1, 2, 3]),
      trainingRows: [0, 1, 2],
    });
    const report = measureDrift({
      referenceModel: 'v',
      reference,
      featureNames: ['a'],
      liveFeatures: Float32Array.from([1, 2]),
      livePurchaseScores: Float32Array.from([0.1, 0.2]),
    });
    expect(report.scorePsi).toBeUndefined();
  });
});
