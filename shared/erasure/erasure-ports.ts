/**
 * Ports of the erasure use case. Adapters in `functions/commons/` implement them against DynamoDB and
 * S3 (or the local emulators); tests implement them in memory.
 */
import type { StoredProfileItem } from '../ingest/ingest-ports';
import type { TombstoneItem } from './tombstones';

/** The profiles table as erasure needs it. */
export interface ErasureProfileStore {
  /** Read many items at once; absent ids are missing from the map. */
  getMany(profileIds: readonly string[]): Promise<Map<string, StoredProfileItem>>;
  /** Write tombstones (unconditional puts; writing one twice is harmless). */
  putTombstones(items: readonly TombstoneItem[]): Promise<void>;
  /** Delete items by profile id (deleting an absent one is harmless). */
  deleteMany(profileIds: readonly string[]): Promise<void>;
}

/**
 * The audience members table as erasure needs it: rows are keyed (audience id, profile id), so a
 * profile's rows are found from the audiences its item names, never by a Scan.
 */
export interface ErasureMembersIndex {
  /**
   * Delete the rows of `profileId` in each of `audienceIds` (deleting an absent row is harmless).
   * Resolves how many rows were there and are gone.
   */
  removeProfile(profileId: string, audienceIds: readonly string[]): Promise<number>;
}

/**
 * Every audience id any published audience set ever defined (the definitions' history): a person's
 * members rows can only be in those audiences, whatever their item still remembers (its
 * `audienceLog` keeps only recent exits, and a removed audience is named by no current set).
 */
export interface AudienceHistory {
  audienceIdsEverDefined(): Promise<readonly string[]>;
}

/**
 * One bucket area holding records of people (the archive, the quarantine, the on-failure objects): its
 * objects as text, rewritten whole. `read` and `write` hide the encoding (gzip for the archive).
 */
export interface ErasableObjectStore {
  /** Keys of every object that may hold records; `mayHold` lets a layout skip objects cheaply. */
  listKeys(): Promise<string[]>;
  read(key: string): Promise<string>;
  /** Replace the object under `key` with `text`. */
  write(key: string, text: string): Promise<void>;
  delete(key: string): Promise<void>;
}
