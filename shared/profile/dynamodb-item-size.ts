/**
 * DynamoDB item size, per the documented rules ("DynamoDB item sizes and formats", developer guide):
 * - string: UTF-8 bytes; binary: raw bytes; null/boolean: 1 byte;
 * - number: 1 byte per two significant digits (leading and trailing zeros trimmed) + 1 byte;
 * - list/map: 3 bytes + 1 byte per element + the elements (map keys count as attribute names);
 * - every attribute name at any level: its UTF-8 bytes.
 * Writes cost one unit per started KB, so ≤ 1024 bytes is one write unit.
 */

const encoder = new TextEncoder();

/** Bytes of a string value or of an attribute name: its UTF-8. */
export function stringBytes(text: string): number {
  // ASCII fast path: one byte per char.
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return encoder.encode(text).length;
  return text.length;
}

/** 10^0 … 10^15: a safe integer's digit count by comparisons instead of a division per digit. */
const POWERS_OF_TEN: readonly number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);

function integerBytes(integer: number): number {
  let v = integer;
  if (v === 0) return 2;
  while (v % 10 === 0) v /= 10;
  // Digits of v (< 2^53 < 10^16): the number of powers of ten at or below it.
  let digits = 1;
  while (digits < POWERS_OF_TEN.length && v >= POWERS_OF_TEN[digits]!) digits++;
  return Math.ceil(digits / 2) + 1;
}

/** Decimal scales tried before formatting: the stored outputs are rounded to 2–4 decimals. */
const DECIMAL_SCALES = [10, 100, 1000, 10_000] as const;
/** Below this, two decimals of ≤ 4 places are many ulps apart, so the shortest form is the one found. */
const EXACT_DECIMAL_LIMIT = 2 ** 32;

/** Bytes of a number value: 1 per two significant digits of its decimal form, + 1. */
export function numberBytes(value: number): number {
  const v = Math.abs(value);
  // Integers (most numbers in a profile item) by arithmetic: the encoder sizes every scored item.
  if (Number.isSafeInteger(v)) return integerBytes(v);
  // A value that is exactly k / 10^d for d ≤ 4 prints as k's digits (String gives the shortest form
  // that reads back as v, and no other decimal of ≤ 4 places lies within an ulp of it): no string.
  if (v < EXACT_DECIMAL_LIMIT) {
    for (const scale of DECIMAL_SCALES) {
      const k = Math.round(v * scale);
      if (k / scale === v) return integerBytes(k);
    }
  }
  // Otherwise marshall sends String(value): the shortest round-trip decimal form. Count its significant digits
  // (mantissa only, leading and trailing zeros dropped) in one pass: the encoder sizes scored items on
  // every write, and regular expressions here were a measurable share of ingest's garbage.
  const text = String(v);
  let first = -1;
  let last = -1;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 101 /* e */) break;
    if (c < 48 || c > 57) continue;
    digits++;
    if (c !== 48) {
      if (first < 0) first = digits;
      last = digits;
    }
  }
  const significant = first < 0 ? 1 : last - first + 1;
  return Math.ceil(significant / 2) + 1;
}

/** Bytes of a list or a map before its elements. */
export const CONTAINER_BYTES = 3;
/** Bytes each element of a list or a map adds besides its value (and, in a map, its name). */
export const ELEMENT_BYTES = 1;

/** Bytes a map entry `name` → number adds to its map. */
export function numberEntryBytes(name: string, value: number): number {
  return ELEMENT_BYTES + stringBytes(name) + numberBytes(value);
}

function valueBytes(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return stringBytes(value);
  if (typeof value === 'number') return numberBytes(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) {
    let size = CONTAINER_BYTES;
    for (const element of value) size += ELEMENT_BYTES + valueBytes(element);
    return size;
  }
  if (typeof value === 'object') {
    let size = CONTAINER_BYTES;
    const entries = value as Record<string, unknown>;
    for (const name in entries) {
      const element = entries[name];
      if (element === undefined) continue;
      size += ELEMENT_BYTES + stringBytes(name) + valueBytes(element);
    }
    return size;
  }
  return 0;
}

/**
 * Size in bytes that DynamoDB charges for `item` (a plain JS object as given to `marshall`;
 * undefined attributes are skipped, as `removeUndefinedValues` would).
 */
export function estimateItemBytes(item: Readonly<Record<string, unknown>>): number {
  let size = 0;
  for (const name in item) {
    const value = item[name];
    if (value === undefined) continue;
    size += stringBytes(name) + valueBytes(value);
  }
  return size;
}
