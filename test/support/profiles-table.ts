import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/** A profiles table as the stack declares it (partition key `profileId`), for tests that build their own. */
export function profilesTableDefinition(TableName: string): CreateTableCommandInput {
  return {
    TableName,
    KeySchema: [{ AttributeName: 'profileId', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'profileId', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  };
}
