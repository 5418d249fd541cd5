/**
 * Part 1: the ingest handler's compute on one core. The real handler (`createIngestHandler`) runs over
 * every batch in sequence with the profile store and quarantine in memory and a real ONNX model in
 * onnxruntime-node, so only I/O is left out: once as earlier reports ran it (no key, no audience set),
 * and once as production runs it, the figure the target holds (the fingerprint key, the tombstone
 * check under the same key and the built-in audience set; merge on identify, traits and risk are always
 * on). Then each stage of the production flow is timed on its own, over the inputs a recorded pass of
 * the same batches gave it, to show where the time goes; what the stages do not explain is reported as
 * the remainder.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { KinesisStreamEvent } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { marshallItem, unmarshallItem } from '../../functions/commons/dynamodb-attribute-values';
import { toIngestRecords } from '../../functions/commons/kinesis-event';
import { createIngestHandler, publishIngestTelemetry } from '../../functions/ingest/ingest-handler';
import { BUILT_IN_AUDIENCES } from '../../shared/audiences/audience-definition';
import { metrics } from '../../functions/commons/telemetry';
import { compileAudienceSet, type CompiledAudienceSet } from '../../shared/audiences/audience-evaluation';
import { profileExtrasOf, type ProfileExtras } from '../../shared/audiences/profile-extras';
import { profileIdOf } from '../../shared/contract/event-contract';
import { erasedAmong, TombstoneKeys } from '../../shared/erasure/tombstones';
import { FEATURE_COUNT, featurizeMany } from '../../shared/features/feature-vector';
import { decodeBatch } from '../../shared/ingest/decode-batch';
import { ingestBatch, type IngestStats } from '../../shared/ingest/ingest-batch';
import { planMerges, type RoutedTarget } from '../../shared/ingest/merge-on-identify';
import { InMemoryProfileStore, InMemoryQuarantine } from '../support/in-memory-adapters';
import type {
  AudienceSource,
  IngestRecord,
  ProfileScorer,
  ProfileStore,
  StoredProfileItem,
  WriteOutcome,
} from '../../shared/ingest/ingest-ports';
import type { SequencedEvent } from '../../shared/profile/apply-events';
import type { BatchScores, ProfileScore } from '../../shared/model/model-outputs';
import { toProfileScores } from '../../shared/model/profile-score';
import type { DecodePrivacy } from '../../shared/privacy/pseudonymise';
import { createKeyedHasher } from '../../shared/privacy/keyed-hash';
import { foldIntoTarget } from '../../shared/profile/profile-merge';
import {
  decodeProfileItem,
  encodeProfileItem,
  type ProfileItem,
} from '../../shared/profile/profile-item-codec';
import type { ProfileState } from '../../shared/profile/profile-state';
import { assessRisk } from '../../shared/risk/anomaly-score';
import { median, percentile, timeRuns, type RunTimes } from './bench-report';

/** Untimed passes before the timed ones, so the JIT and onnxruntime are warm. */
export const COMPUTE_WARMUPS = 2;

/** Options of {@link runComputeBench}. */
export interface ComputeBenchOptions {
  /**
   * Times the production-config handler as Lambda runs it (`timeBundledHandler`: the esbuild bundle,
   * in a process of its own) over the same events, for the target's figure. Without it the production
   * figure is of the TypeScript sources.
   */
  bundled?: (runs: number, warmups: number) => Promise<RunTimes>;
  /** Timed runs of the whole handler pass. @default 5 */
  runs?: number;
  /** Untimed runs first, so the JIT and onnxruntime are warm. @default {@link COMPUTE_WARMUPS} */
  warmups?: number;
}

/**
 * One stage of the flow, timed on its own over every batch in CPU time of the process (wall-clock
 * time on a shared machine counts the other processes too).
 */
export interface StageTiming {
  stage: string;
  /** Median CPU ms of a pass over the workload. */
  medianMs: number;
  /** Median ms over the records of the workload, per 1,000 records. */
  msPerThousandRecords: number;
  /**
   * Part of the in-memory handler's path and not contained in another stage (false: a part of the
   * stage above, or what the DynamoDB adapter adds in the real path).
   */
  inHandlerPath: boolean;
}

/** The handler over the whole workload, several times. */
export interface HandlerFigures {
  runs: RunTimes;
  medianMs: number;
  /** Records per second of wall-clock time (median run). */
  eventsPerSecond: number;
  /** Records per second of this process's CPU time (median run): less sensitive to other load. */
  eventsPerCpuSecond: number;
}

