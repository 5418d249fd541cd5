import { validateEvent } from '../../../shared/contract/event-contract';
import { buildTrainingSet } from '../../../shared/training/training-set';
import { labelColumnsOf, ROW_KEY_COLUMNS, trainingSetCsvLines } from '../../../infra/cli/training-set-csv';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';

const HOUR_MS = 3_600_000;

/** RFC 4180 reader for one line (no embedded newlines in these files' fields). */
function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted && c === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (c === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else {
      cell += c;
    }
  }
  cells.push(cell);
  return cells;
}

function smallSet() {
  const workload = generateWorkload({ users: 120, days: 3, seed: 11 });
  const events = workload.events.map((raw) => validateEvent(raw, workload.endMs).event);
  // A producer id that needs quoting: the first registered user's.
  const quoted = events.find((e) => e.userId !== undefined && e.type !== 'identify')!.userId!;
  for (const e of events) if (e.userId === quoted) e.userId = 'u,"quoted"';
  // Three days: a churn window as long as the purchase one leaves every split rows.
  return buildTrainingSet(events, { labelHorizonMs: 6 * HOUR_MS, churnHorizonMs: 6 * HOUR_MS });
}

describe('trainingSetCsvLines', () => {
  it('round-trips every row: ids, cutoff, split, float32 features and labels', () => {
    // Prepare
    const set = smallSet();
    // Act
    const [header, ...lines] = [...trainingSetCsvLines(set, labelColumnsOf(set))].map(parseCsvLine);
    // Assess
    expect(header).toEqual([
      ...ROW_KEY_COLUMNS,
      ...set.featureNames,
      'label_purchase_6h',
      'label_churn_6h',
      'label_next_category',
    ]);
    expect(lines).toHaveLength(set.rows);
    const width = set.featureNames.length;
    const splitOf = new Map<number, string>();
    for (const [name, rows] of Object.entries(set.split)) for (const r of rows) splitOf.set(r, name);
    lines.forEach((cells, row) => {
      expect(cells).toHaveLength(header!.length);
      expect(cells[0]).toBe(set.rowMeta[row]!.profileId);
      expect(Number(cells[1])).toBe(set.rowMeta[row]!.cutoffMs);
      expect(Date.parse(cells[2]!)).toBe(set.rowMeta[row]!.cutoffMs);
      expect(cells[3]).toBe(splitOf.get(row));
      const features = Float32Array.from(cells.slice(4, 4 + width), Number);
      expect(features).toEqual(set.features.subarray(row * width, (row + 1) * width));
      expect(Number(cells[4 + width])).toBe(set.labels[row]);
      expect(Number(cells[5 + width])).toBe(set.churnLabels[row]);
      const category = set.nextCategoryLabels[row]!;
      expect(cells[6 + width]).toBe(category < 0 ? '' : set.categories[category]);
    });
    expect(lines.some((cells) => cells[0] === 'u,"quoted"')).toBe(true);
    expect(lines.some((cells) => cells[6 + width] === '')).toBe(true);
    expect(lines.some((cells) => cells[6 + width] !== '')).toBe(true);
  });

  it('refuses a label head whose length is not the row count, naming it', () => {
    const set = smallSet();
    expect(() => [...trainingSetCsvLines(set, [{ name: 'churn_3d', values: [1, 0] }])]).toThrow(
      /labels\.churn_3d: has 2 values/,
    );
  });
});
