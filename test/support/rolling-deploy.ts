/**
 * The rolling-deploy property shared by every item schema bump: an old function and a new function
 * write one profile under the optimistic lock, each folding its own shard's events in any interleaving
 * of reads and conditional writes; the old one refuses a new item by its version (its batch fails and is
 * retried; here: it reads again later); once the deploy is done only the new one runs.
 */
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { applyEventsToProfile, type SequencedEvent } from '../../shared/profile/apply-events';
import type { ProfileState } from '../../shared/profile/profile-state';
import { sequenced } from './factories';
import { envelopedEvents } from './profile-fixtures';

/** What a deployed function does with an item: decode what it reads, encode what it writes. */
export interface DeployedCodec {
  decode: (raw: Record<string, unknown>) => { state: ProfileState; version: number };
  encode: (state: ProfileState, meta: { version: number }) => object;
  /** True for the error this codec throws when it refuses an item by its `itemSchemaVersion`. */
  refusesByVersion: (error: unknown) => boolean;
}

const viaDynamoDb = (item: object) => unmarshall(marshall(item, { removeUndefinedValues: true }));

/**
 * The property "no write is lost or misread": the stored state is exactly the events of every committed
 * write, in commit order, and once the old function refused a new item the stored item says
 * `newVersion`. Writer 0 runs `older`, writer 1 `newer`; after the schedule, `newer` takes over both shards.
 */
export function alternatingWritersLoseNothing(
  older: DeployedCodec,
  newer: DeployedCodec,
  newVersion: number,
) {
  return fc.property(
    envelopedEvents,
    envelopedEvents,
    fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 80 }),
    (eventsA, eventsB, schedule) => {
      const codecs = [older, newer];
      const chunksOf = (events: SequencedEvent[]) =>
        Array.from({ length: Math.ceil(events.length / 3) }, (_, i) => events.slice(i * 3, i * 3 + 3));
      const queues = [
        chunksOf(sequenced(eventsA, 'shardId-000000000001')),
        chunksOf(sequenced(eventsB, 'shardId-000000000002')),
      ];
      let stored: Record<string, unknown> | undefined;
      const committed: SequencedEvent[][] = [];
      let refusals = 0;
      const step = (w: number, deployed: boolean) => {
        const chunk = queues[w]![0];
        if (chunk === undefined) return;
        const codec = deployed ? newer : codecs[w]!;
        let current: { state: ProfileState; version: number } | undefined;
        try {
          current = stored === undefined ? undefined : codec.decode(stored);
        } catch (error) {
          if (!codec.refusesByVersion(error)) throw error;
          refusals++;
          return; // the batch fails and is retried
        }
        const next = applyEventsToProfile(current?.state, chunk, 'u-1');
        stored = viaDynamoDb(codec.encode(next.state, { version: (current?.version ?? 0) + 1 }));
        committed.push(chunk);
        queues[w]!.shift();
      };
      for (const w of schedule) step(w, false);
      for (let i = 0; i < 200; i++) step(i % 2, true);
      expect(queues.every((q) => q.length === 0)).toBe(true);
      if (stored === undefined) return;
      let expected: ProfileState | undefined;
      for (const chunk of committed) expected = applyEventsToProfile(expected, chunk, 'u-1').state;
      expect(newer.decode(stored).state).toEqual(expected);
      expect(stored.version).toBe(committed.length);
      if (refusals > 0) expect(stored.itemSchemaVersion).toBe(newVersion);
    },
  );
}
