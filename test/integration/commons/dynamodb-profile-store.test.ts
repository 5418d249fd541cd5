import { DynamoDbProfileStore } from '../../../functions/commons/dynamodb-profile-store';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import { profilesTableDefinition } from '../../support/profiles-table';

const TABLE = 'profiles-store';

describe('DynamoDbProfileStore against dynalite', () => {
  let cloud: LocalCloud;
  let store: DynamoDbProfileStore;

  beforeAll(async () => {
    cloud = await startLocalCloud();
    await cloud.createTable(profilesTableDefinition(TABLE));
    store = new DynamoDbProfileStore(cloud.clients.dynamodb, TABLE);
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  it('writes under the expected version and returns the stored item with every conflict', async () => {
    // Prepare
    const first = { profileId: 'u-1', version: 1, note: 'first' };
    const second = { profileId: 'u-1', version: 2, note: 'second' };
    // Act
    const created = await store.putIfVersion(first, undefined);
    const createdAgain = await store.putIfVersion({ ...first, note: 'racing creator' }, undefined);
    const stale = await store.putIfVersion({ ...second, note: 'stale writer' }, 0);
    const updated = await store.putIfVersion(second, 1);
    // Assess: dynalite ignores ReturnValuesOnConditionCheckFailure, so these conflicts go through the
    // store's fallback read and must still carry the item stored at the time.
    expect(created).toEqual({ status: 'written' });
    expect(createdAgain).toEqual({ status: 'conflict', current: first });
    expect(stale).toEqual({ status: 'conflict', current: first });
    expect(updated).toEqual({ status: 'written' });
    expect(await store.get('u-1')).toEqual(second);
  });
});
