/**
 * The one keyed hash of the project: HMAC-SHA256 of an identifier under a secret key. Erasure keys its
 * tombstones with it and pseudonymised ids use it too, so the two agree on what "the same id" is. Pure:
 * the caller loads the key (`functions/commons/secret-key.ts`) and passes its bytes.
 */
import { createHmac } from 'node:crypto';

/** The shortest key accepted: HMAC-SHA256's own block of security, 32 bytes. */
export const MIN_KEY_BYTES = 32;

/** The key is too short to keep the hash unguessable. */
export class KeyedHashKeyError extends Error {
  override readonly name = 'KeyedHashKeyError';
  constructor(readonly bytes: number) {
    super(`key: must be at least ${MIN_KEY_BYTES} bytes (got ${bytes})`);
  }
}

/**
 * HMAC-SHA256 of `value` (UTF-8) under `key`, as 64 lowercase hex digits. Without the key nobody can
 * tell which id a hash stands for, nor compute the hash of a guessed id.
 *
 * @throws {@link KeyedHashKeyError} when the key is shorter than {@link MIN_KEY_BYTES}
 */
export function keyedHash(key: Uint8Array, value: string): string {
  if (key.length < MIN_KEY_BYTES) throw new KeyedHashKeyError(key.length);
  return createHmac('sha256', key).update(value, 'utf8').digest('hex');
}
