import fc from 'fast-check';
import { median, medianConfidenceInterval } from '../../bench/bench-report';

/** P(Binomial(n, ½) < k), exactly, with big integers: an independent computation of the tail. */
function binomialTailBelow(n: number, k: number): number {
  let sum = 0n;
  let choose = 1n;
  for (let i = 0; i < k; i++) {
    sum += choose;
    choose = (choose * BigInt(n - i)) / BigInt(i + 1);
  }
  return Number((sum * 1_000_000_000_000n) / 2n ** BigInt(n)) / 1e12;
}

describe('medianConfidenceInterval', () => {
  it('takes the widest-coverage order statistics that still keep each tail within 2.5 %', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 6, maxLength: 80 }),
        (samples) => {
          const n = samples.length;
          const sorted = [...samples].sort((a, b) => a - b);
          // The largest rank k whose lower tail P(B(n, ½) ≤ k − 1) is at most 2.5 %, found by brute force.
          let k = 0;
          while (k + 1 <= n >> 1 && binomialTailBelow(n, k + 1) <= 0.025) k++;
          const ci = medianConfidenceInterval(samples)!;
          expect(ci.low).toBe(sorted[k - 1]);
          expect(ci.high).toBe(sorted[n - k]);
          expect(ci.coverage).toBeCloseTo(1 - 2 * binomialTailBelow(n, k), 9);
          expect(ci.coverage).toBeGreaterThanOrEqual(0.95);
          expect(ci.low).toBeLessThanOrEqual(median(samples));
          expect(ci.high).toBeGreaterThanOrEqual(median(samples));
        },
      ),
    );
  });

  it('gives the textbook ranks: 4th and 12th of 15 (96.5 %), 6th and 16th of 21', () => {
    const ranks = (n: number) => Array.from({ length: n }, (_, i) => (i + 1) * 10);
    expect(medianConfidenceInterval(ranks(15))).toEqual({
      low: 40,
      high: 120,
      coverage: expect.closeTo(0.9648, 4),
    });
    expect(medianConfidenceInterval(ranks(21))).toMatchObject({ low: 60, high: 160 });
  });

  it('has no interval at 95 % from fewer than 6 samples', () => {
    expect(medianConfidenceInterval([1, 2, 3, 4, 5])).toBeUndefined();
    expect(medianConfidenceInterval([])).toBeUndefined();
  });
});
