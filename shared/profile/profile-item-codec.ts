/**
 * Profile item codec: `ProfileState` ⇄ the DynamoDB item (a plain object for `marshall`).
 *
 * Attributes are readable and compact. Times inside lists are stored as AGES in seconds (minutes in
 * the dedupe window) before `lastEventAt`, which are short numbers and decode exactly. Fixed-point
 * decays and affinities are integers. The only opaque attribute is `dedup` (binary: 5 bytes per
 * entry, a 32-bit FNV-1a hash big-endian and an age in minutes), since hashes mean nothing to a
 * reader. The model outputs (v2) are plain numbers and strings too, except the user embedding (int8
 * bytes beside a readable scale). `profile-item.v2.schema.json` is generated from
 * {@link profileItemSchema} for downstream readers (and `profile-item.v1.schema.json`, still true of
 * every item v1 code writes, from {@link profileItemSchemaV1}).
 *
 * Rolling deploys: the v1 decoder refuses any `itemSchemaVersion` but 1 and ignores attributes it does
 * not know. So v2 only ADDS optional attributes and its items keep `itemSchemaVersion` 1, read as "the
 * oldest layout whose readers decode this item": old and new functions read each other's items, and a
 * v1 writer simply drops the v2 outputs (every write is a whole PutItem) until a v2 writer rescores.
 * v4 is the one layout older readers cannot read: its `merges` entries are flat lists of ages, and a
 * merged id is no longer repeated in `aliases`. Only items with merges say 4 (v3 code refuses them by
 * that number instead of misreading them); this decoder still reads the v2/v3 form.
 *
 * v5 (what this code writes): every attribute a reader uses stays as it was; the pipeline's bookkeeping
 * (`seq`, `dedup`, `session`, `risk`, `logins`, `fp` and the bookkeeping of each merge) is one binary
 * `state` (`profile-state-blob.ts`, documented byte layout), `merges` is merged id → identify age, and
 * reasons are keyed by feature code (`shared/features/feature-codes.ts`). Every v5 item says 5, so v4
 * code refuses it; this decoder reads v1–v4 items, and the item's next write stores v5.
 *
 * v6 (what this code writes): `act` keeps only the readable lifetime count per type code; the fixed-point
 * decays, which mean nothing without this codec, moved into `state` (its layout version 2, which also
 * stores a merged alias's identify session hash only when it differs from its own). A v5 reader would
 * refuse both, so every v6 item says 6 and v5 code refuses it by that number; this decoder reads v1–v5.
 */
import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../contract/event-contract';
import { byScore, byShardId, cartEventIsNewer } from './apply-events';
import {
  DECAYED_EVENT_TYPES,
  emptyProfile,
  HALF_LIVES_MS,
  MERGE_REFUSAL_REASONS,
  PROFILE_LIMITS,
  type CartEvent,
  type MergedAlias,
  type MergeRefusalReason,
  type ProfileState,
  type ShardMark,
} from './profile-state';
import { insertionSort, type RecentEntry } from './recent-set';
import type { CategoryPrediction, ProfileScore, ScoreReason } from '../model/model-outputs';
import {
  CONTAINER_BYTES,
  ELEMENT_BYTES,
  numberBytes,
  numberEntryBytes,
  stringBytes,
} from './dynamodb-item-size';
import type { AudienceMembership } from '../audiences/audience-evaluation';
import type { AudienceLog } from '../audiences/activation';
import { type ComputedTraits, LIFECYCLE_STAGES, PRICE_BANDS, VALUE_TIERS } from '../traits/computed-traits';
import { assessRisk } from '../risk/anomaly-score';
import type { FingerprintEntry } from '../risk/risk-signals';
import { featureCodeOf, featureNameOf } from '../features/feature-codes';
import { ProfileItemViolation } from './profile-item-violation';
import { pooledCopy, pooledInt8Array } from './byte-pool';
import {
  DEDUPE_ENTRY_BYTES,
  decodeStateBlob,
  encodeStateBlob,
  SEQUENCE_NUMBER,
  STATE_LAYOUT_VERSION,
  STATE_LAYOUT_VERSION_V5,
  unpackDedupe,
} from './profile-state-blob';

export { ProfileItemViolation } from './profile-item-violation';

/**
 * The item layout this code writes and reads (schema file v6: v5 with the decays moved from `act` into
 * `state`). Every v6 item says 6 in `itemSchemaVersion`: v5 code reads `act` entries of decayed types as
 * lists and `state` as layout 1, so it must refuse the item by that number.
 */
export const ITEM_SCHEMA_VERSION = 6 as const;
/**
 * Item schema v5: the bookkeeping in `state` layout 1, the decays still in `act`. Read until the item's
 * next write stores v6.
 */
export const STATE_IN_BLOB_FROM_VERSION = 5 as const;
/**
 * What this code stores in `itemSchemaVersion`: the oldest layout whose readers decode the item. v2
 * only adds optional attributes, so it is still 1; a layout older readers cannot read stores its own
 * number. A reader decodes items whose `itemSchemaVersion` is at most its {@link ITEM_SCHEMA_VERSION}.
 */
export const ITEM_READABLE_FROM_VERSION = 1 as const;
/**
 * What an item with `merges` stores in `itemSchemaVersion`: its v4 entries are not the 6-tuples v2/v3
 * readers expect (and the merged aliases left `aliases`), so those readers must refuse the item rather
 * than misread it. Items without merges (nearly all) stay readable from v1.
 */
export const MERGES_READABLE_FROM_VERSION = 4 as const;
/** One write unit: items are kept within it by dropping their least important reasons. */
export const ITEM_BYTES_BUDGET = 1024;
/** Decimals of the stored probabilities (propensity, churn risk, next categories). */
export const PROBABILITY_DECIMALS = 4;
/** Decimals of the stored reason contributions (logit units: 0.01 is about 0.25 % at p = 0.5). */
export const CONTRIBUTION_DECIMALS = 2;
/** Significant digits of the stored embedding scale (relative error ≤ 5·10⁻⁴, below the int8 step). */
export const EMBEDDING_SCALE_DIGITS = 4;
/** Items expire this long after the profile's latest event. */
export const PROFILE_TTL_SECONDS = 400 * 24 * 3600;

/** Short keys of the `act` map, one per event type. */
export const EVENT_TYPE_CODES = {
  page_view: 'pv',
  product_view: 'vw',
  search: 'sr',
  add_to_cart: 'ac',
  remove_from_cart: 'rc',
  add_to_wishlist: 'wl',
  begin_checkout: 'co',
  purchase: 'pu',
  login: 'li',
  identify: 'id',
} as const satisfies Record<EventType, string>;

/** `fp` entries (v2–v4): kind (0 device, 1 network), 32-bit hash BE, first-seen and last-seen age in hours (uint16 BE). */
const FINGERPRINT_ENTRY_BYTES = 9;
const nonNegativeInt = z.number().int().min(0);
const binary = z.instanceof(Uint8Array);
const ageMap = z.record(z.string().min(1), nonNegativeInt);

const probability = z.number().min(0).max(1);
const contributions = z
  .record(z.string().min(1), z.number())
  .describe(
    `feature name → signed contribution in logit units (${CONTRIBUTION_DECIMALS} decimals); the top 3 by ` +
      'magnitude (fewer when the item would otherwise exceed one write unit), largest first when sorted by |contribution|',
  );

const contributionsByCode = z
  .record(z.string().min(1), z.number())
  .describe(
    'feature code (shared/features/feature-codes.ts, README "Features and scoring"; a feature without a code ' +
      `by its full name) → signed contribution in logit units (${CONTRIBUTION_DECIMALS} decimals); the top 3 by ` +
      'magnitude (fewer when the item would otherwise exceed one write unit), largest first when sorted by |contribution|',
  );

