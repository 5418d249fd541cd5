import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  AudienceDefinitionViolation,
  type AudienceSet,
  parseAudienceSet,
} from '../../shared/audiences/audience-definition';
import { type CompiledAudienceSet, compileAudienceSet } from '../../shared/audiences/audience-evaluation';
import type { AudienceSource } from '../../shared/ingest/ingest-ports';
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
  private loaded: CompiledAudienceSet | undefined;
  private refusedVersion: string | undefined;
  private nextCheckAt = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly pollMs: number,
    private readonly hooks: AudienceSourceHooks = {},
    private readonly now: () => number = Date.now,
  ) {}

  async current(): Promise<CompiledAudienceSet | undefined> {
    if (this.now() >= this.nextCheckAt) await this.refresh();
    return this.loaded;
  }

  /** Look for a newly published set now. Never throws. */
  async refresh(): Promise<void> {
    this.nextCheckAt = this.now() + this.pollMs;
    let candidate: string | undefined;
    try {
      const pointerBytes = await readObjectIfExists(this.s3, this.bucket, AUDIENCE_POINTER_KEY);
      if (pointerBytes === undefined) return;
      const pointer = audienceSetPointerSchema.parse(JSON.parse(Buffer.from(pointerBytes).toString('utf8')));
      candidate = pointer.version;
      if (candidate === this.loaded?.version || candidate === this.refusedVersion) return;
      const bytes = await readObjectIfExists(this.s3, this.bucket, pointer.key);
      if (bytes === undefined)
        throw new AudienceDefinitionViolation('(pointer).key', 'must name an existing object', pointer.key);
      const set = parseAudienceSet(JSON.parse(Buffer.from(bytes).toString('utf8')));
      this.loaded = compileAudienceSet(set, pointer.version);
      this.refusedVersion = undefined;
      this.hooks.onLoaded?.(pointer.version, set.audiences.length);
    } catch (error) {
      const refusal =
        error instanceof AudienceDefinitionViolation
          ? error
          : error instanceof SyntaxError
            ? new AudienceDefinitionViolation('(document)', 'must be JSON', error.message)
            : error instanceof z.ZodError
              ? new AudienceDefinitionViolation(
                  '(pointer)',
                  'must be an audience set pointer',
                  error.issues[0]?.message ?? '',
                )
              : undefined;
      if (refusal !== undefined) {
        // Refused until the pointer moves on: re-reading a bad set every poll would only repeat the error.
        this.refusedVersion = candidate;
        this.hooks.onRefused?.(candidate ?? '(unknown)', refusal);
      } else {
        this.hooks.onPollFailed?.(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    }
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
