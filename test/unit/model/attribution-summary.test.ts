import fc from 'fast-check';
import { globalImportance, REASONS_PER_HEAD, topReasons } from '../../../shared/model/attribution-summary';
import { ModelInputError } from '../../../shared/model/model-input-error';

const names = ['a', 'b', 'c', 'd'];

describe('globalImportance', () => {
  it('ranks features by mean |contribution| and keeps the mean signed push', () => {
    // Prepare: two rows; b pushes both ways, c always down.
    const contributions = [0.1, 2, -1, 0, 0.3, -2, -1, 0];
    // Act
    const importance = globalImportance(contributions, 2, names);
    // Assess
    expect(importance.map((f) => f.feature)).toEqual(['b', 'c', 'a', 'd']);
    expect(importance[0]).toEqual({ feature: 'b', meanAbsoluteContribution: 2, meanContribution: 0 });
    expect(importance[1]).toEqual({ feature: 'c', meanAbsoluteContribution: 1, meanContribution: -1 });
    expect(importance[2]!.meanAbsoluteContribution).toBeCloseTo(0.2, 12);
  });

  it('is sorted, non-negative and bounds the mean signed contribution, for any rows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }).chain((rows) =>
          fc.tuple(
            fc.constant(rows),
            fc.array(fc.double({ min: -10, max: 10, noNaN: true }), {
              minLength: rows * names.length,
              maxLength: rows * names.length,
            }),
          ),
        ),
        ([rows, contributions]) => {
          // Act
          const importance = globalImportance(contributions, rows, names);
          // Assess
          expect(importance.map((f) => f.feature).sort()).toEqual(names);
          importance.forEach((f, i) => {
            expect(f.meanAbsoluteContribution).toBeGreaterThanOrEqual(Math.abs(f.meanContribution) - 1e-12);
            if (i > 0)
              expect(importance[i - 1]!.meanAbsoluteContribution).toBeGreaterThanOrEqual(
                f.meanAbsoluteContribution,
              );
          });
        },
      ),
    );
  });

  it('refuses contributions of the wrong shape with a typed error', () => {
    // Act & Assess
    expect(() => globalImportance([1, 2, 3], 1, names)).toThrow(ModelInputError);
  });
});

describe('topReasons', () => {
  it('picks the largest contributions of the row by magnitude, signed, largest first, no zeros', () => {
    // Prepare
    const contributions = [9, 9, 9, 9, 0.5, -3, 0, 1];
    // Act
    const reasons = topReasons(contributions, 1, names);
    // Assess
    expect(reasons).toEqual([
      { feature: 'b', contribution: -3 },
      { feature: 'd', contribution: 1 },
      { feature: 'a', contribution: 0.5 },
    ]);
    expect(topReasons(contributions, 1, names, 1)).toHaveLength(1);
  });

  it('never returns more than asked, and no kept reason is smaller than a dropped one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 4, maxLength: 4 }),
        (row) => {
          // Act
          const reasons = topReasons(row, 0, names);
          // Assess
          expect(reasons.length).toBeLessThanOrEqual(REASONS_PER_HEAD);
          const smallestKept = Math.min(...reasons.map((r) => Math.abs(r.contribution)));
          const dropped = names.filter((n) => !reasons.some((r) => r.feature === n));
          dropped.forEach((n) => expect(Math.abs(row[names.indexOf(n)]!)).toBeLessThanOrEqual(smallestKept));
        },
      ),
    );
  });

  it('refuses a row outside the contributions with a typed error', () => {
    // Act & Assess
    expect(() => topReasons([1, 2, 3, 4], 1, names)).toThrow(ModelInputError);
  });
});
