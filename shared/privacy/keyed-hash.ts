/**
 * The one keyed hash of the project: HMAC-SHA256 under a secret key (the stateful stack's Secrets
 * Manager secret; locally a generated key), behind pseudonymous ids, device and network fingerprints
 * and erasure tombstones, so they all agree on what "the same id" is. Without the key a hash cannot be
 * recomputed from a guessed value — an unkeyed hash of an IPv4 address or a user id is reversed by
 * trying them all. Pure: the caller loads the key (`functions/commons/secret-key.ts`) and passes its
 * bytes; `node:crypto` is computation, not I/O, so the domain may use it.
 */
import { createHmac } from 'node:crypto';

/** Smallest key accepted: 256 bits, SHA-256's output size (RFC 2104 §3). */
export const MIN_KEY_BYTES = 32;

/** The key is too short to keep the hash unguessable. */
export class KeyedHashKeyError extends Error {
  override readonly name = 'KeyedHashKeyError';
  constructor(readonly byteLength: number) {
    super(`key: must be at least ${MIN_KEY_BYTES} bytes (got ${byteLength})`);
  }
}

/**
 * HMAC-SHA256 of `value` (UTF-8) under `key`, as 64 lowercase hex digits.
 *
 * @throws {@link KeyedHashKeyError} when the key is shorter than {@link MIN_KEY_BYTES}
 */
export function keyedHash(key: Uint8Array, value: string): string {
  if (key.byteLength < MIN_KEY_BYTES) throw new KeyedHashKeyError(key.byteLength);
  return createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

/**
 * What a keyed hash is of. Each purpose hashes `<purpose>:<value>`, so equal strings in two purposes
 * (a user agent that is also somebody's id) give unrelated hashes.
 */
export const HASH_PURPOSES = ['id', 'device', 'network'] as const;
/** One of {@link HASH_PURPOSES}. */
export type HashPurpose = (typeof HASH_PURPOSES)[number];

/** A keyed hash bound to its key, remembering recent answers. */
export type KeyedHasher = (purpose: HashPurpose, value: string) => string;

/**
 * A {@link KeyedHasher} under `key`. An HMAC costs tens of microseconds on a busy core — as much as
 * decoding the whole event — while ids, user agents and networks repeat from batch to batch, so the
 * answers are memoised (at most `cacheSize`, forgotten all at once when full: no bookkeeping per hit).
 * One map per purpose, keyed by the value itself: a hit builds no `<purpose>:<value>` string.
 *
 * @param cacheSize - answers kept @default 10000
 * @throws {@link KeyedHashKeyError} when the key is shorter than {@link MIN_KEY_BYTES}
 */
export function createKeyedHasher(key: Uint8Array, cacheSize = 10_000): KeyedHasher {
  if (key.byteLength < MIN_KEY_BYTES) throw new KeyedHashKeyError(key.byteLength);
  const secret = Uint8Array.from(key);
  const caches: Record<HashPurpose, Map<string, string>> = {
    id: new Map(),
    device: new Map(),
    network: new Map(),
  };
  let cached = 0;
  return (purpose, value) => {
    const cache = caches[purpose];
    let hash = cache.get(value);
    if (hash === undefined) {
      if (cached >= cacheSize) {
        for (const purposeCache of Object.values(caches)) purposeCache.clear();
        cached = 0;
      }
      hash = keyedHash(secret, `${purpose}:${value}`);
      cache.set(value, hash);
      cached++;
    }
    return hash;
  };
}
