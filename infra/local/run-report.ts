/**
 * End-of-run figures for the local pipeline, read back from the emulators rather than from counters
 * kept on the side, so the accounting proves what was actually stored.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { EVENT_TYPES } from '../../shared/contract/event-contract';
import { agreementWithReference, appliedEvents } from './reference-fold';
import type { ProfileState } from '../../shared/profile/profile-state';
import { decodeProfileItem, type DecodedProfileItem } from '../../shared/profile/profile-item-codec';
import { isTombstoneKey, TombstoneKeys } from '../../shared/erasure/tombstones';
import { decodeBatch } from '../../shared/ingest/decode-batch';
import { profileIdOf } from '../../shared/contract/event-contract';
import { storedProfileIdOf } from '../../shared/privacy/pseudonymise';
import { decodePrivacyOf } from './local-pipeline';
import type { DeliveredRecord } from './reference-fold';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { S3ModelRegistry } from '../../functions/commons/s3-model-registry';
import { readObjectIfExists } from '../../functions/commons/s3-objects';
import {
  declaredOutputNames,
  type MetricSummary,
  metricSummarySchema,
  modelObjectKeys,
  type ModelProvenance,
} from '../../shared/model/model-metadata';
import type { LocalPipeline } from './local-pipeline';
import type { ProfileScore } from '../../shared/model/model-outputs';

/** Where every produced record ended up. */
export interface RunAccounting {
  produced: number;
  /** Kinesis refused them even after retries. */
  failedToSend: number;
  /** Records the ingest consumer checkpointed past (applied, duplicate or quarantined). */
  checkpointed: number;
  /** Distinct records found in the quarantine bucket. */
  quarantined: number;
  /** Events folded into a profile (sum of the profiles' lifetime counts). */
  applied: number;
  /** Checkpointed, valid, but not applied: recognised duplicates. */
  duplicates: number;
  /** Records the event source gave up on (written to the on-failure destination). */
  onFailure: number;
  /**
   * Records of people erased during the run (their tombstones are in the table): applied before the
   * erasure and deleted with the profile, quarantined and removed by it, or dropped by ingest after it.
   */
  erased: number;
  /** Live profiles (anonymous profiles merged into a user are redirects, not profiles). */
  profiles: number;
  /** Anonymous profiles merged into a user: frozen redirects, their events counted in their user's. */
  redirects: number;
  /** Profiles that carry a model score. */
  scored: number;
  /** Scored profiles by the model version that scored them. */
  scoredBy: Record<string, number>;
  /** Members per audience, from the stored membership (not part of the balance: a profile is in 0..n). */
  audienceSizes: Record<string, number>;
  /** What should have happened, when known: the same sent records folded in memory. */
  expected?: { applied: number; quarantined: number };
  /** Stored profiles that differ from the reference fold (or exist on one side only). */
  mismatchedProfiles?: number;
  /**
   * Merged profiles that differ from the reference fold only where the order envelope allows: which
   * of two shards' records reached the merge first (`agreementWithReference`). Not a mismatch.
   */
  orderEnvelopeProfiles?: number;
  /**
   * produced = applied + duplicates + quarantined + erased + onFailure + failedToSend, and, when a reference is
   * given, every stored profile equals its reference profile and the quarantine holds exactly the
   * expected number of distinct records.
   */
  balanced: boolean;
}

/** Read every profile item of the local table. */
export async function scanProfiles(pipeline: LocalPipeline): Promise<DecodedProfileItem[]> {
  const profiles: DecodedProfileItem[] = [];
  let startKey: Record<string, never> | undefined;
  do {
    const page = await pipeline.cloud.clients.dynamodb.send(
      new ScanCommand({ TableName: pipeline.tableName, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) {
      const stored = unmarshall(item);
      if (!isTombstoneKey(String(stored.profileId))) profiles.push(decodeProfileItem(stored));
    }
    startKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (startKey !== undefined);
  return profiles;
}

/** Read every quarantined record (one NDJSON object per batch) of the local quarantine bucket. */
export async function readQuarantine(
  pipeline: LocalPipeline,
): Promise<{ shardId: string; sequenceNumber: string; kind: string }[]> {
  const s3 = pipeline.cloud.clients.s3;
  const bucket = pipeline.buckets.quarantine!;
  const records: { shardId: string; sequenceNumber: string; kind: string }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'quarantine/', ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }));
      const text = await body.Body!.transformToString();
      for (const line of text.split('\n')) if (line.trim() !== '') records.push(JSON.parse(line));
    }
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return records;
}

