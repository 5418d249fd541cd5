/**
 * Ports of the ingest use case: the narrow interfaces through which the domain reaches storage and the
 * model. Adapters in `functions/commons/` implement them against AWS (or the local emulators); tests
 * implement them in memory.
 */
import type { ViolationKind } from '../contract/event-contract';
import type { BatchScores } from '../model/model-outputs';
import type { CompiledAudienceSet } from '../audiences/audience-evaluation';
import type { ScrubMethod } from '../privacy/scrub-personal-data';

/** One stream record as the ingest use case sees it (already un-base64'd). */
export interface IngestRecord {
  shardId: string;
  /** Kinesis sequence number: up to 56 digits, kept as a string. */
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  /** Epoch ms at which Kinesis accepted the record. */
  approximateArrivalMs: number;
}

/** A record refused by the contract, kept with its reason so nothing is lost. */
export interface QuarantinedRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  kind: ViolationKind;
  field: string;
  rule: string;
  redactedValue: string;
  /** When Kinesis accepted the record, epoch ms. */
  approximateArrivalMs: number;
  /**
   * The record's bytes, base64, so it can be fixed and replayed, with personal data removed
   * (`scrubPersonalData`): unchanged when there was none.
   */
  dataBase64: string;
  /** How the bytes were scrubbed: `json` (they parse) or `bytes` (not UTF-8 / not JSON). */
  scrub: ScrubMethod;
  /** Personal fields and e-mail addresses removed from the bytes; 0 means they are the original. */
  personalFieldsRemoved: number;
}

/** Where refused records go: one object per batch, never per record. */
export interface QuarantineSink {
  /** Persist the batch's refused records; must throw if they are not durably stored. */
  putBatch(records: readonly QuarantinedRecord[], batchId: string): Promise<void>;
}

/** A stored profile item: its encoded attributes plus the optimistic-locking version. */
export interface StoredProfileItem {
  profileId: string;
  version: number;
  [attribute: string]: unknown;
}

/**
 * Outcome of a conditional profile write. A conflict carries the item stored now (`undefined`: none
 * is), so resolving it needs no separate read.
 */
export type WriteOutcome =
  | { readonly status: 'written' }
  | { readonly status: 'conflict'; readonly current: StoredProfileItem | undefined }
  | { readonly status: 'throttled' };

/** Profile persistence with optimistic locking. */
export interface ProfileStore {
  /** Read many profiles at once (BatchGetItem, unprocessed keys retried); absent ids are simply missing. */
  getMany(profileIds: readonly string[]): Promise<Map<string, StoredProfileItem>>;
  /**
   * Write an item only if the stored version is still `expectedVersion` (`undefined`: the item must not
   * exist yet). Resolves `conflict` with the current item when the condition fails, `throttled` when the
   * table still refuses after the SDK's own retries; rejects on any other error.
   */
  putIfVersion(item: StoredProfileItem, expectedVersion: number | undefined): Promise<WriteOutcome>;
}

/** The current model, as far as the ingest path is concerned. */
export interface ProfileScorer {
  /**
   * Score `rows` feature vectors of width `width` laid out row-major in `features`, in ONE inference
   * giving every head the model has (`toProfileScores` maps it to each profile). Resolves `undefined`
   * when no model is published yet (profiles are then written unscored).
   */
  score(features: Float32Array, rows: number, width: number): Promise<BatchScores | undefined>;
}

/** The published audience definitions, as far as the ingest path is concerned. */
export interface AudienceSource {
  /**
   * The set to evaluate this batch against (looked up at most every poll interval; a published set
   * that does not validate is refused and the previous one keeps serving). Resolves `undefined` when
   * none was ever published: the stored membership is then kept as it is.
   */
  current(): Promise<CompiledAudienceSet | undefined>;
}
