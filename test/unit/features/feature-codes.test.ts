import fc from 'fast-check';
import { EVENT_TYPES } from '../../../shared/contract/event-contract';
import { FEATURE_CODES, featureCodeOf, featureNameOf } from '../../../shared/features/feature-codes';
import { FEATURE_NAMES } from '../../../shared/features/feature-vector';
import { EVENT_TYPE_CODES } from '../../../shared/profile/profile-item-codec';
import { HALF_LIFE_LABELS } from '../../../shared/profile/profile-state';

describe('feature codes (the keys of stored reasons)', () => {
  it('gives distinct codes that can never be taken for a feature name (each has a "." or a "/")', () => {
    const codes = Object.values(FEATURE_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/[./]/);
    for (const name of [...FEATURE_NAMES, ...Object.keys(FEATURE_CODES)])
      expect(name).toMatch(/^[a-z0-9_]+$/);
  });

  it('builds the activity codes from the act type codes and half-life labels of the item', () => {
    for (const type of EVENT_TYPES) {
      for (const label of HALF_LIFE_LABELS) {
        const code = FEATURE_CODES[`decay_${label}_${type}_log1p`];
        if (code !== undefined) expect(code).toBe(`${EVENT_TYPE_CODES[type]}.${label}`);
      }
      const count = FEATURE_CODES[`count_${type}_log1p`];
      if (count !== undefined) expect(count).toBe(`${EVENT_TYPE_CODES[type]}.n`);
    }
  });

  it('reads every feature back by its name, a feature without a code stored and read as its full name', () => {
    // A name the table does not know (a newer feature schema) and one that is not a code.
    const names = fc.oneof(
      fc.constantFrom(...FEATURE_NAMES),
      fc.stringMatching(/^[a-z0-9_]{1,40}$/),
      fc.constantFrom('constructor', '__proto__', 'toString'),
    );
    fc.assert(
      fc.property(names, (name) => {
        const stored = featureCodeOf(name);
        expect(featureNameOf(stored)).toBe(name);
        if (!Object.hasOwn(FEATURE_CODES, name)) expect(stored).toBe(name);
      }),
    );
  });

  it('shortens the current feature names to at most 8 characters', () => {
    for (const name of FEATURE_NAMES) {
      if (!Object.hasOwn(FEATURE_CODES, name)) continue;
      expect(featureCodeOf(name).length).toBeLessThanOrEqual(8);
    }
  });
});
