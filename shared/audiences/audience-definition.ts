/**
 * Audience definitions: declarative condition trees over a profile's traits, model outputs, counters
 * and recency windows, published as one versioned set (see `audience-set.v1.schema.json`, generated
 * from {@link audienceSetSchema}).
 *
 * A condition is one of:
 * - `{ "all": [c, …] }`, `{ "any": [c, …] }`, `{ "not": c }`;
 * - a number: `{ "field": "purchaseProbability", "gte": 0.6 }` with any of `gt` `gte` `lt` `lte` `eq`
 *   (all must hold); fields in {@link NUMERIC_FIELDS};
 * - a label: `{ "field": "lifecycle", "in": ["lapsed", "churned"] }` (fields in {@link LABEL_FIELDS});
 * - a list: `{ "field": "nextCategories", "containsAny": ["shoes"] }` (fields in {@link LIST_FIELDS});
 * - a recency window: `{ "event": "add_to_cart", "withinHours": 24 }`: the profile's latest event of
 *   that type is at most that long before its latest event;
 * - a look-alike: `{ "similarTo": "recent-buyers", "gte": 0.8 }`: cosine similarity of the profile's
 *   embedding to a centroid the serving model publishes.
 *
 * A condition on a value the profile does not have (no model, never bought, no embedding) is false;
 * `not` then makes it true.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../contract/event-contract';
import { FieldRuleError } from '../errors';
import { SUSPICIOUS_SCORE } from '../risk/anomaly-score';
import { DECAYED_EVENT_TYPES, HALF_LIFE_LABELS } from '../profile/profile-state';
import { LIFECYCLE_STAGES, PRICE_BANDS, VALUE_TIERS } from '../traits/computed-traits';

/** Number fields a condition can bound. */
export const NUMERIC_FIELDS = [
  'purchaseProbability',
  'churnProbability',
  'rfm.recency',
  'rfm.frequency',
  'rfm.monetary',
  'daysSinceLastPurchase',
  'abandonedCart.valueCents',
  'abandonedCart.ageMinutes',
  'orders',
  'revenueCents',
  'sessions',
  /** The security-risk anomaly score, 0–1 (`shared/risk/anomaly-score.ts`, the item's `riskScore`). */
  'risk.anomalyScore',
  /** Lifetime count of one event type. */
  ...EVENT_TYPES.map((t) => `count.${t}` as const),
  /** Exponentially decayed count (half-life 1h / 1d / 30d) of one event type, as of the latest event. */
  ...DECAYED_EVENT_TYPES.flatMap((t) => HALF_LIFE_LABELS.map((h) => `activity.${t}.${h}` as const)),
] as const;
/** Label fields and the values each can take. */
export const LABEL_FIELDS = {
  lifecycle: LIFECYCLE_STAGES,
  valueTier: VALUE_TIERS,
  priceBand: PRICE_BANDS,
} as const;
/** List fields (category keys). */
export const LIST_FIELDS = ['preferredCategories', 'nextCategories'] as const;
/** Event types a recency window can name (the state keeps when each last happened). */
export const WINDOW_EVENTS = ['purchase', 'add_to_cart', 'product_view'] as const;

/** A condition tree node (see the module comment). */
export type AudienceCondition =
  | { all: AudienceCondition[] }
  | { any: AudienceCondition[] }
  | { not: AudienceCondition }
  | NumericCondition
  | LabelCondition
  | ListCondition
  | WindowCondition
  | SimilarityCondition;

const bounds = {
  gt: z.number().optional(),
  gte: z.number().optional(),
  lt: z.number().optional(),
  lte: z.number().optional(),
  eq: z.number().optional(),
};
const hasBound = (c: Record<string, unknown>) =>
  ['gt', 'gte', 'lt', 'lte', 'eq'].some((k) => c[k] !== undefined);
const needsBound = { message: 'needs at least one of gt, gte, lt, lte, eq' };

const numericConditionSchema = z
  .object({ field: z.enum(NUMERIC_FIELDS), ...bounds })
  .strict()
  .refine(hasBound, needsBound);
type NumericCondition = z.infer<typeof numericConditionSchema>;

const labelConditionSchema = z.union(
  (Object.keys(LABEL_FIELDS) as (keyof typeof LABEL_FIELDS)[]).map((field) =>
    z.object({ field: z.literal(field), in: z.array(z.enum(LABEL_FIELDS[field])).min(1) }).strict(),
  ),
);
type LabelCondition = { field: keyof typeof LABEL_FIELDS; in: string[] };

