/**
 * A seeded, class-aware row sample that bounds the rows training holds: every train row that is
 * positive for the purchase head is kept; train negatives, and validation and test rows of either
 * class, are kept with one rate `r = min(1, maxRows / rows before sampling)`. The trainer then weighs
 * train negatives by `1 / r` (the loss stays an unbiased estimate of the full set's); validation and
 * test stay uniform samples, so their metrics and the calibration estimate the full set's.
 */
import { createRandom } from '../model/seeded-random';
import { fnv1a32 } from '../profile/hashing';
import { type PartitionRows, TrainingSetError } from './training-set';

/** Options of the row sample (module comment). */
export interface RowSampleOptions {
  /** Rows kept (about; positives of the train split come on top). */
  maxRows: number;
  /** @default 42 */
  seed?: number;
}

/** What a row sample did, for the metadata and the report. */
export interface RowSampleRecord {
  /** Share of train negatives and of validation/test rows kept; train positives: all. */
  rate: number;
  /** Loss weight of a kept train negative (`1 / rate`). */
  negativeWeight: number;
  rowsBefore: number;
  rowsAfter: number;
  seed: number;
}

/** The sampling rate for `rows` rows before sampling. */
export function rowSampleRate(rows: number, options: RowSampleOptions): number {
  if (!(Number.isSafeInteger(options.maxRows) && options.maxRows >= 1)) {
    throw new TrainingSetError('rowSample.maxRows', 'must be a positive integer', String(options.maxRows));
  }
  return rows <= options.maxRows ? 1 : options.maxRows / rows;
}

/**
 * Keep a partition's rows by the sample rule: each row's draw is a hash of (seed, person, cutoff), so
 * a row is kept or not whatever partition it is built in.
 */
export function sampleRows(rows: PartitionRows, rate: number, seed: number): PartitionRows {
  if (rate >= 1) return rows;
  const keep: number[] = [];
  rows.rowMeta.forEach(({ personId, cutoffMs }, r) => {
    const positiveTrain = rows.splitOfRow[r] === 'train' && rows.labels[r] === 1;
    const draw = createRandom((seed ^ fnv1a32(`${personId}|${cutoffMs}`)) >>> 0)();
    if (positiveTrain || draw < rate) keep.push(r);
  });
  const width = rows.features.length / Math.max(1, rows.rowMeta.length);
  const features = new Float32Array(keep.length * width);
  keep.forEach((r, i) => features.set(rows.features.subarray(r * width, (r + 1) * width), i * width));
  const pick = <T>(values: readonly T[]) => keep.map((r) => values[r]!);
  return {
    ...rows,
    features,
    labels: Uint8Array.from(keep, (r) => rows.labels[r]!),
    churnLabels: Uint8Array.from(keep, (r) => rows.churnLabels[r]!),
    nextKeys: keep.map((r) => rows.nextKeys[r]),
    lastKeys: keep.map((r) => rows.lastKeys[r]),
    affinities: pick(rows.affinities),
    rowMeta: pick(rows.rowMeta),
    splitOfRow: pick(rows.splitOfRow),
  };
}
