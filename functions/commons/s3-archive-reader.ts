import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { ARCHIVE_PREFIX } from '../../shared/archive/archive-batch';
import {
  ARCHIVE_PROFILE_BUCKETS,
  bucketOfArchiveKey,
  profileBucketOf,
} from '../../shared/archive/profile-bucket';
import type { PartitionedEventSource } from '../../shared/training/distributed-training';
import {
  type ContractEvent,
  ContractViolation,
  profileIdOf,
  validateEvent,
  type ViolationKind,
} from '../../shared/contract/event-contract';
import type { ArchivedEventSource, ArchiveWindow } from '../../shared/training/training-ports';

const HOUR_MS = 3_600_000;
const PARTITION = new RegExp(`^${ARCHIVE_PREFIX}/dt=(\\d{4}-\\d{2}-\\d{2})/hour=(\\d{2})/`);
const GZIP_MAGIC = [0x1f, 0x8b] as const;
/** What follows an hour prefix in a bucketed object's key (`shared/archive/profile-bucket.ts`). */
const BUCKET_DELIMITER = '/bucket=';

/** What {@link S3ArchiveReader.readEvents} found. */
export interface ArchiveReadResult {
  /** Valid events within the window, in key order then line order (not de-duplicated). */
  events: ContractEvent[];
  objects: number;
  /** Non-empty lines read. */
  lines: number;
  /** Lines refused by the contract, by violation kind (archived events were valid when written). */
  invalidLines: Partial<Record<ViolationKind, number>>;
  /** Valid events of a read partition whose event time falls outside the window. */
  outsideWindow: number;
}

/** Options of {@link S3ArchiveReader}. */
export interface ArchiveReaderOptions {
  /** Objects fetched at once. @default 16 */
  concurrency?: number;
  /** Processing time for the contract's future-timestamp rule. @default Date.now */
  now?: () => number;
}

/** Start (epoch ms) of the event hour an archive key belongs to, or `undefined` for a foreign key. */
export function archivePartitionStartMs(key: string): number | undefined {
  const match = PARTITION.exec(key);
  if (match === null) return undefined;
  const start = Date.parse(`${match[1]}T${match[2]}:00:00Z`);
  return Number.isNaN(start) ? undefined : start;
}

/**
 * Parse one archive object's NDJSON into events, re-validating every line against the contract: the
 * archive outlives builds, and a line that this build refuses must not reach training.
 */
export function parseArchiveLines(
  text: string,
  nowMs: number,
): { events: ContractEvent[]; lines: number; invalid: Partial<Record<ViolationKind, number>> } {
  const events: ContractEvent[] = [];
  const invalid: Partial<Record<ViolationKind, number>> = {};
  let lines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    lines++;
    try {
      events.push(validateEvent(JSON.parse(line), nowMs).event);
    } catch (error) {
      const kind: ViolationKind | undefined =
        error instanceof ContractViolation
          ? error.kind
          : error instanceof SyntaxError
            ? 'invalid_json'
            : undefined;
      if (kind === undefined) throw error;
      invalid[kind] = (invalid[kind] ?? 0) + 1;
    }
  }
  return { events, lines, invalid };
}

/**
 * Reads the event archive (`events/dt=YYYY-MM-DD/hour=HH/bucket=BB-<shard>-<first>-<last>.ndjson.gz`, written by
 * the archive function) back into contract events. With a window, only the day prefixes it covers are
 * listed and only the hour partitions it overlaps are fetched.
 *
 * Memory: every event of the window is held at once (roughly 0.5 KB per event as objects), which is
 * what the training set builder needs anyway.
 */
