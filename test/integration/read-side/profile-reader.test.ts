import { profilesTableDefinition } from '../../support/profiles-table';
import { DynamoDbProfileStore } from '../../../functions/commons/dynamodb-profile-store';
import { ProfileReader } from '../../../infra/client/profile-reader';
import { startLocalCloud, type LocalCloud } from '../../../infra/local/emulators';
import type { ContractEvent } from '../../../shared/contract/event-contract';
import { applyEventsToProfile } from '../../../shared/profile/apply-events';
import { encodeProfileItem } from '../../../shared/profile/profile-item-codec';

const TABLE = 'profiles-reader';
const NOW = Date.UTC(2026, 10, 27, 12);

describe('ProfileReader against dynalite', () => {
  let cloud: LocalCloud;

  beforeAll(async () => {
    cloud = await startLocalCloud();
    await cloud.createTable(profilesTableDefinition(TABLE));
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  it('decodes a stored profile and reports its staleness from the latest event', async () => {
    // Prepare
    const event: ContractEvent = {
      schemaVersion: 1,
      eventId: 'e-1',
      type: 'purchase',
      anonymousId: 'a-1',
      orderId: 'o-1',
      revenue: 42.5,
      occurredAt: NOW - 90_000,
    };
    const { state } = applyEventsToProfile(
      undefined,
      [
        {
          event,
          shardId: 'shardId-000000000000',
          sequenceNumber: '49600000000000000000000000000000000000000000000000000001',
        },
      ],
      'anon:a-1',
    );
    const item = encodeProfileItem(state, {
      version: 1,
      score: { propensity: 0.5, modelVersion: 'v1', scoredAt: NOW },
    });
    await new DynamoDbProfileStore(cloud.clients.dynamodb, TABLE).putIfVersion(item, undefined);
    const reader = new ProfileReader(cloud.clients.dynamodb, TABLE, () => NOW);
    // Act
    const profile = await reader.getProfile('anon:a-1');
    // Assess
    expect(profile).toBeDefined();
    expect(profile!.stalenessMs).toBe(90_000);
    expect(profile!.state).toEqual(state);
    expect(profile!.score).toEqual({ propensity: 0.5, modelVersion: 'v1', scoredAt: NOW });
    expect(profile!.state.revenueCents).toBe(4250);
  });

  it('answers undefined for an unknown profile', async () => {
    const reader = new ProfileReader(cloud.clients.dynamodb, TABLE);
    await expect(reader.getProfile('nobody')).resolves.toBeUndefined();
  });
});
