import fc from 'fast-check';
import {
  DECAY_EXACT_PERIODS,
  decayAnchor,
  decayContribution,
  decayValueAt,
  rescaleDecay,
} from '../../../shared/profile/fixed-point-decay';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

/** Fold events one by one, moving the anchor to each new maximum (what the profile does). */
function fold(times: readonly number[], halfLife: number): { value: number; anchor: number } {
  let value = 0;
  let last = 0;
  for (const t of times) {
    if (t > last) {
      value = rescaleDecay(value, decayAnchor(t, halfLife) - decayAnchor(last, halfLife));
      last = t;
    }
    value += decayContribution(t, halfLife, decayAnchor(last, halfLife));
  }
  return { value, anchor: decayAnchor(last, halfLife) };
}

describe('fixed-point decay', () => {
  it('is exactly order independent for events within the exact span', () => {
    const span = (DECAY_EXACT_PERIODS - 1) * HOUR;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: span }), { minLength: 1, maxLength: 40 }),
        fc.nat(),
        (offsets, seed) => {
          // Prepare
          const times = offsets.map((o) => T0 + o);
          const shuffled = [...times].sort((a, b) => ((a * 31 + seed) % 97) - ((b * 31 + seed) % 97));
          // Act
          const inOrder = fold(
            [...times].sort((a, b) => a - b),
            HOUR,
          );
          const anyOrder = fold(shuffled, HOUR);
          // Assess
          expect(anyOrder).toEqual(inOrder);
        },
      ),
    );
  });

  it('stays within 0.4 % of the exact decayed sum', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 * HOUR }), { minLength: 1, maxLength: 40 }),
        (offsets) => {
          // Prepare
          const times = offsets.map((o) => T0 + o).sort((a, b) => a - b);
          const asOf = times[times.length - 1]!;
          const exact = times.reduce((sum, t) => sum + 2 ** (-(asOf - t) / HOUR), 0);
          // Act
          const { value, anchor } = fold(times, HOUR);
          const approx = decayValueAt(value, HOUR, anchor, asOf);
          // Assess: 2^-8 relative per contribution, plus flooring of tiny old contributions
          expect(Math.abs(approx - exact)).toBeLessThanOrEqual(exact * 2 ** -8 + times.length * 2 ** -15);
        },
      ),
    );
  });

  it('differs by fewer than m + 2 units across orders beyond the exact span (m = events that old)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200 * HOUR }), { minLength: 1, maxLength: 30 }),
        (offsets) => {
          // Prepare
          const times = offsets.map((o) => T0 + o);
          const anchor = decayAnchor(Math.max(...times), HOUR);
          const beyondExactSpan = times.filter(
            (t) => decayAnchor(t, HOUR) < anchor - DECAY_EXACT_PERIODS,
          ).length;
          // Act: ascending, descending and arrival order
          const values = [[...times].sort((x, y) => x - y), [...times].sort((x, y) => y - x), times].map(
            (order) => fold(order, HOUR),
          );
          // Assess
          for (const v of values) expect(v.anchor).toBe(anchor);
          const spread = Math.max(...values.map((v) => v.value)) - Math.min(...values.map((v) => v.value));
          expect(spread).toBeLessThan(beyondExactSpan + 2);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('halves a value per half-life when brought forward', () => {
    // Prepare
    const anchor = decayAnchor(T0, HOUR);
    const value = decayContribution(anchor * HOUR, HOUR, anchor);
    // Act
    const now = decayValueAt(value, HOUR, anchor, anchor * HOUR);
    const later = decayValueAt(value, HOUR, anchor, anchor * HOUR + 2 * HOUR);
    // Assess
    expect(now).toBe(1);
    expect(later).toBe(0.25);
    expect(rescaleDecay(value, 2)).toBe(value / 4);
    expect(rescaleDecay(value, 80)).toBe(0);
  });
});