export class S3ArchiveReader implements ArchivedEventSource {
  private readonly concurrency: number;
  private readonly now: () => number;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    options: ArchiveReaderOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 16;
    this.now = options.now ?? Date.now;
  }

  /**
   * Keys of the archive objects whose hour partition overlaps the window, ascending, listed one hour
   * prefix at a time: an hour is a few hundred objects (batches × profile buckets) where a day is
   * thousands, and s3rver cannot return a truncated listing on Node's OpenSSL 3 (its continuation
   * token is DES-encrypted), so the local cloud needs listings that fit one page of 1,000. A closed
   * window names its hours; an open one finds them with one listing of `events/` delimited by
   * `/bucket=`, which rolls each hour's bucketed objects into one common prefix (a `/` delimiter
   * would do in S3, but s3rver's finds no prefix nested two levels down). In AWS: 24 LISTs per day.
   */
  async listKeys(window: ArchiveWindow = {}): Promise<string[]> {
    const { fromMs, toMs } = window;
    const overlaps = (key: string) => {
      const start = archivePartitionStartMs(key);
      return start !== undefined && start < (toMs ?? Infinity) && start + HOUR_MS > (fromMs ?? -Infinity);
    };
    const hourPrefixes: string[] = [];
    const keys = new Set<string>();
    if (fromMs === undefined || toMs === undefined) {
      const top = await this.listPrefix(`${ARCHIVE_PREFIX}/`, BUCKET_DELIMITER);
      for (const key of top.keys) keys.add(key);
      for (const prefix of top.prefixes) hourPrefixes.push(prefix.slice(0, -BUCKET_DELIMITER.length + 1));
    } else {
      for (let hour = Math.floor(fromMs / HOUR_MS) * HOUR_MS; hour < toMs; hour += HOUR_MS) {
        const iso = new Date(hour).toISOString();
        hourPrefixes.push(`${ARCHIVE_PREFIX}/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/`);
      }
    }
    // `concurrency` listings at once: a 30-day window is 720 of them.
    for (let i = 0; i < hourPrefixes.length; i += this.concurrency) {
      const listed = await Promise.all(
        hourPrefixes.slice(i, i + this.concurrency).map((prefix) => this.listPrefix(prefix)),
      );
      for (const { keys: hourKeys } of listed) for (const key of hourKeys) keys.add(key);
    }
    return [...keys].filter(overlaps).sort();
  }

  /** Every key under `prefix` (all pages), and the common prefixes of `delimiter` when given. */
  private async listPrefix(
    prefix: string,
    delimiter?: string,
  ): Promise<{ keys: string[]; prefixes: string[] }> {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          Delimiter: delimiter,
          ContinuationToken: token,
        }),
      );
      for (const { Key: key } of page.Contents ?? []) if (key !== undefined) keys.push(key);
      for (const { Prefix: common } of page.CommonPrefixes ?? [])
        if (common !== undefined) prefixes.push(common);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return { keys, prefixes };
  }

  /** Every valid event whose `occurredAt` lies in the window. */
  async readEvents(window: ArchiveWindow = {}): Promise<ArchiveReadResult> {
    return this.readKeys(await this.listKeys(window), window);
  }

  /**
   * The window's events by profile-hash bucket (`shared/archive/profile-bucket.ts`), for the
   * partitioned training-set build: a bucket reads the objects keyed with its bucket (and those written
   * before buckets, filtered).
   */
  partitioned(window: ArchiveWindow = {}): PartitionedEventSource {
    let listed: Promise<string[]> | undefined;
    const keys = () => (listed ??= this.listKeys(window));
    return {
      partitions: async () => Array.from({ length: ARCHIVE_PROFILE_BUCKETS }, (_, b) => b),
      readPartition: async (bucket) => {
        const mine = (await keys()).filter((key) => (bucketOfArchiveKey(key) ?? bucket) === bucket);
        const { events } = await this.readKeys(mine, window);
        return events.filter((event) => profileBucketOf(profileIdOf(event)) === bucket);
      },
    };
  }

  private async readKeys(keys: readonly string[], window: ArchiveWindow): Promise<ArchiveReadResult> {
    const { fromMs = -Infinity, toMs = Infinity } = window;
    const nowMs = this.now();
    const parsed: ReturnType<typeof parseArchiveLines>[] = new Array(keys.length);
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const index = next++;
        parsed[index] = parseArchiveLines(await this.readObjectText(keys[index]!), nowMs);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, keys.length) }, worker));

    const result: ArchiveReadResult = {
      events: [],
      objects: keys.length,
      lines: 0,
      invalidLines: {},
      outsideWindow: 0,
    };
    for (const { events, lines, invalid } of parsed) {
      result.lines += lines;
      for (const [kind, count] of Object.entries(invalid) as [ViolationKind, number][]) {
        result.invalidLines[kind] = (result.invalidLines[kind] ?? 0) + count;
      }
      for (const event of events) {
        if (event.occurredAt >= fromMs && event.occurredAt < toMs) result.events.push(event);
        else result.outsideWindow++;
      }
    }
    return result;
  }

  private async readObjectText(key: string): Promise<string> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const bytes = await out.Body!.transformToByteArray();
    // Objects are stored gzipped with `Content-Encoding: gzip`; a client or proxy that honours the
    // header hands back plain text, so look at the bytes rather than trust the header.
    const gzipped = bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
    return Buffer.from(gzipped ? gunzipSync(bytes) : bytes).toString('utf8');
  }
}
