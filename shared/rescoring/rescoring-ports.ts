/**
 * Ports of the rescoring use case. Adapters in `functions/commons/` implement them against DynamoDB and
 * S3 (or the local emulators); unit tests implement them in memory. Writes go through the ingest side's
 * {@link ProfileStore} port, so both writers share one optimistic lock.
 */
import type { ProfileScorer, StoredProfileItem } from '../ingest/ingest-ports';

/** One page request of a parallel scan. */
export interface SegmentPageRequest {
  /** 0-based segment of `totalSegments` (DynamoDB `Segment` / `TotalSegments`). */
  segment: number;
  totalSegments: number;
  /** Items to read at most (DynamoDB `Limit`: evaluated before any filter). */
  limit: number;
  /** Only items this version did not score are needed; a scanner may return more, never fewer. */
  servingVersion: string;
  /** Where the previous page stopped (the last profile id it read); absent: the segment's start. */
  startKey?: string;
}

/** One page of a parallel scan. */
export interface SegmentPage {
  /** Full stored items that may need rescoring (the use case checks each with `needsRescore`). */
  items: StoredProfileItem[];
  /** Items read, before any filter: the read cost of the page. */
  scanned: number;
  /** Where to continue; absent when the segment is done. */
  nextStartKey?: string;
}

/** Reads the profiles table one parallel-scan segment at a time. */
export interface ProfileSegmentScanner {
  scanPage(request: SegmentPageRequest): Promise<SegmentPage>;
}

/** The model as the rescorer sees it: the serving version, looked up afresh, and batched inference. */
export interface ServingModel extends ProfileScorer {
  /**
   * The version `score` answers with until the next call of this method (`undefined`: no servable
   * model). Looked up afresh on every call, so a long run notices a promotion between two pages.
   */
  servingVersion(): Promise<string | undefined>;
}
