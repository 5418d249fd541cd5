import fc from 'fast-check';
import { advanceTo, byScore } from '../../../shared/profile/apply-events';
import { rescaleDecay } from '../../../shared/profile/fixed-point-decay';
import { AFFINITY_HALF_LIFE_MS, emptyProfile, PROFILE_LIMITS } from '../../../shared/profile/profile-state';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);

describe('advanceTo', () => {
  it('leaves the categories as rescaling and a full sort would, for any scores and any advance', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'), {
          maxLength: PROFILE_LIMITS.categories,
        }),
        fc.array(fc.integer({ min: 0, max: 2 ** 20 }), { minLength: 9, maxLength: 9 }),
        fc.integer({ min: 0, max: 40 * AFFINITY_HALF_LIFE_MS }),
        (keys, scores, advanceMs) => {
          // Prepare: categories in canonical order, as the fold keeps them
          const state = emptyProfile('u-1');
          state.lastEventAt = T0;
          state.categories = keys.map((key, i) => ({ key, score: scores[i]! })).sort(byScore);
          const periods =
            Math.floor((T0 + advanceMs) / AFFINITY_HALF_LIFE_MS) - Math.floor(T0 / AFFINITY_HALF_LIFE_MS);
          const expected = state.categories
            .map(({ key, score }) => ({ key, score: rescaleDecay(score, periods) }))
            .sort(byScore);
          // Act
          advanceTo(state, T0 + advanceMs);
          // Assess: ties the rescale creates are ordered by key
          expect(state.categories).toEqual(expected);
        },
      ),
    );
  });
});