/** The delivered records that belong to an erased person, found by the tombstones in the table. */
export interface ErasedRecords {
  /** Records (valid or not) whose profile has a tombstone. */
  records: number;
  /** Those among them the contract refuses (a quarantine would have kept them). */
  refused: number;
  /** The erased profile ids, as stored (pseudonyms when ids are pseudonymised). */
  profileIds: Set<string>;
}

/**
 * Which delivered records belong to people erased during the run: each record decoded as the handlers
 * decode (the pipeline's key; pseudonymous ids if on), its profile — a refused record's by its
 * partition key, as ingest checks it — looked up among the table's tombstones.
 *
 * @param nowMs - when the records reached the stream, for the contract's future-timestamp rule
 */
export async function erasedRecordsOf(
  pipeline: LocalPipeline,
  records: readonly DeliveredRecord[],
  nowMs: number,
): Promise<ErasedRecords> {
  const tombstoned = new Set<string>();
  let startKey: Record<string, never> | undefined;
  do {
    const page = await pipeline.cloud.clients.dynamodb.send(
      new ScanCommand({
        TableName: pipeline.tableName,
        ExclusiveStartKey: startKey,
        ProjectionExpression: 'profileId',
      }),
    );
    for (const item of page.Items ?? []) {
      const id = String(unmarshall(item).profileId);
      if (isTombstoneKey(id)) tombstoned.add(id);
    }
    startKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (startKey !== undefined);
  const erased: ErasedRecords = { records: 0, refused: 0, profileIds: new Set() };
  if (tombstoned.size === 0) return erased;
  const privacy = decodePrivacyOf(pipeline);
  const keys = new TombstoneKeys(new TextEncoder().encode(pipeline.hashKey));
  const isErased = (id: string) => tombstoned.has(keys.keyOf(id));
  const decoded = decodeBatch(
    records.map((r, i) => ({
      shardId: 'report',
      sequenceNumber: String(i + 1),
      partitionKey: r.partitionKey,
      data: r.data,
      approximateArrivalMs: nowMs,
    })),
    privacy,
  );
  for (const { event } of decoded.valid) {
    const id = profileIdOf(event);
    if (!isErased(id)) continue;
    erased.records++;
    erased.profileIds.add(id);
  }
  const storedIdOf = storedProfileIdOf(privacy);
  for (const { partitionKey } of decoded.quarantined) {
    const owners = [storedIdOf(partitionKey), storedIdOf(`anon:${partitionKey}`)];
    if (!owners.some(isErased)) continue;
    erased.records++;
    erased.refused++;
  }
  return erased;
}

/**
 * Account for every produced record from what the emulators hold.
 *
 * @param sent - `erased`: the records of people erased during the run ({@link erasedRecordsOf}), who
 *   are then left out of the reference too @default none
 */
export async function collectAccounting(
  pipeline: LocalPipeline,
  sent: { produced: number; failedToSend: number; erased?: ErasedRecords },
  reference?: { profiles: ReadonlyMap<string, ProfileState>; quarantined: number },
): Promise<RunAccounting> {
  const ingest = pipeline.mappings.get('ingest');
  if (ingest === undefined) throw new Error('the template has no ingest event source mapping');
  const items = await scanProfiles(pipeline);
  const profiles = items.filter((p) => p.state.redirect === undefined);
  const quarantineRecords = await readQuarantine(pipeline);
  // A redelivered range may be quarantined twice; the record is the same.
  const quarantined = new Set(quarantineRecords.map((r) => `${r.shardId}:${r.sequenceNumber}`)).size;
  const applied = profiles.reduce((sum, p) => sum + appliedEvents(p.state), 0);
  const checkpointed = ingest.stats.recordsCheckpointed;
  const onFailure = ingest.stats.recordsSentToOnFailure;
  const erased = sent.erased?.records ?? 0;
  const duplicates = checkpointed - quarantined - applied - erased;
  const conserved =
    duplicates >= 0 &&
    sent.produced === applied + duplicates + quarantined + erased + onFailure + sent.failedToSend;
  const counted = {
    produced: sent.produced,
    failedToSend: sent.failedToSend,
    erased,
    checkpointed,
    quarantined,
    applied,
    duplicates,
    onFailure,
    profiles: profiles.length,
    redirects: items.length - profiles.length,
    scored: profiles.filter((p) => p.scoreStatus === 'scored').length,
    scoredBy: countBy(profiles.flatMap((p) => (p.score === undefined ? [] : [p.score.modelVersion]))),
    audienceSizes: countBy(profiles.flatMap((p) => Object.keys(p.audiences ?? {}))),
  };
  if (reference === undefined) return { ...counted, balanced: conserved };
  // The erased people are nowhere: not in the table, not among the quarantine's records.
  const erasedIds = sent.erased?.profileIds ?? new Set<string>();
  const expectedProfiles = new Map([...reference.profiles].filter(([id]) => !erasedIds.has(id)));
  const expectedQuarantined = reference.quarantined - (sent.erased?.refused ?? 0);
  let mismatchedProfiles = Math.abs(expectedProfiles.size - profiles.length);
  let orderEnvelopeProfiles = 0;
  for (const stored of profiles) {
    const expected = expectedProfiles.get(stored.state.profileId);
    const agreement = expected === undefined ? 'differs' : agreementWithReference(stored.state, expected);
    if (agreement === 'differs') mismatchedProfiles++;
    else if (agreement === 'order-envelope') orderEnvelopeProfiles++;
  }
  const expectedApplied = [...expectedProfiles.values()].reduce(
    (sum, state) => sum + appliedEvents(state),
    0,
  );
  return {
    ...counted,
    expected: { applied: expectedApplied, quarantined: expectedQuarantined },
    mismatchedProfiles,
    orderEnvelopeProfiles,
    balanced: conserved && mismatchedProfiles === 0 && quarantined === expectedQuarantined,
  };
}

function countBy(keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

/** Audience sizes in a line, largest first (`audiences defined` lists the set, so an empty one shows). */
export function formatAudienceSizes(
  sizes: Readonly<Record<string, number>>,
  defined: readonly string[],
): string {
  const ids = [...new Set([...defined, ...Object.keys(sizes)])];
  const rows = ids
    .map((id) => [id, sizes[id] ?? 0] as const)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return `audience sizes: ${rows.length === 0 ? 'none defined' : rows.map(([id, n]) => `${id} ${n.toLocaleString('en-US')}`).join(' · ')}`;
}

/** How many live profiles each person of a workload ended with (identity resolution's figure). */
export interface ProfilesPerPerson {
  people: number;
  /** Mean live profiles per person: 1.00 when every person's ids were stitched into one profile. */
  mean: number;
  /** People with more than one live profile. */
  split: number;
}

/**
 * Count, for each person (the profile ids their events were published under, from the workload's
 * ground truth), the live profiles the table holds for them.
 */
export function profilesPerPerson(
  stored: readonly DecodedProfileItem[],
  people: readonly (readonly string[])[],
): ProfilesPerPerson {
  const live = new Set(stored.filter((p) => p.state.redirect === undefined).map((p) => p.state.profileId));
  let total = 0;
  let split = 0;
  for (const ids of people) {
    const count = ids.filter((id) => live.has(id)).length;
    total += count;
    if (count > 1) split++;
  }
  return { people: people.length, mean: people.length === 0 ? 0 : total / people.length, split };
}

/** One line that accounts for every produced record. */
export function formatAccounting(a: RunAccounting): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    `accounting: produced ${n(a.produced)} = acknowledged ${n(a.applied + a.duplicates)} ` +
    `(applied ${n(a.applied)} + duplicates ${n(a.duplicates)}) + quarantined ${n(a.quarantined)} + ` +
    (a.erased === 0 ? '' : `erased ${n(a.erased)} + `) +
    `on-failure ${n(a.onFailure)} + failed-to-send ${n(a.failedToSend)} → ${a.balanced ? 'balanced ✓' : 'UNBALANCED ✗'}` +
    ` · ${n(a.profiles)} profiles (+ ${n(a.redirects)} merged into their user)` +
    (a.expected === undefined
      ? ''
      : ` · expected applied ${n(a.expected.applied)}, quarantined ${n(a.expected.quarantined)}; ` +
        `profiles differing from the in-memory fold: ${n(a.mismatchedProfiles ?? 0)}` +
        (a.orderEnvelopeProfiles === undefined || a.orderEnvelopeProfiles === 0
          ? ''
          : ` (${n(a.orderEnvelopeProfiles)} merged within the order envelope: the shards' interleaving, as documented)`))
  );
}

