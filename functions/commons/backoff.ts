/**
 * Delay before retry number `attempt` (1 for the first retry): "full jitter", a uniform draw in
 * [0, min(capMs, baseMs × 2^(attempt−1))). Full jitter spreads competing callers out best, so both the
 * profile store's unprocessed-keys rounds and the producer's PutRecords retries use it.
 *
 * @param random - uniform source in [0, 1), injectable for tests
 */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
