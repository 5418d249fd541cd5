import fc from 'fast-check';
import { insertRecent, type RecentEntry } from '../../../shared/profile/recent-set';

/** `insertRecent` as it was before it searched from the newest end: shifted in from the oldest end. */
function insertRecentFromOldest<K extends string | number>(
  list: RecentEntry<K>[],
  key: K,
  at: number,
  limit: number,
): boolean {
  const isNewer = (than: RecentEntry<K>) => at > than.at || (at === than.at && key > than.key);
  if (list.length >= limit) {
    const oldest = list[list.length - 1]!;
    if (!isNewer(oldest)) return false;
    let index = list.length - 1;
    while (index > 0 && isNewer(list[index - 1]!)) {
      list[index] = list[index - 1]!;
      index--;
    }
    oldest.key = key;
    oldest.at = at;
    list[index] = oldest;
    return true;
  }
  const entry = { key, at };
  let index = list.length;
  list.push(entry);
  while (index > 0 && isNewer(list[index - 1]!)) {
    list[index] = list[index - 1]!;
    index--;
  }
  list[index] = entry;
  return true;
}

/** A recent set as the fold keeps it: distinct keys, sorted by (at, key) descending, at most `limit`. */
function recentSet<K extends string | number>(key: fc.Arbitrary<K>) {
  return fc.integer({ min: 1, max: 16 }).chain((limit) =>
    fc
      .uniqueArray(fc.record({ key, at: fc.integer({ min: 0, max: 40 }) }), {
        selector: (e) => e.key,
        maxLength: limit,
      })
      .map((entries) => ({
        limit,
        list: entries.sort((a, b) => b.at - a.at || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0)),
      })),
  );
}

const copy = <K extends string | number>(list: readonly RecentEntry<K>[]) => list.map((e) => ({ ...e }));

describe('insertRecent', () => {
  it.each([
    ['hash (number)', fc.integer({ min: 0, max: 2 ** 32 - 1 })],
    ['string', fc.string({ maxLength: 3 })],
  ] as const)('keeps the same list and answer as the search from the oldest end, for %s keys', (_, key) => {
    fc.assert(
      fc.property(
        recentSet<string | number>(key as fc.Arbitrary<string | number>),
        key as fc.Arbitrary<string | number>,
        fc.integer({ min: 0, max: 45 }),
        ({ limit, list }, newKey, at) => {
          fc.pre(list.every((e) => e.key !== newKey));
          // Prepare
          const expected = copy(list);
          const actual = copy(list);
          // Act
          const expectedChanged = insertRecentFromOldest(expected, newKey, at, limit);
          const changed = insertRecent(actual, newKey, at, limit);
          // Assess
          expect(changed).toBe(expectedChanged);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