/** The stored score as JSON prints it readably: the embedding's bytes as a list, not an indexed object. */
function printableScore({ embedding, ...score }: ProfileScore): Record<string, unknown> {
  return embedding === undefined
    ? score
    : { ...score, embedding: { scale: embedding.scale, bytes: [...embedding.bytes] } };
}

/** A few profiles as readable JSON: the highest purchase propensities first, then the most active. */
export async function sampleProfiles(pipeline: LocalPipeline, count: number): Promise<unknown[]> {
  const profiles = (await scanProfiles(pipeline)).filter((p) => p.state.redirect === undefined);
  const propensity = (p: DecodedProfileItem) => p.score?.propensity ?? -1;
  return profiles
    .sort(
      (a, b) =>
        propensity(b) - propensity(a) ||
        appliedEvents(b.state) - appliedEvents(a.state) ||
        a.state.profileId.localeCompare(b.state.profileId),
    )
    .slice(0, count)
    .map((p) => ({
      profileId: p.state.profileId,
      events: appliedEvents(p.state),
      carts: p.state.counts[EVENT_TYPES.indexOf('add_to_cart')],
      orders: p.state.orderCount,
      revenue: p.state.revenueCents / 100,
      topCategories: p.state.categories.slice(0, 3).map((c) => c.key),
      sessions: p.state.sessionCount,
      lastEventAt: new Date(p.state.lastEventAt).toISOString(),
      score: p.score === undefined ? 'unscored' : printableScore(p.score),
      version: p.version,
    }));
}

