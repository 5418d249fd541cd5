/**
 * Small seeded pseudo-random helpers so that splits, shuffles and bootstraps are reproducible from a
 * single integer seed, independent of `Math.random` and of any library's internal generator.
 */

/** A source of uniform numbers in [0, 1). */
export type RandomSource = () => number;

/**
 * Mulberry32: 32-bit state, fast, and good enough for shuffling and resampling (not for cryptography).
 * The same seed always yields the same sequence on every platform because it only uses 32-bit integer maths.
 */
export function createRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place; returns the same array for chaining. */
export function shuffleInPlace<T>(items: T[], random: RandomSource): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const held = items[i] as T;
    items[i] = items[j] as T;
    items[j] = held;
  }
  return items;
}

/** A random permutation of `0 … n-1`. */
export function randomPermutation(n: number, random: RandomSource): number[] {
  return shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    random,
  );
}

/** A standard normal draw (Box–Muller); used to build synthetic data sets in tests and benchmarks. */
export function randomNormal(random: RandomSource): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
