import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AudienceHistory } from '../../shared/erasure/erasure-ports';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  AudienceDefinitionViolation,
  type AudienceSet,
  parseAudienceSet,
} from '../../shared/audiences/audience-definition';
import { type CompiledAudienceSet, compileAudienceSet } from '../../shared/audiences/audience-evaluation';
import type { AudienceSource } from '../../shared/ingest/ingest-ports';
import { HotReloadedPointer } from './hot-reloaded-pointer';
import { readObjectIfExists } from './s3-objects';

/** Key of the pointer naming the audience set that serves (beside the model pointer, same bucket). */
export const AUDIENCE_POINTER_KEY = 'audiences/current.json';

const versionSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,128}$/, 'must use only letters, digits, dot, underscore and hyphen');

/** Schema of {@link AudienceSetPointer}. */
export const audienceSetPointerSchema = z
  .object({
    version: versionSchema,
    key: z.string().min(1),
    publishedAt: z.iso.datetime(),
    /** The version this one replaced. */
    previous: versionSchema.optional(),
  })
  .strict();
/** `audiences/current.json`: which published set ingest evaluates. */
export type AudienceSetPointer = z.infer<typeof audienceSetPointerSchema>;

/** Key of a published set: `audiences/<version>/audiences.json`. */
export function audienceSetKey(version: string): string {
  return `audiences/${versionSchema.parse(version)}/audiences.json`;
}

/** Callbacks through which the source reports set changes (the ingest handler logs and counts them). */
export interface AudienceSourceHooks {
  onLoaded?: (version: string, audiences: number) => void;
  /** A published set does not validate; the previous set (or none) keeps serving. */
  onRefused?: (version: string, error: AudienceDefinitionViolation) => void;
  /** The pointer or set could not be read this time (S3, network); retried at the next poll. */
  onPollFailed?: (reason: string) => void;
}

/**
 * The published audience set from S3, cached per container and hot-reloaded: the pointer is read at
 * most every `pollMs`, like the model pointer; a new version is validated and compiled before it
 * replaces the one serving, so an invalid publication (or an S3 hiccup) never stops the stream and
 * never leaves ingest without the previous set.
 */
export class S3AudienceSource implements AudienceSource {
  private readonly pointer: HotReloadedPointer<
    AudienceSetPointer,
    CompiledAudienceSet,
    AudienceDefinitionViolation
  >;

  constructor(
    s3: S3Client,
    bucket: string,
    pollMs: number,
    hooks: AudienceSourceHooks = {},
    now: () => number = Date.now,
  ) {
    this.pointer = new HotReloadedPointer({
      s3,
      bucket,
      pointerKey: AUDIENCE_POINTER_KEY,
      pollMs,
      now,
      parsePointer: (json) => audienceSetPointerSchema.parse(json),
      versionOf: (pointer) => pointer.version,
      load: async (pointer) => {
        const bytes = await readObjectIfExists(s3, bucket, pointer.key);
        if (bytes === undefined)
          throw new AudienceDefinitionViolation('(pointer).key', 'must name an existing object', pointer.key);
        return compileAudienceSet(
          parseAudienceSet(JSON.parse(Buffer.from(bytes).toString('utf8'))),
          pointer.version,
        );
      },
      refusalOf: audienceRefusalOf,
      onLoaded: (pointer, set) => hooks.onLoaded?.(pointer.version, set.ids.length),
      onRefused: (version, refusal) => hooks.onRefused?.(version ?? '(unknown)', refusal),
      onPollFailed: (reason) => hooks.onPollFailed?.(reason),
    });
  }

  current(): Promise<CompiledAudienceSet | undefined> {
    return this.pointer.current();
  }

  /** Look for a newly published set now. Never throws. */
  refresh(): Promise<void> {
    return this.pointer.refresh();
  }
}

/** What makes a publication unusable, as the violation it is reported as; `undefined`: a read failure. */
function audienceRefusalOf(error: unknown): AudienceDefinitionViolation | undefined {
  if (error instanceof AudienceDefinitionViolation) return error;
  if (error instanceof SyntaxError)
    return new AudienceDefinitionViolation('(document)', 'must be JSON', error.message);
  if (error instanceof z.ZodError) {
    return new AudienceDefinitionViolation(
      '(pointer)',
      'must be an audience set pointer',
      error.issues[0]?.message ?? '',
    );
  }
  return undefined;
}

/**
 * The audience ids of every set ever published (each stays under its own version's key, so the history
 * is the `audiences/` prefix), for erasure. A set is read leniently: one published under an older
 * schema still names its ids.
 */
export class S3AudienceHistory implements AudienceHistory {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async audienceIdsEverDefined(): Promise<readonly string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: 'audiences/', ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key?.endsWith('/audiences.json')) keys.push(object.Key);
      }
      token = page.NextContinuationToken;
    } while (token !== undefined);
    const ids = new Set<string>();
    for (const key of keys) {
      const bytes = await readObjectIfExists(this.s3, this.bucket, key);
      if (bytes === undefined) continue;
      const set = z
        .object({ audiences: z.array(z.object({ id: z.string().min(1) })) })
        .safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
      if (set.success) for (const { id } of set.data.audiences) ids.add(id);
    }
    return [...ids];
  }
}

/**
 * Publishes audience sets: validates, stores the set under its own version, then moves the pointer
 * (in that order, so the pointer never names a missing or invalid set).
 */
export class S3AudiencePublisher {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The pointer that serves, or `undefined` when nothing was published. */
  async currentPointer(): Promise<AudienceSetPointer | undefined> {
    const bytes = await readObjectIfExists(this.s3, this.bucket, AUDIENCE_POINTER_KEY);
    return bytes === undefined
      ? undefined
      : audienceSetPointerSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  }

  /** The serving set with its pointer, or `undefined` when nothing was published. */
  async currentSet(): Promise<(AudienceSetPointer & { set: AudienceSet }) | undefined> {
    const pointer = await this.currentPointer();
    if (pointer === undefined) return undefined;
    const bytes = await readObjectIfExists(this.s3, this.bucket, pointer.key);
    if (bytes === undefined) return undefined;
    return { ...pointer, set: parseAudienceSet(JSON.parse(Buffer.from(bytes).toString('utf8'))) };
  }

  /**
   * Validate and publish `raw` (parsed JSON).
   *
   * @throws {AudienceDefinitionViolation} naming the field and rule when the set is invalid (nothing is written)
   */
  async publish(raw: unknown): Promise<AudienceSetPointer & { set: AudienceSet }> {
    const set = parseAudienceSet(raw);
    const body = JSON.stringify(set, null, 2);
    const stamp = new Date(this.now()).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
    const version = `a${stamp}-${createHash('sha256').update(body).digest('hex').slice(0, 8)}`;
    const previous = await this.currentPointer();
    const key = audienceSetKey(version);
    await this.put(key, body);
    const pointer: AudienceSetPointer = {
      version,
      key,
      publishedAt: new Date(this.now()).toISOString(),
      ...(previous === undefined ? {} : { previous: previous.version }),
    };
    await this.put(AUDIENCE_POINTER_KEY, JSON.stringify(pointer, null, 2));
    return { ...pointer, set };
  }

  private async put(key: string, body: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
  }
}