/** What part 1 measured. */
export interface ComputeBenchResult {
  records: number;
  batches: number;
  /** As earlier reports ran it: no key (no fingerprints, no tombstone check), no audience set. */
  plain: HandlerFigures;
  /**
   * As production runs it, the target's figure: fingerprint key, tombstone check, built-in audiences;
   * the bundle when one was given.
   */
  production: HandlerFigures;
  /** Whether {@link production} timed the bundle Lambda runs (else the sources). */
  productionBundled: boolean;
  /** The production configuration over the TypeScript sources (tsx), for comparison with the bundle. */
  productionSources?: HandlerFigures;
  /** Stages of the production flow. */
  stages: StageTiming[];
  /**
   * The production handler's median CPU ms minus the handler-path stages: async plumbing, GC, the
   * handler's own work.
   */
  unaccountedMs: number;
  inferencePerBatchMs: { median: number; p99: number; max: number; rowsMedian: number };
  /** DynamoDB-equivalent requests the in-memory store counted in one pass. */
  storeRequests: { batchGet: number; put: number };
  /** Profiles after one full pass without a key or audience set (the encoded items, as stored). */
  profileItems: StoredProfileItem[];
}

/** A fixed processing time for the recorded pass and the stages: every run sees the same inputs. */
const NOW_MS = Date.UTC(2026, 11, 1);

/** What the production configuration adds to the handler's dependencies. */
interface ProductionConfig {
  privacy: DecodePrivacy;
  tombstones: TombstoneKeys;
  audiences: CompiledAudienceSet;
}

function productionConfig(): ProductionConfig {
  const key = randomBytes(32);
  return {
    privacy: { hasher: createKeyedHasher(key), pseudonymiseIds: false },
    tombstones: new TombstoneKeys(key),
    audiences: compileAudienceSet(BUILT_IN_AUDIENCES, 'built-in'),
  };
}

/**
 * A profile store that records what a pass read and wrote, batch by batch, and one that replays it:
 * merge planning then reads what it read in the recorded pass and meets the same write outcomes.
 */
class RecordingProfileStore implements ProfileStore {
  readonly reads: Map<string, StoredProfileItem>[] = [];
  readonly outcomes: WriteOutcome[] = [];
  constructor(private readonly inner: InMemoryProfileStore) {}
  async getMany(profileIds: readonly string[]) {
    const found = await this.inner.getMany(profileIds);
    this.reads.push(found);
    return found;
  }
  async putIfVersion(item: StoredProfileItem, expectedVersion: number | undefined) {
    const outcome = await this.inner.putIfVersion(item, expectedVersion);
    this.outcomes.push(outcome);
    return outcome;
  }
}

class ReplayProfileStore implements ProfileStore {
  private read = 0;
  private written = 0;
  constructor(
    private readonly reads: readonly Map<string, StoredProfileItem>[],
    private readonly outcomes: readonly WriteOutcome[],
  ) {}
  async getMany() {
    return this.reads[this.read++] ?? new Map<string, StoredProfileItem>();
  }
  async putIfVersion() {
    return this.outcomes[this.written++] ?? { status: 'written' as const };
  }
}

interface PreparedBatch {
  records: IngestRecord[];
  /** Valid records of people not erased, in stream order. */
  valid: SequencedEvent[];
  /** The ids the erasure check looks up (the batch's profiles and the owners of refused records). */
  tombstoneCandidates: string[];
  /** The batch's first read: its profiles. */
  stored: Map<string, StoredProfileItem>;
  /** What the tombstone read found (the profiles read when none was needed). */
  tombstonesFound: Map<string, StoredProfileItem>;
  /** What merge planning read and met after the first read (the replay of this batch). */
  planReads: Map<string, StoredProfileItem>[];
  planOutcomes: WriteOutcome[];
  /** The targets merge planning routed the records to (as it returned them). */
  targets: RoutedTarget[];
  /** The stored items of those targets, as read (before decoding). */
  storedItems: StoredProfileItem[];
  /** Folded profiles that changed, with what their write needs. */
  changed: ProfileState[];
  versions: number[];
  previousAudiences: (Record<string, number> | undefined)[];
  matrix: Float32Array;
  batchScores: BatchScores | undefined;
  scores: ProfileScore[];
  extras: ProfileExtras[];
  encoded: ProfileItem[];
  /** The same items as BatchGetItem returns them (DynamoDB JSON), for the adapter's unmarshall. */
  storedMarshalled: Record<string, AttributeValue>[];
  /** What the handler publishes for the batch. */
  stats: IngestStats;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Run the production flow once, stage by stage with the use case's own functions (in the order of
 * `ingestBatch`, whose result for the same batch is kept for the telemetry stage), keeping every
 * stage's input so each can be re-run alone.
 */
