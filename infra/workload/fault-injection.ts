/**
 * Turn clean events into the records a misbehaving upstream would put on the stream: resent
 * duplicates, local reordering within a user's stream, and malformed records of every kind the
 * contract refuses. The manifest says exactly what was done, so a run can account for every record.
 */
import {
  type EventInput,
  MAX_EVENT_BYTES,
  MIN_OCCURRED_AT_MS,
  partitionKeyOf,
  type ViolationKind,
} from '../../shared/contract/event-contract';
import type { RawRecord } from '../client/put-records-plan';
import { createSeededRandom, deriveSeed } from './seeded-random';

/** Malformations the injector produces, each refused by `decodeEvent` in a known way. */
export const MALFORMED_FAULTS = [
  'truncated_json',
  'not_utf8',
  'not_an_object',
  'wrong_type',
  'missing_field',
  'oversize',
  'future_timestamp',
  'too_old',
  'unsupported_schema_version',
] as const;
/** One of {@link MALFORMED_FAULTS}. */
export type MalformedFault = (typeof MALFORMED_FAULTS)[number];

/** How each malformation is refused: the violation kind and field `decodeEvent` reports. */
export const EXPECTED_VIOLATION: Readonly<Record<MalformedFault, { kind: ViolationKind; field: string }>> = {
  truncated_json: { kind: 'invalid_json', field: '(record)' },
  not_utf8: { kind: 'not_utf8', field: '(record)' },
  not_an_object: { kind: 'not_an_object', field: '(record)' },
  wrong_type: { kind: 'schema', field: 'quantity' },
  missing_field: { kind: 'schema', field: 'eventId' },
  oversize: { kind: 'oversize', field: '(record)' },
  future_timestamp: { kind: 'future_timestamp', field: 'occurredAt' },
  too_old: { kind: 'too_old', field: 'occurredAt' },
  unsupported_schema_version: { kind: 'unsupported_schema_version', field: 'schemaVersion' },
};

/** How far past `nowMs` a future timestamp is put: far enough that any run soon after still refuses it. */
const FUTURE_OFFSET_MS = 365 * 24 * 60 * 60 * 1000;

/** Largest event-time distance between an event and the record its duplicate follows, or two swapped events. */
export const DUPLICATE_MAX_EVENT_TIME_GAP_MS = 60 * 60 * 1000;

const eventTimeMs = (event: EventInput): number =>
  typeof event.occurredAt === 'number' ? event.occurredAt : Date.parse(event.occurredAt);

/** Options of {@link injectFaults}. */
export interface FaultInjectionOptions {
  /** Processing time the expectations hold for (future timestamps are a year past it). */
  nowMs: number;
  /** Seed of the pseudo-random generator. @default 7 */
  seed?: number;
  /** Share of events sent a second time. @default 0.02 */
  duplicateRate?: number;
  /**
   * How many of the same partition key's records later, at most, a duplicate arrives. A producer's
   * retry lands seconds after the original, so the duplicate also stays within
   * {@link DUPLICATE_MAX_EVENT_TIME_GAP_MS} of event time; both keep it inside the profiles' documented
   * dedupe horizon (16 ids, 255 minutes). @default 8
   */
  maxDuplicateDelay?: number;
  /** Chance that two neighbouring records of one partition key swap places. @default 0.02 */
  reorderRate?: number;
  /** Malformed records added, as a share of the events (kinds drawn uniformly). @default 0.01 */
  malformedRate?: number;
}

/** One injected record the consumer must quarantine. */
export interface ExpectedQuarantine {
  /** Position in the returned records. */
  recordIndex: number;
  fault: MalformedFault;
  kind: ViolationKind;
  field: string;
}

/** What {@link injectFaults} did. */
export interface FaultManifest {
  /** Records returned. */
  records: number;
  /** Distinct valid events among them (every input event, exactly once or more). */
  validEvents: number;
  /** Event ids sent twice. */
  duplicatedEventIds: string[];
  /** Event ids that swapped places with a neighbour of the same partition key. */
  reorderedEventIds: string[];
  /** Records that break the contract, with how they must be refused. */
  malformed: ExpectedQuarantine[];
  /** Malformed records per expected violation kind. */
  quarantineByKind: Partial<Record<ViolationKind, number>>;
}

interface Placed {
  record: RawRecord;
  /** Delivery position; fractional keys slot extra records between originals. */
  position: number;
  fault?: MalformedFault;
}

const utf8 = new TextEncoder();
const encode = (value: unknown) => utf8.encode(JSON.stringify(value));

