/**
 * Part 1: the ingest handler's compute on one core. The real handler (`createIngestHandler`) runs over
 * every batch in sequence with the profile store and quarantine in memory and a real ONNX model in
 * onnxruntime-node, so only I/O is left out. Then each stage of the flow is timed on its own, over the
 * same batches, to show where the time goes.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { KinesisStreamEvent } from 'aws-lambda';
import { toIngestRecords } from '../../functions/commons/kinesis-event';
import { createIngestHandler } from '../../functions/ingest/ingest-handler';
import { profileIdOf } from '../../shared/contract/event-contract';
import { FEATURE_COUNT, featurizeMany } from '../../shared/features/feature-vector';
import { decodeBatch } from '../../shared/ingest/decode-batch';
import { InMemoryProfileStore, InMemoryQuarantine } from '../support/in-memory-adapters';
import type { IngestRecord, ProfileScorer, StoredProfileItem } from '../../shared/ingest/ingest-ports';
import { applyEventsToProfile, type SequencedEvent } from '../../shared/profile/apply-events';
import type { ProfileScore } from '../../shared/model/model-outputs';
import {
  decodeProfileItem,
  encodeProfileItem,
  type ProfileItem,
} from '../../shared/profile/profile-item-codec';
import type { ProfileState } from '../../shared/profile/profile-state';
import { median, percentile, timeRuns, type RunTimes } from './bench-report';

/** Options of {@link runComputeBench}. */
export interface ComputeBenchOptions {
  /** Timed runs of the whole handler pass. @default 5 */
  runs?: number;
  /** Untimed runs first, so the JIT and onnxruntime are warm. @default 2 */
  warmups?: number;
}

/** One stage of the flow, timed on its own over every batch. */
export interface StageTiming {
  stage: string;
  medianMs: number;
  /** Median ms over the records of the workload, per 1,000 records. */
  msPerThousandRecords: number;
  /**
   * Part of the in-memory handler's path and not contained in another stage (false: a part of the
   * stage above, or what the DynamoDB adapter adds in the real path).
   */
  inHandlerPath: boolean;
}

/** What part 1 measured. */
export interface ComputeBenchResult {
  records: number;
  batches: number;
  handlerRuns: RunTimes;
  handlerMedianMs: number;
  /** Records per second of wall-clock time (median run). */
  eventsPerSecond: number;
  /** Records per second of this process's CPU time (median run): less sensitive to other load. */
  eventsPerCpuSecond: number;
  stages: StageTiming[];
  /** Handler median minus the handler-path stages: grouping, stats, telemetry, promise plumbing. */
  unaccountedMs: number;
  inferencePerBatchMs: { median: number; p99: number; max: number; rowsMedian: number };
  /** DynamoDB-equivalent requests the in-memory store counted in one pass. */
  storeRequests: { batchGet: number; put: number };
  /** Profiles after one full pass (the encoded items, as stored). */
  profileItems: StoredProfileItem[];
}

