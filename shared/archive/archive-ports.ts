/**
 * Port of the archive use case: where planned archive objects are stored. The S3 adapter
 * (`functions/commons/s3-archive-writer.ts`) writes gzipped NDJSON; tests keep them in memory.
 */
import type { ContractEvent } from '../contract/event-contract';

/** One archive object to write. */
export interface ArchiveObject {
  /** `events/dt=YYYY-MM-DD/hour=HH/bucket=BB-<shardId>-<firstSeq>-<lastSeq>.ndjson.gz` */
  key: string;
  events: ContractEvent[];
}

/** Durable storage for archive objects. */
export interface ArchiveWriter {
  /**
   * Store one object under its key, replacing any object already there (a redelivered batch plans the
   * same keys). Must reject unless the object is durably stored.
   */
  put(object: ArchiveObject): Promise<void>;
}
