import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { decodeProfileItem, type DecodedProfileItem } from '../../shared/profile/profile-item-codec';
import { DynamoDbProfileStore } from '../../functions/commons/dynamodb-profile-store';
import type { KeyedHasher } from '../../shared/privacy/keyed-hash';
import { pseudonymousProfileId } from '../../shared/privacy/pseudonymise';

/** A profile as a downstream service reads it. */
export interface ProfileView extends DecodedProfileItem {
  /** How old the newest event folded into this profile is, at read time (ms). */
  stalenessMs: number;
}

/**
 * The read side for downstream services (recommendations, audiences, CRM, fraud): one strongly
 * consistent GetItem, decoded and validated against the item schema. Reads v1 and v2 items alike; the
 * score carries whatever outputs the scoring model has (churn risk, next categories, reasons, embedding).
 */
export class ProfileReader {
  private readonly store: DynamoDbProfileStore;

  /**
   * @param pseudonymised - the deployment pseudonymises ids (stack parameter `pseudonymiseIds`): the
   *   keyed hash under its key (`createKeyedHasher`), so readers keep asking by the raw id
   *   @default undefined (ids are stored as they are)
   */
  constructor(
    dynamodb: DynamoDBClient,
    tableName: string,
    private readonly now: () => number = Date.now,
    private readonly pseudonymised?: { hasher: KeyedHasher },
  ) {
    this.store = new DynamoDbProfileStore(dynamodb, tableName);
  }

  /**
   * The profile of `profileId` (a userId, or `anon:<anonymousId>`, always the raw id), or undefined
   * when none exists. With pseudonymised ids the profile found carries its pseudonym as `profileId`.
   */
  async getProfile(profileId: string): Promise<ProfileView | undefined> {
    return (await this.getProfileWithItem(profileId))?.profile;
  }

  /**
   * The decoded profile together with the item as stored, for readers that also show attributes this
   * reader does not decode (e.g. ones a newer writer added), or undefined when none exists.
   */
  async getProfileWithItem(
    profileId: string,
  ): Promise<{ profile: ProfileView; item: Readonly<Record<string, unknown>> } | undefined> {
    const storedId =
      this.pseudonymised === undefined
        ? profileId
        : pseudonymousProfileId(this.pseudonymised.hasher, profileId);
    const item = await this.store.get(storedId);
    if (item === undefined) return undefined;
    const decoded = decodeProfileItem(item);
    return { profile: { ...decoded, stalenessMs: this.now() - decoded.state.lastEventAt }, item };
  }
}
