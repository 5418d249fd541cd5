/**
 * Event contract v1: what upstream shops publish, one JSON object per Kinesis record.
 *
 * The zod schema below is the single definition: the ingest function validates with it, the producer
 * validates with it before sending, and `event-contract.v1.schema.json` is generated from it for the
 * people on the producing side (see `npm run schemas`).
 */
import { fieldRuleFromZod, FieldRuleError, type FieldRuleIssue } from '../errors';
import type { KeyedHasher } from '../privacy/keyed-hash';
import { addContextFingerprints, type ContextFingerprints } from '../privacy/pseudonymise';
import { z } from 'zod';

/** The only contract version this build accepts; a higher one is quarantined, never guessed at. */
export const CONTRACT_SCHEMA_VERSION = 1 as const;
/** Largest accepted record, in bytes of UTF-8 JSON. */
export const MAX_EVENT_BYTES = 16 * 1024;
/** How far ahead of its receipt (arrival in Kinesis at ingest) `occurredAt` may be: clock skew allowance. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
/** Earliest accepted `occurredAt`: 2000-01-01T00:00:00Z. */
export const MIN_OCCURRED_AT_MS = Date.UTC(2000, 0, 1);

/** Every behaviour the contract knows. */
export const EVENT_TYPES = [
  'page_view',
  'product_view',
  'search',
  'add_to_cart',
  'remove_from_cart',
  'add_to_wishlist',
  'begin_checkout',
  'purchase',
  'login',
  'identify',
] as const;
/** One of {@link EVENT_TYPES}. */
export type EventType = (typeof EVENT_TYPES)[number];

/** Device classes in `context.device`. */
export const DEVICE_TYPES = ['mobile', 'desktop', 'tablet', 'other'] as const;

/** Context fields that are personal data: accepted on input, dropped before anything is stored or logged. */
export const PERSONAL_CONTEXT_FIELDS = ['ip', 'userAgent', 'email'] as const;

/** Types that must name a product. */
const NEEDS_PRODUCT: ReadonlySet<EventType> = new Set([
  'product_view',
  'add_to_cart',
  'remove_from_cart',
  'add_to_wishlist',
]);

const ISO_4217 = new Set(Intl.supportedValuesOf('currency'));
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const NOT_ANONYMOUS = /^(?!anon:)/;
const DOTTED_SEGMENTS = /^[^.\s]+(\.[^.\s]+)*$/;
const DECIMAL_SEQUENCE_NUMBER = /^\d{1,128}$/;

const id = (max = 128) => z.string().min(1).max(max);
const money = z.number().finite().min(0);

const contextSchema = z.object({
  device: z.enum(DEVICE_TYPES).optional(),
  channel: z.string().min(1).max(64).optional(),
  ip: z.string().max(64).optional(),
  userAgent: z.string().max(1024).optional(),
  email: z.string().max(320).optional(),
});

// Epoch milliseconds first: most producers send numbers, and a union stops at the first match.
const occurredAtSchema = z.union([
  z.number().int('epoch milliseconds must be an integer').min(0),
  z
    .string()
    .regex(RFC3339, 'must be an RFC 3339 timestamp with an offset')
    .refine((s) => !Number.isNaN(Date.parse(s)), 'must be a valid calendar date'),
]);

/**
 * The replay envelope: where a republished record first sat in the stream. `npm run replay` sets it on
 * repaired quarantine records and on-failure payloads, and ingest sequences such a record under this
 * identity, so the profile's high-water mark for that shard recognises one already applied exactly.
 * Producers never set it.
 */
const replayOfSchema = z.object({
  shardId: id(),
  sequenceNumber: z.string().regex(DECIMAL_SEQUENCE_NUMBER, 'must be a decimal Kinesis sequence number'),
});

/**
 * The wire shape a producer sends (before normalisation), field by field. Exported for JSON Schema
 * generation. The cross-field rules live in {@link crossFieldViolation}: checked after this schema, in
 * plain code, they cost far less than a zod `superRefine` on every event (README, "Benchmarks").
 */
