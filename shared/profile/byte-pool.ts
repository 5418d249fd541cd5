/**
 * Small byte arrays carved from shared 8 KiB buffers, as Node's `Buffer.allocUnsafe` pools them.
 *
 * Every profile write makes a few small binary values (the `state` blob, the embedding bytes, the
 * quantised embedding of a score), and every read copies the embedding back out. Each `new
 * Uint8Array(n)` or `slice()` is an ArrayBuffer of its own, with a backing store V8 tracks apart
 * from the heap: about 1 µs for a 140-byte blob against 0.3 µs for a view into a pooled buffer. The
 * arrays are ordinary typed arrays over a `byteOffset` into the pool: read them through their own
 * offset and length (as every reader here and the AWS SDK do), never through `.buffer` alone.
 */

/** Bytes of each pool buffer. */
const POOL_BYTES = 8 * 1024;
/** Larger requests get an ArrayBuffer of their own (a pool holds at least two of them). */
const MAX_POOLED_BYTES = POOL_BYTES >>> 1;

let pool = new ArrayBuffer(POOL_BYTES);
let used = 0;

/** Offset in the buffer {@link carve} returned last (a variable, not a result object per call). */
let carvedAt = 0;

/** The ArrayBuffer where `byteLength` fresh zero bytes start at {@link carvedAt}. */
function carve(byteLength: number): ArrayBuffer {
  if (byteLength > MAX_POOLED_BYTES) {
    carvedAt = 0;
    return new ArrayBuffer(byteLength);
  }
  if (used + byteLength > POOL_BYTES) {
    pool = new ArrayBuffer(POOL_BYTES);
    used = 0;
  }
  carvedAt = used;
  // 8-byte aligned, so a DataView or wider typed array over a pooled array stays aligned.
  used += (byteLength + 7) & ~7;
  return pool;
}

/** A copy of `source[start, end)` in pooled memory (`slice` without an ArrayBuffer each). */
export function pooledCopy(
  source: ArrayLike<number>,
  start = 0,
  end = source.length,
): Uint8Array<ArrayBuffer> {
  const length = end - start;
  const copy = new Uint8Array(carve(length), carvedAt, length);
  // An element loop: for the few hundred bytes copied here it is cheaper than `set` on a subarray.
  for (let i = 0; i < length; i++) copy[i] = source[start + i]!;
  return copy;
}

/** `length` zero signed bytes in pooled memory. */
export function pooledInt8Array(length: number): Int8Array<ArrayBuffer> {
  return new Int8Array(carve(length), carvedAt, length);
}
