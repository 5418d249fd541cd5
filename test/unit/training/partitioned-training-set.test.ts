import fc from 'fast-check';
import { type ContractEvent, profileIdOf, validateEvent } from '../../../shared/contract/event-contract';
import { fnv1a32 } from '../../../shared/profile/hashing';
import type { PartitionedEventSource } from '../../../shared/training/distributed-training';
import { buildPartitionedTrainingSet } from '../../../shared/training/partitioned-training-set';
import { buildTrainingSet, type TrainingSetOptions } from '../../../shared/training/training-set';
import { generateWorkload } from '../../../infra/workload/synthetic-workload';

const HOUR_MS = 3_600_000;
const OPTIONS: TrainingSetOptions = {
  labelHorizonMs: 6 * HOUR_MS,
  churnHorizonMs: 6 * HOUR_MS,
  maxCutoffsPerProfile: 4,
};

const workloadEvents = (() => {
  const workload = generateWorkload({ users: 150, days: 3, seed: 11 });
  return workload.events.map((raw) => validateEvent(raw, workload.endMs).event);
})();

/** Events split into `count` partitions by a salted hash of the profile id (whole histories each). */
function partitionedSource(
  events: readonly ContractEvent[],
  count: number,
  salt: string,
  reads: number[] = [],
): PartitionedEventSource {
  const parts = Array.from({ length: count }, (): ContractEvent[] => []);
  for (const event of events) parts[fnv1a32(salt + profileIdOf(event)) % count]!.push(event);
  return {
    partitions: async () => parts.map((_, i) => i),
    readPartition: async (i) => {
      reads.push(i);
      return parts[i]!;
    },
  };
}

const ids = (pick: (e: ContractEvent) => string | undefined) => [
  ...new Set(workloadEvents.flatMap((e) => (pick(e) === undefined ? [] : [pick(e)!]))),
];
const users = ids((e) => e.userId);
const anonymousIds = ids((e) => (e.userId === undefined ? e.anonymousId : undefined));
const identifyTemplate = workloadEvents.find((e) => e.type === 'identify')!;
const [firstMs, lastMs] = [workloadEvents[0]!.occurredAt, workloadEvents.at(-1)!.occurredAt];

/**
 * Extra identify links between random users and the workload's anonymous ids: shared devices (two
 * users name one id; the earlier claims it), users over the alias limit, identifies before or after
 * the anonymous history, so merges of every kind cross partitions.
 */
const extraLinks = fc.array(
  fc.record({
    user: fc.nat(users.length - 1),
    anonymous: fc.nat(anonymousIds.length - 1),
    atMs: fc.integer({ min: firstMs, max: lastMs }),
  }),
  { minLength: 5, maxLength: 40 },
);

const withLinks = (links: { user: number; anonymous: number; atMs: number }[]): ContractEvent[] => [
  ...workloadEvents,
  ...links.map(({ user, anonymous, atMs }, i) => ({
    ...identifyTemplate,
    eventId: `extra-identify-${i}`,
    userId: users[user]!,
    anonymousId: anonymousIds[anonymous]!,
    occurredAt: atMs,
  })),
];

describe('buildPartitionedTrainingSet', () => {
  it('gives the single build with merged identities, however the profiles are partitioned', async () => {
    await fc.assert(
      fc.asyncProperty(
        extraLinks,
        fc.integer({ min: 1, max: 9 }),
        fc.string({ maxLength: 4 }),
        async (links, count, salt) => {
          // Prepare
          const events = withLinks(links);
          const single = buildTrainingSet(events, OPTIONS);
          // Act
          const { trainingSet } = await buildPartitionedTrainingSet(
            partitionedSource(events, count, salt),
            OPTIONS,
          );
          // Assess
          expect(trainingSet).toEqual(single);
        },
      ),
      { numRuns: 8 },
    );
  });

  it("ships claimed anonymous histories to their users' partitions (the merges cross partitions)", async () => {
    // Prepare
    const events = withLinks(users.slice(0, 20).map((_, i) => ({ user: i, anonymous: i, atMs: lastMs })));
    const single = buildTrainingSet(events, OPTIONS);
    // Act
    const built = await buildPartitionedTrainingSet(partitionedSource(events, 7, 'm'), OPTIONS);
    // Assess: the anonymous events moved, the merges are those of the single build
    expect(built.shippedEvents).toBeGreaterThan(0);
    expect(single.stats.mergedProfiles).toBeGreaterThan(12);
    expect(built.trainingSet.stats.mergedProfiles).toBe(single.stats.mergedProfiles);
    expect(built.trainingSet.rowMeta.some((r) => r.profileId !== r.personId)).toBe(true);
    expect(built.trainingSet).toEqual(single);
  });

  it('gives the single build, row for row and split for split, however the profiles are partitioned', async () => {
    // Prepare
    const single = buildTrainingSet(workloadEvents, OPTIONS);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.string({ maxLength: 4 }), async (count, salt) => {
        // Act
        const { trainingSet } = await buildPartitionedTrainingSet(
          partitionedSource(workloadEvents, count, salt),
          OPTIONS,
        );
        // Assess
        expect(trainingSet).toEqual(single);
      }),
      { numRuns: 6 },
    );
  });

  it('reads each partition on its own, in turn (bounded memory)', async () => {
    // Prepare
    const reads: number[] = [];
    // Act
    const { partitions } = await buildPartitionedTrainingSet(
      partitionedSource(workloadEvents, 4, 'x', reads),
      OPTIONS,
    );
    // Assess: links, shuffle, candidates, rows: four passes in partition order
    expect(partitions).toBe(4);
    expect(reads).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  });

  it('samples rows by class: keeps every positive train row, thins the rest at one recorded rate', async () => {
    // Prepare
    const full = buildTrainingSet(workloadEvents, OPTIONS);
    const maxRows = Math.round(full.rows / 3);
    // Act
    const first = await buildPartitionedTrainingSet(partitionedSource(workloadEvents, 3, 'a'), OPTIONS, {
      maxRows,
      seed: 5,
    });
    const regrouped = await buildPartitionedTrainingSet(partitionedSource(workloadEvents, 5, 'b'), OPTIONS, {
      maxRows,
      seed: 5,
    });
    // Assess
    const { trainingSet: sampled, sample } = first;
    const positivesOf = (set: typeof full) => set.split.train.filter((r) => set.labels[r] === 1).length;
    expect(positivesOf(sampled)).toBe(positivesOf(full));
    expect(sample!.rate).toBeCloseTo(maxRows / (full.rows + full.stats.cappedCutoffs), 10);
    expect(sample!.negativeWeight).toBeCloseTo(1 / sample!.rate, 10);
    expect(sample!.rowsBefore).toBe(full.rows);
    expect(sampled.rows).toBe(sample!.rowsAfter);
    expect(sampled.rows).toBeLessThan(full.rows * 0.6);
    // Seeded per row, not per partition: the same sample whatever the partitioning.
    expect(regrouped.trainingSet.rowMeta).toEqual(sampled.rowMeta);
  });
});