export const eventInputSchema = z.object({
  schemaVersion: z.literal(CONTRACT_SCHEMA_VERSION),
  eventId: id(),
  type: z.enum(EVENT_TYPES),
  // "anon:<id>" names anonymous profiles: a userId shaped like one would share its profile.
  userId: id()
    .regex(NOT_ANONYMOUS, 'must not start with "anon:" (reserved for anonymous profiles)')
    .optional(),
  anonymousId: id().optional(),
  sessionId: id().optional(),
  occurredAt: occurredAtSchema,
  productId: id().optional(),
  categoryId: id().optional(),
  categoryPath: z
    .string()
    .max(256)
    .regex(DOTTED_SEGMENTS, 'must be dot-separated segments without spaces')
    .optional(),
  brand: z.string().min(1).max(128).optional(),
  price: money.optional(),
  currency: z
    .string()
    .refine((c) => ISO_4217.has(c), 'must be an ISO 4217 currency code')
    .optional(),
  quantity: z.number().int().min(1).max(10_000).optional(),
  orderId: id().optional(),
  revenue: money.optional(),
  query: z.string().min(1).max(256).optional(),
  context: contextSchema.optional(),
  replayOf: replayOfSchema.optional(),
});

type EventFields = z.output<typeof eventInputSchema>;

/** The first cross-field rule an event breaks: `[field, rule]`, or undefined when it keeps them all. */
function crossFieldViolation(e: EventFields): [string, string] | undefined {
  if (e.userId === undefined && e.anonymousId === undefined)
    return ['userId', 'userId or anonymousId is required'];
  if (e.type === 'identify' && (e.userId === undefined || e.anonymousId === undefined)) {
    return [e.userId === undefined ? 'userId' : 'anonymousId', 'identify needs both userId and anonymousId'];
  }
  if (NEEDS_PRODUCT.has(e.type) && e.productId === undefined)
    return ['productId', `${e.type} needs productId`];
  if (e.type === 'search' && e.query === undefined) return ['query', 'search needs query'];
  if (e.type === 'purchase') {
    if (e.orderId === undefined) return ['orderId', 'purchase needs orderId'];
    if (e.revenue === undefined && e.price === undefined)
      return ['revenue', 'purchase needs revenue or price'];
  }
  return undefined;
}

const EVENT_TYPE_SET: ReadonlySet<unknown> = new Set(EVENT_TYPES);
const DEVICE_TYPE_SET: ReadonlySet<unknown> = new Set(DEVICE_TYPES);

const isText = (v: unknown, min: number, max: number): v is string =>
  typeof v === 'string' && v.length >= min && v.length <= max;
const isId = (v: unknown): v is string => isText(v, 1, 128);
const isMoney = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;

/**
 * Whether a string matches {@link DOTTED_SEGMENTS} (non-empty segments of non-space characters,
 * separated by single dots): a scan of its characters, the regular expression only for text beyond
 * ASCII (whose spaces `\s` knows and this scan does not). A property test holds the two equal.
 */
export function isDottedSegments(text: string): boolean {
  // A dot "before" the first character: a leading dot is an empty segment.
  let afterDot = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return DOTTED_SEGMENTS.test(text);
    if (c === 0x2e) {
      if (afterDot) return false;
      afterDot = true;
    } else if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) {
      return false;
    } else {
      afterDot = false;
    }
  }
  return !afterDot;
}

/**
 * What the fast path learnt about a record besides its fields. An out-parameter, so that the decoder
 * can skip its scan for unknown fields (one loop over every record's keys) when there are none, and
 * keep the record JSON.parse gave it as the event, without an object per record.
 */
export interface FastPathFindings {
  /** Whether the record or its `context` holds fields the contract does not know (set, never cleared). */
  unknownFields: boolean;
  /**
   * Whether the record already is the schema's output: it and its `context` hold only known fields, in
   * the schema's order, and it has no `replayOf` (whose unknown fields the schema drops without a word).
   * Always set; meaningful only when the fast path vouched for the record.
   */
  inSchemaShape?: boolean;
  /**
   * When the fast path refused a plain object for one of its fields: the first field in the schema's
   * order whose value breaks a rule (the fields before it keep theirs). Undefined otherwise.
   */
  brokenField?: keyof EventFields;
}

