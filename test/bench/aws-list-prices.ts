/**
 * AWS list prices the cost model uses: us-east-1, on-demand / pay-per-request rates, no free tier, no
 * Savings Plans or reserved capacity. Looked up on 2026-12-01 from the public pricing pages below
 * (stored copies); check them again before quoting a figure, prices change.
 *
 * Assumptions the prices carry: Kinesis in provisioned mode (the stack's default, 2 shards; the
 * on-demand mode bills per GB and per stream-hour instead); Lambda on x86_64 (the stack pins it) in the
 * first duration tier (arm64 priced too, for the day the functions move); DynamoDB Standard table class,
 * on-demand (the table's default, PAY_PER_REQUEST) and provisioned capacity (`-c
 * profilesTableBilling=provisioned`: WCU-hour and RCU-hour; the stored copy of the provisioned pricing
 * page does not render its price table, so these two are AWS's long-standing us-east-1 rates, to check
 * on the live page before quoting); S3
 * Standard; CloudWatch standard log class and standard-resolution metrics and alarms.
 */

/** A Lambda instruction set architecture, spelled as CloudFormation's `Architectures`. */
export type LambdaArchitecture = 'x86_64' | 'arm64';

/** The price table; every rate in US dollars. */
export interface AwsListPrices {
  region: string;
  /** ISO date the prices were read. */
  retrievedOn: string;
  sources: Record<string, string>;
  kinesis: {
    shardHour: number;
    putPayloadUnitsPerMillion: number;
    /** A record is billed in 25 KB PUT payload units, rounded up. */
    putPayloadUnitBytes: number;
    enhancedFanOutConsumerShardHour: number;
    enhancedFanOutRetrievalPerGb: number;
    /** Per-shard write limits, which set the shard count. */
    shardRecordsPerSecond: number;
    shardBytesPerSecond: number;
  };
  /** Duration by architecture (Graviton arm64 is 20 % cheaper per GB-second), requests alike. */
  lambda: { gbSecond: Record<LambdaArchitecture, number>; requestsPerMillion: number };
  dynamodb: {
    writeRequestUnitsPerMillion: number;
    readRequestUnitsPerMillion: number;
    /** Provisioned: one write capacity unit (one ≤ 1 KB write per second) for an hour. */
    writeCapacityUnitHour: number;
    /** Provisioned: one read capacity unit (one strong or two eventual ≤ 4 KB reads per second) for an hour. */
    readCapacityUnitHour: number;
    storageGbMonth: number;
  };
  s3: { putPerThousand: number; getPerThousand: number; standardGbMonth: number };
  cloudwatch: {
    logsIngestedPerGb: number;
    logsStoredGbMonth: number;
    metricMonth: number;
    alarmMonth: number;
  };
}

/** us-east-1 list prices, read on {@link AwsListPrices.retrievedOn}. */
export const AWS_LIST_PRICES: AwsListPrices = {
  region: 'us-east-1',
  retrievedOn: '2026-12-01',
  sources: {
    kinesis: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
    lambda: 'https://aws.amazon.com/lambda/pricing/',
    dynamodb: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    dynamodbProvisioned: 'https://aws.amazon.com/dynamodb/pricing/provisioned/',
    s3: 'https://aws.amazon.com/s3/pricing/',
    cloudwatch: 'https://aws.amazon.com/cloudwatch/pricing/',
  },
  kinesis: {
    shardHour: 0.015,
    putPayloadUnitsPerMillion: 0.014,
    putPayloadUnitBytes: 25 * 1024,
    enhancedFanOutConsumerShardHour: 0.015,
    enhancedFanOutRetrievalPerGb: 0.013,
    shardRecordsPerSecond: 1000,
    shardBytesPerSecond: 1024 * 1024,
  },
  lambda: { gbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 }, requestsPerMillion: 0.2 },
  dynamodb: {
    writeRequestUnitsPerMillion: 0.625,
    readRequestUnitsPerMillion: 0.125,
    writeCapacityUnitHour: 0.00065,
    readCapacityUnitHour: 0.00013,
    storageGbMonth: 0.25,
  },
  s3: { putPerThousand: 0.005, getPerThousand: 0.0004, standardGbMonth: 0.023 },
  cloudwatch: { logsIngestedPerGb: 0.5, logsStoredGbMonth: 0.03, metricMonth: 0.3, alarmMonth: 0.1 },
};
