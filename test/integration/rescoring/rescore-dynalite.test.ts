import { DynamoDbProfileScanner } from '../../../functions/commons/dynamodb-profile-scanner';
import { DynamoDbProfileStore } from '../../../functions/commons/dynamodb-profile-store';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import type { StoredProfileItem } from '../../../shared/ingest/ingest-ports';
import { decodeProfileItem } from '../../../shared/profile/profile-item-codec';
import {
  rescoreSegment,
  type RescoreDependencies,
  type RescoreStats,
} from '../../../shared/rescoring/rescore-segment';
import { T0 } from '../../support/factories';
import { profilesTableDefinition } from '../../support/profiles-table';
import { FakeServingModel, ingestProfiles, unscoredPart } from '../../support/rescoring-fixtures';

const SEGMENTS = 3;
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_x, i) => `${prefix}-${i}`);

let cloud: LocalCloud;
let tableCount = 0;

beforeAll(async () => {
  cloud = await startLocalCloud();
});

afterAll(async () => {
  await cloud?.stop();
});

/** A fresh table with its store, scanner and a rescorer over all segments for the serving `model`. */
async function freshTable(model: FakeServingModel) {
  const table = `profiles-rescore-${++tableCount}`;
  await cloud.createTable(profilesTableDefinition(table));
  const store = new DynamoDbProfileStore(cloud.clients.dynamodb, table);
  const scanner = new DynamoDbProfileScanner(cloud.clients.dynamodb, table);
  const deps: RescoreDependencies = {
    scanner,
    profiles: store,
    model,
    now: Date.now,
    sleep: async () => {},
    pageSize: 7,
    maxWritesPerSecond: 1_000_000,
  };
  /** One pass over the table, segments in parallel as the state machine's Map runs them. */
  const pass = async (overrides: Partial<RescoreDependencies> = {}): Promise<RescoreStats[]> => {
    const results = await Promise.all(
      Array.from({ length: SEGMENTS }, (_s, segment) =>
        rescoreSegment({ segment, totalSegments: SEGMENTS }, { ...deps, ...overrides }),
      ),
    );
    expect(results.map((r) => r.stoppedBecause)).toEqual(Array(SEGMENTS).fill('done'));
    return results.map((r) => r.stats);
  };
  const read = async (profileIds: readonly string[]) => store.getMany(profileIds);
  return { store, scanner, deps, pass, read };
}

const total = (stats: RescoreStats[], key: keyof RescoreStats) =>
  stats.reduce((sum, s) => sum + Number(s[key] ?? 0), 0);

describe('rescoring against dynalite', () => {
  it('brings unscored and old-version profiles to the serving version; states unchanged; idempotent', async () => {
    // Prepare: written before any model, by v1, and by v2 (the serving model).
    const model = new FakeServingModel('v2');
    const { store, pass, read } = await freshTable(model);
    const all = [...ids('none', 10), ...ids('old', 12), ...ids('cur', 8)];
    await ingestProfiles(store, ids('none', 10), undefined);
    await ingestProfiles(store, ids('old', 12), 'v1');
    await ingestProfiles(store, ids('cur', 8), 'v2');
    const before = await read(all);
    // Act
    const first = await pass();
    const after = await read(all);
    const second = await pass();
    // Assess
    expect(total(first, 'scanned')).toBe(30);
    expect(total(first, 'rescored')).toBe(22);
    for (const id of all) {
      const was = before.get(id)!;
      const now = after.get(id)!;
      expect(now.modelVersion).toBe('v2');
      expect(unscoredPart(now)).toEqual(unscoredPart(was));
      expect(decodeProfileItem(now).state).toEqual(decodeProfileItem(was).state);
      expect(now.version).toBe(id.startsWith('cur') ? was.version : was.version + 1);
    }
    // The second pass reads the table and gets nothing back: the filter runs in DynamoDB.
    expect(total(second, 'scanned')).toBe(30);
    expect(total(second, 'stale')).toBe(0);
    expect(total(second, 'rescored')).toBe(0);
    expect(await read(all)).toEqual(after);
  });

  it('handles an ingest write that lands between the scan and the rescore write', async () => {
    // Prepare: every page the scanner returns is followed at once by an ingest write (old model) to
    // the page's first profile, so the rescore write of that profile conflicts.
    const model = new FakeServingModel('v2');
    const { store, scanner, pass, read } = await freshTable(model);
    const all = ids('u', 20);
    await ingestProfiles(store, all, 'v1');
    const scanPage = scanner.scanPage.bind(scanner);
    const raced: string[] = [];
    scanner.scanPage = async (request) => {
      const page = await scanPage(request);
      const first = page.items[0] as StoredProfileItem | undefined;
      if (first !== undefined) {
        raced.push(first.profileId);
        await ingestProfiles(store, [first.profileId], 'v1', T0 + 60_000);
      }
      return page;
    };
    // Act
    const stats = await pass();
    // Assess: each raced profile conflicted once, was re-read and rescored; ingest's events are kept.
    expect(raced.length).toBeGreaterThan(0);
    expect(total(stats, 'writeConflicts')).toBe(raced.length);
    expect(total(stats, 'rescored')).toBe(20);
    const stored = await read(all);
    for (const id of all) expect(stored.get(id)!.modelVersion).toBe('v2');
    for (const id of raced) {
      const { state, version } = decodeProfileItem(stored.get(id)!);
      expect(state.counts.reduce((a, b) => a + b, 0)).toBe(4);
      expect(version).toBe(3);
    }
  });

  it('ends with the new version when ingest writes with the old model after the first pass', async () => {
    // Prepare: v2 promoted; an ingest container still on v1 (inside its poll interval) writes behind
    // the first pass.
    const model = new FakeServingModel('v2');
    const { store, pass, read } = await freshTable(model);
    const all = ids('u', 15);
    await ingestProfiles(store, all, 'v1');
    // Act
    await pass();
    await ingestProfiles(store, ids('u', 4), 'v1', T0 + 60_000);
    const behind = [...(await read(all)).values()].filter((item) => item.modelVersion !== 'v2').length;
    const second = await pass();
    // Assess
    expect(behind).toBe(4);
    expect(total(second, 'rescored')).toBe(4);
    for (const item of (await read(all)).values()) expect(item.modelVersion).toBe('v2');
  });

  it('resumes a segment from the continuation key across invocations', async () => {
    // Prepare
    const model = new FakeServingModel('v2');
    const { store, deps, read } = await freshTable(model);
    const all = ids('u', 25);
    await ingestProfiles(store, all, undefined);
    // Act: each invocation has time for two pages.
    let invocations = 0;
    let startKey: string | undefined;
    let rescored = 0;
    for (;;) {
      invocations++;
      let pages = 2;
      const result = await rescoreSegment(
        { segment: 0, totalSegments: 1, ...(startKey === undefined ? {} : { startKey }) },
        { ...deps, pageSize: 4, hasTimeLeft: () => pages-- > 0 },
      );
      rescored += result.stats.rescored;
      if (result.stoppedBecause !== 'deadline') break;
      startKey = result.nextStartKey;
    }
    // Assess
    expect(invocations).toBeGreaterThan(1);
    expect(rescored).toBe(25);
    for (const item of (await read(all)).values()) expect(item.modelVersion).toBe('v2');
  });
});