/** Zod schema of the stored item as v1 code writes it; `profile-item.v1.schema.json` is generated from it. */
export const profileItemSchemaV1 = z
  .object({
    profileId: z.string().min(1).describe('userId, or anon:<anonymousId>'),
    version: nonNegativeInt.describe('optimistic-locking counter, +1 per write'),
    itemSchemaVersion: z.literal(1),
    expiresAt: nonNegativeInt.describe(
      'TTL, epoch seconds: 400 days after the later of lastEventAt and the write',
    ),
    scoreStatus: z.enum(['scored', 'unscored']),
    propensity: z.number().min(0).max(1).optional().describe('purchase propensity, 4 decimals'),
    modelVersion: z.string().min(1).optional(),
    scoredAt: nonNegativeInt.optional().describe('epoch ms'),
    firstSeenAt: nonNegativeInt.describe('event time of the first event, epoch ms'),
    lastEventAt: nonNegativeInt.describe(
      'event time of the latest event, epoch ms; ages below count back from it',
    ),
    act: z
      .partialRecord(
        z.enum(Object.values(EVENT_TYPE_CODES)),
        z.union([nonNegativeInt, z.array(nonNegativeInt).length(4)]),
      )
      .describe(
        'per event type code: lifetime count, or for decayed types [count, decay1h, decay1d, decay30d]; ' +
          'decays are fixed point (2^-16 units) at the start of the half-life period holding lastEventAt',
      ),
    cat: z.record(z.string().min(1), nonNegativeInt).describe('category → 7-day affinity, fixed point 2^-16'),
    views: ageMap.describe('recently viewed productId → age in seconds'),
    searches: ageMap.describe('recent normalised search term → age in seconds'),
    aliases: ageMap.optional().describe('linked anonymousId → age in seconds'),
    orders: z
      .tuple([nonNegativeInt, nonNegativeInt, nonNegativeInt])
      .optional()
      .describe('[order count, revenue in cents, age of last purchase in seconds]'),
    cart: z
      .array(z.tuple([z.string().min(1), z.number().int(), z.number().int().min(-1), nonNegativeInt]))
      .describe(
        'cart events since the last purchase: [productId, +qty add / -qty remove, unit price cents or -1, age s]',
      ),
    session: z
      .tuple([nonNegativeInt, nonNegativeInt, nonNegativeInt, nonNegativeInt, nonNegativeInt])
      .optional()
      .describe('[session count, events in current, sessionId hash or 0, start age s, end age s]'),
    seq: z
      .record(z.string().min(1), z.string().regex(SEQUENCE_NUMBER, 'must be a decimal sequence number'))
      .describe(
        'shard → last applied Kinesis sequence number, a decimal string (up to 56 digits: more than a ' +
          'DynamoDB Number holds); Kinesis shard ids shortened to their number, others prefixed with "="',
      ),
    dedup: binary
      .refine((b) => b.byteLength % DEDUPE_ENTRY_BYTES === 0, 'must hold whole 5-byte entries')
      .describe('recent event/order id hashes: 5 bytes each (uint32 FNV-1a BE, uint8 age in minutes)'),
  })
  .strict()
  .meta({
    title: 'ProfileItem v1',
    description: 'One profile in the profiles table (DynamoDB item, shown as unmarshalled JSON).',
  });

/** A `merges` entry as v2 and v3 write it (see {@link profileItemSchemaV2}). */
const mergeEntryV3 = z.tuple([
  nonNegativeInt,
  z.record(z.string().min(1), z.string().regex(SEQUENCE_NUMBER)),
  z.tuple([nonNegativeInt, nonNegativeInt, nonNegativeInt, nonNegativeInt, nonNegativeInt]),
  nonNegativeInt,
  nonNegativeInt,
  binary,
]);

/** Zod schema of the stored item v2 (v1 plus the model outputs); `profile-item.v2.schema.json` is generated from it. */
export const profileItemSchemaV2 = profileItemSchemaV1
  .extend({
    itemSchemaVersion: z
      .union([z.literal(ITEM_READABLE_FROM_VERSION), z.literal(2)])
      .describe(
        'the oldest item schema whose readers decode this item; v2 only adds optional attributes, so v2 items ' +
          'say 1 and v1 readers keep reading them. A reader refuses a version above its own',
      ),
    churnRisk: probability
      .optional()
      .describe(`probability of no event within the model's churn horizon, ${PROBABILITY_DECIMALS} decimals`),
    nextCategories: z
      .record(z.string().min(1), probability)
      .optional()
      .describe(
        `the 3 categories the profile most likely engages with next → probability (${PROBABILITY_DECIMALS} decimals); ` +
          '"other" stands for any category outside the model\'s list; most likely first when sorted by probability',
      ),
    reasons: z
      .object({ purchase: contributions.optional(), churn: contributions.optional() })
      .optional()
      .describe('why: the features behind the purchase propensity and the churn risk'),
    riskScore: probability
      .optional()
      .describe(
        `anomaly score (${PROBABILITY_DECIMALS} decimals) from the risk signals, shared/risk/anomaly-score.ts; ` +
          'the trait risk.anomalyScore',
      ),
    risk: z
      .tuple([nonNegativeInt, nonNegativeInt, nonNegativeInt, nonNegativeInt])
      .optional()
      .describe(
        '[smoothed inter-event gap ms, its smoothed deviation ms, gaps measured (≤ 255), most events in one minute]',
      ),
    logins: z.array(nonNegativeInt).max(4).optional().describe('ages in seconds of the latest 4 logins'),
    fp: binary
      .refine((b) => b.byteLength % FINGERPRINT_ENTRY_BYTES === 0, 'must hold whole 9-byte entries')
      .optional()
      .describe(
        'device / network fingerprints (2 of each, most recently seen): 9 bytes each (uint8 kind 0 device 1 network, ' +
          'uint32 prefix of the keyed hash BE, uint16 BE age in hours of the first and of the last sighting)',
      ),
    merges: z
      .record(z.string().min(1), mergeEntryV3)
      .optional()
      .describe(
        `anonymousId merged into this user profile → [identify time, epoch s; that id's own shard → last applied ` +
          `sequence number, keyed as seq; that id's own current session as [count, events, sessionId hash or 0, ` +
          `start, end] in epoch s; the identify's sessionId hash or 0; that id's own dedupe window as its newest ` +
          `minute and 5-byte entries like dedup, aged from it]; at most ${PROFILE_LIMITS.mergedAliases}`,
      ),
    mergeRefusals: z
      .record(z.string().min(1), z.tuple([nonNegativeInt, z.enum(MERGE_REFUSAL_REASONS)]))
      .optional()
      .describe(
        `anonymousId an identify did not merge → [identify time, epoch s; reason]; the ${PROFILE_LIMITS.mergeRefusals} most recent`,
      ),
    mergedInto: z
      .string()
      .min(1)
      .optional()
      .describe(
        'on an anonymous profile merged into a user: that userId; its state is frozen, its events go there',
      ),
    linkedAt: nonNegativeInt.optional().describe('with mergedInto: event time of the identify, epoch ms'),
    linkedSession: nonNegativeInt
      .optional()
      .describe("with mergedInto: the identify's sessionId hash, 0 when it had none"),
    embedding: z
      .tuple([z.number().positive(), binary])
      .optional()
      .describe(
        `the user embedding as [scale (${EMBEDDING_SCALE_DIGITS} significant digits), one signed byte per dimension]; ` +
          'value i ≈ int8(byte i) × scale. For look-alike audiences and candidate retrieval',
      ),
  })
  .strict()
  .meta({
    title: 'ProfileItem v2',
    description:
      'One profile in the profiles table (DynamoDB item, shown as unmarshalled JSON). v2 adds the model ' +
      'outputs beside the propensity; every v2 attribute is optional, so a v1 item is a valid v2 item.',
  });

