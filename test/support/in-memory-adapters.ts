/**
 * In-memory implementations of the ingest ports, with the same semantics as the AWS adapters
 * (conditional writes on `version`). They serve the benchmarks' compute-only runs and the domain's
 * unit tests; integration tests use the real adapters against the emulators.
 */
import type {
  ProfileStore,
  QuarantinedRecord,
  QuarantineSink,
  StoredProfileItem,
  WriteOutcome,
} from '../../shared/ingest/ingest-ports';

/**
 * Freezes everything below `value` (typed arrays left as they are: they cannot be frozen). Stops at
 * what is frozen already: a subtree an item shares with an earlier one was frozen with it.
 */
function freezeBelow(value: object): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) freezeTree(value[i]);
  } else {
    for (const key in value)
      if (Object.hasOwn(value, key)) freezeTree((value as Record<string, unknown>)[key]);
  }
}

function freezeTree(value: unknown): void {
  // Primitives are tested here, not in a call each: most of an item's values are numbers and strings.
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value))
    return;
  freezeBelow(value);
  Object.freeze(value);
}

/**
 * A profile store in a Map, with optimistic locking like the DynamoDB one.
 *
 * Stored items are frozen instead of copied: DynamoDB hands out fresh objects, so a caller that changed
 * an item it read (or wrote) would silently diverge from it here, and fails loudly instead. A write
 * freezes the item's own attributes (one `Object.freeze`); its nested values are frozen the first time
 * the store hands it out (a read, or the current item of a conflict), so the many versions that are
 * overwritten before anyone reads them, and each profile's last, never pay for the deep walk. The
 * compute benchmark's handler figure includes this store (README, "Benchmarks").
 */
export class InMemoryProfileStore implements ProfileStore {
  readonly items = new Map<string, StoredProfileItem>();
  /** Requests made, by kind: the benchmark reports them per event. */
  readonly requests = { batchGet: 0, put: 0 };
  /** Items frozen all the way down (the rest are frozen at their top level only). */
  private readonly deeplyFrozen = new WeakSet<StoredProfileItem>();

  async getMany(profileIds: readonly string[]): Promise<Map<string, StoredProfileItem>> {
    this.requests.batchGet += Math.ceil(profileIds.length / 100);
    const found = new Map<string, StoredProfileItem>();
    for (const id of profileIds) {
      const item = this.items.get(id);
      if (item !== undefined) found.set(id, this.handedOut(item));
    }
    return found;
  }

  async putIfVersion(item: StoredProfileItem, expectedVersion: number | undefined): Promise<WriteOutcome> {
    this.requests.put++;
    const current = this.items.get(item.profileId);
    if (current?.version !== expectedVersion)
      return { status: 'conflict', current: current === undefined ? undefined : this.handedOut(current) };
    this.items.set(item.profileId, Object.freeze(item));
    return { status: 'written' };
  }

  private handedOut(item: StoredProfileItem): StoredProfileItem {
    if (!this.deeplyFrozen.has(item)) {
      freezeBelow(item);
      Object.freeze(item);
      this.deeplyFrozen.add(item);
    }
    return item;
  }
}

/** A quarantine that keeps refused records in an array. */
export class InMemoryQuarantine implements QuarantineSink {
  readonly records: QuarantinedRecord[] = [];
  async putBatch(records: readonly QuarantinedRecord[]): Promise<void> {
    this.records.push(...records);
  }
}
