/**
 * The tombstone filter at the training's archive port: archived events of an erased person (left by an
 * erasure racing the archive consumer, or by an old function version) never reach the training rows nor
 * the model metadata — the population statistics come out as if the person had never been archived.
 * The real training pipeline runs; the network fit and the ONNX runtime are fakes (scores are irrelevant
 * here).
 */
import { profileIdOf, validateEvent, type ContractEvent } from '../../../shared/contract/event-contract';
import {
  excludingErasedPeople,
  excludingErasedPeopleFromPartitions,
} from '../../../shared/erasure/erased-events-filter';
import { fnv1a32 } from '../../../shared/profile/hashing';
import type { PartitionedEventSource } from '../../../shared/training/distributed-training';
import { buildPartitionedTrainingSet } from '../../../shared/training/partitioned-training-set';
import { TombstoneKeys } from '../../../shared/erasure/tombstones';
import { FEATURE_NAMES } from '../../../shared/features/feature-vector';
import { createModelPointer, type ModelMetadataV2 } from '../../../shared/model/model-metadata';
import { trainAndPublish } from '../../../shared/training/train-use-case';
import type { ArchivedEventSource, NetworkTrainer } from '../../../shared/training/training-ports';
import { buildTrainingSet } from '../../../shared/training/training-set';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';
import { InMemoryProfileStore } from '../../support/in-memory-adapters';

const HOUR_MS = 3_600_000;
const KEY = new Uint8Array(32).fill(3);
// Big enough for population statistics (at least MIN_BUYER_ROWS buyer rows) with one buyer less.
const workload = generateWorkload({ users: 800, days: 7, seed: 7 });
const nowMs = workload.endMs + 24 * HOUR_MS;
const events = workload.events.map((e) => validateEvent(e, nowMs).event);
// The erased person: the buyer with the most events, so their rows weigh in the statistics.
const buyers = new Map<string, number>();
for (const event of events) {
  if (event.userId !== undefined) buyers.set(event.userId, (buyers.get(event.userId) ?? 0) + 1);
}
const purchasers = new Set(events.filter((e) => e.type === 'purchase').map(profileIdOf));
const victim = [...buyers].filter(([id]) => purchasers.has(id)).sort((a, b) => b[1] - a[1])[0]![0];
const withoutVictim = events.filter((e) => profileIdOf(e) !== victim);

/** An archive holding `held`, and a table where `erased` have tombstones. */
function archiveAndTable(held: ContractEvent[], erased: string[]) {
  const tombstones = new TombstoneKeys(KEY);
  const profiles = new InMemoryProfileStore();
  for (const id of erased) {
    profiles.items.set(tombstones.keyOf(id), { profileId: tombstones.keyOf(id), version: 0 });
  }
  const archive: ArchivedEventSource = { readEvents: async () => ({ events: held }) };
  return { archive, lookup: { profiles, tombstones }, profiles };
}

/** A network that learns nothing (every weight 0): the rest of the pipeline runs for real. */
const idleNetwork: NetworkTrainer = {
  trainNetwork: async (_train, _validation, normalisation) => ({
    weights: {
      normalisation,
      trunk: [],
      heads: {
        purchase: {
          input: 'features',
          layers: [{ weights: FEATURE_NAMES.map(() => [0]), bias: [0], activation: 'sigmoid' }],
        },
      },
    },
    history: [{ epoch: 1, trainLoss: 0.69, validationLoss: 0.69 }],
    bestEpoch: 1,
    stoppedEarly: false,
    backend: 'fake',
  }),
};

/** The metadata of the candidate trained from `source`. */
async function candidateMetadata(source: ArchivedEventSource): Promise<ModelMetadataV2> {
  const stored: ModelMetadataV2[] = [];
  await trainAndPublish(
    {
      events: source,
      registry: {
        putCandidate: async (_version, files) => stored.push(files.metadata),
        getCurrentPointer: async () => undefined,
        getMetadata: async () => Promise.reject(new Error('no champion')),
        getOnnx: async () => Promise.reject(new Error('no champion')),
        promote: async (version) => createModelPointer(version, nowMs),
      },
      network: idleNetwork,
      scoreOnnx: async (_onnx, _io, matrix) => ({ purchase: new Float32Array(matrix.rows).fill(0.5) }),
      now: () => nowMs,
    },
    {
      labelHorizonHours: 24,
      minExamples: 100,
      minRowsPerClassPerSplit: 1,
      training: { bootstrapResamples: 20 },
    },
  );
  expect(stored).toHaveLength(1);
  return stored[0]!;
}

