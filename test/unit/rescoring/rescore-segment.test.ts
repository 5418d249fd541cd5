import fc from 'fast-check';
import { activationEventId, type ActivationEvent } from '../../../shared/audiences/activation';
import { compileAudienceSet } from '../../../shared/audiences/audience-evaluation';
import { FEATURE_COUNT, featurize } from '../../../shared/features/feature-vector';
import { decodeProfileItem } from '../../../shared/profile/profile-item-codec';
import {
  rescoreSegment,
  RescoreThrottledError,
  type RescoreDependencies,
} from '../../../shared/rescoring/rescore-segment';
import { T0 } from '../../support/factories';
import { InMemoryProfileStore } from '../../support/in-memory-adapters';
import {
  fakeProbabilities,
  FakeServingModel,
  ingestProfiles,
  InMemorySegmentScanner,
  unscoredPart,
} from '../../support/rescoring-fixtures';

const NOW = T0 + 3_600_000;
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_x, i) => `${prefix}-${i}`);

function setUp(overrides: Partial<RescoreDependencies> = {}) {
  const profiles = new InMemoryProfileStore();
  const scanner = new InMemorySegmentScanner(profiles);
  const model = new FakeServingModel('v2');
  const sleeps: number[] = [];
  const deps: RescoreDependencies = {
    scanner,
    profiles,
    model,
    now: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    pageSize: 4,
    maxWritesPerSecond: 1_000_000,
    ...overrides,
  };
  return { profiles, scanner, model, sleeps, deps };
}

async function rescoreTable(deps: RescoreDependencies, totalSegments: number) {
  const results = [];
  for (let segment = 0; segment < totalSegments; segment++) {
    results.push(await rescoreSegment({ segment, totalSegments }, deps));
  }
  return results;
}