/** How a record's own fields compare with the known ones a fast path read (see {@link readEveryKnownField}). */
const FIELD_LIST = {
  /** Not the fields read: the schema must parse the record. */
  unread: 0,
  /** The fields read and nothing else, in the schema's order. */
  inSchemaShape: 1,
  /** The fields read and nothing else, in another order. */
  reordered: 2,
  /** The fields read plus fields the contract does not know. */
  withUnknownFields: 3,
} as const;
type FieldList = (typeof FIELD_LIST)[keyof typeof FIELD_LIST];

/**
 * Whether the `read` fields a fast path took from `record` are all it holds of `known`: none of them
 * holds an explicit undefined (which zod keeps as a present key) and none is a field the schema knows
 * but the fast path does not read (a field added to the schema is then left to the schema); and
 * whether the record holds unknown fields besides, or its fields in another order than `order`.
 */
function readEveryKnownField(
  record: Record<string, unknown>,
  read: number,
  known: ReadonlySet<string>,
  order: readonly string[],
): FieldList {
  // Own enumerable fields listed by `Object.keys`, not counted by `for…in`: the `Object.hasOwn` per key
  // that loop needs is not optimised away, and cost three times the list (≈ 0.2 µs per record).
  const fields = Object.keys(record);
  if (fields.length === read) {
    // Every own field is one that was read, hence known: only their order is left to see.
    let next = 0;
    for (const field of fields) {
      while (next < order.length && order[next] !== field) next++;
      if (next === order.length) return FIELD_LIST.reordered;
      next++;
    }
    return FIELD_LIST.inSchemaShape;
  }
  let defined = 0;
  for (const key of fields) {
    if (!known.has(key)) continue;
    if (record[key] === undefined) return FIELD_LIST.unread;
    defined++;
  }
  // More own fields than known ones read, and every known one read: the others are unknown.
  return defined === read ? FIELD_LIST.withUnknownFields : FIELD_LIST.unread;
}

function contextKeepsFieldRules(raw: unknown, findings: FastPathFindings): boolean {
  if (!isPlainObject(raw)) return false;
  const { device, channel, ip, userAgent, email } = raw;
  let read = 0;
  if (device !== undefined) {
    if (!DEVICE_TYPE_SET.has(device)) return false;
    read++;
  }
  if (channel !== undefined) {
    if (!isText(channel, 1, 64)) return false;
    read++;
  }
  if (ip !== undefined) {
    if (!isText(ip, 0, 64)) return false;
    read++;
  }
  if (userAgent !== undefined) {
    if (!isText(userAgent, 0, 1024)) return false;
    read++;
  }
  if (email !== undefined) {
    if (!isText(email, 0, 320)) return false;
    read++;
  }
  const fields = readEveryKnownField(raw, read, KNOWN_CONTEXT, CONTEXT_FIELD_ORDER);
  if (fields === FIELD_LIST.unread) return false;
  if (fields === FIELD_LIST.withUnknownFields) findings.unknownFields = true;
  if (fields !== FIELD_LIST.inSchemaShape) findings.inSchemaShape = false;
  return true;
}

function replayOfKeepsFieldRules(raw: unknown): boolean {
  if (!isPlainObject(raw)) return false;
  const { shardId, sequenceNumber } = raw;
  if (!isId(shardId) || typeof sequenceNumber !== 'string' || !DECIMAL_SEQUENCE_NUMBER.test(sequenceNumber))
    return false;
  // Unknown fields of the envelope are neither reported nor kept (as `validateEvent` has always done).
  return readEveryKnownField(raw, 2, KNOWN_REPLAY_OF, REPLAY_OF_FIELD_ORDER) !== FIELD_LIST.unread;
}

/** Notes the field a record breaks in `findings`; false, the verdict. */
function breaks(findings: FastPathFindings, field: keyof EventFields): false {
  findings.brokenField = field;
  return false;
}

/**
 * The verdict of the fast path: whether `raw` keeps every field rule of {@link eventInputSchema} as
 * the schema would judge it (never true for a record the schema refuses). Reads and checks, builds
 * nothing; sets `findings`.
 */
