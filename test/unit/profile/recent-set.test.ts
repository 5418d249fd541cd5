import fc from 'fast-check';
import { pruneRecent, touchRecent, type RecentEntry } from '../../../shared/profile/recent-set';

const LIMIT = 4;

/** The answer from the whole history: latest time per key, top LIMIT by (at, key). */
function fromHistory(sightings: readonly [string, number][], minAt: number): RecentEntry[] {
  const latest = new Map<string, number>();
  for (const [key, at] of sightings) latest.set(key, Math.max(at, latest.get(key) ?? -Infinity));
  return [...latest]
    .map(([key, at]) => ({ key, at }))
    .filter((e) => e.at >= minAt)
    .sort((a, b) => b.at - a.at || (a.key < b.key ? 1 : -1))
    .slice(0, LIMIT);
}

describe('recent set', () => {
  it('equals the full-history answer for any order of sightings, with a rising prune bound', () => {
    const sighting = fc.tuple(
      fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'),
      fc.integer({ min: 0, max: 50 }),
    );
    fc.assert(
      fc.property(
        fc.array(sighting, { maxLength: 30 }),
        fc.integer({ min: 0, max: 30 }),
        (sightings, window) => {
          // Prepare
          const list: RecentEntry[] = [];
          let maxAt = -Infinity;
          // Act: prune to [max - window, ...] as the maximum rises, and never insert below the bound
          for (const [key, at] of sightings) {
            maxAt = Math.max(maxAt, at);
            pruneRecent(list, maxAt - window);
            if (at >= maxAt - window) touchRecent(list, key, at, LIMIT);
          }
          // Assess
          expect(list).toEqual(fromHistory(sightings, maxAt - window));
        },
      ),
    );
  });
});

/** `touchRecent` as it was before it moved and recycled entries in place: remove, re-insert, trim. */
function touchBySplicing(list: RecentEntry<number>[], key: number, at: number, limit: number): boolean {
  const found = list.findIndex((e) => e.key === key);
  if (found >= 0) {
    if (list[found]!.at >= at) return false;
    list.splice(found, 1);
  } else if (list.length >= limit) {
    const last = list[list.length - 1]!;
    if (!(at > last.at || (at === last.at && key > last.key))) return false;
  }
  let index = 0;
  while (index < list.length && !(at > list[index]!.at || (at === list[index]!.at && key > list[index]!.key)))
    index++;
  list.splice(index, 0, { key, at });
  if (list.length > limit) list.pop();
  return true;
}

describe('recent set, in place', () => {
  it('gives the same list and answer as removing and re-inserting, for any sightings and limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 20 })), {
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 6 }),
        (sightings, limit) => {
          const inPlace: RecentEntry<number>[] = [];
          const spliced: RecentEntry<number>[] = [];
          for (const [key, at] of sightings) {
            expect(touchRecent(inPlace, key, at, limit)).toBe(touchBySplicing(spliced, key, at, limit));
            expect(inPlace).toEqual(spliced);
          }
        },
      ),
    );
  });
});
