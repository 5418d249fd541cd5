/**
 * The profile explorer's data access: one profile through the reader library, and table-wide figures
 * (audience sizes, the purchase-probability distribution) from a projected scan. A scan reads the whole
 * table, which is fine for the local cloud the explorer serves; in AWS an audience index would answer
 * sizes without one.
 */
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ProfileReader } from '../../client/profile-reader';
import {
  describeProfile,
  otherAttributes,
  type AttributeValue,
  type ProfileView,
} from '../../client/profile-view';

/** A profile as the explorer page shows it. */
export interface ProfileLookup {
  /** The readable view (`npm run profile -- get` prints the same), reasons in words included. */
  profile: ProfileView;
  /** Stored attributes the view does not describe (computed traits and whatever a newer writer adds). */
  attributes: Record<string, AttributeValue>;
  /** Audience membership from the item's `audiences` map (id → entered-at), earliest entry first. */
  audiences: { audienceId: string; enteredAt: string }[];
}

/** Members per audience, counted from the items' `audiences` maps. */
export interface AudienceSizes {
  /** Profiles read. */
  profiles: number;
  /** Profiles in at least one audience. */
  inAnyAudience: number;
  /** Largest first, then by id. */
  audiences: { audienceId: string; members: number }[];
}

/** The purchase-probability distribution over the table. */
export interface ScoreHistogram {
  /** Equal-width bins over [0, 1]; the last one includes 1. */
  bins: { from: number; to: number; count: number }[];
  scored: number;
  unscored: number;
  /** Scored profiles per model version (more than one while a rescoring pass is under way). */
  modelVersions: Record<string, number>;
  /** The profiles with the highest purchase probability, highest first: starting points to look up. */
  highest: { profileId: string; propensity: number }[];
}

/** Bins of the histogram unless the caller asks for another number. */
export const DEFAULT_HISTOGRAM_BINS = 20;
/** Upper bound on bins: more than a page can draw, and a bound on the response. */
export const MAX_HISTOGRAM_BINS = 100;
/** How many of the highest-scored profiles the histogram names. */
const HIGHEST_PROFILES = 5;

/** A histogram request out of range; names the parameter and the rule. */
export class HistogramRequestError extends Error {
  override readonly name = 'HistogramRequestError';
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field}: ${rule}`);
  }
}

/** Reads for the explorer's JSON API, over any DynamoDB endpoint (the local cloud's by default). */
export class ExplorerApi {
  private readonly reader: ProfileReader;

  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {
    this.reader = new ProfileReader(dynamodb, tableName, now);
  }

  /** One profile, or undefined when the table has none with that id. */
  async profile(profileId: string): Promise<ProfileLookup | undefined> {
    const found = await this.reader.getProfileWithItem(profileId);
    if (found === undefined) return undefined;
    const { audiences, ...attributes } = otherAttributes(found.item);
    return {
      profile: describeProfile(found.profile, this.now()),
      attributes,
      audiences: membership(audiences),
    };
  }

  /** Audience sizes from every item's membership map. */
  async audienceSizes(): Promise<AudienceSizes> {
    const members = new Map<string, number>();
    let profiles = 0;
    let inAnyAudience = 0;
    await this.scan(['audiences'], (item) => {
      profiles++;
      const ids = membership(item.audiences as AttributeValue | undefined).map((m) => m.audienceId);
      if (ids.length > 0) inAnyAudience++;
      for (const id of ids) members.set(id, (members.get(id) ?? 0) + 1);
    });
    const audiences = [...members]
      .map(([audienceId, count]) => ({ audienceId, members: count }))
      .sort((a, b) => b.members - a.members || a.audienceId.localeCompare(b.audienceId));
    return { profiles, inAnyAudience, audiences };
  }

  /** The purchase-probability histogram in `bins` equal-width bins (1 to {@link MAX_HISTOGRAM_BINS}). */
  async scoreHistogram(bins = DEFAULT_HISTOGRAM_BINS): Promise<ScoreHistogram> {
    if (!Number.isInteger(bins) || bins < 1 || bins > MAX_HISTOGRAM_BINS) {
      throw new HistogramRequestError('bins', `must be a whole number from 1 to ${MAX_HISTOGRAM_BINS}`);
    }
    const counts = new Array<number>(bins).fill(0);
    const modelVersions: Record<string, number> = {};
    const scoredProfiles: { profileId: string; propensity: number }[] = [];
    let unscored = 0;
    await this.scan(['profileId', 'propensity', 'modelVersion'], (item) => {
      const { profileId, propensity, modelVersion } = item;
      if (typeof propensity !== 'number' || typeof profileId !== 'string') {
        unscored++;
        return;
      }
      counts[binOf(propensity, bins)]!++;
      if (typeof modelVersion === 'string')
        modelVersions[modelVersion] = (modelVersions[modelVersion] ?? 0) + 1;
      scoredProfiles.push({ profileId, propensity });
    });
    const highest = scoredProfiles
      .sort((a, b) => b.propensity - a.propensity || a.profileId.localeCompare(b.profileId))
      .slice(0, HIGHEST_PROFILES);
    return {
      bins: counts.map((count, i) => ({ from: i / bins, to: (i + 1) / bins, count })),
      scored: scoredProfiles.length,
      unscored,
      modelVersions,
      highest,
    };
  }

  /** Every item of the table, projected to `attributes`, a page at a time. */
  private async scan(
    attributes: readonly string[],
    visit: (item: Record<string, unknown>) => void,
  ): Promise<void> {
    // Placeholders for every name: some attribute names are DynamoDB reserved words.
    const names = Object.fromEntries(attributes.map((name, i) => [`#a${i}`, name]));
    let startKey: ScanCommand['input']['ExclusiveStartKey'];
    do {
      const page = await this.dynamodb.send(
        new ScanCommand({
          TableName: this.tableName,
          ProjectionExpression: Object.keys(names).join(', '),
          ExpressionAttributeNames: names,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) visit(unmarshall(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
}

/**
 * The bin of a probability in [0, 1]: `bins` equal widths, 1 in the last. Counted in the stored
 * 4-decimal units so a value on a bin edge (0.29 of 100 bins) lands in the bin it starts, which
 * `0.29 * 100 = 28.999…` would miss.
 */
export function binOf(probability: number, bins: number): number {
  const units = Math.round(probability * 1e4);
  return Math.min(bins - 1, Math.max(0, Math.floor((units * bins) / 1e4)));
}

/** An `audiences` attribute (id → entered-at, epoch ms) as a list, earliest entry first; else empty. */
function membership(value: AttributeValue | undefined): ProfileLookup['audiences'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value)
    .filter(
      (entry): entry is [string, number] =>
        typeof entry[1] === 'number' && !Number.isNaN(new Date(entry[1]).getTime()),
    )
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .map(([audienceId, enteredAt]) => ({ audienceId, enteredAt: new Date(enteredAt).toISOString() }));
}