function keepsFieldRules(raw: unknown, findings: FastPathFindings): raw is Record<string, unknown> {
  findings.brokenField = undefined;
  if (!isPlainObject(raw)) return false;
  findings.inSchemaShape = true;
  const { schemaVersion, eventId, type, userId, anonymousId, sessionId, occurredAt } = raw;
  if (schemaVersion !== CONTRACT_SCHEMA_VERSION) return breaks(findings, 'schemaVersion');
  if (!isId(eventId)) return breaks(findings, 'eventId');
  if (!EVENT_TYPE_SET.has(type)) return breaks(findings, 'type');
  let read = 3;
  if (userId !== undefined) {
    // The schema's NOT_ANONYMOUS, without a regular expression.
    if (!isId(userId) || userId.startsWith('anon:')) return breaks(findings, 'userId');
    read++;
  }
  if (anonymousId !== undefined) {
    if (!isId(anonymousId)) return breaks(findings, 'anonymousId');
    read++;
  }
  if (sessionId !== undefined) {
    if (!isId(sessionId)) return breaks(findings, 'sessionId');
    read++;
  }
  if (typeof occurredAt === 'number') {
    if (!Number.isSafeInteger(occurredAt) || occurredAt < 0) return breaks(findings, 'occurredAt');
  } else if (
    typeof occurredAt !== 'string' ||
    !RFC3339.test(occurredAt) ||
    Number.isNaN(Date.parse(occurredAt))
  ) {
    return breaks(findings, 'occurredAt');
  }
  read++;
  const { productId, categoryId, categoryPath, brand, price, currency, quantity } = raw;
  if (productId !== undefined) {
    if (!isId(productId)) return breaks(findings, 'productId');
    read++;
  }
  if (categoryId !== undefined) {
    if (!isId(categoryId)) return breaks(findings, 'categoryId');
    read++;
  }
  if (categoryPath !== undefined) {
    if (!isText(categoryPath, 0, 256) || !isDottedSegments(categoryPath))
      return breaks(findings, 'categoryPath');
    read++;
  }
  if (brand !== undefined) {
    if (!isText(brand, 1, 128)) return breaks(findings, 'brand');
    read++;
  }
  if (price !== undefined) {
    if (!isMoney(price)) return breaks(findings, 'price');
    read++;
  }
  if (currency !== undefined) {
    if (typeof currency !== 'string' || !ISO_4217.has(currency)) return breaks(findings, 'currency');
    read++;
  }
  if (quantity !== undefined) {
    if (!Number.isInteger(quantity) || (quantity as number) < 1 || (quantity as number) > 10_000)
      return breaks(findings, 'quantity');
    read++;
  }
  const { orderId, revenue, query, context, replayOf } = raw;
  if (orderId !== undefined) {
    if (!isId(orderId)) return breaks(findings, 'orderId');
    read++;
  }
  if (revenue !== undefined) {
    if (!isMoney(revenue)) return breaks(findings, 'revenue');
    read++;
  }
  if (query !== undefined) {
    if (!isText(query, 1, 256)) return breaks(findings, 'query');
    read++;
  }
  if (context !== undefined) {
    if (!contextKeepsFieldRules(context, findings)) return breaks(findings, 'context');
    read++;
  }
  if (replayOf !== undefined) {
    if (!replayOfKeepsFieldRules(replayOf)) return breaks(findings, 'replayOf');
    findings.inSchemaShape = false;
    read++;
  }
  const fields = readEveryKnownField(raw, read, KNOWN_TOP, EVENT_FIELD_ORDER);
  if (fields === FIELD_LIST.unread) return false;
  if (fields === FIELD_LIST.withUnknownFields) findings.unknownFields = true;
  if (fields !== FIELD_LIST.inSchemaShape) findings.inSchemaShape = false;
  return true;
}

/**
 * The schema's output for a record {@link keepsFieldRules} vouched for: a fresh object with the known
 * fields in shape order (and so are its context and replay envelope). Named field reads and writes on
 * purpose: keyed ones by a list of names cost as much as the checks.
 */
