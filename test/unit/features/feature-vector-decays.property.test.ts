import fc from 'fast-check';
import { featurize } from '../../../shared/features/feature-vector';
import { decayAnchor } from '../../../shared/profile/fixed-point-decay';
import { DECAYED_EVENT_TYPES, emptyProfile, HALF_LIVES_MS } from '../../../shared/profile/profile-state';
import { T0 } from '../../support/factories';

/** The decayed features as featurize computed them before the per-profile factors: a power per feature. */
function decayedFeaturesByPower(decays: readonly number[], lastEventAt: number, asOfMs: number): number[] {
  const decayedTo = Math.max(asOfMs, lastEventAt);
  const out: number[] = [];
  for (let slot = 0; slot < DECAYED_EVENT_TYPES.length; slot++) {
    for (let h = 0; h < HALF_LIVES_MS.length; h++) {
      const halfLife = HALF_LIVES_MS[h]!;
      const value = decays[slot * HALF_LIVES_MS.length + h]!;
      const anchor = decayAnchor(lastEventAt, halfLife);
      const real = value === 0 ? 0 : (value / 2 ** 16) * 2 ** (-(decayedTo - anchor * halfLife) / halfLife);
      const feature = Math.fround(Math.log1p(Math.max(0, real)));
      out.push(Number.isFinite(feature) ? feature : 0);
    }
  }
  return out;
}

const HOUR = 3_600_000;

describe('feature vector, decayed activity', () => {
  it('equals the per-feature power, bit for bit, for any decays, latest event and asOf', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 45 })), {
          minLength: DECAYED_EVENT_TYPES.length * HALF_LIVES_MS.length,
          maxLength: DECAYED_EVENT_TYPES.length * HALF_LIVES_MS.length,
        }),
        fc.integer({ min: 0, max: 400 * 24 * HOUR }),
        fc.integer({ min: -48 * HOUR, max: 1000 * 24 * HOUR }),
        (decays, sinceT0, delta) => {
          // Prepare
          const state = emptyProfile('u-1');
          state.decays = decays;
          state.lastEventAt = T0 + sinceT0;
          state.firstSeenAt = T0;
          const asOf = state.lastEventAt + delta;
          // Act
          const vector = featurize(state, asOf);
          // Assess
          const expected = decayedFeaturesByPower(decays, state.lastEventAt, asOf);
          expect(Array.from(vector.subarray(0, expected.length))).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
