/**
 * The local cloud: kinesalite (Kinesis), dynalite (DynamoDB) and s3rver (S3) started in-process on free
 * loopback ports, with SDK clients and the environment that points handler code at them.
 *
 * Endpoint overrides through the environment, verified on this machine with the installed SDK
 * (@aws-sdk/client-s3 3.1175, client-kinesis 3.1143, client-dynamodb 3.1169):
 * - The SDK honours `AWS_ENDPOINT_URL_KINESIS`, `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_S3`
 *   for clients created with `new XClient({})`.
 * - There is no environment variable that forces S3 path-style addressing (`AWS_S3_FORCE_PATH_STYLE` is
 *   ignored by the JS SDK). It is not needed as long as the endpoint host is an IP literal: the S3
 *   endpoint rules fall back to path-style for IP hosts, so `http://127.0.0.1:<port>` works without
 *   `forcePathStyle`, whereas `http://localhost:<port>` makes the SDK call `<bucket>.localhost` and fail
 *   (ENOTFOUND). The endpoints below are therefore always `127.0.0.1`.
 * - The Kinesis client's default request handler is HTTP/2 and fails against kinesalite with
 *   "Protocol error": a Kinesis client must be built with `new NodeHttpHandler()` even when its
 *   endpoint comes from the environment.
 * - This SDK version reads `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true` to silence its Node 20
 *   warning; `AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING` is what older versions read. Both are set.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  SplitShardCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';
import crypto from 'node:crypto';
import S3rver from 's3rver';

/** Region every local client and ARN uses. */
export const LOCAL_REGION = 'us-east-1';
/** s3rver only accepts its own credentials; kinesalite and dynalite accept any, so one pair serves all. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
/** Account id used in local ARNs (the emulators do not check it). */
export const LOCAL_ACCOUNT_ID = '000000000000';

const LOOPBACK = '127.0.0.1';

/**
 * s3rver encrypts its ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node ≥ 17)
 * no longer offers, so every listing of more than 1,000 keys fails with HTTP 500 on its second page.
 * The token is opaque and only s3rver reads it back, so for the cipher name `des` alone (nothing in
 * this project uses DES) the local cloud substitutes AES-128-CBC with the 8-byte key and IV doubled:
 * s3rver keeps its 8-byte IV prefix and round-trips the token as before.
 */
function allowS3rverContinuationTokens(): void {
  type CipherFactory = typeof crypto.createCipheriv;
  type DecipherFactory = typeof crypto.createDecipheriv;
  const patched = crypto as unknown as { createCipheriv: CipherFactory; createDecipheriv: DecipherFactory };
  if ((patched.createCipheriv as { s3rverDes?: true }).s3rverDes) return;
  const double = (b: crypto.BinaryLike | null): Buffer => {
    const bytes = Buffer.from(b as Buffer);
    return bytes.length === 8 ? Buffer.concat([bytes, bytes]) : bytes;
  };
  const cipheriv = crypto.createCipheriv.bind(crypto);
  const decipheriv = crypto.createDecipheriv.bind(crypto);
  const createCipheriv = ((algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null) =>
    algorithm === 'des'
      ? cipheriv('aes-128-cbc', double(key as Buffer), double(iv))
      : cipheriv(algorithm, key, iv)) as unknown as CipherFactory;
  const createDecipheriv = ((algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null) =>
    algorithm === 'des'
      ? decipheriv('aes-128-cbc', double(key as Buffer), double(iv))
      : decipheriv(algorithm, key, iv)) as unknown as DecipherFactory;
  Object.assign(createCipheriv, { s3rverDes: true });
  patched.createCipheriv = createCipheriv;
  patched.createDecipheriv = createDecipheriv;
}
const RESOURCE_POLL_MS = 20;
const RESOURCE_WAIT_MS = 10_000;

/** Options of {@link startLocalCloud}. */
export interface LocalCloudOptions {
  /**
   * Directory that keeps the emulators' data between runs (`kinesis/`, `dynamodb/`, `s3/` below it).
   * When absent, Kinesis and DynamoDB live in memory and S3 in a fresh temporary directory that
   * `stop()` removes.
   * @default undefined
   */
  dataDir?: string;
}