/** What the run prints of a promoted model, from its metadata (v2, or v1 read as v2). */
export interface PromotedModelSummary {
  /** Rows per split (train, validation, test, positives); absent counts print as `?`. */
  exampleCounts: Record<string, number | undefined>;
  /** Per head: the published scorer and every candidate's metrics. */
  metrics: NonNullable<ModelProvenance['heads']>;
  /** The ONNX outputs the graph serves. */
  outputs: string[];
}

/** A promoted model: its metadata summary, and its HTML report copied out of the local models bucket. */
export async function describeModel(
  pipeline: LocalPipeline,
  version: string,
  dataDir: string | undefined,
): Promise<{ version: string; metadata: PromotedModelSummary; reportPath: string | undefined }> {
  const bucket = pipeline.buckets.models!;
  const published = await new S3ModelRegistry(pipeline.cloud.clients.s3, bucket).getMetadata(version);
  const metadata: PromotedModelSummary = {
    exampleCounts: published.provenance?.exampleCounts ?? {},
    metrics: published.provenance?.heads ?? {},
    outputs: declaredOutputNames(published.outputs),
  };
  const report = await readObjectIfExists(
    pipeline.cloud.clients.s3,
    bucket,
    modelObjectKeys(version).reportKey,
  );
  if (report === undefined) return { version, metadata, reportPath: undefined };
  // The report is the run's one deliberate output: beside the data when kept, else under reports/.
  const dir = path.resolve(dataDir ?? path.join(__dirname, '../../reports'));
  mkdirSync(dir, { recursive: true });
  const reportPath = path.join(dir, `model-${version}.html`);
  writeFileSync(reportPath, report);
  return { version, metadata, reportPath };
}

const fixed3 = (value: unknown) => (typeof value === 'number' ? value.toFixed(3) : '  –  ');

/** Every head's candidates, one row per scorer, the published one marked `*`. */
export function formatMetricsTable(heads: PromotedModelSummary['metrics']): string {
  const lines: string[] = [];
  for (const head of ['purchase', 'churn'] as const) {
    const provenance = heads[head];
    if (provenance === undefined) continue;
    lines.push(
      `${`${head} scorer`.padEnd(22)} ROC-AUC [95% CI]        PR-AUC  logloss  Brier  ECE`,
      ...Object.entries(provenance.metrics).map(([scorer, values]) => {
        const name = `${scorer}${scorer === provenance.chosen ? ' *' : ''}`.padEnd(22);
        const parsed = metricSummarySchema.safeParse(values);
        if (!parsed.success) return `${name} (no test metrics)`;
        const m: MetricSummary = parsed.data;
        return (
          `${name} ${m.rocAuc.toFixed(3)} [${m.rocAucCi95.lower.toFixed(3)}, ${m.rocAucCi95.upper.toFixed(3)}]` +
          `  ${m.prAuc.toFixed(3)}   ${m.logLoss.toFixed(3)}   ${m.brierScore.toFixed(3)}  ${m.expectedCalibrationError.toFixed(3)}`
        );
      }),
    );
  }
  const category = heads.nextCategories;
  if (category !== undefined) {
    lines.push(
      `${'next-category scorer'.padEnd(22)} recall@3  NDCG@3`,
      ...Object.entries(category.metrics).map(
        ([scorer, values]) =>
          `${`${scorer}${scorer === category.chosen ? ' *' : ''}`.padEnd(22)} ${fixed3(values['recallAt3'])}     ${fixed3(values['ndcgAt3'])}`,
      ),
    );
    if (category.aheadOnValidation !== undefined) {
      lines.push(
        `(${category.aheadOnValidation}, read from the profile state, ranked better on validation; stored next categories ` +
          `follow each profile's own affinity wherever it beat the published graph head)`,
      );
    }
  }
  lines.push('* = published (best on validation)');
  return lines.join('\n');
}
