/**
 * Counts the HTTP requests an SDK client sends, by command. The middleware sits in the `deserialize`
 * step, below the retry middleware, so every attempt counts (a retried request is billed again).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

/** Requests sent so far. */
export interface RequestCount {
  total: number;
  byCommand: Record<string, number>;
  /** DynamoDB items asked for by key (GetItem, and every key of a BatchGetItem): the read units. */
  keysRead: number;
}

const MIDDLEWARE_NAME = 'benchRequestCounter';

/** Keys a read request asks for: 1 for GetItem, the sum over tables for BatchGetItem, else 0. */
function keysIn(command: string, input: unknown): number {
  if (command === 'GetItemCommand') return 1;
  if (command !== 'BatchGetItemCommand') return 0;
  const tables = (input as { RequestItems?: Record<string, { Keys?: unknown[] }> }).RequestItems ?? {};
  return Object.values(tables).reduce((sum, table) => sum + (table.Keys?.length ?? 0), 0);
}

/** Start counting `client`'s requests; the returned object updates as requests go out. */
export function countRequests(client: DynamoDBClient | S3Client): RequestCount {
  const count: RequestCount = { total: 0, byCommand: {}, keysRead: 0 };
  (client as DynamoDBClient).middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      count.total++;
      count.byCommand[command] = (count.byCommand[command] ?? 0) + 1;
      count.keysRead += keysIn(command, args.input);
      return next(args);
    },
    { step: 'deserialize', name: MIDDLEWARE_NAME },
  );
  return count;
}

/** Stop counting `client`'s requests (so that it can be counted afresh later). */
export function stopCounting(client: DynamoDBClient | S3Client): void {
  (client as DynamoDBClient).middlewareStack.remove(MIDDLEWARE_NAME);
}

/** Set a count back to zero. */
export function resetCount(count: RequestCount): void {
  count.total = 0;
  count.byCommand = {};
  count.keysRead = 0;
}
