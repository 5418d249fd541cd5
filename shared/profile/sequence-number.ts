/**
 * Kinesis sequence numbers are decimal strings of up to 56 digits, beyond a float64 or a DynamoDB
 * Number. Comparing canonical decimal strings by (length, then characters) equals comparing them as
 * BigInt, without allocating one per record.
 */

/** Canonical form: leading zeros removed ("0" stays "0"). */
export function canonicalSequenceNumber(sequenceNumber: string): string {
  let start = 0;
  while (start < sequenceNumber.length - 1 && sequenceNumber.charCodeAt(start) === 48) start++;
  return start === 0 ? sequenceNumber : sequenceNumber.slice(start);
}

/** Sign of `a - b` for two canonical decimal sequence numbers (same result as BigInt comparison). */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
