/**
 * Tombstones: what an erasure leaves behind so that the person never comes back. One item per erased
 * profile id in the profiles table itself, keyed `erased#<HMAC-SHA256 of the profile id>`, so ingest
 * finds them in the BatchGetItem that reads the profiles anyway, and no raw id stays at rest.
 */
import { keyedHash } from '../privacy/keyed-hash';
import type { StoredProfileItem } from '../ingest/ingest-ports';

/** Prefix of every tombstone's `profileId`; no real profile carries it (see `isTombstoneKey`). */
export const TOMBSTONE_KEY_PREFIX = 'erased#';

/** A tombstone as stored: the keyed hash in the key, when and by which request it was written. */
export interface TombstoneItem extends StoredProfileItem {
  /** `erased#<64 hex digits>` */
  profileId: string;
  /** Always 0: a tombstone is written once and never under a lock. */
  version: 0;
  /** Epoch ms of the erasure. */
  erasedAt: number;
  /** The erasure request that wrote it (its receipt has the same id). */
  requestId: string;
}

/** Tombstone keys remembered per container: an HMAC costs microseconds, a lookup far less. */
const KEY_CACHE_LIMIT = 50_000;

/** Maps profile ids to their tombstone keys under one secret key (the caller holds the key bytes). */
export class TombstoneKeys {
  // Bounded by clearing when full: active profiles come back within minutes, so hits stay high.
  private readonly cache = new Map<string, string>();

  constructor(private readonly key: Uint8Array) {}

  /** The keyed hash of a profile id, as the receipt names it. */
  hashOf(profileId: string): string {
    return keyedHash(this.key, profileId);
  }

  /** The tombstone item key of a profile id. */
  keyOf(profileId: string): string {
    let key = this.cache.get(profileId);
    if (key === undefined) {
      if (this.cache.size >= KEY_CACHE_LIMIT) this.cache.clear();
      key = TOMBSTONE_KEY_PREFIX + this.hashOf(profileId);
      this.cache.set(profileId, key);
    }
    return key;
  }
}

/** Whether a table item is a tombstone rather than a profile (scans and readers skip them). */
export function isTombstoneKey(profileId: string): boolean {
  return profileId.startsWith(TOMBSTONE_KEY_PREFIX) && /^erased#[0-9a-f]{64}$/.test(profileId);
}

/**
 * The profile ids among `profileIds` that have a tombstone in `stored` (the result of a read that asked
 * for `keys.keyOf(id)` too, e.g. the profiles' own BatchGetItem).
 */
export function erasedAmong(
  profileIds: Iterable<string>,
  stored: ReadonlyMap<string, unknown>,
  keys: TombstoneKeys,
): Set<string> {
  const erased = new Set<string>();
  for (const id of profileIds) if (stored.has(keys.keyOf(id))) erased.add(id);
  return erased;
}
