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
}

/** Start counting `client`'s requests; the returned object updates as requests go out. */
export function countRequests(client: DynamoDBClient | S3Client): RequestCount {
  const count: RequestCount = { total: 0, byCommand: {} };
  (client as DynamoDBClient).middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      count.total++;
      count.byCommand[command] = (count.byCommand[command] ?? 0) + 1;
      return next(args);
    },
    { step: 'deserialize', name: 'benchRequestCounter' },
  );
  return count;
}

/** Set a count back to zero. */
export function resetCount(count: RequestCount): void {
  count.total = 0;
  count.byCommand = {};
}
