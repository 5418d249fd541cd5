import type { S3Client } from '@aws-sdk/client-s3';
import { readObjectIfExists } from './s3-objects';

/** What a {@link HotReloadedPointer} needs to know about one kind of publication. */
export interface HotReloadedPointerOptions<P, T, R> {
  s3: S3Client;
  bucket: string;
  /** The pointer object's key (e.g. `models/current.json`). */
  pointerKey: string;
  /** Look at the pointer at most this often. */
  pollMs: number;
  now: () => number;
  /** Validate the pointer's JSON; throws when it is not a pointer. */
  parsePointer: (json: unknown) => P;
  /** The version a pointer names: the same version is not loaded twice. */
  versionOf: (pointer: P) => string;
  /** Read and validate what the pointer names; throws when it cannot serve. */
  load: (pointer: P) => Promise<T>;
  /**
   * The refusal an error stands for when the publication itself cannot serve (it stays refused until
   * the pointer moves on), or `undefined` for trouble reading it (S3, network: retried at the next poll).
   */
  refusalOf: (error: unknown) => R | undefined;
  onLoaded?: (pointer: P, value: T) => void;
  /** @param version - the refused version, when the pointer could be read that far */
  onRefused?: (version: string | undefined, refusal: R) => void;
  onPollFailed?: (reason: string) => void;
}

/**
 * A value published behind an S3 pointer object and hot-reloaded, once per container: the pointer is
 * read at most every `pollMs`; a version not seen yet is loaded and validated before it replaces the
 * one serving; on any failure the previous value (or none) keeps serving and the failure is reported —
 * a refused version is not tried again until the pointer names another, a read failure is retried at
 * the next poll — so neither a bad publication nor an S3 hiccup can stop the stream. Behind the model
 * scorer and the audience source.
 */
export class HotReloadedPointer<P, T, R> {
  private loaded: { version: string; value: T } | undefined;
  private refusedVersion: string | undefined;
  private nextCheckAt = 0;
  /** The look at the pointer in flight, which concurrent callers share. */
  private refreshing: Promise<void> | undefined;

  constructor(private readonly options: HotReloadedPointerOptions<P, T, R>) {}

  /** The value serving, if any (without looking at the pointer). */
  get value(): T | undefined {
    return this.loaded?.value;
  }

  /** The value serving, after looking at the pointer if the poll interval has passed. */
  async current(): Promise<T | undefined> {
    if (this.options.now() >= this.nextCheckAt) {
      this.refreshing ??= this.refresh().finally(() => {
        this.refreshing = undefined;
      });
    }
    // A caller arriving while another's look is in flight waits for it: it would otherwise be served
    // what was loaded before (nothing, in a fresh container running concurrent work: rescoring's
    // segments, or the local pipeline's shards, in one process).
    await this.refreshing;
    return this.loaded?.value;
  }

  /** Stop serving `version` and refuse it until the pointer moves on (it failed while serving). */
  refuse(version: string): void {
    if (this.loaded?.version === version) this.loaded = undefined;
    this.refusedVersion = version;
  }

  /** Look at the pointer now, whatever the poll interval says. Never throws. */
  async refresh(): Promise<void> {
    const o = this.options;
    this.nextCheckAt = o.now() + o.pollMs;
    let candidate: string | undefined;
    try {
      const bytes = await readObjectIfExists(o.s3, o.bucket, o.pointerKey);
      if (bytes === undefined) return;
      const pointer = o.parsePointer(JSON.parse(Buffer.from(bytes).toString('utf8')));
      candidate = o.versionOf(pointer);
      if (candidate === this.loaded?.version || candidate === this.refusedVersion) return;
      const value = await o.load(pointer);
      this.loaded = { version: candidate, value };
      this.refusedVersion = undefined;
      o.onLoaded?.(pointer, value);
    } catch (error) {
      const refusal = o.refusalOf(error);
      if (refusal !== undefined) {
        // Refused until the pointer moves on: loading a bad publication every poll would only repeat the error.
        this.refusedVersion = candidate;
        o.onRefused?.(candidate, refusal);
      } else {
        o.onPollFailed?.(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    }
  }
}
