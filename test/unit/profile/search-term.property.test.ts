import fc from 'fast-check';
import { normaliseSearchTerm } from '../../../shared/profile/apply-events';
import { PROFILE_LIMITS } from '../../../shared/profile/profile-state';

/** The normalisation itself, every step applied (what the fast path must agree with). */
const byEveryStep = (query: string) =>
  query.trim().toLowerCase().replace(/\s+/g, ' ').slice(0, PROFILE_LIMITS.searchTermLength).trimEnd();

// Mostly normalised-looking queries, with the characters that must leave the fast path mixed in.
const queryChar = fc.constantFrom(
  ...'abcxyz019-_.'.split(''),
  ' ',
  '  ',
  'A',
  'Z',
  '\t',
  '\n',
  '\u00a0',
  '\u2003',
  'É',
  'é',
  'İ',
  '\u007f',
);

describe('search term normalisation', () => {
  it('gives what every step gives, for any query', () => {
    fc.assert(
      fc.property(fc.array(queryChar, { maxLength: 30 }), fc.string({ maxLength: 30 }), (chars, other) => {
        // Act + Assess
        const query = chars.join('');
        expect(normaliseSearchTerm(query)).toBe(byEveryStep(query));
        expect(normaliseSearchTerm(other)).toBe(byEveryStep(other));
      }),
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.array(queryChar, { maxLength: 30 }), (chars) => {
        const once = normaliseSearchTerm(chars.join(''));
        expect(normaliseSearchTerm(once)).toBe(once);
      }),
    );
  });
});