/** Zod schema of the stored item v3 (v2 plus computed traits and audiences); `profile-item.v3.schema.json` is generated from it. */
export const profileItemSchemaV3 = profileItemSchemaV2
  .extend({
    itemSchemaVersion: z
      .union([z.literal(ITEM_READABLE_FROM_VERSION), z.literal(2), z.literal(3)])
      .describe(
        'the oldest item schema whose readers decode this item; v2 and v3 only add optional attributes, so ' +
          'their items say 1 and v1 readers keep reading them. A reader refuses a version above its own',
      ),
    // Top-level and compact: they share the one write unit with everything above. The preferred
    // categories are the top keys of `cat` and the days since the last purchase `orders[2]` / 86,400,
    // so neither is stored twice.
    stage: z
      .enum(LIFECYCLE_STAGES)
      .optional()
      .describe('lifecycle stage as of lastEventAt (README, "Computed traits")'),
    rfm: z
      .string()
      .regex(/^[1-5]{3}$/, 'must be three digits 1–5')
      .optional()
      .describe('RFM cell: recency, frequency and monetary score digits, 5 best (e.g. "534")'),
    tier: z.enum(VALUE_TIERS).optional().describe('value tier, from the monetary score'),
    priceBand: z
      .enum(PRICE_BANDS)
      .optional()
      .describe('average order value (mean cart unit price before an order) band'),
    abandonedCart: z
      .tuple([nonNegativeInt, nonNegativeInt])
      .optional()
      .describe('[cart value in cents, minutes since the last cart change] while the cart is abandoned'),
    audiences: z
      .record(z.string().min(1), nonNegativeInt)
      .optional()
      .describe(
        "audience id → enteredAt (epoch ms: the profile's latest event when the audience started to hold)",
      ),
    audienceLog: z
      .record(
        z.string().min(1),
        z.union([z.tuple([nonNegativeInt]), z.tuple([nonNegativeInt, nonNegativeInt])]),
      )
      .optional()
      .describe(
        'audience id → [version] at which a current member entered, or [version, exitedAt epoch ms] of an ' +
          'exit in the last 7 days (at most 8): what a redelivery re-emits to the activation feed',
      ),
  })
  .strict()
  .meta({
    title: 'ProfileItem v3',
    description:
      'One profile in the profiles table (DynamoDB item, shown as unmarshalled JSON). v3 adds the computed ' +
      'traits and audience membership; every v2 and v3 attribute is optional, so older items are valid v3 items.',
  });

/** A signed whole number: ages in `merges` v4 entries may be negative (an identify after `lastEventAt`). */
const signedInt = z.number().int();

/** A `merges` entry as v4 writes it (see {@link profileItemSchema}). */
const mergeEntryV4 = z
  .tuple([
    signedInt,
    z.record(z.string().min(1), z.string().regex(SEQUENCE_NUMBER)),
    nonNegativeInt,
    nonNegativeInt,
    nonNegativeInt,
    signedInt,
    signedInt,
    nonNegativeInt,
    signedInt,
    binary,
  ])
  .rest(signedInt)
  .describe(
    "[age of the identify in s; that id's own shard → last applied sequence number, keyed as seq; that id's own " +
      'current session: sessions, events in it, sessionId hash or 0, start age s, end age s (with no ' +
      "session yet: start and end as they are, 0); the identify's " +
      "sessionId hash or 0; age in minutes of the newest entry of that id's own dedupe window (0 when empty); " +
      'its entries, 5 bytes each like dedup but aged from that newest entry; then, only when the id is one of ' +
      "the profile's linked aliases, its age in s as aliases holds it]. Ages count back from lastEventAt",
  );

/**
 * Zod schema of the stored item v4 (v3 with compact `merges`); `profile-item.v4.schema.json` is generated
 * from it. It accepts every older item too: `merges` in the v2/v3 form where `itemSchemaVersion` is below 4.
 */
export const profileItemSchemaV4 = profileItemSchemaV3
  .extend({
    itemSchemaVersion: z
      .union([
        z.literal(ITEM_READABLE_FROM_VERSION),
        z.literal(2),
        z.literal(3),
        z.literal(MERGES_READABLE_FROM_VERSION),
      ])
      .describe(
        'the oldest item schema whose readers decode this item: 1 unless the item has merges, 4 with them ' +
          '(v4 changed only the merges entries). A reader refuses a version above its own',
      ),
    aliases: ageMap
      .optional()
      .describe(
        'linked anonymousId → age in seconds; from v4 (itemSchemaVersion 4) only the ids not merged: a merged ' +
          "one's age is the last element of its merges entry",
      ),
    merges: z
      .record(z.string().min(1), z.union([mergeEntryV4, mergeEntryV3]))
      .optional()
      .describe(
        `anonymousId merged into this user profile → its entry, at most ${PROFILE_LIMITS.mergedAliases}: from v4 ` +
          '(itemSchemaVersion 4) the flat list described here, before it the v2 6-tuple',
      ),
  })
  .strict()
  .meta({
    title: 'ProfileItem v4',
    description:
      'One profile in the profiles table (DynamoDB item, shown as unmarshalled JSON). v4 stores merges ' +
      'compactly (items with merges say itemSchemaVersion 4); every v2, v3 and v4 attribute is optional, so ' +
      'older items are valid v4 items.',
  });

/** The attributes v5 moved into `state` (see `profile-state-blob.ts`). */
const PACKED_IN_STATE = {
  seq: true,
  dedup: true,
  session: true,
  risk: true,
  logins: true,
  fp: true,
} as const;

/**
 * Zod schema of the stored item v5, as this code writes it; `profile-item.v5.schema.json` is generated
 * from it. The readable attributes are v4's; the pipeline's bookkeeping (v4's `seq`, `dedup`, `session`,
 * `risk`, `logins`, `fp` and the bookkeeping of each `merges` entry) is one binary `state`.
 */
export const profileItemSchemaV5 = profileItemSchemaV4
  .omit(PACKED_IN_STATE)
  .extend({
    itemSchemaVersion: z
      .literal(STATE_IN_BLOB_FROM_VERSION)
      .describe(
        'the oldest item schema whose readers decode this item: 5 for every v5 item (v4 readers cannot read ' +
          'state and refuse the item by this number). A reader refuses a version above its own',
      ),
    reasons: z
      .object({ purchase: contributionsByCode.optional(), churn: contributionsByCode.optional() })
      .optional()
      .describe('why: the features behind the purchase propensity and the churn risk'),
    merges: z
      .record(z.string().min(1), signedInt)
      .optional()
      .describe(
        `anonymousId merged into this user profile → age in s of the identify that merged it (negative when ` +
          `later than lastEventAt); at most ${PROFILE_LIMITS.mergedAliases}. Its bookkeeping is in state`,
      ),
    aliases: ageMap
      .optional()
      .describe('linked anonymousId → age in seconds, the ids not merged (a merged one is kept in state)'),
    state: binary.describe(
      'the pipeline bookkeeping, opaque to readers: shard sequence marks, dedupe window, session, risk rhythm, ' +
        'logins, fingerprints, merge bookkeeping; byte layout version 1 in README "Profile item schema" ' +
        '(shared/profile/profile-state-blob.ts)',
    ),
  })
  .strict()
  .meta({
    title: `ProfileItem v${STATE_IN_BLOB_FROM_VERSION}`,
    description:
      'One profile in the profiles table (DynamoDB item, shown as unmarshalled JSON). v5 keeps every ' +
      'attribute a reader uses readable and packs the bookkeeping into state; items say itemSchemaVersion 5. ' +
      'Items written before v5 are described by profile-item.v4.schema.json.',
  });

/**
 * Zod schema of the stored item v6, as this code writes it; `profile-item.v6.schema.json` is generated
 * from it. v5 with `act` holding only lifetime counts; the decays are in `state` (layout version 2).
 */
export const profileItemSchemaV6 = profileItemSchemaV5
  .extend({
    itemSchemaVersion: z
      .literal(ITEM_SCHEMA_VERSION)
      .describe(
        'the oldest item schema whose readers decode this item: 6 for every v6 item (v5 readers read act ' +
          'and state differently and refuse the item by this number). A reader refuses a version above its own',
      ),
    act: z
      .partialRecord(z.enum(Object.values(EVENT_TYPE_CODES)), nonNegativeInt)
      .describe(
        'per event type code: lifetime count (types without events are absent). The decayed activity is ' +
          'in state; read it with this project (describeProfile, npm run profile -- get)',
      ),
    state: binary.describe(
      'the pipeline bookkeeping, opaque to readers: shard sequence marks, dedupe window, session, decayed ' +
        'activity, risk rhythm, logins, fingerprints, merge bookkeeping; byte layout version 2 in README ' +
        '"Profile item schema" (shared/profile/profile-state-blob.ts)',
    ),
  })
  .strict()
  .meta({
    title: `ProfileItem v${ITEM_SCHEMA_VERSION}`,
    description:
      'One profile in the profiles table (DynamoDB item, shown as unmarshalled JSON). v6 is v5 with act ' +
      'holding only lifetime counts (the decays moved into state); items say itemSchemaVersion 6. Items ' +
      'written before v6 are described by profile-item.v5.schema.json (and v4 before that).',
  });