async function prepareBatches(
  events: readonly KinesisStreamEvent[],
  scorer: ProfileScorer,
  config: ProductionConfig,
): Promise<PreparedBatch[]> {
  const memory = new InMemoryProfileStore();
  const store = new RecordingProfileStore(memory);
  // The use case itself over the same batches, on a store of its own: the stats the handler publishes.
  const reference = new InMemoryProfileStore();
  const audiences: AudienceSource = { current: async () => config.audiences };
  const prepared: PreparedBatch[] = [];
  for (const event of events) {
    const records = toIngestRecords(event);
    const { stats } = await ingestBatch(records, {
      profiles: reference,
      quarantine: new InMemoryQuarantine(),
      scorer,
      now: () => NOW_MS,
      privacy: config.privacy,
      tombstones: config.tombstones,
      audiences,
    });
    const decoded = decodeBatch(records, config.privacy);
    const ids = [...new Set(decoded.valid.map((s) => profileIdOf(s.event)))];
    const stored = await store.getMany(ids);
    // As ingest does: tombstones of the profiles not stored and of the refused records' owners.
    const tombstoneCandidates = [
      ...ids.filter((id) => !stored.has(id)),
      ...decoded.quarantined.flatMap((q) => [q.partitionKey, `anon:${q.partitionKey}`]),
    ];
    const tombstoneKeys = [...new Set(tombstoneCandidates.map((id) => config.tombstones.keyOf(id)))];
    const found = tombstoneKeys.length === 0 ? stored : await store.getMany(tombstoneKeys);
    const erased = erasedAmong(tombstoneCandidates, found, config.tombstones);
    const valid = decoded.valid.filter((s) => !erased.has(profileIdOf(s.event)));
    const readsBefore = store.reads.length;
    const outcomesBefore = store.outcomes.length;
    const plan = await planMerges(valid, (s) => profileIdOf(s.event), stored, store, {
      now: NOW_MS,
      maxRetries: 3,
    });
    const batch: PreparedBatch = {
      records,
      valid,
      tombstoneCandidates,
      stored,
      tombstonesFound: found,
      planReads: store.reads.slice(readsBefore),
      planOutcomes: store.outcomes.slice(outcomesBefore),
      targets: [...plan.targets.values()],
      storedItems: [],
      changed: [],
      versions: [],
      previousAudiences: [],
      matrix: new Float32Array(0),
      batchScores: undefined,
      scores: [],
      extras: [],
      encoded: [],
      storedMarshalled: [],
      stats,
    };
    for (const target of batch.targets) {
      const raw = [stored, ...batch.planReads].find((read) => read.has(target.profileId));
      const item = raw?.get(target.profileId);
      if (item !== undefined) {
        batch.storedItems.push(item);
        batch.storedMarshalled.push(marshall(item, MARSHALL));
      }
      const result = foldIntoTarget(target.stored?.state, target.events, target.profileId, (id) =>
        target.resolutions.get(id),
      );
      if (!result.changed) continue;
      batch.changed.push(result.state);
      batch.versions.push((target.stored?.version ?? 0) + 1);
      batch.previousAudiences.push(target.stored?.audiences);
    }
    if (batch.changed.length > 0) {
      batch.matrix = featurizeMany(
        batch.changed,
        batch.changed.map((s) => s.lastEventAt),
      );
      batch.batchScores = await scorer.score(batch.matrix, batch.changed.length, FEATURE_COUNT);
    }
    if (batch.batchScores !== undefined)
      batch.scores = toProfileScores(batch.batchScores, batch.changed.length, NOW_MS, batch.changed);
    const population = batch.batchScores?.population;
    batch.changed.forEach((state, i) => {
      const extras = profileExtrasOf(
        state,
        batch.scores[i],
        population,
        config.audiences,
        batch.previousAudiences[i],
      );
      batch.extras.push(extras);
      const item = encodeProfileItem(state, {
        version: batch.versions[i]!,
        score: batch.scores[i],
        writtenAt: NOW_MS,
        ...extras,
      });
      batch.encoded.push(item);
    });
    for (const [i, item] of batch.encoded.entries())
      await store.putIfVersion(item, batch.versions[i] === 1 ? undefined : batch.versions[i]! - 1);
    prepared.push(batch);
  }
  return prepared;
}

const MARSHALL = { removeUndefinedValues: true } as const;