/** Endpoint URLs (`http://127.0.0.1:<port>`) of the running emulators. */
export interface LocalEndpoints {
  kinesis: string;
  dynamodb: string;
  s3: string;
}

/** SDK clients bound to the emulators. */
export interface LocalClients {
  kinesis: KinesisClient;
  dynamodb: DynamoDBClient;
  s3: S3Client;
}

/** A running local cloud. */
export interface LocalCloud {
  endpoints: LocalEndpoints;
  clients: LocalClients;
  /** Where s3rver keeps its objects (a temporary directory unless `dataDir` was given). */
  s3Directory: string;
  /** Environment for code that builds its own clients (handlers): endpoints, region, credentials. */
  env: Record<string, string>;
  /** Creates a stream and resolves with its ARN once it is ACTIVE. */
  createStream(name: string, shardCount: number): Promise<string>;
  /**
   * Splits an open shard at the middle of its hash-key range (SplitShard) and resolves with the two
   * children's ids once the stream is ACTIVE again.
   */
  splitShard(streamName: string, shardId: string): Promise<string[]>;
  /** Merges two adjacent open shards (MergeShards) and resolves with the child's id once ACTIVE. */
  mergeShards(streamName: string, shardId: string, adjacentShardId: string): Promise<string>;
  /** Creates a table and resolves once it is ACTIVE. */
  createTable(definition: CreateTableCommandInput): Promise<void>;
  /** Creates a bucket. */
  createBucket(name: string): Promise<void>;
  /** Closes servers and clients and removes the temporary directory; safe to call more than once. */
  stop(): Promise<void>;
}

/** A local resource did not become ready in time. */
export class LocalResourceTimeout extends Error {
  override readonly name = 'LocalResourceTimeout';
  constructor(
    readonly resource: string,
    readonly lastStatus: string | undefined,
  ) {
    super(`${resource} was not ACTIVE after ${RESOURCE_WAIT_MS} ms (last status ${lastStatus ?? 'none'})`);
  }
}