function schemaOutputOf(raw: Record<string, unknown>): EventFields {
  const { schemaVersion, eventId, type, userId, anonymousId, sessionId, occurredAt } = raw;
  const out: Record<string, unknown> = { schemaVersion, eventId, type };
  if (userId !== undefined) out.userId = userId;
  if (anonymousId !== undefined) out.anonymousId = anonymousId;
  if (sessionId !== undefined) out.sessionId = sessionId;
  out.occurredAt = occurredAt;
  const { productId, categoryId, categoryPath, brand, price, currency, quantity } = raw;
  if (productId !== undefined) out.productId = productId;
  if (categoryId !== undefined) out.categoryId = categoryId;
  if (categoryPath !== undefined) out.categoryPath = categoryPath;
  if (brand !== undefined) out.brand = brand;
  if (price !== undefined) out.price = price;
  if (currency !== undefined) out.currency = currency;
  if (quantity !== undefined) out.quantity = quantity;
  const { orderId, revenue, query, context, replayOf } = raw;
  if (orderId !== undefined) out.orderId = orderId;
  if (revenue !== undefined) out.revenue = revenue;
  if (query !== undefined) out.query = query;
  if (context !== undefined) {
    const { device, channel, ip, userAgent, email } = context as Record<string, unknown>;
    const outContext: Record<string, unknown> = {};
    if (device !== undefined) outContext.device = device;
    if (channel !== undefined) outContext.channel = channel;
    if (ip !== undefined) outContext.ip = ip;
    if (userAgent !== undefined) outContext.userAgent = userAgent;
    if (email !== undefined) outContext.email = email;
    out.context = outContext;
  }
  if (replayOf !== undefined) {
    const { shardId, sequenceNumber } = replayOf as Record<string, unknown>;
    out.replayOf = { shardId, sequenceNumber };
  }
  return out as EventFields;
}

// For callers that want no findings: validation is synchronous, so one object serves every call.
const unusedFindings: FastPathFindings = { unknownFields: false };

/**
 * The fast path of {@link validateEvent}: {@link eventInputSchema}'s field rules written out by hand
 * for the well-formed event, returning exactly the schema's output (a fresh object with the known
 * fields in shape order), or undefined whenever it cannot vouch for the input: the schema then parses
 * it and words the error. zod's generic parse cost more than the rest of ingest's decode (README,
 * "Benchmarks"); a property test holds this equal to the schema on arbitrary input.
 *
 * @param findings - when given, `unknownFields` is set if the record or its context holds fields the
 *   contract does not know, and `inSchemaShape` whether the record itself already is the output
 *   (both meaningful only when the result is not undefined)
 */
export function checkedEventFields(raw: unknown, findings?: FastPathFindings): EventFields | undefined {
  return keepsFieldRules(raw, findings ?? unusedFindings) ? schemaOutputOf(raw) : undefined;
}

/** What a producer may send: the input shape of the contract. */
export type EventInput = z.input<typeof eventInputSchema>;

/**
 * A validated, normalised event: `occurredAt` in epoch milliseconds, personal context fields and
 * unknown fields removed (in their place, when a pseudonymisation key is configured, the keyed
 * `deviceHash` and `networkHash`: `shared/privacy/pseudonymise.ts`). This is the only event shape the
 * domain ever sees.
 */
export interface ContractEvent {
  schemaVersion: typeof CONTRACT_SCHEMA_VERSION;
  eventId: string;
  type: EventType;
  userId?: string;
  anonymousId?: string;
  sessionId?: string;
  /** Epoch milliseconds (UTC). */
  occurredAt: number;
  productId?: string;
  categoryId?: string;
  categoryPath?: string;
  brand?: string;
  price?: number;
  currency?: string;
  quantity?: number;
  orderId?: string;
  revenue?: number;
  query?: string;
  context?: { device?: (typeof DEVICE_TYPES)[number]; channel?: string } & ContextFingerprints;
  /** Set only on a replayed record: its original shard and sequence number (see `npm run replay`). */
  replayOf?: { shardId: string; sequenceNumber: string };
}