/** Produce faulty raw records from clean events, deterministically from the seed. */
export function injectFaults(
  events: readonly EventInput[],
  options: FaultInjectionOptions,
): { records: RawRecord[]; manifest: FaultManifest } {
  const random = createSeededRandom(deriveSeed(options.seed ?? 7, 'faults'));
  const duplicateRate = options.duplicateRate ?? 0.02;
  const maxDelay = options.maxDuplicateDelay ?? 8;
  const reorderRate = options.reorderRate ?? 0.02;
  const malformedRate = options.malformedRate ?? 0.01;

  // Reordering: swap neighbours within one partition key's stream, so other keys are untouched.
  const order = events.map((_, i) => i);
  const positionsByKey = new Map<string, number[]>();
  events.forEach((e, i) => {
    const key = partitionKeyOf(e);
    const list = positionsByKey.get(key) ?? [];
    list.push(i);
    positionsByKey.set(key, list);
  });
  const reorderedEventIds: string[] = [];
  for (const positions of positionsByKey.values()) {
    for (let j = 0; j + 1 < positions.length; j++) {
      if (!random.chance(reorderRate)) continue;
      const a = positions[j]!;
      const b = positions[j + 1]!;
      // Delivery is late by seconds or minutes, not days: swap only events close in time.
      if (Math.abs(eventTimeMs(events[b]!) - eventTimeMs(events[a]!)) > DUPLICATE_MAX_EVENT_TIME_GAP_MS)
        continue;
      [order[a], order[b]] = [order[b]!, order[a]!];
      reorderedEventIds.push(events[order[a]!]!.eventId, events[order[b]!]!.eventId);
      j++;
    }
  }

  // Delivery positions of each partition key, so a duplicate can land a few of its own key's records later.
  const deliveryByKey = new Map<string, number[]>();
  order.forEach((eventIndex, position) => {
    const key = partitionKeyOf(events[eventIndex]!);
    const list = deliveryByKey.get(key) ?? [];
    list.push(position);
    deliveryByKey.set(key, list);
  });
  const keyRank = new Map<number, number>();
  for (const list of deliveryByKey.values()) list.forEach((position, rank) => keyRank.set(position, rank));

  const placed: Placed[] = [];
  const duplicatedEventIds: string[] = [];
  order.forEach((eventIndex, position) => {
    const event = events[eventIndex]!;
    const record = { data: encode(event), partitionKey: partitionKeyOf(event) };
    placed.push({ record, position });
    if (random.chance(duplicateRate)) {
      duplicatedEventIds.push(event.eventId);
      const sameKey = deliveryByKey.get(record.partitionKey)!;
      const rank = keyRank.get(position)!;
      let after = position;
      for (let k = random.int(1, maxDelay); k > 0; k--) {
        const candidate = sameKey[rank + k];
        if (candidate === undefined) continue;
        const gap = Math.abs(eventTimeMs(events[order[candidate]!]!) - eventTimeMs(event));
        if (gap <= DUPLICATE_MAX_EVENT_TIME_GAP_MS) {
          after = candidate;
          break;
        }
      }
      placed.push({ record, position: after + 0.5 });
    }
  });

  const malformedCount = Math.round(events.length * malformedRate);
  for (let n = 0; n < malformedCount && events.length > 0; n++) {
    const fault = MALFORMED_FAULTS[n % MALFORMED_FAULTS.length]!;
    const position = random.int(0, events.length - 1);
    const source = events[position]!;
    const record = { data: malform(fault, source, n, options.nowMs), partitionKey: partitionKeyOf(source) };
    placed.push({ record, position: position + 0.25, fault });
  }

  placed.sort((a, b) => a.position - b.position);
  const malformed: ExpectedQuarantine[] = [];
  const quarantineByKind: Partial<Record<ViolationKind, number>> = {};
  placed.forEach((p, recordIndex) => {
    if (p.fault === undefined) return;
    const expected = EXPECTED_VIOLATION[p.fault];
    malformed.push({ recordIndex, fault: p.fault, ...expected });
    quarantineByKind[expected.kind] = (quarantineByKind[expected.kind] ?? 0) + 1;
  });
  return {
    records: placed.map((p) => p.record),
    manifest: {
      records: placed.length,
      validEvents: events.length,
      duplicatedEventIds,
      reorderedEventIds,
      malformed,
      quarantineByKind,
    },
  };
}

function malform(fault: MalformedFault, source: EventInput, n: number, nowMs: number): Uint8Array {
  // A fresh id, so a refused copy is never confused with the valid event it was made from.
  const event: Record<string, unknown> = { ...source, eventId: `${source.eventId}-bad-${n}` };
  switch (fault) {
    case 'truncated_json': {
      const text = JSON.stringify(event);
      return utf8.encode(text.slice(0, Math.floor(text.length / 2)));
    }
    case 'not_utf8': {
      const bytes = encode(event);
      const broken = new Uint8Array(bytes.byteLength + 2);
      broken.set(bytes);
      broken.set([0xc3, 0x28], bytes.byteLength - 1); // an invalid two-byte sequence
      broken[broken.length - 1] = 0x7d;
      return broken;
    }
    case 'not_an_object':
      return encode([event]);
    case 'wrong_type':
      return encode({ ...event, quantity: 'two' });
    case 'missing_field': {
      const { eventId: _dropped, ...rest } = event;
      return encode(rest);
    }
    case 'oversize':
      return encode({ ...event, padding: 'x'.repeat(MAX_EVENT_BYTES) });
    case 'future_timestamp':
      return encode({ ...event, occurredAt: nowMs + FUTURE_OFFSET_MS });
    case 'too_old':
      return encode({ ...event, occurredAt: MIN_OCCURRED_AT_MS - 24 * 60 * 60 * 1000 });
    case 'unsupported_schema_version':
      return encode({ ...event, schemaVersion: 2 });
  }
}
