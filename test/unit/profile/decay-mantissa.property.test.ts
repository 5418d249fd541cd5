import fc from 'fast-check';
import {
  contributionInPeriod,
  DECAY_EXACT_PERIODS,
  decayContribution,
  decayScaleOf,
} from '../../../shared/profile/fixed-point-decay';
import { AFFINITY_HALF_LIFE_MS, HALF_LIVES_MS } from '../../../shared/profile/profile-state';

/** `decayContribution` as it was before its mantissa came from a table: `2 ** frac`, rounded. */
function contributionByPow(atMs: number, halfLifeMs: number, anchor: number, weight = 1): number {
  const period = Math.floor(atMs / halfLifeMs);
  const frac = (atMs - period * halfLifeMs) / halfLifeMs;
  const mantissa = Math.round(128 * 2 ** frac) * weight;
  const shift = DECAY_EXACT_PERIODS + period - anchor;
  if (shift >= 0) return mantissa * 2 ** shift;
  return -shift >= 53 ? 0 : Math.floor(mantissa / 2 ** -shift);
}

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
// The profile's own half-lives first: their tables are built (and tested) before a cache of other ones fills up.
const halfLife = fc.constantFrom(...HALF_LIVES_MS, AFFINITY_HALF_LIFE_MS);
const anyHalfLife = fc.integer({ min: 1, max: 2 ** 33 });

describe('decay contribution', () => {
  it('is the rounded power of two for any event time, half-life, anchor and weight', () => {
    fc.assert(
      fc.property(
        halfLife,
        fc.integer({ min: 0, max: 2 ** 42 }),
        fc.integer({ min: -60, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        (h, atMs, behind, weight) => {
          const anchor = Math.floor(atMs / h) - behind;
          expect(decayContribution(atMs, h, anchor, weight)).toBe(contributionByPow(atMs, h, anchor, weight));
        },
      ),
    );
  });

  it('is the rounded power of two right at every mantissa step, where rounding decides', () => {
    fc.assert(
      fc.property(
        halfLife,
        fc.integer({ min: 129, max: 256 }),
        fc.integer({ min: -3, max: 3 }),
        fc.integer({ min: 0, max: 10_000 }),
        (h, mantissa, nudge, periods) => {
          // The offset into the period where 128 × 2^frac crosses mantissa − 1/2, moved by a few ms.
          const step = Math.round(h * Math.log2((mantissa - 0.5) / 128)) + nudge;
          const offset = Math.min(h - 1, Math.max(0, step));
          const atMs = (Math.floor(T0 / h) + periods) * h + offset;
          const anchor = Math.floor(atMs / h);
          expect(decayContribution(atMs, h, anchor)).toBe(contributionByPow(atMs, h, anchor));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('is the rounded power of two for any other whole half-life, with or without a table', () => {
    fc.assert(
      fc.property(anyHalfLife, fc.integer({ min: 0, max: 2 ** 42 }), (h, atMs) => {
        const anchor = Math.floor(atMs / h);
        expect(decayContribution(atMs, h, anchor)).toBe(contributionByPow(atMs, h, anchor));
      }),
      { numRuns: 50 },
    );
  });

  it('is the rounded power of two at every millisecond around every mantissa step (exhaustive)', () => {
    let mismatches = 0;
    for (const h of [...HALF_LIVES_MS, AFFINITY_HALF_LIFE_MS]) {
      const start = Math.floor(T0 / h) * h;
      for (let mantissa = 129; mantissa <= 256; mantissa++) {
        const step = Math.round(h * Math.log2((mantissa - 0.5) / 128));
        for (let offset = Math.max(0, step - 100); offset < Math.min(h, step + 100); offset++) {
          const atMs = start + offset;
          if (decayContribution(atMs, h, start / h) !== contributionByPow(atMs, h, start / h)) mismatches++;
        }
      }
    }
    expect(mismatches).toBe(0);
  });

  it('keeps the definition for times that are not whole milliseconds', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...HALF_LIVES_MS),
        fc.double({ min: 0, max: 2 ** 42, noNaN: true }),
        (h, atMs) => {
          const anchor = Math.floor(atMs / h);
          expect(decayContribution(atMs, h, anchor)).toBe(contributionByPow(atMs, h, anchor));
        },
      ),
    );
  });

  it('is the same integer through a decay scale with the period known, for any time, half-life, anchor and weight', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          halfLife,
          anyHalfLife,
          fc.constant(2 ** 37 + 1),
          fc.double({ min: 1, max: 2 ** 33, noNaN: true }),
        ),
        fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.double({ min: 0, max: 2 ** 42, noNaN: true })),
        fc.integer({ min: -60, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        (h, atMs, behind, weight) => {
          const period = Math.floor(atMs / h);
          const anchor = period - behind;
          expect(contributionInPeriod(decayScaleOf(h), atMs, period, anchor, weight)).toBe(
            contributionByPow(atMs, h, anchor, weight),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