/** The whole handler over every batch, a fresh store each pass (a second pass would only find duplicates). */
async function timeHandler(
  events: readonly KinesisStreamEvent[],
  scorer: ProfileScorer,
  records: number,
  runs: number,
  warmups: number,
  config: ProductionConfig | undefined,
): Promise<{ figures: HandlerFigures; store: InMemoryProfileStore }> {
  let lastStore = new InMemoryProfileStore();
  const times = await timeRuns(runs, warmups, async () => {
    const profiles = new InMemoryProfileStore();
    const handler = createIngestHandler({
      profiles,
      quarantine: new InMemoryQuarantine(),
      scorer,
      ...(config === undefined
        ? {}
        : {
            privacy: async () => config.privacy,
            tombstones: async () => config.tombstones,
            audiences: { current: async () => config.audiences },
          }),
    });
    for (const event of events) {
      const { batchItemFailures } = await handler(event);
      if (batchItemFailures.length > 0)
        throw new Error(`in-memory batch reported ${batchItemFailures.length} failures`);
    }
    lastStore = profiles;
  });
  return { figures: figuresOf(times, records), store: lastStore };
}

/** A handler's runs over `records` as the report states them. */
export function figuresOf(times: RunTimes, records: number): HandlerFigures {
  const medianMs = median(times.wallMs);
  return {
    runs: times,
    medianMs,
    eventsPerSecond: records / (medianMs / 1000),
    eventsPerCpuSecond: records / (median(times.cpuMs) / 1000),
  };
}

/**
 * The in-memory store's traffic for the changed profiles (each batch reads them, which freezes the
 * versions it hands out, then writes them under their version), over fresh copies of the batch's
 * items each run, the copying left out.
 */
async function storeStage(prepared: readonly PreparedBatch[], runs: number): Promise<StageTiming> {
  const samples: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const copies = prepared.map((batch) => batch.encoded.map((item) => structuredClone(item)));
    const ids = prepared.map((batch) => batch.encoded.map((item) => item.profileId));
    const profiles = new InMemoryProfileStore();
    const cpu = process.cpuUsage();
    for (let b = 0; b < copies.length; b++) {
      const read = await profiles.getMany(ids[b]!);
      for (const item of copies[b]!) await profiles.putIfVersion(item, read.get(item.profileId)?.version);
    }
    const used = process.cpuUsage(cpu);
    if (run > 0) samples.push((used.user + used.system) / 1000);
  }
  const medianMs = median(samples);
  const records = prepared.reduce((sum, b) => sum + b.records.length, 0);
  return {
    stage: 'in-memory store (test adapter: read + conditional put, freezing what it hands out)',
    medianMs,
    msPerThousandRecords: (medianMs / records) * 1000,
    inHandlerPath: true,
  };
}

