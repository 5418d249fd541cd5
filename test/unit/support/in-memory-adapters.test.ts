import { InMemoryProfileStore } from '../../support/in-memory-adapters';

const itemOf = (version: number) => ({
  profileId: 'u-1',
  version,
  act: { v: [2, 0.5] },
  cart: [['p-1', 1, 999, 30]],
  embedding: [0.5, new Uint8Array([1, 2])],
});

describe('InMemoryProfileStore', () => {
  it('hands out items frozen all the way down, so a reader cannot change what is stored', async () => {
    // Prepare
    const store = new InMemoryProfileStore();
    await store.putIfVersion(itemOf(1), undefined);
    // Act
    const read = (await store.getMany(['u-1'])).get('u-1') as ReturnType<typeof itemOf>;
    // Assess
    expect(() => {
      read.act.v.push(1);
    }).toThrow(TypeError);
    expect(() => {
      read.cart[0]![1] = 2;
    }).toThrow(TypeError);
    expect(() => {
      (read as { version: number }).version = 9;
    }).toThrow(TypeError);
    expect(store.items.get('u-1')).toEqual(itemOf(1));
  });

  it('freezes the written item at once, and the current item a conflict returns all the way down', async () => {
    // Prepare
    const store = new InMemoryProfileStore();
    const written = itemOf(1);
    await store.putIfVersion(written, undefined);
    // Act
    const outcome = await store.putIfVersion(itemOf(2), 7);
    // Assess
    expect(() => {
      written.version = 5;
    }).toThrow(TypeError);
    if (outcome.status !== 'conflict') throw new Error(`expected a conflict, got ${outcome.status}`);
    const current = outcome.current as ReturnType<typeof itemOf>;
    expect(current).toBe(written);
    expect(Object.isFrozen(current.act.v)).toBe(true);
    expect(Object.isFrozen(current.cart[0])).toBe(true);
  });

  it('writes only under the version read, and counts requests as DynamoDB would bill them', async () => {
    // Prepare
    const store = new InMemoryProfileStore();
    // Act
    const first = await store.putIfVersion(itemOf(1), undefined);
    const again = await store.putIfVersion(itemOf(1), undefined);
    const next = await store.putIfVersion(itemOf(2), 1);
    await store.getMany(Array.from({ length: 101 }, (_, i) => `p-${i}`));
    // Assess
    expect([first.status, again.status, next.status]).toEqual(['written', 'conflict', 'written']);
    expect(store.items.get('u-1')?.version).toBe(2);
    expect(store.requests).toEqual({ batchGet: 2, put: 3 });
  });
});
