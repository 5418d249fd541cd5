import fc from 'fast-check';
import { canonicalSequenceNumber, compareSequenceNumbers } from '../../../shared/profile/sequence-number';

const decimal = fc.bigInt({ min: 0n, max: 10n ** 56n - 1n });

describe('compareSequenceNumbers', () => {
  it('agrees with BigInt comparison for numbers of up to 56 digits, leading zeros included', () => {
    fc.assert(
      fc.property(decimal, decimal, fc.nat(3), (a, b, zeros) => {
        // Prepare
        const left = canonicalSequenceNumber('0'.repeat(zeros) + a.toString());
        const right = canonicalSequenceNumber(b.toString());
        // Act
        const sign = compareSequenceNumbers(left, right);
        // Assess
        expect(sign).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });

  it('keeps a lone zero', () => {
    // Prepare, Act, Assess
    expect(canonicalSequenceNumber('000')).toBe('0');
  });
});
