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
  /** DynamoDB items asked for by key (GetItem, and every key of a BatchGetItem). */
  keysRead: number;
  /** Read units of those keys for items ≤ 4 KB: 1 each strongly consistent, ½ eventually consistent. */
  readUnits: number;
}

const MIDDLEWARE_NAME = 'benchRequestCounter';

interface KeyedRead {
  Keys?: unknown[];
  ConsistentRead?: boolean;
}

/** Keys a read request asks for, with their consistency (GetItem: one key; BatchGetItem: per table). */
function readsIn(command: string, input: unknown): KeyedRead[] {
  if (command === 'GetItemCommand') {
    return [{ Keys: [undefined], ConsistentRead: (input as KeyedRead).ConsistentRead }];
  }
  if (command !== 'BatchGetItemCommand') return [];
  return Object.values((input as { RequestItems?: Record<string, KeyedRead> }).RequestItems ?? {});
}

/** Start counting `client`'s requests; the returned object updates as requests go out. */
export function countRequests(client: DynamoDBClient | S3Client): RequestCount {
  const count: RequestCount = { total: 0, byCommand: {}, keysRead: 0, readUnits: 0 };
  (client as DynamoDBClient).middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      count.total++;
      count.byCommand[command] = (count.byCommand[command] ?? 0) + 1;
      for (const read of readsIn(command, args.input)) {
        const keys = read.Keys?.length ?? 0;
        count.keysRead += keys;
        count.readUnits += read.ConsistentRead === true ? keys : keys / 2;
      }
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
  count.readUnits = 0;
}