/** Measure part 1 over `events` (batches in the order one sequential consumer would take them). */
export async function runComputeBench(
  events: readonly KinesisStreamEvent[],
  scorer: ProfileScorer,
  options: ComputeBenchOptions = {},
): Promise<ComputeBenchResult> {
  const runs = options.runs ?? 5;
  const warmups = options.warmups ?? COMPUTE_WARMUPS;
  const records = events.reduce((sum, e) => sum + e.Records.length, 0);
  const config = productionConfig();

  // The bundle first, in its own process: this one's heap is still small.
  const bundled =
    options.bundled === undefined ? undefined : figuresOf(await options.bundled(runs, warmups), records);
  const plain = await timeHandler(events, scorer, records, runs, warmups, undefined);
  const production = await timeHandler(events, scorer, records, runs, warmups, config);

  const prepared = await prepareBatches(events, scorer, config);
  const stage = async (name: string, inHandlerPath: boolean, fn: () => Promise<void> | void) => {
    const medianMs = median((await timeRuns(runs, 1, fn)).cpuMs);
    return { stage: name, medianMs, msPerThousandRecords: (medianMs / records) * 1000, inHandlerPath };
  };
  const profileOf = (s: SequencedEvent) => profileIdOf(s.event);
  const encodeAll = (batch: PreparedBatch) =>
    batch.changed.map((state, i) =>
      encodeProfileItem(state, {
        version: batch.versions[i]!,
        score: batch.scores[i],
        writtenAt: NOW_MS,
        ...batch.extras[i],
      }),
    );

  const inferenceSamples: number[] = [];
  const stages: StageTiming[] = [
    await stage('Kinesis event → records (base64)', true, () => {
      for (const event of events) toIngestRecords(event);
    }),
    await stage('decode + validate (contract, fingerprints)', true, () => {
      for (const batch of prepared) decodeBatch(batch.records, config.privacy);
    }),
    await stage('  of which UTF-8 + JSON.parse', false, () => {
      for (const batch of prepared) {
        for (const record of batch.records) {
          try {
            JSON.parse(utf8.decode(record.data));
          } catch {
            // malformed on purpose: the contract refuses it too
          }
        }
      }
    }),
    await stage('tombstone check (keys + lookup)', true, () => {
      for (const batch of prepared) {
        for (const id of batch.tombstoneCandidates) config.tombstones.keyOf(id);
        erasedAmong(batch.tombstoneCandidates, batch.tombstonesFound, config.tombstones);
      }
    }),
    await stage('merge planning (route, decode items, freeze)', true, async () => {
      for (const batch of prepared) {
        const replay = new ReplayProfileStore(batch.planReads, batch.planOutcomes);
        await planMerges(batch.valid, profileOf, batch.stored, replay, { now: NOW_MS, maxRetries: 3 });
      }
    }),
    await stage('  of which stored item → state (decodeProfileItem)', false, () => {
      for (const batch of prepared) for (const item of batch.storedItems) decodeProfileItem(item);
    }),
    await stage('fold events and merges (foldIntoTarget)', true, () => {
      for (const batch of prepared) {
        for (const t of batch.targets) {
          foldIntoTarget(t.stored?.state, t.events, t.profileId, (id) => t.resolutions.get(id));
        }
      }
    }),
    await stage('featurize', true, () => {
      for (const batch of prepared)
        featurizeMany(
          batch.changed,
          batch.changed.map((s) => s.lastEventAt),
        );
    }),
    await stage('inference (ONNX, one run per batch, every head)', true, async () => {
      for (const batch of prepared) {
        if (batch.changed.length === 0) continue;
        const started = performance.now();
        await scorer.score(batch.matrix, batch.changed.length, FEATURE_COUNT);
        inferenceSamples.push(performance.now() - started);
      }
    }),
    await stage('model outputs → scores (toProfileScores)', true, () => {
      for (const batch of prepared) {
        if (batch.batchScores === undefined) continue;
        toProfileScores(batch.batchScores, batch.changed.length, NOW_MS, batch.changed);
      }
    }),
    await stage('traits + audiences (profileExtrasOf)', true, () => {
      for (const batch of prepared) {
        const population = batch.batchScores?.population;
        batch.changed.forEach((state, i) =>
          profileExtrasOf(state, batch.scores[i], population, config.audiences, batch.previousAudiences[i]),
        );
      }
    }),
    await stage('  of which risk score (assessRisk, passed on to the item)', false, () => {
      for (const batch of prepared) for (const state of batch.changed) assessRisk(state);
    }),
    await stage('state → item (encodeProfileItem)', true, () => {
      for (const batch of prepared) encodeAll(batch);
    }),
    await storeStage(prepared, runs),
    await stage('telemetry (metrics + log line per batch)', true, () => {
      for (const batch of prepared) {
        publishIngestTelemetry(batch.stats, 1, 0);
        metrics.publishStoredMetrics();
      }
    }),
    await stage('DynamoDB adapter: unmarshall reads (unmarshallItem)', false, () => {
      for (const batch of prepared) for (const item of batch.storedMarshalled) unmarshallItem(item);
    }),
    await stage('  util-dynamodb unmarshall, for comparison', false, () => {
      for (const batch of prepared) for (const item of batch.storedMarshalled) unmarshall(item);
    }),
    await stage('DynamoDB adapter: marshall writes (marshallItem)', false, () => {
      for (const batch of prepared) for (const item of batch.encoded) marshallItem(item);
    }),
    await stage('  util-dynamodb marshall, for comparison', false, () => {
      for (const batch of prepared) for (const item of batch.encoded) marshall(item, MARSHALL);
    }),
  ];
  const inHandler = stages.filter((s) => s.inHandlerPath).reduce((sum, s) => sum + s.medianMs, 0);
  const rowsPerBatch = prepared.filter((b) => b.changed.length > 0).map((b) => b.changed.length);

  return {
    records,
    batches: events.length,
    plain: plain.figures,
    production: bundled ?? production.figures,
    productionBundled: bundled !== undefined,
    ...(bundled === undefined ? {} : { productionSources: production.figures }),
    stages,
    // The stages run from the sources: their remainder is against the sources' pass.
    unaccountedMs: median(production.figures.runs.cpuMs) - inHandler,
    inferencePerBatchMs: {
      median: median(inferenceSamples),
      p99: percentile(inferenceSamples, 99),
      max: Math.max(...inferenceSamples),
      rowsMedian: median(rowsPerBatch),
    },
    storeRequests: { ...plain.store.requests },
    profileItems: [...plain.store.items.values()],
  };
}
