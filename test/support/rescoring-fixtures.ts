/**
 * Test doubles of the rescoring ports and a way to seed a table with profiles as ingest writes them
 * (unscored, or scored by a given model version), shared by the unit and emulator tests.
 */
import { ingestBatch } from '../../shared/ingest/ingest-batch';
import type { ProfileStore, StoredProfileItem } from '../../shared/ingest/ingest-ports';
import { fnv1a32 } from '../../shared/profile/hashing';
import type {
  ProfileSegmentScanner,
  SegmentPage,
  SegmentPageRequest,
  ServingModel,
} from '../../shared/rescoring/rescoring-ports';
import { ingestRecords, T0 } from './factories';
import type { InMemoryProfileStore } from './in-memory-adapters';

/**
 * A model that answers a deterministic probability per feature row, different for each version, and
 * counts its inferences. `serving` is what `servingVersion` answers (tests move it to "promote").
 */
export class FakeServingModel implements ServingModel {
  inferences = 0;
  rowsScored = 0;
  constructor(public serving: string | undefined) {}

  async servingVersion(): Promise<string | undefined> {
    return this.serving;
  }

  async score(features: Float32Array, rows: number, width: number) {
    const version = this.serving;
    if (version === undefined) return undefined;
    this.inferences++;
    this.rowsScored += rows;
    return { purchase: fakeProbabilities(version, features, rows, width), modelVersion: version };
  }
}

/** The fake model's answer for `version`, row by row. */
export function fakeProbabilities(version: string, features: Float32Array, rows: number, width: number) {
  const out = new Float32Array(rows);
  const offset = (fnv1a32(version) % 1000) / 1000;
  for (let r = 0; r < rows; r++) {
    let sum = offset;
    for (let c = 0; c < width; c++) sum += features[r * width + c]! * 0.01;
    out[r] = 1 / (1 + Math.exp(-sum));
  }
  return out;
}

/** A parallel scan over the in-memory store: segments by hash, pages in profile-id order. */
export class InMemorySegmentScanner implements ProfileSegmentScanner {
  /** Called after each page is read and before it is returned (to race a writer against the scan). */
  onPage?: (page: SegmentPage) => Promise<void>;
  readonly requests: SegmentPageRequest[] = [];

  constructor(private readonly store: InMemoryProfileStore) {}

  async scanPage(request: SegmentPageRequest): Promise<SegmentPage> {
    this.requests.push(request);
    const ids = [...this.store.items.keys()]
      .filter((id) => fnv1a32(id) % request.totalSegments === request.segment)
      .sort();
    const from = request.startKey === undefined ? 0 : ids.findIndex((id) => id > request.startKey!);
    const read = (from < 0 ? [] : ids.slice(from, from + request.limit)).map((id) =>
      this.store.items.get(id)!,
    );
    const last = read.at(-1);
    const more = from >= 0 && from + request.limit < ids.length;
    const page: SegmentPage = {
      // Unfiltered on purpose: the use case must check each item itself.
      items: read,
      scanned: read.length,
      ...(more && last !== undefined ? { nextStartKey: last.profileId } : {}),
    };
    await this.onPage?.(page);
    return page;
  }
}

/** Page views of `userIds` at `atMs`, each user `eventsEach` times, as stream record bodies. */
export function viewsOf(userIds: readonly string[], atMs = T0, eventsEach = 2): unknown[] {
  return userIds.flatMap((userId) =>
    Array.from({ length: eventsEach }, (_e, i) => ({
      schemaVersion: 1,
      eventId: `${userId}-${atMs}-${i}`,
      type: 'product_view',
      userId,
      productId: `p-${i}`,
      categoryPath: 'electronics.phones',
      occurredAt: atMs - (eventsEach - i) * 60_000,
    })),
  );
}

/**
 * Write the profiles of `userIds` through the real ingest use case, scored by `version` (or unscored
 * when `version` is undefined), as a live ingest container with that model would.
 */
export async function ingestProfiles(
  profiles: ProfileStore,
  userIds: readonly string[],
  version: string | undefined,
  atMs = T0,
): Promise<void> {
  const result = await ingestBatch(ingestRecords(viewsOf(userIds, atMs), { arrivalMs: atMs }), {
    profiles,
    quarantine: { putBatch: async () => {} },
    scorer: new FakeServingModel(version),
    now: () => atMs,
  });
  if (result.failedSequenceNumbers.length > 0) throw new Error('seeding ingest failed');
}

/** The attributes of an item other than the score and the lock: what rescoring must leave alone. */
export function unscoredPart(item: StoredProfileItem): Record<string, unknown> {
  const {
    version: _v,
    scoreStatus: _s,
    propensity: _p,
    modelVersion: _m,
    scoredAt: _t,
    churnRisk: _c,
    nextCategories: _n,
    reasons: _r,
    embedding: _e,
    ...rest
  } = item;
  return rest;
}
