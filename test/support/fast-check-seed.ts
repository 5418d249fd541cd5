/**
 * Jest setup: every fast-check property in the suite runs from one seed, so a CI failure reproduces.
 * `FC_SEED=<integer>` picks another seed (e.g. to explore beyond the default cases); a failing property
 * prints its seed and shrink path in its message (`{ seed: …, path: "…" }`), which `FC_SEED` and fast-check's
 * `path` parameter replay.
 */
import fc from 'fast-check';

/** The seed when `FC_SEED` is not set. */
export const DEFAULT_FC_SEED = 20_261_127;

/** `FC_SEED` is set but is not a 32-bit integer. */
export class InvalidFastCheckSeed extends Error {
  override readonly name = 'InvalidFastCheckSeed';
  constructor(readonly value: string) {
    super(`FC_SEED must be a 32-bit integer (got ${JSON.stringify(value)})`);
  }
}

/** The seed `FC_SEED` names, or {@link DEFAULT_FC_SEED}. */
export function fastCheckSeedFrom(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_FC_SEED;
  const seed = Number(value);
  if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 32) throw new InvalidFastCheckSeed(value);
  return seed;
}

fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: fastCheckSeedFrom(process.env.FC_SEED) });
