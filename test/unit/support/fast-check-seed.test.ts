import fc from 'fast-check';
import { DEFAULT_FC_SEED, fastCheckSeedFrom, InvalidFastCheckSeed } from '../../support/fast-check-seed';

describe('fast-check seed (jest setup)', () => {
  it('seeds every property of the suite from FC_SEED, or the fixed default', () => {
    // Assess
    expect(fc.readConfigureGlobal().seed).toBe(fastCheckSeedFrom(process.env.FC_SEED));
  });

  it('reads FC_SEED as a 32-bit integer and refuses anything else', () => {
    // Assess
    expect(fastCheckSeedFrom(undefined)).toBe(DEFAULT_FC_SEED);
    expect(fastCheckSeedFrom('')).toBe(DEFAULT_FC_SEED);
    expect(fastCheckSeedFrom('-17')).toBe(-17);
    for (const bad of ['1.5', 'abc', String(2 ** 32)]) {
      expect(() => fastCheckSeedFrom(bad)).toThrow(InvalidFastCheckSeed);
    }
  });

  it('reports the seed with a failing property, so the failure can be replayed', () => {
    // Act
    const run = () => fc.assert(fc.property(fc.nat(), (n) => n < 3));
    // Assess
    expect(run).toThrow(`{ seed: ${fc.readConfigureGlobal().seed}, path: `);
  });
});
