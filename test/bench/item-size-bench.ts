/**
 * Part 3: profile item sizes after the full workload, by the project's own size rules
 * (`estimateItemBytes`), with every model output filled (the bench model has the purchase head only, so
 * each profile is re-encoded with a simulated full score: churn risk, 3 next categories, 3 reasons per
 * head named after the real features, a 16-value embedding), with the device / network fingerprints filled
 * to their bound (2 + 2: the bench decodes without a key, so its profiles carry none, while a deployed
 * pipeline always fingerprints) and with the computed traits and the built-in audiences' membership
 * ingest stores beside them; broken down by attribute (what each costs in the median item and in the
 * items at or above the p99 size), cross-checked on a sample against the emulator: dynalite's own item-size
 * function on the marshalled item, and the write units PutItem reports with
 * `ReturnConsumedCapacity: 'TOTAL'` (dynalite computes them from that same size, one unit per started KB).
 * Neither is AWS itself; AWS documents the rules `estimateItemBytes` implements.
 */
import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createRequire } from 'node:module';
import type { StoredProfileItem } from '../../shared/ingest/ingest-ports';
import { FEATURE_NAMES } from '../../shared/features/feature-vector';
import type { ProfileScore } from '../../shared/model/model-outputs';
import { createRandom, shuffleInPlace, type RandomSource } from '../../shared/model/seeded-random';
import { estimateItemBytes } from '../../shared/profile/dynamodb-item-size';
import {
  decodeProfileItem,
  encodeProfileItem,
  type ProfileItemMeta,
} from '../../shared/profile/profile-item-codec';
import * as v4 from '../support/profile-item-codec-v4';
import * as v5 from '../support/profile-item-codec-v5';
import type { ProfileState } from '../../shared/profile/profile-state';
import { RISK_LIMITS, type FingerprintEntry } from '../../shared/risk/risk-signals';
import { median, percentile } from './bench-report';
import { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
import { compileAudienceSet } from '../../shared/audiences/audience-evaluation';
import { profileExtrasOf } from '../../shared/audiences/profile-extras';
import { DEFAULT_POPULATION, type PopulationStats } from '../../shared/traits/computed-traits';

// dynalite's internal size function (exported by its db module, undeclared in its types).
const requireHere = createRequire(__filename);
const dynaliteDb = requireHere('dynalite/db') as {
  itemSize: (item: Record<string, AttributeValue>) => number;
};

/** Largest embedding the issue allows (8–16 values). */
const EMBEDDING_SIZE = 16;

/**
 * A score with every output the multi-task model stores, with realistic sizes: probabilities with all
 * their digits, the profile's own top categories, reasons drawn from the real feature names.
 */
export function simulatedFullScore(
  state: ProfileState,
  base: ProfileScore,
  random: RandomSource,
): ProfileScore {
  const reasons = () =>
    shuffleInPlace([...FEATURE_NAMES], random)
      .slice(0, 3)
      .map((feature) => ({ feature, contribution: (random() * 2 - 1) * 2 }))
      .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const categories = [...state.categories.slice(0, 2).map((c) => c.key), 'other'];
  let remaining = 1;
  return {
    ...base,
    churnRisk: random(),
    nextCategories: categories.map((category) => {
      const probability = remaining * (0.3 + 0.5 * random());
      remaining -= probability;
      return { category, probability };
    }),
    reasons: { purchase: reasons(), churn: reasons() },
    embedding: {
      scale: (0.5 + random()) / 127,
      bytes: Int8Array.from({ length: EMBEDDING_SIZE }, () => Math.floor(random() * 256) - 128),
    },
  };
}

/**
 * Fill `state`'s device and network fingerprints up to their bound (mutated): the keys random 32-bit
 * hashes, first and last sightings within the profile's lifetime, newest first as the fold keeps them.
 */
export function fillFingerprints(state: ProfileState, random: RandomSource): void {
  const firstHour = Math.floor(state.firstSeenAt / 3_600_000);
  const lastHour = Math.floor(state.lastEventAt / 3_600_000);
  const hourIn = (from: number) => from + Math.floor(random() * (lastHour - from + 1));
  const fill = (list: FingerprintEntry[], limit: number) => {
    while (list.length < limit) {
      const first = hourIn(firstHour);
      list.push({ key: Math.floor(random() * 2 ** 32), first, at: hourIn(first) });
    }
    list.sort((a, b) => b.at - a.at || b.key - a.key);
  };
  fill(state.risk.devices, RISK_LIMITS.devices);
  fill(state.risk.networks, RISK_LIMITS.networks);
}

/** What one top-level attribute costs (its name and value, bytes; 0 where absent). */
export interface AttributeCost {
  attribute: string;
  /** Items that carry it. */
  present: number;
  p50: number;
  p99: number;
  max: number;
  /** Mean over all items. */
  mean: number;
  /** Mean over the items whose size is at or above the p99 size: what makes the largest items large. */
  meanInLargest: number;
}

/** Per-attribute costs of `sized` (sorted by size), largest in the biggest items first. */
export function attributeCosts(
  sized: readonly { item: Record<string, unknown>; bytes: number }[],
): AttributeCost[] {
  const p99 = percentile(
    sized.map((s) => s.bytes),
    99,
  );
  const largest = sized.filter((s) => s.bytes >= p99);
  const names = new Set<string>();
  for (const { item } of sized) for (const name of Object.keys(item)) names.add(name);
  const costOf = (item: Record<string, unknown>, name: string) =>
    item[name] === undefined ? 0 : estimateItemBytes({ [name]: item[name] });
  const mean = (values: readonly number[]) =>
    values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
  return [...names]
    .map((attribute): AttributeCost => {
      const costs = sized.map((s) => costOf(s.item, attribute)).sort((a, b) => a - b);
      return {
        attribute,
        present: costs.filter((c) => c > 0).length,
        p50: median(costs),
        p99: percentile(costs, 99),
        max: costs[costs.length - 1] ?? 0,
        mean: mean(costs),
        meanInLargest: mean(largest.map((s) => costOf(s.item, attribute))),
      };
    })
    .sort((a, b) => b.meanInLargest - a.meanInLargest || b.mean - a.mean);
}

/** Size percentiles of a set of items. */
export interface SizeStats {
  p50: number;
  p99: number;
  max: number;
  over1KiB: number;
}

function sizeStats(sorted: readonly number[]): SizeStats {
  return {
    p50: median(sorted),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
    over1KiB: sorted.filter((b) => b > 1024).length,
  };
}

/** What part 3 measured: the figures of the items with every output filled, and of the items as written. */
export interface ItemSizeResult extends SizeStats {
  profiles: number;
  asWritten: SizeStats;
  /** The same items (same states, scores, traits) as the frozen v5 codec (decays in `act`) encodes them. */
  v5: SizeStats;
  /** Items that kept fewer than 3 reasons per head to stay within one write unit. */
  reasonsTrimmed: number;
  /** What each attribute costs (see {@link attributeCosts}). */
  attributes: AttributeCost[];
  /** Encode / decode CPU time of these items, the current codec against v4 (see {@link compareCodecSpeed}). */
  codec: CodecSpeed;
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

/** The version format of trained models (`v<yyyymmddHHMMss>-<8 hex>`), longer than the bench model's. */
const TRAINED_MODEL_VERSION = 'v20261127093000-1a2b3c4d';

/**
 * Sizes of `items` as written and re-encoded with every output filled (seeded: every run the same),
 * the latter sorted by size with their items.
 */
export function measureItemSizes(items: readonly StoredProfileItem[]): Omit<
  ItemSizeResult,
  'sample' | 'codec'
> & {
  sized: { item: Record<string, unknown>; bytes: number }[];
  inputs: CodecInput[];
} {
  const random = createRandom(20261127);
  const audiences = compileAudienceSet(BUILT_IN_AUDIENCES);
  const population: PopulationStats = {
    ...DEFAULT_POPULATION,
    centroids: { 'recent-buyers': Array.from({ length: EMBEDDING_SIZE }, () => random() * 2 - 1) },
  };
  let reasonsTrimmed = 0;
  const inputs: CodecInput[] = [];
  const v5Sizes: number[] = [];
  const sized = items
    .map((written) => {
      const { state, version, score } = decodeProfileItem(written);
      const base = {
        propensity: score?.propensity ?? random(),
        modelVersion: TRAINED_MODEL_VERSION,
        scoredAt: score?.scoredAt ?? state.lastEventAt,
      };
      const full = simulatedFullScore(state, base, random);
      fillFingerprints(state, random);
      // With the traits and the built-in audiences' membership, as ingest writes them.
      const extras = profileExtrasOf(state, full, population, audiences, undefined);
      const meta: ProfileItemMeta = { version, score: full, ...extras };
      inputs.push({ state, meta });
      v5Sizes.push(estimateItemBytes(v5.encodeProfileItem(state, meta)));
      const item = encodeProfileItem(state, meta);
      const kept =
        Object.keys(item.reasons?.purchase ?? {}).length + Object.keys(item.reasons?.churn ?? {}).length;
      if (kept < 6) reasonsTrimmed++;
      return { item, bytes: estimateItemBytes(item) };
    })
    .sort((a, b) => a.bytes - b.bytes);
  const sizes = sized.map((s) => s.bytes);
  const writtenSizes = items.map((item) => estimateItemBytes(item)).sort((a, b) => a - b);
  return {
    profiles: sizes.length,
    ...sizeStats(sizes),
    asWritten: sizeStats(writtenSizes),
    v5: sizeStats(v5Sizes.sort((a, b) => a - b)),
    reasonsTrimmed,
    attributes: attributeCosts(sized),
    sized,
    inputs,
  };
}

/** One profile to encode: its state and what is stored beside it. */
export interface CodecInput {
  state: ProfileState;
  meta: ProfileItemMeta;
}

/** CPU time of the item codec, the current one against the frozen v4 copy (main at 47d5c06). */
export interface CodecSpeed {
  items: number;
  /** Alternating timed passes per codec and direction. */
  runs: number;
  /** Median CPU µs per item. */
  v4: { encodeMicros: number; decodeMicros: number };
  current: { encodeMicros: number; decodeMicros: number };
}

/**
 * Encode and decode `inputs` with the frozen v4 codec and the current one, alternating pass by pass in
 * one process (the machine is shared: neither codec gets the quieter moments), `runs` timed passes each
 * after one untimed pass; medians of the process CPU time.
 */
export function compareCodecSpeed(inputs: readonly CodecInput[], runs = 7): CodecSpeed {
  const v4Items = inputs.map(({ state, meta }) => v4.encodeProfileItem(state, meta));
  const currentItems = inputs.map(({ state, meta }) => encodeProfileItem(state, meta));
  const passes = {
    v4Encode: () => inputs.forEach(({ state, meta }) => v4.encodeProfileItem(state, meta)),
    currentEncode: () => inputs.forEach(({ state, meta }) => encodeProfileItem(state, meta)),
    v4Decode: () => v4Items.forEach((item) => v4.decodeProfileItem(item)),
    currentDecode: () => currentItems.forEach((item) => decodeProfileItem(item)),
  };
  const samples: Record<keyof typeof passes, number[]> = {
    v4Encode: [],
    currentEncode: [],
    v4Decode: [],
    currentDecode: [],
  };
  for (let run = 0; run <= runs; run++) {
    for (const [name, pass] of Object.entries(passes) as [keyof typeof passes, () => void][]) {
      const cpu = process.cpuUsage();
      pass();
      const used = process.cpuUsage(cpu);
      if (run > 0) samples[name].push((used.user + used.system) / inputs.length);
    }
  }
  const micros = (name: keyof typeof passes) => Math.round(median(samples[name]) * 100) / 100;
  return {
    items: inputs.length,
    runs,
    v4: { encodeMicros: micros('v4Encode'), decodeMicros: micros('v4Decode') },
    current: { encodeMicros: micros('currentEncode'), decodeMicros: micros('currentDecode') },
  };
}

/** Sizes of `items` (see {@link measureItemSizes}), and a cross-check of `sampleSize` of them (spread over the size range) in `tableName`. */
export async function runItemSizeBench(
  items: readonly StoredProfileItem[],
  dynamodb: DynamoDBClient,
  tableName: string,
  sampleSize = 200,
): Promise<ItemSizeResult> {
  const { sized, inputs, ...figures } = measureItemSizes(items);
  const codec = compareCodecSpeed(inputs);
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

  return { ...figures, codec, sample };
}