/** Why a record was refused; the quarantine groups by this. */
export const VIOLATION_KINDS = [
  'oversize',
  'not_utf8',
  'invalid_json',
  'not_an_object',
  'unsupported_schema_version',
  'schema',
  'future_timestamp',
  'too_old',
] as const;
/** One of {@link VIOLATION_KINDS}. */
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/** A record that breaks the contract: names the field, the rule and a redacted value. */
export class ContractViolation extends FieldRuleError {
  override readonly name = 'ContractViolation';
  constructor(
    /** Why the record is refused; the quarantine groups by it. */
    readonly kind: ViolationKind,
    /** Dotted path of the offending field, or `(record)` for the record as a whole. */
    field: string,
    rule: string,
    /** Never personal data: type and size only for strings. */
    redactedValue: string,
  ) {
    super(field, rule, redactedValue);
  }
}

/** Result of {@link decodeEvent}: a normalised event plus the names of fields that were dropped. */
export interface DecodedEvent {
  event: ContractEvent;
  /** Unknown field paths that were dropped (names only, never values). */
  unknownFields: string[];
}

// The schema's fields in shape order (the order of its output), and as sets.
const EVENT_FIELD_ORDER: readonly string[] = Object.keys(eventInputSchema.shape);
const CONTEXT_FIELD_ORDER: readonly string[] = Object.keys(contextSchema.shape);
const REPLAY_OF_FIELD_ORDER: readonly string[] = Object.keys(replayOfSchema.shape);
const KNOWN_TOP: ReadonlySet<string> = new Set(EVENT_FIELD_ORDER);
const KNOWN_CONTEXT: ReadonlySet<string> = new Set(CONTEXT_FIELD_ORDER);
const KNOWN_REPLAY_OF: ReadonlySet<string> = new Set(REPLAY_OF_FIELD_ORDER);