/** Every item this code reads: v6, or an older item (v1–v5) until its next write stores v6. */
export const profileItemSchema = z.union([profileItemSchemaV6, profileItemSchemaV5, profileItemSchemaV4]);

/** The stored item this code writes, as passed to `marshall`. */
export type ProfileItem = z.infer<typeof profileItemSchemaV6>;

/** Metadata stored beside the state. */
export interface ProfileItemMeta {
  /** Optimistic-locking version to write. */
  version: number;
  /** Absent = the profile is stored unscored. */
  score?: ProfileScore;
  /** The computed traits to store (`stage`, `rfm`, `tier`, `priceBand`, `abandonedCart`); absent: none stored. */
  traits?: ComputedTraits;
  /** Audience membership to store (`audiences`); absent or empty: none stored. */
  audiences?: AudienceMembership;
  /** The activation log to store (`audienceLog`); absent or empty: none stored. */
  audienceLog?: AudienceLog;
  /**
   * `assessRisk(state).anomalyScore` of the default scoring, unrounded, when the caller has it already
   * (`ProfileExtras.anomalyScore`, which audience evaluation read): stored rounded as `riskScore`.
   * @default computed here
   */
  anomalyScore?: number;
  /**
   * When the item is written (epoch ms). The TTL counts from the later of this and the latest event,
   * so a backfill of old history is not expired the moment it lands. @default lastEventAt
   */
  writtenAt?: number;
}

/** What {@link decodeProfileItem} returns. */
export interface DecodedProfileItem {
  state: ProfileState;
  version: number;
  /** As stored: the oldest layout whose readers decode the item (1 for v1 and v2 items). */
  itemSchemaVersion: 1 | 2 | 3 | 4 | 5 | 6;
  scoreStatus: 'scored' | 'unscored';
  score?: ProfileScore;
  /** The stored audience membership (absent: none). */
  audiences?: AudienceMembership;
  /** The stored activation log (absent: none). */
  audienceLog?: AudienceLog;
}

/** `state.counts` index of each `act` code. */
const TYPE_INDEX_BY_CODE = new Map<string, number>(EVENT_TYPES.map((type, i) => [EVENT_TYPE_CODES[type], i]));
/** Decay slot of each event type by `state.counts` index (undefined: not decayed). */
const DECAY_SLOT_BY_TYPE_INDEX: readonly (number | undefined)[] = EVENT_TYPES.map((type) => {
  const slot = (DECAYED_EVENT_TYPES as readonly EventType[]).indexOf(type);
  return slot < 0 ? undefined : slot;
});
const HALF_LIFE_COUNT = HALF_LIVES_MS.length;

function decodeShardId(key: string): string {
  return key.startsWith('=') ? key.slice(1) : `shardId-${key.padStart(12, '0')}`;
}

function decodeMarks(value: unknown, field: string): ShardMark[] {
  return Object.entries(map(value, field))
    .map(([key, sequenceNumber]) => ({
      shardId: decodeShardId(key),
      sequenceNumber: sequenceString(sequenceNumber, key),
    }))
    .sort(byShardId);
}

/**
 * The readable identity attributes (`profile-merge.ts`): linked aliases, merged ids and refusals on a
 * user, the redirect on an anonymous profile. A merged id is listed once, in `merges` with the age of
 * its identify; its bookkeeping (and its alias age while it is still linked) goes to `state`, in the
 * code-unit order of the ids, which is the order the decoder reads the keys in.
 */
function encodeIdentity(state: ProfileState, item: ProfileItem, nowSec: number): Uint8Array<ArrayBuffer> {
  const { merges, aliases } = state;
  if (merges.length === 0) {
    if (aliases.length > 0) item.aliases = encodeAges('aliases', aliases, nowSec);
    encodeRefusalsAndRedirect(state, item);
    return encodeStateBlob(state, merges, NO_ALIAS_AGES);
  }
  const ordered = isOrderedById(merges) ? merges : merges.slice().sort(byAnonymousId);
  const aliasAges: (number | undefined)[] = [];
  const readable: Record<string, number> = {};
  let readableBytes = CONTAINER_BYTES;
  let linked: Record<string, number> | undefined;
  let linkedBytes = CONTAINER_BYTES;
  for (const m of ordered) {
    const age = nowSec - m.at;
    readable[m.anonymousId] = age;
    readableBytes += numberEntryBytes(m.anonymousId, age);
    const alias = aliases.find((e) => e.key === m.anonymousId);
    aliasAges.push(alias === undefined ? undefined : nowSec - alias.at);
  }
  for (const e of aliases) {
    if (merges.some((m) => m.anonymousId === e.key)) continue;
    const age = nowSec - e.at;
    (linked ??= {})[e.key] = age;
    linkedBytes += numberEntryBytes(e.key, age);
  }
  item.merges = readable;
  counted('merges', readableBytes);
  if (linked !== undefined) {
    item.aliases = linked;
    counted('aliases', linkedBytes);
  }
  encodeRefusalsAndRedirect(state, item);
  return encodeStateBlob(state, ordered, aliasAges);
}

const NO_ALIAS_AGES: readonly undefined[] = [];
const byAnonymousId = (a: { anonymousId: string }, b: { anonymousId: string }) =>
  a.anonymousId < b.anonymousId ? -1 : a.anonymousId > b.anonymousId ? 1 : 0;
const isOrderedById = (merges: readonly MergedAlias[]) =>
  merges.every((m, i) => i === 0 || byAnonymousId(merges[i - 1]!, m) < 0);

function encodeRefusalsAndRedirect(state: ProfileState, item: ProfileItem): void {
  if (state.mergeRefusals.length > 0) {
    item.mergeRefusals = {};
    let bytes = CONTAINER_BYTES;
    for (const r of state.mergeRefusals) {
      item.mergeRefusals[r.anonymousId] = [r.at, r.reason];
      bytes +=
        ELEMENT_BYTES + stringBytes(r.anonymousId) + pairBytes(numberBytes(r.at), stringBytes(r.reason));
    }
    counted('mergeRefusals', bytes);
  }
  if (state.redirect !== undefined) {
    item.mergedInto = state.redirect.into;
    item.linkedAt = state.redirect.linkedAt;
    item.linkedSession = state.redirect.linkedSessionKey;
    counted('mergedInto', stringBytes(item.mergedInto));
    counted('linkedAt', numberBytes(item.linkedAt));
    counted('linkedSession', numberBytes(item.linkedSession));
  }
}

const REFUSAL_REASONS: ReadonlySet<string> = new Set(MERGE_REFUSAL_REASONS);

/** A v4 `merges` entry (see {@link encodeIdentity}) into `state` (its merge, and its alias when linked). */
function decodeMergeV4(state: ProfileState, anonymousId: string, value: unknown): void {
  const entry = list(value, 'merges', undefined, anonymousId);
  if (entry.length !== 10 && entry.length !== 11)
    fail('merges', 'must be a list of 10 or 11', entry, anonymousId);
  const [at, marks, count, events, key, start, end, sharedKey, newest, window, aliasAge] = entry;
  const nowSec = Math.floor(state.lastEventAt / 1000);
  const nowMin = Math.floor(state.lastEventAt / 60_000);
  const age = (value: unknown) => int(value, 'merges', anonymousId, -Number.MAX_SAFE_INTEGER);
  const sessionCount = int(count, 'merges', anonymousId);
  const sessionAt = (value: unknown) => (sessionCount === 0 ? age(value) : nowSec - age(value));
  state.merges.push({
    anonymousId,
    at: nowSec - age(at),
    shardMarks: decodeMarks(marks, 'merges'),
    session: {
      sessionCount,
      sessionEvents: int(events, 'merges', anonymousId),
      sessionKey: int(key, 'merges', anonymousId),
      sessionStart: sessionAt(start),
      sessionEnd: sessionAt(end),
    },
    sharedSessionKey: int(sharedKey, 'merges', anonymousId),
    dedupe: unpackDedupe(bytes(window, 'merges', DEDUPE_ENTRY_BYTES, anonymousId), nowMin - age(newest)),
  });
  if (aliasAge !== undefined) state.aliases.push({ key: anonymousId, at: nowSec - age(aliasAge) });
}

