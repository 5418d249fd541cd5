/**
 * 32-bit FNV-1a over UTF-16 code units. Used for the dedupe window and session keys: fast, no
 * allocation, stable across runtimes. Not a cryptographic hash; collisions are accounted for in the
 * dedupe false-positive rate (see `PROFILE_LIMITS.dedupeWindow` in `profile-state.ts`).
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