const listConditionSchema = z
  .object({ field: z.enum(LIST_FIELDS), containsAny: z.array(z.string().min(1)).min(1) })
  .strict();
type ListCondition = z.infer<typeof listConditionSchema>;

const windowConditionSchema = z
  .object({ event: z.enum(WINDOW_EVENTS), withinHours: z.number().positive() })
  .strict();
type WindowCondition = z.infer<typeof windowConditionSchema>;

const similarityConditionSchema = z
  .object({ similarTo: z.string().regex(/^[a-z0-9][a-z0-9-]*$/), gte: z.number().min(-1).max(1) })
  .strict();
type SimilarityCondition = z.infer<typeof similarityConditionSchema>;

/** The condition grammar as one recursive zod schema (published as JSON Schema). */
export const audienceConditionSchema: z.ZodType<AudienceCondition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(audienceConditionSchema).min(1) }).strict(),
    z.object({ any: z.array(audienceConditionSchema).min(1) }).strict(),
    z.object({ not: audienceConditionSchema }).strict(),
    numericConditionSchema,
    labelConditionSchema,
    listConditionSchema,
    windowConditionSchema,
    similarityConditionSchema,
  ]),
);

/** Audience ids become attribute-map keys and index keys: short, lowercase, hyphenated. */
const audienceIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,47}$/,
    'must be 1–48 lowercase letters, digits or hyphens, not starting with a hyphen',
  );

/** One audience. */
export const audienceDefinitionSchema = z
  .object({
    id: audienceIdSchema,
    description: z.string().min(1).max(500),
    condition: audienceConditionSchema,
  })
  .strict();
/** One audience definition. */
export type AudienceDefinition = z.infer<typeof audienceDefinitionSchema>;

/** The document published to S3: every audience ingest evaluates. */
export const audienceSetSchema = z
  .object({
    audienceSetVersion: z.literal(1),
    audiences: z.array(audienceDefinitionSchema).max(50),
  })
  .strict()
  .meta({
    title: 'profile-stream audience set v1',
    description:
      'Every audience the ingest function evaluates for each changed profile; published with `npm run audience -- publish <file>`.',
  });
/** A set of audience definitions. */
export type AudienceSet = z.infer<typeof audienceSetSchema>;

/** A definition that breaks the grammar; `field` is its dotted path (`audiences.1.condition.all.0.gte`). */
export class AudienceDefinitionViolation extends FieldRuleError {
  override readonly name = 'AudienceDefinitionViolation';
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function violation(path: readonly (string | number)[], rule: string, value: unknown): never {
  throw new AudienceDefinitionViolation(path.length === 0 ? '(root)' : path.join('.'), rule, describe(value));
}

function parseLeaf<T>(schema: z.ZodType<T>, raw: unknown, path: (string | number)[]): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  let value: unknown = raw;
  for (const key of issue.path)
    value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
  return violation([...path, ...issue.path.map(String)], issue.message, value);
}

const KIND_KEYS = ['all', 'any', 'not', 'field', 'event', 'similarTo'] as const;

/**
 * Validate a condition node by node, so an error names the exact node and rule (a union parse would
 * only say that no alternative matched).
 */
