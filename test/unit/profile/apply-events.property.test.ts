import fc from 'fast-check';
import type { ContractEvent } from '../../../shared/contract/event-contract';
import { applyEventsToProfile, type SequencedEvent } from '../../../shared/profile/apply-events';
import type { ProfileState } from '../../../shared/profile/profile-state';
import { sequenced } from '../../support/factories';
import { envelopedEvents } from '../../support/profile-fixtures';

/** Apply `records` split at `cuts` into successive batches, threading the state through. */
function applyInBatches(records: readonly SequencedEvent[], cuts: readonly number[]): ProfileState {
  const bounds = [...new Set(cuts.map((c) => c % (records.length + 1)))].sort((a, b) => a - b);
  let state: ProfileState | undefined;
  let start = 0;
  for (const end of [...bounds, records.length]) {
    state = applyEventsToProfile(state, records.slice(start, end), 'u-1').state;
    start = end;
  }
  return state!;
}

function shuffle<T>(items: readonly T[], keys: readonly number[]): T[] {
  return items
    .map((item, i) => ({ item, key: keys[i % Math.max(1, keys.length)] ?? 0, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.item);
}

const withoutMarks = (state: ProfileState) => ({ ...state, shardMarks: [] });
/** The state without the one arrival-ordered signal, the smoothed inter-event gap (`shared/risk/risk-signals.ts`). */
const withoutGapSignal = (state: ProfileState) => ({
  ...state,
  risk: { ...state.risk, gapMs: 0, gapDevMs: 0, gaps: 0 },
});
const byTime = (events: readonly ContractEvent[]) => [...events].sort((a, b) => a.occurredAt - b.occurredAt);

describe('applyEventsToProfile properties (inside the documented envelope)', () => {
  it('gives the same state for any arrival order and any batching', () => {
    fc.assert(
      fc.property(envelopedEvents, fc.array(fc.nat()), fc.array(fc.nat()), (events, keys, cuts) => {
        // Prepare: Kinesis numbers records in arrival order, whatever their event times
        const reference = sequenced(byTime(events));
        const arrived = sequenced(shuffle(events, keys));
        // Act
        const expected = applyEventsToProfile(undefined, reference, 'u-1').state;
        const actual = applyInBatches(arrived, cuts);
        // Assess
        expect(withoutGapSignal(actual)).toEqual(withoutGapSignal(expected));
      }),
    );
  });

  it('gives the same state, gap signal included, for any batching of events arriving in time order', () => {
    fc.assert(
      fc.property(envelopedEvents, fc.array(fc.nat()), (events, cuts) => {
        // Prepare
        const records = sequenced(byTime(events));
        // Act
        const whole = applyEventsToProfile(undefined, records, 'u-1').state;
        const batched = applyInBatches(records, cuts);
        // Assess
        expect(batched).toEqual(whole);
      }),
    );
  });

  it('ignores producer duplicates (same eventId, new sequence number) wherever they arrive', () => {
    fc.assert(
      fc.property(envelopedEvents, fc.array(fc.nat()), fc.array(fc.nat()), (events, picks, cuts) => {
        // Prepare: each pick re-sends an already sent event later in the stream
        const stream: ContractEvent[] = [...events];
        for (const pick of picks) stream.splice(pick % (stream.length + 1), 0, events[pick % events.length]!);
        const deduplicated = stream.filter((e, i) => stream.findIndex((x) => x.eventId === e.eventId) === i);
        // Act
        const expected = applyEventsToProfile(undefined, sequenced(deduplicated), 'u-1');
        const actual = applyEventsToProfile(undefined, sequenced(stream), 'u-1');
        const batched = applyInBatches(sequenced(stream), cuts);
        // Assess: only the high-water mark differs (it records that the duplicates were consumed)
        expect(withoutMarks(actual.state)).toEqual(withoutMarks(expected.state));
        expect(withoutMarks(batched)).toEqual(withoutMarks(expected.state));
        expect(actual.duplicates).toBe(stream.length - deduplicated.length);
        expect(actual.applied).toBe(deduplicated.length);
      }),
    );
  });

  it('treats redelivered records (same sequence numbers) as no-ops, exactly', () => {
    fc.assert(
      fc.property(envelopedEvents, fc.nat(), fc.nat(), (events, from, length) => {
        // Prepare
        const records = sequenced(events);
        const before = applyEventsToProfile(undefined, records, 'u-1').state;
        const start = from % records.length;
        const redelivery = records.slice(start, start + 1 + (length % records.length));
        // Act
        const result = applyEventsToProfile(before, redelivery, 'u-1');
        // Assess
        expect(result.state).toEqual(before);
        expect(result).toMatchObject({ applied: 0, duplicates: redelivery.length, changed: false });
      }),
    );
  });
});
