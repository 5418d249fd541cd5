import fc from 'fast-check';
import { binOf } from '../../../infra/local/explorer/explorer-api';

describe('binOf (the explorer histogram’s bin of a stored probability)', () => {
  it('puts every 4-decimal probability in the one bin whose range holds it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 100 }), (units, bins) => {
        // Prepare: a probability as the item stores it (4 decimals).
        const p = units / 1e4;
        // Act
        const bin = binOf(p, bins);
        // Assess: bin i holds [i/bins, (i+1)/bins), the last one also 1 — compared in exact units.
        expect(Number.isInteger(bin) && bin >= 0 && bin < bins).toBe(true);
        expect(bin * 1e4).toBeLessThanOrEqual(units * bins);
        if (bin < bins - 1) expect(units * bins).toBeLessThan((bin + 1) * 1e4);
      }),
    );
  });

  it('puts a value on a bin edge in the bin it starts, where float rounding would not', () => {
    expect(Math.floor(0.29 * 100)).toBe(28);
    expect(binOf(0.29, 100)).toBe(29);
    expect(binOf(1, 20)).toBe(19);
    expect(binOf(0, 20)).toBe(0);
  });
});
