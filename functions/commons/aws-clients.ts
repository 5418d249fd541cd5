/**
 * SDK clients, created once per container and reused across invocations.
 *
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables, so the same code reaches
 * AWS in the cloud and the embedded emulators locally.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';

// Bounded request times: a hung connection fails fast and is retried by the SDK (or by Lambda),
// instead of holding a shard until the function times out.
const httpHandler = (requestTimeout: number) =>
  new NodeHttpHandler({ connectionTimeout: 2_000, requestTimeout });

let dynamodb: DynamoDBClient | undefined;
let s3: S3Client | undefined;
let secretsManager: SecretsManagerClient | undefined;

/** The container's DynamoDB client. */
export function dynamoDbClient(): DynamoDBClient {
  dynamodb ??= new DynamoDBClient({ requestHandler: httpHandler(5_000) });
  return dynamodb;
}

/** The container's S3 client; path-style when an endpoint override (an emulator) is configured. */
export function s3Client(): S3Client {
  s3 ??= new S3Client({
    forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined,
    requestHandler: httpHandler(30_000),
  });
  return s3;
}

/** The container's Secrets Manager client (the keyed-hash key, read once per container). */
export function secretsManagerClient(): SecretsManagerClient {
  secretsManager ??= new SecretsManagerClient({ requestHandler: httpHandler(5_000) });
  return secretsManager;
}
