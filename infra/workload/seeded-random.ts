/**
 * Seeded randomness for the workload, so a workload is reproducible from one number: the model
 * code's mulberry32 generator plus the draws a simulation needs.
 */
import { createRandom } from '../../shared/model/seeded-random';

/** A deterministic source of randomness with the helpers the workload needs. */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** One element of a non-empty array, with probability proportional to its weight. */
  weighted<T>(items: readonly T[], weights: readonly number[]): T;
  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number;
  /** Poisson-distributed count with the given mean (Knuth; fine for the small means used here). */
  poisson(mean: number): number;
}

/** Build a {@link SeededRandom} from a 32-bit seed; the same seed always yields the same sequence. */
export function createSeededRandom(seed: number): SeededRandom {
  const next = createRandom(seed);
  const random: SeededRandom = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick needs a non-empty array');
      return items[Math.floor(next() * items.length)]!;
    },
    weighted: (items, weights) => {
      if (items.length === 0 || items.length !== weights.length) {
        throw new RangeError('weighted needs as many weights as items, at least one');
      }
      const total = weights.reduce((sum, w) => sum + w, 0);
      let target = next() * total;
      for (let i = 0; i < items.length; i++) {
        target -= weights[i]!;
        if (target < 0) return items[i]!;
      }
      return items[items.length - 1]!;
    },
    exponential: (mean) => -Math.log(1 - next()) * mean,
    poisson: (mean) => {
      const limit = Math.exp(-mean);
      let count = 0;
      let product = next();
      while (product > limit) {
        count++;
        product *= next();
      }
      return count;
    },
  };
  return random;
}

/** Derive an independent 32-bit seed from a seed and a label (FNV-1a), so sub-streams do not correlate. */
export function deriveSeed(seed: number, label: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
