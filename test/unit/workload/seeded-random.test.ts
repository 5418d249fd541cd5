import fc from 'fast-check';

import { createSeededRandom, deriveSeed } from '../../../infra/workload/seeded-random';

const take = <T>(next: () => T, n: number): T[] => Array.from({ length: n }, () => next());

describe('createSeededRandom', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        // Act
        const first = take(createSeededRandom(seed).next, 20);
        const again = take(createSeededRandom(seed).next, 20);
        const other = take(createSeededRandom(seed ^ 1).next, 20);
        // Assess
        expect(again).toEqual(first);
        expect(other).not.toEqual(first);
        expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
      }),
    );
  });

  it('is roughly uniform', () => {
    // Prepare
    const { next } = createSeededRandom(123);
    const buckets = new Array<number>(10).fill(0);
    // Act
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(next() * 10)]!++;
    // Assess
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('keeps int within its inclusive bounds and weighted picks only positive-weight items', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -50, max: 50 }), fc.nat(20), (seed, min, span) => {
        // Prepare
        const random = createSeededRandom(seed);
        // Act
        const ints = take(() => random.int(min, min + span), 50);
        const picks = take(() => random.weighted(['a', 'b', 'c'], [0, 1, 2]), 50);
        // Assess
        expect(ints.every((x) => Number.isInteger(x) && x >= min && x <= min + span)).toBe(true);
        expect(picks).not.toContain('a');
      }),
    );
  });

  it('derives different seeds for different labels', () => {
    // Act & Assess
    expect(deriveSeed(1, 'catalog')).not.toBe(deriveSeed(1, 'people'));
    expect(deriveSeed(1, 'catalog')).toBe(deriveSeed(1, 'catalog'));
  });
});