describe('excludingErasedPeople', () => {
  it('drops a tombstoned person’s archived events, keeps everyone else’s, and says what it dropped', async () => {
    // Prepare
    const { archive, lookup, profiles } = archiveAndTable(events, [victim]);
    const dropped: unknown[] = [];
    // Act
    const { events: read } = await excludingErasedPeople(archive, lookup, (d) =>
      dropped.push(d),
    ).readEvents();
    // Assess
    expect(read).toEqual(withoutVictim);
    expect(dropped).toEqual([{ events: events.length - withoutVictim.length, profiles: 1 }]);
    // Asked for tombstone keys only: keyed hashes, no raw id.
    expect(profiles.requests.batchGet).toBeGreaterThan(0);
  });

  it('passes every event through when nobody is erased', async () => {
    // Prepare
    const { archive, lookup } = archiveAndTable(events, ['u-somebody-else']);
    const dropped: unknown[] = [];
    // Act
    const { events: read } = await excludingErasedPeople(archive, lookup, (d) =>
      dropped.push(d),
    ).readEvents();
    // Assess
    expect(read).toHaveLength(events.length);
    expect(dropped).toEqual([]);
  });

  it('keeps the person out of the training rows and the model metadata’s population statistics', async () => {
    // Prepare: the archive still holds the erased person's events (a rewrite missed them).
    const { archive, lookup } = archiveAndTable(events, [victim]);
    const filtered = excludingErasedPeople(archive, lookup);
    const labelHorizonMs = 24 * HOUR_MS;
    // Act
    const rows = buildTrainingSet((await filtered.readEvents()).events, { labelHorizonMs });
    const unfilteredRows = buildTrainingSet(events, { labelHorizonMs });
    const metadata = await candidateMetadata(filtered);
    const neverArchived = await candidateMetadata({ readEvents: async () => ({ events: withoutVictim }) });
    const unfiltered = await candidateMetadata(archive);
    // Assess: the check can fail — unfiltered, the person is in the rows and moves the statistics.
    expect(unfilteredRows.rowMeta.some((r) => r.profileId === victim)).toBe(true);
    expect(rows.rowMeta.some((r) => r.profileId === victim)).toBe(false);
    expect(metadata.population).toBeDefined();
    expect(metadata.population).toEqual(neverArchived.population);
    expect(unfiltered.population).not.toEqual(neverArchived.population);
    expect(JSON.stringify(metadata)).not.toContain(`"${victim}"`);
  });
});

/** `held` in four partitions by a hash of the profile id (whole histories each), as the archive buckets. */
function partitioned(held: readonly ContractEvent[]): PartitionedEventSource {
  const parts = Array.from({ length: 4 }, (): ContractEvent[] => []);
  for (const event of held) parts[fnv1a32(profileIdOf(event)) % parts.length]!.push(event);
  return { partitions: async () => [0, 1, 2, 3], readPartition: async (i) => parts[i]! };
}

describe('excludingErasedPeopleFromPartitions', () => {
  it('keeps an erased person out of every pass of the distributed build, as if never archived', async () => {
    // Prepare: the archive's partitions still hold the erased person's events
    const { lookup } = archiveAndTable(events, [victim]);
    const dropped: { partition: number; events: number; profiles: number }[] = [];
    const filtered = excludingErasedPeopleFromPartitions(partitioned(events), lookup, (d) => dropped.push(d));
    const options = { labelHorizonMs: 24 * HOUR_MS };
    // Act
    const built = await buildPartitionedTrainingSet(filtered, options);
    const neverArchived = await buildPartitionedTrainingSet(partitioned(withoutVictim), options);
    const unfiltered = await buildPartitionedTrainingSet(partitioned(events), options);
    // Assess: the check can fail — unfiltered, the person has rows
    expect(unfiltered.trainingSet.rowMeta.some((r) => r.profileId === victim)).toBe(true);
    expect(built.trainingSet.rowMeta.some((r) => r.profileId === victim)).toBe(false);
    expect(built.trainingSet.rowMeta).toEqual(neverArchived.trainingSet.rowMeta);
    expect(built.trainingSet.stats).toEqual(neverArchived.trainingSet.stats);
    // Each of the four passes reads the victim's partition once, and each read says what it left out.
    const victimPartition = fnv1a32(victim) % 4;
    const victimEvents = events.length - withoutVictim.length;
    expect(dropped).toEqual(
      Array.from({ length: 4 }, () => ({ partition: victimPartition, events: victimEvents, profiles: 1 })),
    );
  });
});
