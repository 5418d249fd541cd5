/**
 * Defence in depth for training: the erase function removes a person's events from the archive, but an
 * event archived between their tombstone and the rewrite of its object, or an object written by an old
 * archive function that did not check tombstones, would bring them back into the next training set and
 * model. This filter sits at the archive-reading port: every read is checked against the tombstones
 * (keyed hashes only, asked of the table in batches) and the erased profiles' events are dropped before
 * the training set is built from them.
 */
import { profileIdOf } from '../contract/event-contract';
import type { ArchivedEventSource } from '../training/training-ports';
import { erasedProfilesAmong, type TombstoneLookup } from './tombstones';

/** What one read left out. */
export interface ErasedEventsDropped {
  /** Archived events of erased people dropped. */
  events: number;
  /** Erased profiles they belonged to. */
  profiles: number;
}

/**
 * `source`, with the events of every tombstoned profile left out of each read.
 *
 * @param onDropped - told what a read left out, when it left out anything (for a log line or metric)
 */
export function excludingErasedPeople(
  source: ArchivedEventSource,
  lookup: TombstoneLookup,
  onDropped?: (dropped: ErasedEventsDropped) => void,
): ArchivedEventSource {
  return {
    async readEvents(window) {
      const read = await source.readEvents(window);
      const erased = await erasedProfilesAmong(read.events.map(profileIdOf), lookup);
      if (erased.size === 0) return read;
      const events = read.events.filter((event) => !erased.has(profileIdOf(event)));
      onDropped?.({ events: read.events.length - events.length, profiles: erased.size });
      return { ...read, events };
    },
  };
}
