/**
 * Defence in depth for training: the erase function removes a person's events from the archive, but an
 * event archived between their tombstone and the rewrite of its object, or an object written by an old
 * archive function that did not check tombstones, would bring them back into the next training set and
 * model. This filter sits at the archive-reading port: every read is checked against the tombstones
 * (keyed hashes only, asked of the table in batches) and the erased profiles' events are dropped before
 * the training set is built from them. The single training function reads through
 * {@link excludingErasedPeople}; the distributed build's workers read each partition through
 * {@link excludingErasedPeopleFromPartitions}: one rule, {@link withoutErasedPeople}, for both.
 */
import { profileIdOf, type ContractEvent } from '../contract/event-contract';
import type { PartitionedEventSource } from '../training/distributed-training';
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
 * `events` without those of tombstoned profiles (the same array when none is erased); `onDropped` is
 * told what was left out, when anything was.
 */
export async function withoutErasedPeople<E extends ContractEvent>(
  events: readonly E[],
  lookup: TombstoneLookup,
  onDropped?: (dropped: ErasedEventsDropped) => void,
): Promise<readonly E[]> {
  const erased = await erasedProfilesAmong(events.map(profileIdOf), lookup);
  if (erased.size === 0) return events;
  const kept = events.filter((event) => !erased.has(profileIdOf(event)));
  onDropped?.({ events: events.length - kept.length, profiles: erased.size });
  return kept;
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
      const events = await withoutErasedPeople(read.events, lookup, onDropped);
      return events === read.events ? read : { ...read, events: [...events] };
    },
  };
}

/**
 * `source`, with the events of every tombstoned profile left out of each partition read: every pass of
 * the distributed build (links, shuffle, candidates, rows) reads through it, so an erased person is in
 * no pass, and the shuffle ships none of their events to another partition.
 *
 * @param onDropped - told what a partition read left out, when it left out anything
 */
export function excludingErasedPeopleFromPartitions(
  source: PartitionedEventSource,
  lookup: TombstoneLookup,
  onDropped?: (dropped: ErasedEventsDropped & { partition: number }) => void,
): PartitionedEventSource {
  return {
    partitions: () => source.partitions(),
    async readPartition(partition) {
      return withoutErasedPeople(
        await source.readPartition(partition),
        lookup,
        onDropped && ((dropped) => onDropped({ ...dropped, partition })),
      );
    },
  };
}