/** The v1–v4 identity attributes: `merges` in its v4 or v2/v3 form, then refusals and redirect. */
function decodeIdentityV4(item: Record<string, unknown>, state: ProfileState): void {
  if (item.merges !== undefined && item.itemSchemaVersion === MERGES_READABLE_FROM_VERSION) {
    for (const [anonymousId, entry] of Object.entries(map(item.merges, 'merges')))
      decodeMergeV4(state, anonymousId, entry);
    state.merges.sort((a, b) => (a.anonymousId < b.anonymousId ? -1 : 1));
    state.aliases.sort(byRecency);
  } else if (item.merges !== undefined) {
    // The v2/v3 form, until the item's next write upgrades it.
    for (const [anonymousId, entry] of Object.entries(map(item.merges, 'merges'))) {
      const [at, marks, session, sharedKey, newest, window] = list(entry, 'merges', 6, anonymousId);
      const [count, events, key, start, end] = list(session, 'merges', 5, anonymousId);
      state.merges.push({
        anonymousId,
        at: int(at, 'merges', anonymousId),
        shardMarks: decodeMarks(marks, 'merges'),
        session: {
          sessionCount: int(count, 'merges', anonymousId),
          sessionEvents: int(events, 'merges', anonymousId),
          sessionKey: int(key, 'merges', anonymousId),
          sessionStart: int(start, 'merges', anonymousId),
          sessionEnd: int(end, 'merges', anonymousId),
        },
        sharedSessionKey: int(sharedKey, 'merges', anonymousId),
        dedupe: unpackDedupe(
          bytes(window, 'merges', DEDUPE_ENTRY_BYTES, anonymousId),
          int(newest, 'merges', anonymousId),
        ),
      });
    }
    state.merges.sort((a, b) => (a.anonymousId < b.anonymousId ? -1 : 1));
  }
  decodeRefusalsAndRedirect(item, state);
}

/**
 * The v5 bookkeeping: `state` (see `profile-state-blob.ts`) with the readable `merges` (id → identify
 * age), then refusals and redirect.
 */
function decodeBookkeepingV5(
  item: Record<string, unknown>,
  state: ProfileState,
  layout: typeof STATE_LAYOUT_VERSION | typeof STATE_LAYOUT_VERSION_V5,
): void {
  const nowSec = Math.floor(state.lastEventAt / 1000);
  let mergedIds: string[] = NO_IDS;
  const mergedAt: number[] = [];
  if (item.merges !== undefined) {
    const merges = map(item.merges, 'merges');
    mergedIds = Object.keys(merges).sort(byCodeUnits);
    for (const id of mergedIds)
      mergedAt.push(nowSec - int(merges[id], 'merges', id, -Number.MAX_SAFE_INTEGER));
  }
  if (!(item.state instanceof Uint8Array)) fail('state', 'must be binary', item.state);
  decodeStateBlob(item.state, state, mergedIds, mergedAt, layout);
  if (mergedIds.length > 0) state.aliases.sort(byRecency);
  decodeRefusalsAndRedirect(item, state);
}

const NO_IDS: string[] = [];
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function decodeRefusalsAndRedirect(item: Record<string, unknown>, state: ProfileState): void {
  if (item.mergeRefusals !== undefined) {
    for (const [anonymousId, entry] of Object.entries(map(item.mergeRefusals, 'mergeRefusals'))) {
      const [at, reason] = list(entry, 'mergeRefusals', 2, anonymousId);
      if (typeof reason !== 'string' || !REFUSAL_REASONS.has(reason)) {
        fail(
          'mergeRefusals',
          `reason must be one of ${MERGE_REFUSAL_REASONS.join(', ')}`,
          reason,
          anonymousId,
        );
      }
      state.mergeRefusals.push({
        anonymousId,
        at: int(at, 'mergeRefusals', anonymousId),
        reason: reason as MergeRefusalReason,
      });
    }
    state.mergeRefusals.sort((a, b) => b.at - a.at || (a.anonymousId < b.anonymousId ? -1 : 1));
  }
  if (item.mergedInto !== undefined) {
    state.redirect = {
      into: text(item.mergedInto, 'mergedInto'),
      linkedAt: int(item.linkedAt, 'linkedAt'),
      linkedSessionKey: int(item.linkedSession, 'linkedSession'),
    };
  }
}

// The item's size by DynamoDB's rules (`dynamodb-item-size.ts`), summed while the encoder sets each
// attribute from the sizes of what it just wrote, so fitting the reasons into one write unit needs no
// walk over the finished item (the walk was about a seventh of the write path). What `estimateItemBytes` of
// the item gives: a property test holds them equal. Module state like the state blob's buffer: an
// encode is synchronous and never re-entered.
let itemBytes = 0;

/** Counts attribute `name` holding a value of `valueBytes` (every attribute name is ASCII). */
function counted(name: string, valueBytes: number): void {
  itemBytes += name.length + valueBytes;
}

/** Bytes of a list of two values of `first` and `second` bytes. */
function pairBytes(first: number, second: number): number {
  return CONTAINER_BYTES + 2 * ELEMENT_BYTES + first + second;
}

/**
 * The DynamoDB size (`estimateItemBytes`) of the item the latest {@link encodeProfileItem} returned,
 * known from its encode without walking it.
 */
export function lastEncodedItemBytes(): number {
  return itemBytes;
}

/** Attribute `name`: each key of `list` → its age before `now`, counted. */
function encodeAges(name: string, list: readonly RecentEntry[], now: number): Record<string, number> {
  const out: Record<string, number> = {};
  let bytes = CONTAINER_BYTES;
  for (const e of list) {
    const age = now - e.at;
    out[e.key] = age;
    bytes += numberEntryBytes(e.key, age);
  }
  counted(name, bytes);
  return out;
}

function roundTo(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}
const storedProbability = (p: number) => roundTo(Math.min(1, Math.max(0, p)), PROBABILITY_DECIMALS);
const byMagnitude = (a: ScoreReason, b: ScoreReason) =>
  Math.abs(b.contribution) - Math.abs(a.contribution) ||
  (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0);
const byProbability = (a: CategoryPrediction, b: CategoryPrediction) =>
  b.probability - a.probability || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0);

/** A head's reasons, feature code → rounded contribution; its bytes added to `reasonBytes`. */
function encodeReasons(reasons: readonly ScoreReason[]): Record<string, number> {
  const out: Record<string, number> = {};
  let bytes = CONTAINER_BYTES;
  for (const r of reasons) {
    const code = featureCodeOf(r.feature);
    const contribution = roundTo(r.contribution, CONTRIBUTION_DECIMALS);
    out[code] = contribution;
    bytes += numberEntryBytes(code, contribution);
  }
  reasonBytes = bytes;
  return out;
}
/** Bytes of the map {@link encodeReasons} returned last (a variable, not a result object per head). */
let reasonBytes = 0;

/**
 * Keep a scored item within one write unit (each started KB is another unit on every write): drop the
 * least important reasons, never a head's top one, but only when that makes the item fit; an item that
 * costs two units anyway (e.g. 4 shard marks after a reshard) keeps all of them.
 */
