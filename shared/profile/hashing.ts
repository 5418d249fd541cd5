/** FNV-1a's 32-bit offset basis: the hash of the empty string. */
export const FNV1A32_OFFSET_BASIS = 0x811c9dc5;

/**
 * 32-bit FNV-1a over UTF-16 code units. Used for the dedupe window and session keys: fast, no
 * allocation, stable across runtimes. Not a cryptographic hash; collisions are accounted for in the
 * dedupe false-positive rate (see `PROFILE_LIMITS.dedupeWindow` in `profile-state.ts`).
 *
 * @param seed - the hash of a prefix: `fnv1a32(b, fnv1a32(a)) === fnv1a32(a + b)`, so a prefixed id is
 *   hashed without building the joined string. @default {@link FNV1A32_OFFSET_BASIS}
 */
export function fnv1a32(text: string, seed = FNV1A32_OFFSET_BASIS): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
