/**
 * The point-in-time rows of a training set as CSV, so a data scientist can train elsewhere (pandas,
 * LightGBM, PyTorch…) on exactly the vectors ingest scores, and publish the result back as ONNX plus
 * the metadata contract (README, "Bring your own model").
 *
 * One header line, then one line per row: `profile_id, cutoff_ms, cutoff_iso, split`, the features
 * by name in vector order, then one `label_<head>` column per label head ({@link labelColumnsOf}). Numbers are written in
 * JavaScript's shortest round-trip form, so parsing a value and rounding it to float32 gives back the
 * exact feature the model sees. Fields are quoted per RFC 4180 only where needed (profile ids are
 * producer strings and may hold commas or quotes). The file holds profile ids: treat it like the
 * archive it was built from.
 */
import type { TrainingSet } from '../../shared/training/training-set';

/** The leading columns, before the features. */
export const ROW_KEY_COLUMNS = ['profile_id', 'cutoff_ms', 'cutoff_iso', 'split'] as const;

/** One label head of the export: its column suffix and its value per row. */
export interface LabelColumn {
  /** Column name after `label_`, e.g. `purchase_6h`. */
  name: string;
  /** 0/1 for a binary head; a category key (empty when the row has none) for the next category. */
  values: ArrayLike<number | string>;
}

const hours = (ms: number) => `${Number((ms / 3_600_000).toFixed(2))}h`;

/**
 * The label columns of every head of `set`: `purchase_<H>h`, `churn_<D>h` (0/1) and `next_category`
 * (the class's key: one of the K named categories, `other`, or empty when the row has none).
 */
export function labelColumnsOf(set: TrainingSet): LabelColumn[] {
  return [
    { name: `purchase_${hours(set.horizons.purchaseMs)}`, values: set.labels },
    { name: `churn_${hours(set.horizons.churnMs)}`, values: set.churnLabels },
    {
      name: 'next_category',
      values: Array.from(set.nextCategoryLabels, (c) => (c < 0 ? '' : set.categories[c]!)),
    },
  ];
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The split each row belongs to, by row index. */
function splitNames(set: TrainingSet): string[] {
  const names = new Array<string>(set.rows);
  for (const [name, rows] of Object.entries(set.split)) for (const row of rows) names[row] = name;
  return names;
}

/**
 * Lines of the CSV (header first), produced lazily so a large set streams to disk without one big
 * string.
 *
 * @param set - the training set
 * @param labels - the label heads to write (at least one)
 */
export function* trainingSetCsvLines(set: TrainingSet, labels: readonly LabelColumn[]): Generator<string> {
  if (labels.length === 0) throw new RangeError('labels: at least one label head is required');
  for (const label of labels) {
    if (label.values.length !== set.rows) {
      throw new RangeError(`labels.${label.name}: has ${label.values.length} values for ${set.rows} rows`);
    }
  }
  const width = set.featureNames.length;
  yield [...ROW_KEY_COLUMNS, ...set.featureNames, ...labels.map((l) => `label_${l.name}`)]
    .map(csvField)
    .join(',');
  const split = splitNames(set);
  for (let row = 0; row < set.rows; row++) {
    const { profileId, cutoffMs } = set.rowMeta[row]!;
    const cells = [csvField(profileId), String(cutoffMs), new Date(cutoffMs).toISOString(), split[row]!];
    for (let c = 0; c < width; c++) cells.push(String(set.features[row * width + c]!));
    for (const label of labels) cells.push(csvField(String(label.values[row]!)));
    yield cells.join(',');
  }
}
