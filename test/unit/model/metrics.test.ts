import fc from 'fast-check';
import {
  averagePrecision,
  bootstrapRocAucInterval,
  brierScore,
  calibrationBins,
  evaluateScores,
  expectedCalibrationError,
  logLoss,
  rocAuc,
  rocCurve,
} from '../../../shared/model/metrics';
import { ModelInputError } from '../../../shared/model/model-input-error';

/** O(n²) definition of the AUC: share of (positive, negative) pairs ranked right, ties counting half. */
function pairwiseAuc(labels: number[], scores: number[]): number {
  let wins = 0;
  let pairs = 0;
  labels.forEach((li, i) => {
    if (li !== 1) return;
    labels.forEach((lj, j) => {
      if (lj !== 0) return;
      pairs++;
      const a = scores[i] as number;
      const b = scores[j] as number;
      wins += a > b ? 1 : a === b ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

/** Labelled scores on a coarse integer grid (so ties are common) containing both classes. */
const labelledScores = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 20 })), {
    minLength: 2,
    maxLength: 60,
  })
  .filter((rows) => rows.some(([l]) => l === 1) && rows.some(([l]) => l === 0))
  .map((rows) => ({ labels: rows.map(([l]) => l), grid: rows.map(([, s]) => s) }));

describe('rocAuc', () => {
  it('matches a hand-computed case and averages ties', () => {
    // Prepare
    const labels = [0, 0, 1, 1];
    const scores = [0.1, 0.4, 0.35, 0.8];
    // Act
    const auc = rocAuc(labels, scores);
    const tied = rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]);
    // Assess
    expect(auc).toBeCloseTo(0.75, 12);
    expect(tied).toBeCloseTo(3.5 / 4, 12);
  });

  it('equals the pairwise definition', () => {
    fc.assert(
      fc.property(labelledScores, ({ labels, grid }) => {
        expect(rocAuc(labels, grid)).toBeCloseTo(pairwiseAuc(labels, grid), 12);
      }),
    );
  });

  it('is invariant under strictly increasing transforms of the scores', () => {
    fc.assert(
      fc.property(labelledScores, ({ labels, grid }) => {
        const transformed = grid.map((s) => s ** 3 + 2 * s - 7);
        expect(rocAuc(labels, transformed)).toBeCloseTo(rocAuc(labels, grid), 12);
      }),
    );
  });

  it('gives AUC(1 − p) = 1 − AUC(p)', () => {
    fc.assert(
      fc.property(labelledScores, ({ labels, grid }) => {
        const p = grid.map((s) => s / 20);
        expect(
          rocAuc(
            labels,
            p.map((v) => 1 - v),
          ),
        ).toBeCloseTo(1 - rocAuc(labels, p), 12);
      }),
    );
  });

  it('is 1 for perfect separation and 0.5 for constant scores', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        (negatives, positives) => {
          const labels = [...Array<number>(negatives).fill(0), ...Array<number>(positives).fill(1)];
          const scores = labels.map((l, i) => l + i / 1000);
          expect(rocAuc(labels, scores)).toBe(1);
          expect(
            rocAuc(
              labels,
              labels.map(() => 0.3),
            ),
          ).toBe(0.5);
        },
      ),
    );
  });

  it('throws a typed error when only one class is present or lengths differ', () => {
    // Act
    const single = () => rocAuc([1, 1], [0.2, 0.4]);
    const mismatch = () => rocAuc([0, 1], [0.2]);
    // Assess
    expect(single).toThrow(ModelInputError);
    expect(single).toThrow(/both classes/);
    expect(mismatch).toThrow(/length/);
  });
});

describe('bootstrapRocAucInterval', () => {
  it('is reproducible from its seed and brackets a sensible range', () => {
    // Prepare
    const labels = Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const scores = labels.map((l, i) => l * 0.3 + ((i * 7919) % 101) / 100);
    // Act
    const first = bootstrapRocAucInterval(labels, scores, { seed: 5 });
    const again = bootstrapRocAucInterval(labels, scores, { seed: 5 });
    const other = bootstrapRocAucInterval(labels, scores, { seed: 6 });
    // Assess
    const auc = rocAuc(labels, scores);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first.lower).toBeLessThan(auc);
    expect(first.upper).toBeGreaterThan(auc);
    expect(first.upper - first.lower).toBeLessThan(0.2);
  });
});

