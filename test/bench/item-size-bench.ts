/**
 * Part 3: profile item sizes after the full workload, by the project's own size rules
 * (`estimateItemBytes`), cross-checked on a sample against the emulator: dynalite's own item-size
 * function on the marshalled item, and the write units PutItem reports with
 * `ReturnConsumedCapacity: 'TOTAL'` (dynalite computes them from that same size, one unit per started KB).
 * Neither is AWS itself; AWS documents the rules `estimateItemBytes` implements.
 */
import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createRequire } from 'node:module';
import type { StoredProfileItem } from '../../shared/ingest/ingest-ports';
import { estimateItemBytes } from '../../shared/profile/dynamodb-item-size';
import { median, percentile } from './bench-report';

// dynalite's internal size function (exported by its db module, undeclared in its types).
const requireHere = createRequire(__filename);
const dynaliteDb = requireHere('dynalite/db') as {
  itemSize: (item: Record<string, AttributeValue>) => number;
};

/** What part 3 measured. */
export interface ItemSizeResult {
  profiles: number;
  p50: number;
  p99: number;
  max: number;
  over1KiB: number;
  /** Sample written to the emulator. */
  sample: {
    items: number;
    /** Items whose size dynalite computes exactly as `estimateItemBytes` does. */
    sizeMatches: number;
    /** Range of dynalite's size minus the estimate, bytes. */
    sizeDifference: { min: number; max: number };
    /** PutItem responses that carried `ConsumedCapacity`. */
    consumedCapacityReported: number;
    /** Items whose reported write units equal ceil(estimate / 1024). */
    writeUnitsMatch: number;
    writeUnitsMax: number;
  };
}

/** Sizes of `items`, and a cross-check of `sampleSize` of them (spread over the size range) in `tableName`. */
export async function runItemSizeBench(
  items: readonly StoredProfileItem[],
  dynamodb: DynamoDBClient,
  tableName: string,
  sampleSize = 200,
): Promise<ItemSizeResult> {
  const sized = items
    .map((item) => ({ item, bytes: estimateItemBytes(item) }))
    .sort((a, b) => a.bytes - b.bytes);
  const sizes = sized.map((s) => s.bytes);
  const step = Math.max(1, (sized.length - 1) / (sampleSize - 1));
  const sampleIndexes = new Set<number>();
  for (let i = 0; i < sampleSize && Math.round(i * step) < sized.length; i++)
    sampleIndexes.add(Math.round(i * step));
  sampleIndexes.add(sized.length - 1);

  const sample = {
    items: 0,
    sizeMatches: 0,
    sizeDifference: { min: Infinity, max: -Infinity },
    consumedCapacityReported: 0,
    writeUnitsMatch: 0,
    writeUnitsMax: 0,
  };
  for (const index of sampleIndexes) {
    const { item, bytes } = sized[index]!;
    const Item = marshall(item, { removeUndefinedValues: true });
    const dynaliteBytes = dynaliteDb.itemSize(Item);
    const out = await dynamodb.send(
      new PutItemCommand({ TableName: tableName, Item, ReturnConsumedCapacity: 'TOTAL' }),
    );
    sample.items++;
    if (dynaliteBytes === bytes) sample.sizeMatches++;
    sample.sizeDifference.min = Math.min(sample.sizeDifference.min, dynaliteBytes - bytes);
    sample.sizeDifference.max = Math.max(sample.sizeDifference.max, dynaliteBytes - bytes);
    const units = out.ConsumedCapacity?.CapacityUnits;
    if (units === undefined) continue;
    sample.consumedCapacityReported++;
    sample.writeUnitsMax = Math.max(sample.writeUnitsMax, units);
    if (units === Math.ceil(bytes / 1024)) sample.writeUnitsMatch++;
  }

  return {
    profiles: sizes.length,
    p50: median(sizes),
    p99: percentile(sizes, 99),
    max: sizes[sizes.length - 1] ?? 0,
    over1KiB: sizes.filter((b) => b > 1024).length,
    sample,
  };
}