function parseCondition(raw: unknown, path: (string | number)[]): AudienceCondition {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return violation(path, 'must be an object', raw);
  const node = raw as Record<string, unknown>;
  const kinds = KIND_KEYS.filter((k) => k in node);
  if (kinds.length !== 1)
    return violation(path, `must have exactly one of ${KIND_KEYS.join(', ')}`, Object.keys(node));
  const kind = kinds[0]!;
  if (kind === 'all' || kind === 'any') {
    const children = node[kind];
    if (!Array.isArray(children) || children.length === 0)
      return violation([...path, kind], 'must be a non-empty list of conditions', children);
    const extra = Object.keys(node).find((k) => k !== kind);
    if (extra !== undefined) return violation([...path, extra], 'is not allowed here', node[extra]);
    const parsed = children.map((c, i) => parseCondition(c, [...path, kind, i]));
    return kind === 'all' ? { all: parsed } : { any: parsed };
  }
  if (kind === 'not') {
    const extra = Object.keys(node).find((k) => k !== kind);
    if (extra !== undefined) return violation([...path, extra], 'is not allowed here', node[extra]);
    return { not: parseCondition(node.not, [...path, 'not']) };
  }
  if (kind === 'event') return parseLeaf(windowConditionSchema, raw, path);
  if (kind === 'similarTo') return parseLeaf(similarityConditionSchema, raw, path);
  const field = node.field;
  if (typeof field === 'string' && field in LABEL_FIELDS) {
    const allowed = LABEL_FIELDS[field as keyof typeof LABEL_FIELDS];
    return parseLeaf(
      z.object({ field: z.literal(field), in: z.array(z.enum(allowed)).min(1) }).strict(),
      raw,
      path,
    ) as LabelCondition;
  }
  if ((LIST_FIELDS as readonly unknown[]).includes(field)) return parseLeaf(listConditionSchema, raw, path);
  if ((NUMERIC_FIELDS as readonly unknown[]).includes(field))
    return parseLeaf(numericConditionSchema, raw, path);
  return violation(
    [...path, 'field'],
    'must be a known field (see NUMERIC_FIELDS, LABEL_FIELDS, LIST_FIELDS)',
    field,
  );
}

/**
 * Validate parsed JSON as an {@link AudienceSet}.
 *
 * @throws {AudienceDefinitionViolation} naming the first offending field and the rule it breaks
 */
export function parseAudienceSet(raw: unknown): AudienceSet {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return violation([], 'must be an object', raw);
  const doc = raw as Record<string, unknown>;
  const extra = Object.keys(doc).find((k) => k !== 'audienceSetVersion' && k !== 'audiences');
  if (extra !== undefined) return violation([extra], 'is not allowed here', doc[extra]);
  if (doc.audienceSetVersion !== 1)
    return violation(['audienceSetVersion'], 'must be 1', doc.audienceSetVersion);
  if (!Array.isArray(doc.audiences)) return violation(['audiences'], 'must be a list', doc.audiences);
  const seen = new Set<string>();
  const audiences = doc.audiences.map((entry, i): AudienceDefinition => {
    const path = ['audiences', i];
    const head = parseLeaf(
      audienceDefinitionSchema.omit({ condition: true }).extend({ condition: z.unknown() }),
      entry,
      path,
    );
    if (seen.has(head.id)) return violation([...path, 'id'], 'must be unique in the set', head.id);
    seen.add(head.id);
    return {
      id: head.id,
      description: head.description,
      condition: parseCondition(head.condition, [...path, 'condition']),
    };
  });
  // The whole-document schema is the published contract: what passed the node-by-node checks must pass it.
  return parseLeaf(audienceSetSchema, { audienceSetVersion: 1, audiences }, []);
}

/** The audiences every deployment starts from (published by `npm run audience -- publish --built-in`). */
export const BUILT_IN_AUDIENCES: AudienceSet = {
  audienceSetVersion: 1,
  audiences: [
    {
      id: 'cart-abandoners',
      description:
        'Left a cart for an hour or more while the model expects a purchase: a reminder may convert.',
      condition: {
        all: [
          { field: 'abandonedCart.valueCents', gt: 0 },
          {
            any: [
              { field: 'purchaseProbability', gte: 0.3 },
              { event: 'add_to_cart', withinHours: 24 },
            ],
          },
        ],
      },
    },
    {
      id: 'lapsed-high-value',
      description: 'Bought a lot once, but not for a long time: a win-back offer.',
      condition: {
        all: [
          { field: 'lifecycle', in: ['at_risk', 'lapsed', 'churned'] },
          {
            any: [
              { field: 'valueTier', in: ['high'] },
              { field: 'rfm.monetary', gte: 4 },
            ],
          },
        ],
      },
    },
    {
      id: 'buyer-look-alikes',
      description: 'Not a recent buyer, but close to them in the model embedding: prospecting.',
      condition: {
        all: [{ similarTo: 'recent-buyers', gte: 0.8 }, { not: { event: 'purchase', withinHours: 24 * 7 } }],
      },
    },
    {
      id: 'suspicious',
      description:
        'Behaves like a bot or a taken-over account (anomaly score at the flagging threshold): review before fulfilment.',
      condition: { field: 'risk.anomalyScore', gte: SUSPICIOUS_SCORE },
    },
  ],
};