function fitReasonsToWriteUnit(item: ProfileItem): void {
  const { reasons } = item;
  if (reasons === undefined) return;
  let bytes = itemBytes;
  if (bytes <= ITEM_BYTES_BUDGET) return;
  const droppable: { head: Record<string, number>; key: string; bytes: number; weight: number }[] = [];
  for (const head of [reasons.purchase, reasons.churn]) {
    if (head === undefined) continue;
    // Ranked by feature NAME on ties, as a reader ranks the decoded reasons (and as v4 ranked them), so
    // the codes do not change which of two equal contributions is the head's top one or dropped first.
    const ranked = Object.entries(head)
      .map(([key, contribution]) => ({ key, feature: featureNameOf(key), contribution }))
      .sort(byMagnitude);
    for (const { key, contribution } of ranked.slice(1)) {
      droppable.push({
        head,
        key,
        bytes: numberEntryBytes(key, contribution),
        weight: Math.abs(contribution),
      });
    }
  }
  if (bytes - droppable.reduce((sum, d) => sum + d.bytes, 0) > ITEM_BYTES_BUDGET) return;
  droppable.sort((a, b) => a.weight - b.weight);
  for (const d of droppable) {
    if (bytes <= ITEM_BYTES_BUDGET) break;
    delete d.head[d.key];
    bytes -= d.bytes;
  }
  itemBytes = bytes;
}

/**
 * Encode a profile for storage (layout v6).
 *
 * @param state - the profile
 * @param meta - optimistic-locking version and the optional score
 */
export function encodeProfileItem(state: ProfileState, meta: ProfileItemMeta): ProfileItem {
  const nowSec = Math.floor(state.lastEventAt / 1000);
  itemBytes = 0;
  // Lifetime counts only: the decays go to `state` (for the types counted here).
  const act: Record<string, number> = {};
  let actBytes = CONTAINER_BYTES;
  for (let t = 0; t < EVENT_TYPES.length; t++) {
    const count = state.counts[t]!;
    if (count === 0) continue;
    const code = CODE_BY_INDEX[t]!;
    act[code] = count;
    actBytes += numberEntryBytes(code, count);
  }
  counted('act', actBytes);
  const cat: Record<string, number> = {};
  let catBytes = CONTAINER_BYTES;
  for (const c of state.categories) {
    cat[c.key] = c.score;
    catBytes += numberEntryBytes(c.key, c.score);
  }
  counted('cat', catBytes);
  const cart: ProfileItem['cart'] = [];
  let cartBytes = CONTAINER_BYTES;
  for (const e of state.cart) {
    const age = nowSec - e.at;
    cart.push([e.productId, e.quantity, e.priceCents, age]);
    cartBytes +=
      ELEMENT_BYTES +
      CONTAINER_BYTES +
      4 * ELEMENT_BYTES +
      stringBytes(e.productId) +
      numberBytes(e.quantity) +
      numberBytes(e.priceCents) +
      numberBytes(age);
  }
  counted('cart', cartBytes);
  const { score } = meta;

  // Every attribute a v6 item can hold, in one order, so every item shares one hidden class (adding
  // keys one by one made each combination of optional attributes a shape of its own); `undefined`
  // attributes are not stored (`removeUndefinedValues`) and not counted by the size estimate.
  const item: ProfileItem = {
    profileId: state.profileId,
    version: meta.version,
    itemSchemaVersion: ITEM_SCHEMA_VERSION,
    expiresAt: Math.floor(Math.max(state.lastEventAt, meta.writtenAt ?? 0) / 1000) + PROFILE_TTL_SECONDS,
    scoreStatus: score === undefined ? 'unscored' : 'scored',
    propensity: undefined,
    modelVersion: undefined,
    scoredAt: undefined,
    churnRisk: undefined,
    nextCategories: undefined,
    reasons: undefined,
    embedding: undefined,
    stage: undefined,
    rfm: undefined,
    tier: undefined,
    priceBand: undefined,
    abandonedCart: undefined,
    audiences: undefined,
    audienceLog: undefined,
    riskScore: undefined,
    firstSeenAt: state.firstSeenAt,
    lastEventAt: state.lastEventAt,
    act,
    cat,
    views: encodeAges('views', state.recentProducts, nowSec),
    searches: encodeAges('searches', state.recentSearches, nowSec),
    aliases: undefined,
    merges: undefined,
    mergeRefusals: undefined,
    mergedInto: undefined,
    linkedAt: undefined,
    linkedSession: undefined,
    orders: undefined,
    cart,
    state: EMPTY_STATE,
  };
  counted('profileId', stringBytes(item.profileId));
  counted('version', numberBytes(item.version));
  counted('itemSchemaVersion', numberBytes(item.itemSchemaVersion));
  counted('expiresAt', numberBytes(item.expiresAt));
  counted('scoreStatus', stringBytes(item.scoreStatus));
  counted('firstSeenAt', numberBytes(item.firstSeenAt));
  counted('lastEventAt', numberBytes(item.lastEventAt));
  if (score !== undefined) encodeScore(score, item);
  if (state.orderCount > 0 || state.revenueCents > 0 || state.lastPurchaseAt > 0) {
    const orders: [number, number, number] = [
      state.orderCount,
      state.revenueCents,
      state.lastPurchaseAt === 0 ? 0 : nowSec - state.lastPurchaseAt,
    ];
    item.orders = orders;
    counted(
      'orders',
      CONTAINER_BYTES +
        3 * ELEMENT_BYTES +
        numberBytes(orders[0]) +
        numberBytes(orders[1]) +
        numberBytes(orders[2]),
    );
  }
  if (meta.traits !== undefined) encodeTraits(meta.traits, item);
  if (meta.audiences !== undefined && hasKeys(meta.audiences)) {
    item.audiences = { ...meta.audiences };
    let bytes = CONTAINER_BYTES;
    for (const id in item.audiences) bytes += numberEntryBytes(id, item.audiences[id]!);
    counted('audiences', bytes);
  }
  if (meta.audienceLog !== undefined && hasKeys(meta.audienceLog)) {
    item.audienceLog = { ...meta.audienceLog };
    let bytes = CONTAINER_BYTES;
    for (const id in item.audienceLog) {
      const entry = item.audienceLog[id]!;
      bytes += ELEMENT_BYTES + stringBytes(id) + CONTAINER_BYTES + ELEMENT_BYTES + numberBytes(entry[0]);
      if (entry.length === 2) bytes += ELEMENT_BYTES + numberBytes(entry[1]);
    }
    counted('audienceLog', bytes);
  }
  if (state.lastEventAt !== 0) {
    // The default scoring, as the audience field `risk.anomalyScore` reads it: one score per profile.
    item.riskScore = storedProbability(meta.anomalyScore ?? assessRisk(state).anomalyScore);
    counted('riskScore', numberBytes(item.riskScore));
  }
  item.state = encodeIdentity(state, item, nowSec);
  counted('state', item.state.byteLength);
  if (score !== undefined) fitReasonsToWriteUnit(item);
  return item;
}

const EMPTY_STATE = new Uint8Array(0);
const CODE_BY_INDEX: readonly string[] = EVENT_TYPES.map((type) => EVENT_TYPE_CODES[type]);