interface PreparedBatch {
  records: IngestRecord[];
  valid: SequencedEvent[];
  /** Items the batch read from the store (profiles seen in earlier batches). */
  storedItems: StoredProfileItem[];
  /** The same items as BatchGetItem returns them (DynamoDB JSON). */
  storedMarshalled: Record<string, AttributeValue>[];
  changed: ProfileState[];
  versions: number[];
  matrix: Float32Array;
  scores: ProfileScore[];
  encoded: ProfileItem[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Run the whole ingest flow once, keeping every stage's input so each can be re-run alone. */
async function prepareBatches(events: readonly KinesisStreamEvent[], scorer: ProfileScorer, nowMs: number) {
  const store = new Map<string, StoredProfileItem>();
  const prepared: PreparedBatch[] = [];
  for (const event of events) {
    const records = toIngestRecords(event);
    const { valid } = decodeBatch(records);
    const groups = groupByProfile(valid);
    const batch: PreparedBatch = {
      records,
      valid,
      storedItems: [],
      storedMarshalled: [],
      changed: [],
      versions: [],
      matrix: new Float32Array(0),
      scores: [],
      encoded: [],
    };
    for (const [profileId, list] of groups) {
      const stored = store.get(profileId);
      if (stored !== undefined) {
        batch.storedItems.push(stored);
        batch.storedMarshalled.push(marshall(stored, { removeUndefinedValues: true }));
      }
      const current = stored === undefined ? undefined : decodeProfileItem(stored);
      const result = applyEventsToProfile(current?.state, list, profileId);
      if (!result.changed) continue;
      batch.changed.push(result.state);
      batch.versions.push((current?.version ?? 0) + 1);
    }
    batch.matrix = featurizeMany(
      batch.changed,
      batch.changed.map((s) => s.lastEventAt),
    );
    const scored = await scorer.score(batch.matrix, batch.changed.length, FEATURE_COUNT);
    batch.changed.forEach((state, i) => {
      const score = {
        propensity: scored?.purchase[i] ?? 0,
        modelVersion: scored?.modelVersion ?? 'none',
        scoredAt: nowMs,
      };
      batch.scores.push(score);
      const item = encodeProfileItem(state, { version: batch.versions[i]!, score });
      batch.encoded.push(item);
      store.set(state.profileId, item);
    });
    prepared.push(batch);
  }
  return prepared;
}

function groupByProfile(valid: readonly SequencedEvent[]): Map<string, SequencedEvent[]> {
  const groups = new Map<string, SequencedEvent[]>();
  for (const sequenced of valid) {
    const id = profileIdOf(sequenced.event);
    const list = groups.get(id);
    if (list === undefined) groups.set(id, [sequenced]);
    else list.push(sequenced);
  }
  return groups;
}

/** Measure part 1 over `events` (batches in the order one sequential consumer would take them). */
export async function runComputeBench(
  events: readonly KinesisStreamEvent[],
  scorer: ProfileScorer,
  options: ComputeBenchOptions = {},
): Promise<ComputeBenchResult> {
  const runs = options.runs ?? 5;
  const warmups = options.warmups ?? 2;
  const records = events.reduce((sum, e) => sum + e.Records.length, 0);

  // The whole handler, a fresh store each pass (a second pass over the same store would only find duplicates).
  let lastStore = new InMemoryProfileStore();
  const handlerRuns = await timeRuns(runs, warmups, async () => {
    const profiles = new InMemoryProfileStore();
    const handler = createIngestHandler({ profiles, quarantine: new InMemoryQuarantine(), scorer });
    for (const event of events) {
      const { batchItemFailures } = await handler(event);
      if (batchItemFailures.length > 0)
        throw new Error(`in-memory batch reported ${batchItemFailures.length} failures`);
    }
    lastStore = profiles;
  });
  const handlerMedianMs = median(handlerRuns.wallMs);

  const nowMs = Date.now();
  const prepared = await prepareBatches(events, scorer, nowMs);
  const stage = async (name: string, inHandlerPath: boolean, fn: () => Promise<void> | void) => {
    const medianMs = median((await timeRuns(runs, 1, fn)).wallMs);
    return { stage: name, medianMs, msPerThousandRecords: (medianMs / records) * 1000, inHandlerPath };
  };

  const inferenceSamples: number[] = [];
  const stages: StageTiming[] = [
    await stage('Kinesis event → records (base64)', true, () => {
      for (const event of events) toIngestRecords(event);
    }),
    await stage('decode + validate (contract)', true, () => {
      for (const batch of prepared) decodeBatch(batch.records);
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
    await stage('stored item → state (decodeProfileItem)', true, () => {
      for (const batch of prepared) for (const item of batch.storedItems) decodeProfileItem(item);
    }),
    await stage('group + apply events (fold)', true, () => {
      const states = new Map<string, ProfileState>();
      for (const batch of prepared) {
        for (const [profileId, list] of groupByProfile(batch.valid)) {
          const result = applyEventsToProfile(states.get(profileId), list, profileId);
          if (result.changed) states.set(profileId, result.state);
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
    await stage('inference (ONNX, one run per batch)', true, async () => {
      for (const batch of prepared) {
        if (batch.changed.length === 0) continue;
        const started = performance.now();
        await scorer.score(batch.matrix, batch.changed.length, FEATURE_COUNT);
        inferenceSamples.push(performance.now() - started);
      }
    }),
    await stage('state → item (encodeProfileItem)', true, () => {
      for (const batch of prepared)
        batch.changed.forEach((state, i) =>
          encodeProfileItem(state, { version: batch.versions[i]!, score: batch.scores[i] }),
        );
    }),
    await stage('DynamoDB adapter: unmarshall reads', false, () => {
      for (const batch of prepared) for (const item of batch.storedMarshalled) unmarshall(item);
    }),
    await stage('DynamoDB adapter: marshall writes', false, () => {
      for (const batch of prepared)
        for (const item of batch.encoded) marshall(item, { removeUndefinedValues: true });
    }),
  ];
  const inHandler = stages.filter((s) => s.inHandlerPath).reduce((sum, s) => sum + s.medianMs, 0);
  const rowsPerBatch = prepared.filter((b) => b.changed.length > 0).map((b) => b.changed.length);

  return {
    records,
    batches: events.length,
    handlerRuns,
    handlerMedianMs,
    eventsPerSecond: records / (handlerMedianMs / 1000),
    eventsPerCpuSecond: records / (median(handlerRuns.cpuMs) / 1000),
    stages,
    unaccountedMs: handlerMedianMs - inHandler,
    inferencePerBatchMs: {
      median: median(inferenceSamples),
      p99: percentile(inferenceSamples, 99),
      max: Math.max(...inferenceSamples),
      rowsMedian: median(rowsPerBatch),
    },
    storeRequests: { ...lastStore.requests },
    profileItems: [...lastStore.items.values()],
  };
}