/**
 * Starts kinesalite, dynalite and s3rver in this process on free loopback ports.
 *
 * @example
 * const cloud = await startLocalCloud();
 * const streamArn = await cloud.createStream('events', 4);
 * Object.assign(process.env, cloud.env);
 * // ...
 * await cloud.stop();
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const { dataDir } = options;
  const temporaryDir =
    dataDir === undefined ? mkdtempSync(path.join(tmpdir(), 'profile-stream-s3-')) : undefined;
  const dataPath = (name: string): string | undefined => {
    if (dataDir === undefined) return undefined;
    const dir = path.join(dataDir, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    // Clients first so their keep-alive sockets do not hold the servers open.
    for (const close of closers.reverse()) await close();
    if (temporaryDir !== undefined) rmSync(temporaryDir, { recursive: true, force: true });
  };

  try {
    const kinesisServer = kinesalite({
      createStreamMs: 0,
      deleteStreamMs: 0,
      updateStreamMs: 0,
      shardLimit: 100,
      path: dataPath('kinesis'),
    });
    const kinesisPort = await listen(kinesisServer);
    closers.push(() => closeServer(kinesisServer));

    const dynamodbServer = dynalite({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      path: dataPath('dynamodb'),
    });
    const dynamodbPort = await listen(dynamodbServer);
    closers.push(() => closeServer(dynamodbServer));

    const s3Directory = temporaryDir ?? (dataPath('s3') as string);
    allowS3rverContinuationTokens();
    const s3Server = new S3rver({ port: 0, address: LOOPBACK, silent: true, directory: s3Directory });
    const { port: s3Port } = await s3Server.run();
    closers.push(async () => {
      s3Server.httpServer?.closeAllConnections();
      await s3Server.close();
    });

    const endpoints: LocalEndpoints = {
      kinesis: `http://${LOOPBACK}:${kinesisPort}`,
      dynamodb: `http://${LOOPBACK}:${dynamodbPort}`,
      s3: `http://${LOOPBACK}:${s3Port}`,
    };
    const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const clients: LocalClients = {
      kinesis: new KinesisClient({
        ...common,
        endpoint: endpoints.kinesis,
        requestHandler: new NodeHttpHandler(),
      }),
      dynamodb: new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb }),
      s3: new S3Client({ ...common, endpoint: endpoints.s3, forcePathStyle: true }),
    };
    closers.push(async () => {
      clients.kinesis.destroy();
      clients.dynamodb.destroy();
      clients.s3.destroy();
    });

    let stopping: Promise<void> | undefined;
    return {
      endpoints,
      clients,
      s3Directory,
      env: {
        AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
        AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
        AWS_ENDPOINT_URL_S3: endpoints.s3,
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      createStream: (name, shardCount) => createStream(clients.kinesis, name, shardCount),
      splitShard: (name, shardId) => splitShard(clients.kinesis, name, shardId),
      mergeShards: (name, shardId, adjacentShardId) =>
        mergeShards(clients.kinesis, name, shardId, adjacentShardId),
      createTable: (definition) => createTable(clients.dynamodb, definition),
      createBucket: async (name) => {
        await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
      },
      stop: () => (stopping ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function createStream(kinesis: KinesisClient, name: string, shardCount: number): Promise<string> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  return waitUntilActive(`stream ${name}`, async () => {
    const { StreamDescriptionSummary: summary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: name }),
    );
    return { status: summary?.StreamStatus, result: summary?.StreamARN ?? '' };
  });
}

async function streamActive(kinesis: KinesisClient, name: string): Promise<void> {
  await waitUntilActive(`stream ${name}`, async () => {
    const { StreamDescriptionSummary: summary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: name }),
    );
    return { status: summary?.StreamStatus, result: undefined };
  });
}

async function listShards(kinesis: KinesisClient, name: string): Promise<Shard[]> {
  const { Shards: shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: name }));
  return shards;
}

async function splitShard(kinesis: KinesisClient, name: string, shardId: string): Promise<string[]> {
  const before = await listShards(kinesis, name);
  const range = before.find((shard) => shard.ShardId === shardId)?.HashKeyRange;
  if (range?.StartingHashKey === undefined || range.EndingHashKey === undefined) {
    throw new Error(`stream ${name} has no shard ${shardId}`);
  }
  const middle = (BigInt(range.StartingHashKey) + BigInt(range.EndingHashKey) + 1n) / 2n;
  await kinesis.send(
    new SplitShardCommand({
      StreamName: name,
      ShardToSplit: shardId,
      NewStartingHashKey: middle.toString(),
    }),
  );
  await streamActive(kinesis, name);
  return (await listShards(kinesis, name))
    .filter((shard) => shard.ParentShardId === shardId && shard.AdjacentParentShardId === undefined)
    .map((shard) => shard.ShardId ?? '');
}

async function mergeShards(
  kinesis: KinesisClient,
  name: string,
  shardId: string,
  adjacentShardId: string,
): Promise<string> {
  await kinesis.send(
    new MergeShardsCommand({
      StreamName: name,
      ShardToMerge: shardId,
      AdjacentShardToMerge: adjacentShardId,
    }),
  );
  await streamActive(kinesis, name);
  const child = (await listShards(kinesis, name)).find(
    (shard) => shard.ParentShardId === shardId && shard.AdjacentParentShardId === adjacentShardId,
  );
  if (child?.ShardId === undefined)
    throw new Error(`merging ${shardId} and ${adjacentShardId} made no shard`);
  return child.ShardId;
}

async function createTable(dynamodb: DynamoDBClient, definition: CreateTableCommandInput): Promise<void> {
  await dynamodb.send(new CreateTableCommand(definition));
  await waitUntilActive(`table ${definition.TableName}`, async () => {
    const { Table: table } = await dynamodb.send(
      new DescribeTableCommand({ TableName: definition.TableName }),
    );
    return { status: table?.TableStatus, result: undefined };
  });
}

// The SDK waiters start at a multi-second delay; the emulators are ready within milliseconds.
async function waitUntilActive<T>(
  resource: string,
  describe: () => Promise<{ status: string | undefined; result: T }>,
): Promise<T> {
  const deadline = Date.now() + RESOURCE_WAIT_MS;
  let status: string | undefined;
  for (;;) {
    const described = await describe();
    status = described.status;
    if (status === 'ACTIVE') return described.result;
    if (Date.now() > deadline) throw new LocalResourceTimeout(resource, status);
    await sleep(RESOURCE_POLL_MS);
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Handler code may hold keep-alive connections with clients this module never sees.
    server.closeAllConnections();
  });
}