function hasKeys(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

function encodeScore(score: ProfileScore, item: ProfileItem): void {
  const propensity = storedProbability(score.propensity);
  item.propensity = propensity;
  item.modelVersion = score.modelVersion;
  item.scoredAt = score.scoredAt;
  counted('propensity', numberBytes(propensity));
  counted('modelVersion', stringBytes(score.modelVersion));
  counted('scoredAt', numberBytes(score.scoredAt));
  if (score.churnRisk !== undefined) {
    const churnRisk = storedProbability(score.churnRisk);
    item.churnRisk = churnRisk;
    counted('churnRisk', numberBytes(churnRisk));
  }
  if (score.nextCategories !== undefined && score.nextCategories.length > 0) {
    const next: Record<string, number> = {};
    let bytes = CONTAINER_BYTES;
    for (const c of score.nextCategories) {
      const probability = storedProbability(c.probability);
      next[c.category] = probability;
      bytes += numberEntryBytes(c.category, probability);
    }
    item.nextCategories = next;
    counted('nextCategories', bytes);
  }
  const { purchase, churn } = score.reasons ?? {};
  if ((purchase?.length ?? 0) > 0 || (churn?.length ?? 0) > 0) {
    let bytes = CONTAINER_BYTES;
    let purchaseReasons: Record<string, number> | undefined;
    let churnReasons: Record<string, number> | undefined;
    if (purchase !== undefined && purchase.length > 0) {
      purchaseReasons = encodeReasons(purchase);
      bytes += ELEMENT_BYTES + 'purchase'.length + reasonBytes;
    }
    if (churn !== undefined && churn.length > 0) {
      churnReasons = encodeReasons(churn);
      bytes += ELEMENT_BYTES + 'churn'.length + reasonBytes;
    }
    item.reasons = { purchase: purchaseReasons, churn: churnReasons };
    counted('reasons', bytes);
  }
  if (score.embedding !== undefined) {
    const { scale, bytes } = score.embedding;
    const storedScale = Number(scale.toPrecision(EMBEDDING_SCALE_DIGITS));
    item.embedding = [
      storedScale,
      // Signed bytes stored as their two's complement (Uint8Array assignment wraps modulo 256).
      pooledCopy(bytes),
    ];
    counted('embedding', pairBytes(numberBytes(storedScale), bytes.byteLength));
  }
}

function encodeTraits(traits: ComputedTraits, item: ProfileItem): void {
  item.stage = traits.lifecycle;
  item.rfm = traits.rfm.join('');
  item.tier = traits.valueTier;
  counted('stage', stringBytes(item.stage));
  counted('rfm', stringBytes(item.rfm));
  counted('tier', stringBytes(item.tier));
  if (traits.priceBand !== undefined) {
    item.priceBand = traits.priceBand;
    counted('priceBand', stringBytes(item.priceBand));
  }
  if (traits.abandonedCart !== undefined) {
    const { valueCents, ageMinutes } = traits.abandonedCart;
    item.abandonedCart = [valueCents, ageMinutes];
    counted('abandonedCart', pairBytes(numberBytes(valueCents), numberBytes(ageMinutes)));
  }
}

function decodeRisk(item: Record<string, unknown>, state: ProfileState): void {
  const { risk } = state;
  if (item.risk !== undefined) {
    const [gapMs, gapDevMs, gaps, peak] = list(item.risk, 'risk', 4);
    risk.gapMs = int(gapMs, 'risk.0');
    risk.gapDevMs = int(gapDevMs, 'risk.1');
    risk.gaps = int(gaps, 'risk.2');
    risk.peakPerMinute = int(peak, 'risk.3');
  }
  const nowSec = Math.floor(state.lastEventAt / 1000);
  if (item.logins !== undefined) {
    risk.logins = list(item.logins, 'logins')
      .map((age, i) => nowSec - int(age, 'logins', i))
      .sort((a, b) => b - a);
  }
  if (item.fp === undefined) return;
  const fp = bytes(item.fp, 'fp', FINGERPRINT_ENTRY_BYTES);
  const view = new DataView(fp.buffer, fp.byteOffset, fp.byteLength);
  const nowHour = Math.floor(state.lastEventAt / 3_600_000);
  for (let o = 0; o < fp.byteLength; o += FINGERPRINT_ENTRY_BYTES) {
    const kind = view.getUint8(o);
    if (kind > 1) fail('fp', 'kind must be 0 (device) or 1 (network)', kind, o / FINGERPRINT_ENTRY_BYTES);
    const entry: FingerprintEntry = {
      key: view.getUint32(o + 1),
      first: nowHour - view.getUint16(o + 5),
      at: nowHour - view.getUint16(o + 7),
    };
    (kind === 0 ? risk.devices : risk.networks).push(entry);
  }
  const newestFirst = (a: FingerprintEntry, b: FingerprintEntry) => b.at - a.at || b.key - a.key;
  risk.devices.sort(newestFirst);
  risk.networks.sort(newestFirst);
}

// Hand-written checks: the decoder runs once per profile per batch, and zod's generic parse cost
// more than the rest of the decode; `profileItemSchema` stays the documented contract, and a
// property test asserts that every encoded item satisfies it.
// Field paths are `field` or `field.key`, built only on failure (this runs per attribute per decode).
type Key = string | number | undefined;
function fail(field: string, rule: string, value: unknown, key?: Key): never {
  const shape = Array.isArray(value) ? `an array of ${value.length}` : value === null ? 'null' : typeof value;
  throw new ProfileItemViolation(key === undefined ? field : `${field}.${key}`, rule, shape);
}
function int(value: unknown, field: string, key?: Key, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(field, `must be an integer ≥ ${min}`, value, key);
  }
  return value;
}
function text(value: unknown, field: string, key?: Key): string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'must be a non-empty string', value, key);
  return value;
}
function bytes(value: unknown, field: string, multipleOf: number, key?: Key): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength % multipleOf !== 0) {
    fail(field, `must be binary, a multiple of ${multipleOf} bytes`, value, key);
  }
  return value;
}
function sequenceString(value: unknown, key: string): string {
  if (typeof value !== 'string' || !SEQUENCE_NUMBER.test(value)) {
    fail('seq', 'must be a decimal sequence number', value, key);
  }
  return value;
}

function probabilityOf(value: unknown, field: string, key?: Key): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    fail(field, 'must be a number in [0, 1]', value, key);
  return value;
}
function finite(value: unknown, field: string, key?: Key): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(field, 'must be a finite number', value, key);
  return value;
}

function map(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    fail(field, 'must be a map', value);
  }
  return value as Record<string, unknown>;
}
function list(value: unknown, field: string, length?: number, key?: Key): unknown[] {
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) {
    fail(field, length === undefined ? 'must be a list' : `must be a list of ${length}`, value, key);
  }
  return value;
}
// The decoder walks maps with `for…in`, not `Object.entries`: no [key, value] array per entry, and
// about 3× faster over the maps of a stored item (plain objects from `unmarshall`, whose prototype has
// no enumerable keys, so `for…in` sees exactly the own keys, in the same order).
function ages(value: unknown, field: string, now: number): RecentEntry[] {
  const entries: RecentEntry[] = [];
  if (value === undefined) return entries;
  const ageOf = map(value, field);
  for (const key in ageOf) entries.push({ key, at: now - int(ageOf[key], field, key) });
  return insertionSort(entries, byRecency);
}
const newestCartEventFirst = (a: CartEvent, b: CartEvent) =>
  cartEventIsNewer(a, b) ? -1 : cartEventIsNewer(b, a) ? 1 : 0;
const byRecency = (a: RecentEntry, b: RecentEntry) =>
  b.at - a.at || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);

function decodeReasons(value: unknown, field: string): ScoreReason[] {
  const contributionOf = map(value, field);
  const reasons: ScoreReason[] = [];
  for (const key in contributionOf)
    reasons.push({ feature: featureNameOf(key), contribution: finite(contributionOf[key], field, key) });
  return insertionSort(reasons, byMagnitude);
}

/** The v2 outputs beside the propensity; attributes a later layout adds are ignored, as v1 ignores these. */
function decodeScore(item: Record<string, unknown>): ProfileScore {
  const score: ProfileScore = {
    propensity: probabilityOf(item.propensity, 'propensity'),
    modelVersion: text(item.modelVersion, 'modelVersion'),
    scoredAt: int(item.scoredAt, 'scoredAt'),
  };
  if (item.churnRisk !== undefined) score.churnRisk = probabilityOf(item.churnRisk, 'churnRisk');
  if (item.nextCategories !== undefined) {
    const probabilityOfCategory = map(item.nextCategories, 'nextCategories');
    const next: CategoryPrediction[] = [];
    for (const category in probabilityOfCategory) {
      const probability = probabilityOf(probabilityOfCategory[category], 'nextCategories', category);
      next.push({ category, probability });
    }
    score.nextCategories = insertionSort(next, byProbability);
  }
  if (item.reasons !== undefined) {
    const { purchase, churn } = map(item.reasons, 'reasons');
    score.reasons = {};
    if (purchase !== undefined) score.reasons.purchase = decodeReasons(purchase, 'reasons.purchase');
    if (churn !== undefined) score.reasons.churn = decodeReasons(churn, 'reasons.churn');
  }
  if (item.embedding !== undefined) {
    const [scale, bytes] = list(item.embedding, 'embedding', 2);
    if (typeof scale !== 'number' || !(scale > 0 && Number.isFinite(scale))) {
      fail('embedding', 'scale must be a positive number', scale, 0);
    }
    if (!(bytes instanceof Uint8Array)) fail('embedding', 'must be binary', bytes, 1);
    const embedding = pooledInt8Array(bytes.byteLength);
    // Int8Array assignment reads each stored byte back as its signed value (modulo 256).
    for (let i = 0; i < bytes.byteLength; i++) embedding[i] = bytes[i]!;
    score.embedding = { scale, bytes: embedding };
  }
  return score;
}

