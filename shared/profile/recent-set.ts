/**
 * "The N most recent distinct keys", kept as a list sorted by (at, key) descending, each key with the
 * latest time it was seen.
 *
 * This summary is a pure function of the set of (key, at) pairs folded into it, whatever the order:
 * a key evicted for being older than N others can only come back with a later time than all of
 * them, which is exactly when the full-history answer would include it. Pruning by a rising lower
 * bound (`pruneRecent`) keeps that property, because everything evicted earlier is older than what
 * the bound removes.
 */

/** One key of a recent set with the latest time (seconds or minutes, caller's unit) it was seen. */
export interface RecentEntry<K extends string | number = string> {
  key: K;
  at: number;
}

function isNewer<K extends string | number>(at: number, key: K, than: RecentEntry<K>): boolean {
  return at > than.at || (at === than.at && key > than.key);
}

/** Index of `key` in `list`, or -1 (lists are short: a scan beats a map). */
export function indexOfRecent<K extends string | number>(list: readonly RecentEntry<K>[], key: K): number {
  for (let i = 0; i < list.length; i++) if (list[i]!.key === key) return i;
  return -1;
}

/**
 * Fold one sighting of `key` at `at` into `list` (mutated), keeping at most `limit` entries.
 *
 * @returns whether the list changed
 */
export function touchRecent<K extends string | number>(
  list: RecentEntry<K>[],
  key: K,
  at: number,
  limit: number,
): boolean {
  const found = indexOfRecent(list, key);
  if (found >= 0) {
    const entry = list[found]!;
    if (entry.at >= at) return false;
    // A later sighting only moves the entry towards the front: shift the ones it overtakes, in place
    // (the same list a removal and re-insertion would give, without allocating).
    let index = found;
    while (index > 0 && isNewer(at, key, list[index - 1]!)) {
      list[index] = list[index - 1]!;
      index--;
    }
    entry.at = at;
    list[index] = entry;
    return true;
  }
  return insertRecent(list, key, at, limit);
}

/**
 * {@link touchRecent} for a `key` the caller knows is not in `list` (it skips the search).
 *
 * @returns whether the list changed (false: full, and the key is older than every entry)
 */
export function insertRecent<K extends string | number>(
  list: RecentEntry<K>[],
  key: K,
  at: number,
  limit: number,
): boolean {
  const length = list.length;
  const full = length >= limit;
  if (full && !isNewer(at, key, list[length - 1]!)) return false;
  // Its place, found from the newest end: events mostly arrive newest, so one comparison usually
  // finds it, and the entries behind it shift without being compared (the list is in strict order and
  // `key` is absent from it, so the place is the one a search from the oldest end finds).
  let index = 0;
  while (index < length && !isNewer(at, key, list[index]!)) index++;
  let entry: RecentEntry<K>;
  let end = length;
  if (full) {
    // Full (the dedupe window, once a profile is active): the oldest entry leaves, and its object
    // carries the new key.
    end = length - 1;
    entry = list[end]!;
    entry.key = key;
    entry.at = at;
  } else {
    // Room left: appended, then shifted to its place (a splice would allocate its result array).
    entry = { key, at };
    list.push(entry);
  }
  for (let i = end; i > index; i--) list[i] = list[i - 1]!;
  list[index] = entry;
  return true;
}

/** Drop entries older than `minAt` (mutates `list`). */
export function pruneRecent<K extends string | number>(list: RecentEntry<K>[], minAt: number): void {
  while (list.length > 0 && list[list.length - 1]!.at < minAt) list.pop();
}

/**
 * Put `entry` at its place in `list`, kept newest first by `isNewer` (a strict order) and at most `limit`
 * long: when full the oldest leaves, unless `entry` would be the oldest. In place, shifting the entries
 * it overtakes (a splice allocates its result array per call). For the state's other bounded lists (cart
 * log, logins, fingerprints); the recent sets themselves compare (at, key) inline, once per event.
 *
 * @param at - the index `entry` replaces, when it is an entry of the list seen again (it can then only
 *   move forward); -1 for a new one
 * @returns whether the list changed
 */
export function insertNewestFirst<T>(
  list: T[],
  entry: T,
  limit: number,
  isNewer: (a: T, b: T) => boolean,
  at = -1,
): boolean {
  let index = at;
  if (index < 0) {
    index = list.length;
    if (index >= limit) {
      if (!isNewer(entry, list[index - 1]!)) return false;
      index--;
    } else list.push(entry);
  }
  while (index > 0 && isNewer(entry, list[index - 1]!)) {
    list[index] = list[index - 1]!;
    index--;
  }
  list[index] = entry;
  return true;
}

/**
 * Sort `list` in place by `compare`, exactly as `Array.prototype.sort` would (both are stable), without
 * the work array V8's sort allocates per call: for the profile's short lists (at most a few dozen
 * entries), often nearly sorted already (a rescale only creates ties, a new shard mark is one entry out
 * of place, a stored item's maps come back in the order they were written).
 */
export function insertionSort<T>(list: T[], compare: (a: T, b: T) => number): T[] {
  for (let i = 1; i < list.length; i++) {
    const entry = list[i]!;
    let j = i;
    while (j > 0 && compare(entry, list[j - 1]!) < 0) {
      list[j] = list[j - 1]!;
      j--;
    }
    list[j] = entry;
  }
  return list;
}