describe('averagePrecision', () => {
  it('matches a hand-computed case', () => {
    // Prepare: ranks 0.8 (pos), 0.4 (neg), 0.35 (pos), 0.1 (neg) → (1/2)·1 + (1/2)·(2/3)
    const labels = [0, 0, 1, 1];
    const scores = [0.1, 0.4, 0.35, 0.8];
    // Act
    const ap = averagePrecision(labels, scores);
    // Assess
    expect(ap).toBeCloseTo(0.5 + 1 / 3, 12);
  });

  it('is 1 when every positive outranks every negative, and the positive rate for constant scores', () => {
    fc.assert(
      fc.property(labelledScores, ({ labels }) => {
        const perfect = labels.map((l, i) => l * 100 + i / 1000);
        const rate = labels.filter((l) => l === 1).length / labels.length;
        expect(averagePrecision(labels, perfect)).toBeCloseTo(1, 12);
        expect(
          averagePrecision(
            labels,
            labels.map(() => 0.5),
          ),
        ).toBeCloseTo(rate, 12);
      }),
    );
  });
});

describe('logLoss and brierScore', () => {
  it('match hand-computed values and clip certain misses', () => {
    // Act
    const loss = logLoss([1, 0], [0.8, 0.3]);
    const brier = brierScore([1, 0], [0.8, 0.3]);
    const clipped = logLoss([1], [0]);
    // Assess
    expect(loss).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 12);
    expect(brier).toBeCloseTo(0.065, 12);
    expect(clipped).toBeCloseTo(-Math.log(1e-7), 6);
  });

  it('reject probabilities outside [0, 1]', () => {
    expect(() => brierScore([1], [1.2])).toThrow(ModelInputError);
  });
});

describe('calibration', () => {
  it('bins by equal width with p = 1 in the last bin and computes ECE by hand', () => {
    // Prepare
    const labels = [0, 1, 1, 1];
    const probabilities = [0.15, 0.15, 0.85, 1];
    // Act
    const bins = calibrationBins(labels, probabilities);
    const ece = expectedCalibrationError(bins);
    // Assess
    expect(bins).toHaveLength(10);
    expect(bins[1]).toMatchObject({ count: 2, meanPredicted: 0.15, observedRate: 0.5 });
    expect(bins[8]).toMatchObject({ count: 1, observedRate: 1 });
    expect(bins[9]).toMatchObject({ count: 1, meanPredicted: 1, observedRate: 1 });
    expect(bins[0]?.count).toBe(0);
    expect(ece).toBeCloseTo(0.5 * 0.35 + 0.25 * 0.15 + 0, 12);
  });

  it('gives ECE 0 when predictions equal the observed rate within every bin', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 12 })), {
          minLength: 1,
          maxLength: 10,
        }),
        (groups) => {
          // Each group: m rows that all predict j/m, of which exactly j are positive. Whatever bins the
          // groups share, predicted and observed sums then agree in every bin.
          const labels: number[] = [];
          const probabilities: number[] = [];
          groups.forEach(([m, jRaw]) => {
            const j = jRaw % (m + 1);
            for (let i = 0; i < m; i++) {
              labels.push(i < j ? 1 : 0);
              probabilities.push(j / m);
            }
          });
          const ece = expectedCalibrationError(calibrationBins(labels, probabilities));
          expect(ece).toBeCloseTo(0, 12);
        },
      ),
    );
  });
});

describe('rocCurve and evaluateScores', () => {
  it('runs from (0,0) to (1,1), is monotone, and is thinned to the requested size', () => {
    // Prepare
    const labels = Array.from({ length: 1000 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const scores = labels.map((l, i) => (l * 0.2 + ((i * 7919) % 997) / 997) / 1.2);
    // Act
    const curve = rocCurve(labels, scores, 50);
    const report = evaluateScores(labels, scores, { seed: 1, bootstrapResamples: 50 });
    // Assess
    expect(curve).toHaveLength(50);
    expect(curve[0]).toMatchObject({ falsePositiveRate: 0, truePositiveRate: 0 });
    expect(curve[49]).toMatchObject({ falsePositiveRate: 1, truePositiveRate: 1 });
    curve.slice(1).forEach((point, i) => {
      expect(point.falsePositiveRate).toBeGreaterThanOrEqual((curve[i] as typeof point).falsePositiveRate);
      expect(point.truePositiveRate).toBeGreaterThanOrEqual((curve[i] as typeof point).truePositiveRate);
    });
    expect(report).toMatchObject({ count: 1000, positives: 250, rocAuc: rocAuc(labels, scores) });
    expect(report.calibrationBins).toHaveLength(10);
    expect(report.rocAucCi95.lower).toBeLessThanOrEqual(report.rocAuc);
  });
});
