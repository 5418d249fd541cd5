import fc from 'fast-check';
import { ModelInputError } from '../../../shared/model/model-input-error';
import { evaluateRankings, topKOfScores } from '../../../shared/model/ranking-metrics';

describe('ranking metrics (one relevant class per row)', () => {
  it('scores recall@k and NDCG@k by the rank of the relevant class', () => {
    // Prepare: ranks 1, 2, 3 and missing
    const labels = [0, 1, 2, 3];
    const topK = [0, 5, 6, 7, 1, 6, 7, 8, 2, 4, 5, 6];
    // Act
    const report = evaluateRankings(labels, topK, 3, { seed: 1 });
    // Assess
    expect(report.recall).toBeCloseTo(3 / 4, 12);
    expect(report.ndcg).toBeCloseTo((1 + 1 / Math.log2(3) + 1 / Math.log2(4) + 0) / 4, 12);
    expect(report.count).toBe(4);
  });

  it('brackets the value with its bootstrap interval, and a perfect ranker has a point interval at 1', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 5, maxLength: 60 }), (labels) => {
        // Prepare: rank the true class first on even rows, never on odd ones
        const topK = labels.flatMap((c, r) => (r % 2 === 0 ? [c, -1, -1] : [(c + 1) % 6, -1, -1]));
        const perfect = labels.flatMap((c) => [c, -1, -1]);
        // Act
        const report = evaluateRankings(labels, topK, 3, { seed: 2, bootstrapResamples: 50 });
        const best = evaluateRankings(labels, perfect, 3, { seed: 2, bootstrapResamples: 50 });
        // Assess
        expect(report.recallCi95.lower).toBeLessThanOrEqual(report.recall + 1e-12);
        expect(report.recallCi95.upper).toBeGreaterThanOrEqual(report.recall - 1e-12);
        expect(report.ndcg).toBeCloseTo(report.recall, 12);
        expect(best).toMatchObject({ recall: 1, ndcg: 1, recallCi95: { lower: 1, upper: 1 } });
      }),
      { seed: 8, numRuns: 50 },
    );
  });

  it('takes the k best classes of each row, ties to the lower class', () => {
    expect(Array.from(topKOfScores([0.1, 0.5, 0.4, 0.3, 0.3, 0.3], 2, 3, 2))).toEqual([1, 2, 0, 1]);
  });

  it('refuses rows without a label and a top-k of the wrong size', () => {
    expect(() => evaluateRankings([-1], [0, 1, 2], 3, { seed: 1 })).toThrow(ModelInputError);
    expect(() => evaluateRankings([0, 1], [0, 1, 2], 3, { seed: 1 })).toThrow(/topK/);
  });
});
