import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbProfileStore } from '../../../functions/commons/dynamodb-profile-store';
import type { StoredProfileItem } from '../../../shared/ingest/ingest-ports';

const TABLE = 'profiles';
const STORED: StoredProfileItem = { profileId: 'u-1', version: 4, lastEventAt: 1_700_000_000_000 };

/**
 * A DynamoDB client that refuses every PutItem on its condition, as DynamoDB does (the failing item
 * on the exception when asked for ALL_OLD) or as dynalite does (never an item), and answers GetItem
 * with the stored item. It records every command it is sent.
 */
function conflictingClient(returnsItemOnFailure: boolean) {
  const sent: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      sent.push(command);
      if (command instanceof PutItemCommand) {
        const attachItem =
          returnsItemOnFailure && command.input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD';
        throw new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
          ...(attachItem ? { Item: marshall(STORED) } : {}),
        });
      }
      if (command instanceof GetItemCommand) return { Item: marshall(STORED) };
      throw new Error(`unexpected command ${String(command)}`);
    },
  };
  return { client: client as unknown as DynamoDBClient, sent };
}

describe('DynamoDbProfileStore.putIfVersion on a conditional failure', () => {
  it('returns the item the exception carries and issues no read', async () => {
    // Prepare
    const { client, sent } = conflictingClient(true);
    const store = new DynamoDbProfileStore(client, TABLE);
    // Act
    const outcome = await store.putIfVersion({ profileId: 'u-1', version: 4 }, 3);
    // Assess
    expect(outcome).toEqual({ status: 'conflict', current: STORED });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(PutItemCommand);
  });

  it('falls back to one strongly consistent read when the exception carries no item (dynalite)', async () => {
    // Prepare
    const { client, sent } = conflictingClient(false);
    const store = new DynamoDbProfileStore(client, TABLE);
    // Act
    const outcome = await store.putIfVersion({ profileId: 'u-1', version: 1 }, undefined);
    // Assess
    expect(outcome).toEqual({ status: 'conflict', current: STORED });
    expect(sent).toHaveLength(2);
    const read = sent[1] as GetItemCommand;
    expect(read).toBeInstanceOf(GetItemCommand);
    expect(read.input).toEqual({
      TableName: TABLE,
      Key: marshall({ profileId: 'u-1' }),
      ConsistentRead: true,
    });
  });
});

describe('DynamoDbProfileStore.getMany read consistency', () => {
  const TOMBSTONE = `erased#${'ab'.repeat(32)}`;

  /** Answers every BatchGetItem with no items and records the requests. */
  function recordingClient() {
    const sent: BatchGetItemCommand[] = [];
    const client = {
      send: async (command: unknown) => {
        if (!(command instanceof BatchGetItemCommand))
          throw new Error(`unexpected command ${String(command)}`);
        sent.push(command);
        return { Responses: { [TABLE]: [] } };
      },
    };
    return { client: client as unknown as DynamoDBClient, sent };
  }
  const readsOf = (sent: BatchGetItemCommand[]) =>
    sent.map((command) => {
      const request = command.input.RequestItems![TABLE]!;
      return { consistent: request.ConsistentRead, keys: request.Keys!.map((key) => key.profileId!.S) };
    });

  it('reads profiles eventually consistent and tombstones strongly when told to', async () => {
    // Prepare
    const { client, sent } = recordingClient();
    const store = new DynamoDbProfileStore(client, TABLE, 'eventual');
    // Act
    await store.getMany(['u-1', TOMBSTONE, 'anon:a-1']);
    // Assess
    expect(readsOf(sent)).toEqual([
      { consistent: false, keys: ['u-1', 'anon:a-1'] },
      { consistent: true, keys: [TOMBSTONE] },
    ]);
  });

  it('reads everything strongly consistent, in one request, by default', async () => {
    // Prepare
    const { client, sent } = recordingClient();
    const store = new DynamoDbProfileStore(client, TABLE);
    // Act
    await store.getMany(['u-1', TOMBSTONE]);
    // Assess
    expect(readsOf(sent)).toEqual([{ consistent: true, keys: ['u-1', TOMBSTONE] }]);
  });
});