describe('rescoreSegment', () => {
  it('brings unscored and old-version profiles to the serving version, touching nothing else', async () => {
    // Prepare: profiles written before any model, by v1, and by v2 (the serving one).
    const { profiles, model, deps } = setUp();
    await ingestProfiles(profiles, ids('none', 5), undefined);
    await ingestProfiles(profiles, ids('old', 6), 'v1');
    await ingestProfiles(profiles, ids('cur', 3), 'v2');
    const before = new Map(profiles.items);
    // Act
    const results = await rescoreTable(deps, 2);
    // Assess
    expect(results.map((r) => r.stoppedBecause)).toEqual(['done', 'done']);
    expect(results.reduce((sum, r) => sum + r.stats.rescored, 0)).toBe(11);
    expect(results.reduce((sum, r) => sum + r.stats.scanned, 0)).toBe(14);
    for (const [id, after] of profiles.items) {
      const was = before.get(id)!;
      expect(after.modelVersion).toBe('v2');
      expect(after.scoreStatus).toBe('scored');
      expect(unscoredPart(after)).toEqual(unscoredPart(was));
      expect(decodeProfileItem(after).state).toEqual(decodeProfileItem(was).state);
      expect(after.version).toBe(id.startsWith('cur') ? was.version : was.version + 1);
      expect(after.scoredAt).toBe(id.startsWith('cur') ? was.scoredAt : NOW);
    }
    // One inference per page that had anything to rescore, never one per profile.
    expect(model.inferences).toBeLessThanOrEqual(results.reduce((sum, r) => sum + r.stats.pages, 0));
    expect(model.rowsScored).toBe(11);
  });

  it('stores the score ingest would have stored with the same model', async () => {
    // Prepare: the same profile written unscored in one table and by v2 in another.
    const { profiles, deps } = setUp();
    const reference = new InMemoryProfileStore();
    await ingestProfiles(profiles, ['u-1'], undefined);
    await ingestProfiles(reference, ['u-1'], 'v2');
    // Act
    await rescoreTable(deps, 1);
    // Assess
    const rescored = profiles.items.get('u-1')!;
    const state = decodeProfileItem(rescored).state;
    const expected = fakeProbabilities('v2', featurize(state, state.lastEventAt), 1, FEATURE_COUNT)[0]!;
    expect(rescored.propensity).toBeCloseTo(expected, 4);
    expect(rescored.propensity).toBe(reference.items.get('u-1')!.propensity);
  });

  it('rewrites nothing the second time (idempotent)', async () => {
    // Prepare
    const { profiles, deps } = setUp();
    await ingestProfiles(profiles, ids('old', 9), 'v1');
    await rescoreTable(deps, 3);
    const putsAfterFirst = profiles.requests.put;
    const snapshot = new Map(profiles.items);
    // Act
    const again = await rescoreTable(deps, 3);
    // Assess
    expect(again.reduce((sum, r) => sum + r.stats.rescored + r.stats.stale, 0)).toBe(0);
    expect(profiles.requests.put).toBe(putsAfterFirst);
    expect(profiles.items).toEqual(snapshot);
  });

  it('re-reads on a conflict: rescores what ingest wrote with the old model, skips what it wrote fresh', async () => {
    // Prepare: while the first page is in flight, ingest writes u-a with the old model and u-b with the
    // serving one.
    const { profiles, scanner, deps } = setUp({ pageSize: 10 });
    await ingestProfiles(profiles, ['u-a', 'u-b', 'u-c'], 'v1');
    let raced = false;
    scanner.onPage = async () => {
      if (raced) return;
      raced = true;
      await ingestProfiles(profiles, ['u-a'], 'v1', T0 + 60_000);
      await ingestProfiles(profiles, ['u-b'], 'v2', T0 + 60_000);
    };
    // Act
    const [result] = await rescoreTable(deps, 1);
    // Assess
    expect(result!.stats).toMatchObject({ writeConflicts: 2, alreadyFresh: 1, rescored: 2, gaveUp: 0 });
    for (const id of ['u-a', 'u-b', 'u-c']) expect(profiles.items.get(id)!.modelVersion).toBe('v2');
    // Ingest's later events survive: the rescore was re-applied to the item it wrote.
    const a = decodeProfileItem(profiles.items.get('u-a')!);
    expect(a.state.counts.reduce((x, y) => x + y, 0)).toBe(4);
    expect(a.version).toBe(3);
  });

  it('never brings back a profile deleted between the scan and the write', async () => {
    // Prepare
    const { profiles, scanner, deps } = setUp();
    await ingestProfiles(profiles, ['u-gone'], 'v1');
    scanner.onPage = async () => {
      profiles.items.delete('u-gone');
    };
    // Act
    const [result] = await rescoreTable(deps, 1);
    // Assess
    expect(result!.stats).toMatchObject({ vanished: 1, rescored: 0 });
    expect(profiles.items.has('u-gone')).toBe(false);
  });

  it('leaves a profile that keeps conflicting to the next pass', async () => {
    // Prepare: ingest, still on v1, rewrites u-hot before every one of the rescorer's writes.
    const { profiles, deps } = setUp({ maxConflictRetries: 2 });
    await ingestProfiles(profiles, ['u-hot'], 'v1');
    const put = profiles.putIfVersion.bind(profiles);
    const ingestSide = { getMany: profiles.getMany.bind(profiles), putIfVersion: put };
    let minute = 1;
    profiles.putIfVersion = async (item, expected) => {
      await ingestProfiles(ingestSide, ['u-hot'], 'v1', T0 + minute++ * 60_000);
      return put(item, expected);
    };
    // Act
    const [result] = await rescoreTable(deps, 1);
    // Assess
    expect(result!.stats).toMatchObject({ writeConflicts: 3, gaveUp: 1, rescored: 0 });
    expect(profiles.items.get('u-hot')!.modelVersion).toBe('v1');
  });

  it('evaluates the audience set on the rescored profile and puts the entries of the writes that landed', async () => {
    // Prepare: profiles ingested before any model (no score: no member of a score audience); the feed
    // cannot store u-2's events
    const set = compileAudienceSet(
      {
        audienceSetVersion: 1,
        audiences: [
          { id: 'scored', description: 'scored', condition: { field: 'purchaseProbability', gte: 0 } },
        ],
      },
      'set-1',
    );
    const put: ActivationEvent[] = [];
    const { profiles, deps } = setUp({
      audiences: { current: async () => set },
      transitions: {
        put: async (events) => {
          put.push(...events);
          return new Set(['u-2']);
        },
      },
    });
    await ingestProfiles(profiles, ['u-1', 'u-2'], undefined);
    const before = new Map([...profiles.items].map(([id, item]) => [id, item.version]));
    // Act
    const [result] = await rescoreTable(deps, 1);
    // Assess: stored membership and the entries, with the id of the version each rescore committed
    for (const id of ['u-1', 'u-2']) {
      const item = decodeProfileItem(profiles.items.get(id)!);
      expect(Object.keys(item.audiences ?? {})).toEqual(['scored']);
      expect(item.version).toBe(before.get(id)! + 1);
      expect(put).toContainEqual(
        expect.objectContaining({
          id: activationEventId(id, 'scored', 'entered', item.version),
          kind: 'entered',
        }),
      );
      expect(item.audienceLog).toEqual({ scored: [item.version] });
    }
    expect(result!.stats).toMatchObject({
      audienceSetVersion: 'set-1',
      audienceEntries: 2,
      audienceExits: 0,
      activationEvents: 1,
      activationFailed: 1,
    });
  });

  it('keeps the TTL where the last ingest write put it', async () => {
    const { profiles, deps } = setUp();
    await ingestProfiles(profiles, ['u-1'], 'v1');
    const ttl = profiles.items.get('u-1')!.expiresAt;
    await rescoreTable(deps, 1);
    expect(profiles.items.get('u-1')!.expiresAt).toBe(ttl);
  });

  it('stops at the deadline with a key from which a later run finishes the segment', async () => {
    // Prepare: time for one page only.
    const { profiles, deps } = setUp({ pageSize: 3 });
    await ingestProfiles(profiles, ids('old', 8), 'v1');
    let pagesLeft = 1;
    const hasTimeLeft = () => pagesLeft-- > 0;
    // Act
    const first = await rescoreSegment({ segment: 0, totalSegments: 1 }, { ...deps, hasTimeLeft });
    const rest = await rescoreSegment({ segment: 0, totalSegments: 1, startKey: first.nextStartKey }, deps);
    // Assess
    expect(first).toMatchObject({ stoppedBecause: 'deadline', stats: { rescored: 3 } });
    expect(first.nextStartKey).toBeDefined();
    expect(rest).toMatchObject({ stoppedBecause: 'done', stats: { rescored: 5 } });
    expect([...profiles.items.values()].every((item) => item.modelVersion === 'v1')).toBe(false);
    expect([...profiles.items.values()].every((item) => item.modelVersion === 'v2')).toBe(true);
  });

  it('does nothing without a servable model', async () => {
    const { profiles, model, deps } = setUp();
    await ingestProfiles(profiles, ['u-1'], undefined);
    model.serving = undefined;
    const [result] = await rescoreTable(deps, 1);
    expect(result).toMatchObject({ stoppedBecause: 'no-model', stats: { pages: 0 } });
    expect(profiles.items.get('u-1')!.scoreStatus).toBe('unscored');
  });

  it('follows a promotion between two pages', async () => {
    // Prepare: v3 is promoted while the first page is being rescored.
    const { profiles, scanner, model, deps } = setUp({ pageSize: 2 });
    await ingestProfiles(profiles, ids('old', 4), 'v1');
    scanner.onPage = async () => {
      if (scanner.requests.length === 1) model.serving = 'v3';
    };
    // Act
    await rescoreTable(deps, 1);
    // Assess: the first page carries the version it was scored with; the second page looked for v3.
    expect(scanner.requests.map((r) => r.servingVersion)).toEqual(['v2', 'v3']);
    expect([...profiles.items.values()].map((item) => item.modelVersion).sort()).toEqual([
      'v3',
      'v3',
      'v3',
      'v3',
    ]);
  });

  it('paces the writes to maxWritesPerSecond', async () => {
    // Prepare: an injected clock that only moves when the use case sleeps.
    let clock = NOW;
    const { profiles, sleeps, deps } = setUp({
      pageSize: 5,
      maxWritesPerSecond: 10,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
    });
    await ingestProfiles(profiles, ids('old', 20), 'v1');
    // Act
    await rescoreTable(deps, 1);
    // Assess: 20 writes at 10/s with one second of credit take at least 1 s of waiting.
    expect(clock - NOW).toBeGreaterThanOrEqual(1000);
    expect(sleeps.every((ms) => ms > 0 && ms <= 500)).toBe(true);
  });

  it('raises a typed error when the table keeps throttling', async () => {
    const { profiles, deps } = setUp();
    await ingestProfiles(profiles, ['u-1'], 'v1');
    profiles.putIfVersion = async () => ({ status: 'throttled' });
    await expect(rescoreTable(deps, 1)).rejects.toBeInstanceOf(RescoreThrottledError);
  });

  it('rescores each stale profile exactly once over all segments, whatever the split', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(undefined, 'v1', 'v2'), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 7 }),
        async (versions, totalSegments, pageSize) => {
          // Prepare
          const { profiles, model, deps } = setUp({ pageSize });
          for (const [i, version] of versions.entries()) await ingestProfiles(profiles, [`u-${i}`], version);
          // Act
          const results = await rescoreTable(deps, totalSegments);
          // Assess
          const stale = versions.filter((v) => v !== 'v2').length;
          expect(results.reduce((sum, r) => sum + r.stats.rescored, 0)).toBe(stale);
          expect(model.rowsScored).toBe(stale);
          expect([...profiles.items.values()].every((item) => item.modelVersion === 'v2')).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});
