import fc from 'fast-check';
import { backoffDelayMs } from '../../../functions/commons/backoff';

describe('backoffDelayMs', () => {
  it('stays within [0, min(cap, base × 2^(attempt-1)))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, cap, draw) => {
          // Act
          const delay = backoffDelayMs(attempt, base, cap, () => draw);
          // Assess
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(cap, base * 2 ** (attempt - 1)));
        },
      ),
    );
  });

  it('doubles the ceiling per attempt until the cap', () => {
    // Act
    const ceilings = [1, 2, 3, 4, 5, 6].map((attempt) =>
      backoffDelayMs(attempt, 100, 2_000, () => 0.999_999),
    );
    // Assess
    expect(ceilings).toEqual([99, 199, 399, 799, 1599, 1999]);
  });
});
