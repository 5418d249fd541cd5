import {
  createRescoreHandler,
  RESCORE_DEADLINE_MARGIN_MS,
  RescoreEventViolation,
} from '../../../functions/rescore/rescore-handler';
import { InMemoryProfileStore } from '../../support/in-memory-adapters';
import { FakeServingModel, ingestProfiles, InMemorySegmentScanner } from '../../support/rescoring-fixtures';

function handlerOver(profiles: InMemoryProfileStore) {
  return createRescoreHandler({
    scanner: new InMemorySegmentScanner(profiles),
    profiles,
    model: new FakeServingModel('v2'),
    totalSegments: 2,
    pageSize: 2,
    maxWritesPerSecond: 1_000_000,
    sleep: async () => {},
  });
}

describe('rescore handler', () => {
  it('answers done: false with a continuation key when the invocation runs out of time', async () => {
    // Prepare: time for one page, then the margin is reached.
    const profiles = new InMemoryProfileStore();
    await ingestProfiles(
      profiles,
      Array.from({ length: 12 }, (_x, i) => `u-${i}`),
      'v1',
    );
    const handler = handlerOver(profiles);
    let calls = 0;
    const getRemainingTimeInMillis = () => (calls++ === 0 ? 60_000 : RESCORE_DEADLINE_MARGIN_MS);
    // Act
    const first = await handler({ segment: 0 }, { getRemainingTimeInMillis });
    const rest = await handler(first, {});
    // Assess: the state machine passes the answer back whole as the next event.
    expect(first).toMatchObject({ segment: 0, done: false, stoppedBecause: 'deadline', stats: { pages: 1 } });
    expect(first.startKey).not.toBeNull();
    expect(rest).toMatchObject({ segment: 0, done: true, startKey: null, stoppedBecause: 'done' });
  });

  it.each([
    [{}, 'segment'],
    [{ segment: -1 }, 'segment'],
    [{ segment: 1.5 }, 'segment'],
    [{ segment: 2 }, 'segment'],
    [{ segment: 0, startKey: '' }, 'startKey'],
  ])('refuses the event %j naming %s', async (event, field) => {
    const handler = handlerOver(new InMemoryProfileStore());
    const refusal = handler(event, {});
    await expect(refusal).rejects.toBeInstanceOf(RescoreEventViolation);
    await expect(refusal).rejects.toMatchObject({ field });
  });
});