/**
 * Decode a stored item (as returned by `unmarshall`), any layout v1–v6. Exact inverse of
 * {@link encodeProfileItem} for the state; the outputs come back as stored: probabilities rounded to
 * {@link PROBABILITY_DECIMALS} decimals, contributions to {@link CONTRIBUTION_DECIMALS}, the embedding
 * scale to {@link EMBEDDING_SCALE_DIGITS} significant digits (its bytes exactly), lists in rank order.
 *
 * @throws {ProfileItemViolation} when the item matches none of the layouts v1–v6
 */
export function decodeProfileItem(raw: unknown): DecodedProfileItem {
  const item = map(raw, '(item)');
  const itemSchemaVersion = item.itemSchemaVersion;
  if (
    itemSchemaVersion !== ITEM_READABLE_FROM_VERSION &&
    itemSchemaVersion !== 2 &&
    itemSchemaVersion !== 3 &&
    itemSchemaVersion !== MERGES_READABLE_FROM_VERSION &&
    itemSchemaVersion !== STATE_IN_BLOB_FROM_VERSION &&
    itemSchemaVersion !== ITEM_SCHEMA_VERSION
  ) {
    fail('itemSchemaVersion', `must be at most ${ITEM_SCHEMA_VERSION}`, itemSchemaVersion);
  }
  const lastEventAt = int(item.lastEventAt, 'lastEventAt');
  const nowSec = Math.floor(lastEventAt / 1000);
  const nowMin = Math.floor(lastEventAt / 60_000);
  const state = emptyProfile(text(item.profileId, 'profileId'));
  state.firstSeenAt = int(item.firstSeenAt, 'firstSeenAt');
  state.lastEventAt = lastEventAt;
  const decaysInAct = itemSchemaVersion !== ITEM_SCHEMA_VERSION;
  const act = map(item.act, 'act');
  for (const code in act) {
    const entry = act[code];
    const typeIndex = TYPE_INDEX_BY_CODE.get(code);
    if (typeIndex === undefined) fail('act', 'must be a known event type code', code, code);
    const slot = DECAY_SLOT_BY_TYPE_INDEX[typeIndex];
    if (slot === undefined || !decaysInAct) {
      state.counts[typeIndex] = int(entry, 'act', code);
      continue;
    }
    const values = list(entry, 'act', 1 + HALF_LIFE_COUNT, code);
    state.counts[typeIndex] = int(values[0], 'act', code);
    for (let h = 0; h < HALF_LIFE_COUNT; h++) {
      state.decays[slot * HALF_LIFE_COUNT + h] = int(values[h + 1], 'act', code);
    }
  }
  const affinityOf = map(item.cat, 'cat');
  const categories: ProfileState['categories'] = [];
  for (const key in affinityOf) categories.push({ key, score: int(affinityOf[key], 'cat', key) });
  // The encoder writes them in this order: an insertion sort finds them sorted in one pass, where
  // `sort` costs its setup besides (both are stable, so they agree on any input).
  state.categories = insertionSort(categories, byScore);
  state.recentProducts = ages(item.views, 'views', nowSec);
  state.recentSearches = ages(item.searches, 'searches', nowSec);
  state.aliases = ages(item.aliases, 'aliases', nowSec);
  if (item.orders !== undefined) {
    const [count, revenueCents, age] = list(item.orders, 'orders', 3);
    state.orderCount = int(count, 'orders.0');
    state.revenueCents = int(revenueCents, 'orders.1');
    state.lastPurchaseAt =
      state.orderCount === 0 && state.revenueCents === 0 && age === 0 ? 0 : nowSec - int(age, 'orders.2');
  }
  const storedCart = list(item.cart, 'cart');
  const cart: CartEvent[] = [];
  for (let i = 0; i < storedCart.length; i++) {
    const [productId, quantity, priceCents, age] = list(storedCart[i], 'cart', 4, i);
    cart.push({
      at: nowSec - int(age, 'cart', i),
      productId: text(productId, 'cart', i),
      quantity: int(quantity, 'cart', i, -Number.MAX_SAFE_INTEGER),
      priceCents: int(priceCents, 'cart', i, -1),
    });
  }
  state.cart = insertionSort(cart, newestCartEventFirst);
  if (itemSchemaVersion === ITEM_SCHEMA_VERSION) {
    decodeBookkeepingV5(item, state, STATE_LAYOUT_VERSION);
  } else if (itemSchemaVersion === STATE_IN_BLOB_FROM_VERSION) {
    decodeBookkeepingV5(item, state, STATE_LAYOUT_VERSION_V5);
  } else {
    decodeBookkeepingV4(item, state, nowSec, nowMin);
  }

  const scoreStatus = item.scoreStatus;
  if (scoreStatus !== 'scored' && scoreStatus !== 'unscored')
    fail('scoreStatus', "must be 'scored' or 'unscored'", scoreStatus);
  const decoded: DecodedProfileItem = {
    state,
    version: int(item.version, 'version'),
    itemSchemaVersion,
    scoreStatus,
  };
  if (scoreStatus === 'scored') decoded.score = decodeScore(item);
  if (item.audiences !== undefined) {
    const audiences: AudienceMembership = {};
    const enteredAtOf = map(item.audiences, 'audiences');
    for (const id in enteredAtOf) audiences[id] = int(enteredAtOf[id], 'audiences', id);
    decoded.audiences = audiences;
  }
  if (item.audienceLog !== undefined) decoded.audienceLog = decodeAudienceLog(item.audienceLog);
  return decoded;
}

/** The v1–v4 bookkeeping attributes, until the item's next write stores v5. */
function decodeBookkeepingV4(
  item: Record<string, unknown>,
  state: ProfileState,
  nowSec: number,
  nowMin: number,
): void {
  if (item.session !== undefined) {
    const [count, events, key, startAge, endAge] = list(item.session, 'session', 5);
    state.sessionCount = int(count, 'session.0');
    state.sessionEvents = int(events, 'session.1');
    state.sessionKey = int(key, 'session.2');
    state.sessionStart = nowSec - int(startAge, 'session.3');
    state.sessionEnd = nowSec - int(endAge, 'session.4');
  }
  state.shardMarks = decodeMarks(item.seq, 'seq');
  decodeIdentityV4(item, state);
  state.dedupe = unpackDedupe(bytes(item.dedup, 'dedup', DEDUPE_ENTRY_BYTES), nowMin);
  decodeRisk(item, state);
}

function decodeAudienceLog(raw: unknown): AudienceLog {
  const log: Record<string, [number] | [number, number]> = {};
  for (const [id, entry] of Object.entries(map(raw, 'audienceLog'))) {
    if (!Array.isArray(entry) || (entry.length !== 1 && entry.length !== 2))
      fail(`audienceLog.${id}`, 'must be [version] or [version, exitedAt]', entry);
    const version = int(entry[0], 'audienceLog', id);
    log[id] = entry.length === 1 ? [version] : [version, int(entry[1], 'audienceLog', id)];
  }
  return log;
}

/**
 * The JSON Schema (draft 2020-12) of the item layout `version`, as committed in
 * `profile-item.v<version>.schema.json`. Binary attributes appear as base64 strings, as in DynamoDB JSON.
 */
export function profileItemJsonSchema(
  version: 1 | 2 | 3 | 4 | 5 | 6 = ITEM_SCHEMA_VERSION,
): Record<string, unknown> {
  const schema = {
    1: profileItemSchemaV1,
    2: profileItemSchemaV2,
    3: profileItemSchemaV3,
    4: profileItemSchemaV4,
    5: profileItemSchemaV5,
    6: profileItemSchemaV6,
  }[version];
  return z.toJSONSchema(schema, {
    unrepresentable: 'any',
    override: (ctx) => {
      if (ctx.zodSchema instanceof z.ZodCustom) {
        ctx.jsonSchema.type = 'string';
        ctx.jsonSchema.contentEncoding = 'base64';
      }
    },
  }) as Record<string, unknown>;
}
