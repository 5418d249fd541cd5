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

// Runs on every stored item of the compute benchmark: walks the fields without listing them first.
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
    else for (const key in value) if (Object.hasOwn(value, key)) deepFreeze(value[key]);
    Object.freeze(value);
  }
  return value;
}

/** A profile store in a Map, with optimistic locking like the DynamoDB one. */
export class InMemoryProfileStore implements ProfileStore {
  readonly items = new Map<string, StoredProfileItem>();
  /** Requests made, by kind: the benchmark reports them per event. */
  readonly requests = { batchGet: 0, put: 0 };

  async getMany(profileIds: readonly string[]): Promise<Map<string, StoredProfileItem>> {
    this.requests.batchGet += Math.ceil(profileIds.length / 100);
    const found = new Map<string, StoredProfileItem>();
    for (const id of profileIds) {
      const item = this.items.get(id);
      if (item !== undefined) found.set(id, item);
    }
    return found;
  }

  async putIfVersion(item: StoredProfileItem, expectedVersion: number | undefined): Promise<WriteOutcome> {
    this.requests.put++;
    const current = this.items.get(item.profileId);
    if (current?.version !== expectedVersion) return { status: 'conflict', current };
    // Stored items are frozen instead of copied on every read: a caller that tried to change one would
    // fail loudly (as it would silently diverge from DynamoDB, which hands out fresh objects).
    this.items.set(item.profileId, deepFreeze(item));
    return { status: 'written' };
  }
}

/** A quarantine that keeps refused records in an array. */
export class InMemoryQuarantine implements QuarantineSink {
  readonly records: QuarantinedRecord[] = [];
  async putBatch(records: readonly QuarantinedRecord[]): Promise<void> {
    this.records.push(...records);
  }
}