/** Describe a value without revealing it: type and size only, numbers and booleans in full. */
export function redact(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `a string of ${value.length} chars`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  return `a ${typeof value}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Why one record is refused, as plain data: what a {@link ContractViolation} says, without the stack
 * an `Error` captures when it is built (≈ 1 % of records are refused, each capture cost more than
 * decoding the record, and a data refusal's stack says nothing). {@link decodeEventOrRefusal} returns
 * these for the batch decoder to quarantine; {@link decodeEvent} and {@link validateEvent} throw them.
 */
export class ContractRefusal {
  constructor(
    /** Why the record is refused; the quarantine groups by it. */
    readonly kind: ViolationKind,
    /** Dotted path of the offending field, or `(record)` for the record as a whole. */
    readonly field: string,
    readonly rule: string,
    /** Never personal data: type and size only for strings. */
    readonly value: string,
  ) {}

  /**
   * What the record's bytes parse to, when {@link decodeEventOrRefusal} refused it after JSON.parse
   * (undefined before: oversize, not UTF-8, not JSON), as it was parsed: the quarantine's scrub reads it
   * instead of parsing the bytes a second time. Personal data: never log it.
   */
  parsedRecord: unknown = undefined;

  /** The error the throwing API raises for this refusal. */
  toViolation(): ContractViolation {
    return new ContractViolation(this.kind, this.field, this.rule, this.value);
  }
}

/**
 * Validate and normalise one record's bytes against contract v1.
 *
 * @param bytes - the raw Kinesis record data
 * @param nowMs - when the record was received (at ingest: its arrival in Kinesis, stable across redeliveries)
 * @param hasher - the keyed hash for the context fingerprints; without it none are computed
 * @throws {ContractViolation} naming the field and rule the record breaks
 */
export function decodeEvent(bytes: Uint8Array, nowMs: number, hasher?: KeyedHasher): DecodedEvent {
  const unknownFields: string[] = [];
  const decoded = decodeEventOrRefusal(bytes, nowMs, hasher, unknownFields);
  if (decoded instanceof ContractRefusal) throw decoded.toViolation();
  return { event: decoded, unknownFields };
}

/**
 * {@link decodeEvent} for the batch decoder: the refusal is returned, not thrown, and the unknown field
 * paths are appended to `unknownFields` (only for an event that is returned), so a batch can reuse one
 * array instead of a result object and an array per record.
 */
export function decodeEventOrRefusal(
  bytes: Uint8Array,
  nowMs: number,
  hasher: KeyedHasher | undefined,
  unknownFields: string[],
): ContractEvent | ContractRefusal {
  if (bytes.byteLength > MAX_EVENT_BYTES) {
    return new ContractRefusal(
      'oversize',
      '(record)',
      `must be at most ${MAX_EVENT_BYTES} bytes`,
      `${bytes.byteLength} bytes`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return new ContractRefusal('not_utf8', '(record)', 'must be UTF-8', `${bytes.byteLength} bytes`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return new ContractRefusal('invalid_json', '(record)', 'must be one JSON object', `${text.length} chars`);
  }
  // JSON.parse's value is this call's own: it may become the event.
  const validated = validateEventOrRefusal(raw, nowMs, hasher, unknownFields, true);
  // Refusals come before any change to the record, so it is still what the bytes parse to.
  if (validated instanceof ContractRefusal) validated.parsedRecord = raw;
  return validated;
}

/**
 * Validate and normalise an already-parsed value against contract v1.
 *
 * @param hasher - the keyed hash for the context fingerprints; without it none are computed
 * @throws {ContractViolation} naming the field and rule the value breaks
 */
export function validateEvent(raw: unknown, nowMs: number, hasher?: KeyedHasher): DecodedEvent {
  const unknownFields: string[] = [];
  const validated = validateEventOrRefusal(raw, nowMs, hasher, unknownFields, false);
  if (validated instanceof ContractRefusal) throw validated.toViolation();
  return { event: validated, unknownFields };
}

// Reused by every call: validation is synchronous and never re-entered, so one object serves all records.
const fastPathFindings: FastPathFindings = {
  unknownFields: false,
  inSchemaShape: false,
  brokenField: undefined,
};

/**
 * @param ownsRaw - whether `raw` is the caller's to give away (the decoder's own JSON.parse value): a
 *   record already in the schema's shape then becomes the event itself, normalised in place, instead
 *   of being copied field by field. A caller's object is never changed.
 */
function validateEventOrRefusal(
  raw: unknown,
  nowMs: number,
  hasher: KeyedHasher | undefined,
  unknownFields: string[],
  ownsRaw: boolean,
): ContractEvent | ContractRefusal {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return new ContractRefusal('not_an_object', '(record)', 'must be a JSON object', redact(raw));
  }
  const record = raw as Record<string, unknown>;
  const version = record.schemaVersion;
  if (typeof version === 'number' && Number.isInteger(version) && version > CONTRACT_SCHEMA_VERSION) {
    return new ContractRefusal(
      'unsupported_schema_version',
      'schemaVersion',
      `unsupported schemaVersion: this build reads ${CONTRACT_SCHEMA_VERSION}`,
      redact(version),
    );
  }
  fastPathFindings.unknownFields = false;
  const fast = keepsFieldRules(record, fastPathFindings);
  const input = !fast
    ? // Only a JSON value's broken field is known to be the schema's first (see parsedBySchema).
      parsedBySchema(record, ownsRaw ? fastPathFindings.brokenField : undefined)
    : ownsRaw && fastPathFindings.inSchemaShape === true
      ? // Checked, and field for field what the schema would return: no copy (most records).
        (record as EventFields)
      : schemaOutputOf(record);
  if (input instanceof ContractRefusal) return input;
  const crossField = crossFieldViolation(input);
  if (crossField !== undefined) {
    const [field, rule] = crossField;
    return new ContractRefusal('schema', field, rule, redact(record[field]));
  }
  const occurredAt = typeof input.occurredAt === 'number' ? input.occurredAt : Date.parse(input.occurredAt);
  if (occurredAt > nowMs + MAX_FUTURE_SKEW_MS) {
    return new ContractRefusal(
      'future_timestamp',
      'occurredAt',
      'must not be more than 5 minutes ahead of its receipt',
      `${Math.round((occurredAt - nowMs) / 1000)} s ahead`,
    );
  }
  if (occurredAt < MIN_OCCURRED_AT_MS) {
    return new ContractRefusal(
      'too_old',
      'occurredAt',
      'must not be before 2000-01-01',
      redact(input.occurredAt),
    );
  }
  // The fast path has counted the fields: scan for unknown ones only when it saw some (or did not run).
  if (!fast || fastPathFindings.unknownFields) addUnknownFields(record, unknownFields);
  // Every path's output holds only known fields and is this call's own: normalise it in place.
  const event = input as unknown as ContractEvent;
  event.occurredAt = occurredAt;
  const context = input.context;
  if (context !== undefined) {
    const personal =
      context.userAgent !== undefined || context.ip !== undefined || context.email !== undefined;
    if (fast && !personal) {
      // The fast path's context holds only what is defined, in shape order: without personal fields it
      // already is the normalised one (device, channel), and no second object is needed. (Deleting the
      // last field of the record JSON.parse gave, as context is without a replayOf, keeps its shape.)
      if (context.device === undefined && context.channel === undefined) delete event.context;
    } else {
      const kept: NonNullable<ContractEvent['context']> = {};
      if (context.device !== undefined) kept.device = context.device;
      if (context.channel !== undefined) kept.channel = context.channel;
      // Fingerprints replace the personal fields only when there are some: no HMAC otherwise.
      if (hasher !== undefined && (context.userAgent !== undefined || context.ip !== undefined))
        addContextFingerprints(hasher, context, kept);
      if (
        kept.device === undefined &&
        kept.channel === undefined &&
        kept.deviceHash === undefined &&
        kept.networkHash === undefined
      )
        delete event.context;
      else event.context = kept;
    }
  }
  return event;
}

/** Append the record's unknown field paths: own keys in insertion order (as `Object.keys` lists them). */
function addUnknownFields(record: Record<string, unknown>, unknownFields: string[]): void {
  for (const k of Object.keys(record)) if (!KNOWN_TOP.has(k)) unknownFields.push(k);
  const rawContext = record.context;
  if (rawContext !== null && typeof rawContext === 'object') {
    for (const k of Object.keys(rawContext)) if (!KNOWN_CONTEXT.has(k)) unknownFields.push(`context.${k}`);
  }
}

/**
 * The schema's verdict on a record the fast path did not vouch for: its output, or the refusal worded
 * by zod from its first issue.
 *
 * @param brokenField - the first field, in the schema's order, that the fast path found breaking a rule
 *   of a JSON value (the fields before it keep theirs): zod reports its issues in that order, so its
 *   first issue is this field's first, and the field's own schema words it. The whole record's parse,
 *   which refused records reach too rarely for its code to be optimised, cost about three times the
 *   rest of a refused record's decode (CPU profile of the bundled handler).
 */
function parsedBySchema(
  record: Record<string, unknown>,
  brokenField: keyof EventFields | undefined,
): EventFields | ContractRefusal {
  // zod reports through a ZodError, an Error: capturing its stack (the whole handler's, read by nobody)
  // cost more than the parse, so none is captured (measured: 21 → 9 µs per refused record). The parse
  // is synchronous: no other code runs under the lowered limit, and it is restored however it ends.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  let issue: FieldRuleIssue | undefined;
  try {
    if (brokenField !== undefined) {
      const value = record[brokenField];
      const parsedField = eventInputSchema.shape[brokenField].safeParse(value);
      if (!parsedField.success)
        issue = fieldRuleFromZod(parsedField.error, value, brokenField, [brokenField]);
    }
    if (issue === undefined) {
      const parsed = eventInputSchema.safeParse(record);
      if (parsed.success) return parsed.data;
      issue = fieldRuleFromZod(parsed.error, record, '(record)');
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  const { field, rule, value } = issue;
  const personal = PERSONAL_CONTEXT_FIELDS.some((f) => field === `context.${f}`);
  return new ContractRefusal('schema', field, rule, personal ? 'redacted personal data' : redact(value));
}

/** The profile an event belongs to: the user id, else `anon:<anonymousId>`. */
export function profileIdOf(event: Pick<ContractEvent, 'userId' | 'anonymousId'>): string {
  if (event.userId !== undefined) return event.userId;
  return `anon:${event.anonymousId!}`;
}

/** The Kinesis partition key for an event: `userId`, else `anonymousId`, so a user's events stay ordered. */
export function partitionKeyOf(event: Pick<EventInput, 'userId' | 'anonymousId'>): string {
  const key = event.userId ?? event.anonymousId;
  if (key === undefined) {
    throw new ContractViolation('schema', 'userId', 'userId or anonymousId is required', 'nothing');
  }
  return key;
}
