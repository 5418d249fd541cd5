/**
 * The activation feed's domain: audience entries and exits as events downstream systems subscribe to.
 *
 * Transitions come only from committed state: the diff between the membership of the item a write
 * replaced and the membership of the item it wrote, tagged with the version that write committed. An
 * event's id is a hash of (profile, audience, kind, version), so every re-emission of one transition
 * carries the same id and a consumer de-duplicates on it.
 *
 * To re-emit what a lost answer or a failed feed put left unsent, the item keeps a small log: per
 * audience, the version of its last transition, and for an exit when it happened (exits are kept for
 * {@link ACTIVATION_LOG_LIMITS}`.exitRetentionMs`, at most `maxExits` of them, so they cost few bytes).
 */
import { createHash, hash } from 'node:crypto';
import type { AudienceMembership } from './audience-evaluation';

/** Version of the activation event layout (`schemaVersion` of every event). */
export const ACTIVATION_SCHEMA_VERSION = 1 as const;

/** What happened: the profile started or stopped matching the audience. */
export const ACTIVATION_KINDS = ['entered', 'exited'] as const;
/** One of {@link ACTIVATION_KINDS}. */
export type ActivationKind = (typeof ACTIVATION_KINDS)[number];

/**
 * One event of the activation stream (JSON, partition key = `profileId`: a profile's events stay in
 * order on one shard).
 */
export interface ActivationEvent {
  schemaVersion: typeof ACTIVATION_SCHEMA_VERSION;
  /** sha256(profileId, audienceId, kind, profileVersion), 32 hex digits: the de-duplication key. */
  id: string;
  kind: ActivationKind;
  audienceId: string;
  profileId: string;
  /** The item version whose write committed the transition: consumers keep the highest per audience. */
  profileVersion: number;
  /** When it happened, epoch ms: the profile's latest event as of that version (`enteredAt` for entries). */
  at: number;
}

/** Audience id → `[version]` of a current member's entry, or `[version, exitedAt]` of a recent exit. */
export type AudienceLog = Record<string, [number] | [number, number]>;

/** How long and how many exits the item remembers, so a redelivery can re-emit them. */
export const ACTIVATION_LOG_LIMITS = {
  /** Longer than Kinesis' default retention (24 h) and the ESM's longest record age (7 days). */
  exitRetentionMs: 7 * 24 * 60 * 60 * 1000,
  maxExits: 8,
} as const;

/** The id of one transition: stable across re-emissions, distinct across profiles, audiences, kinds, versions. */
export function activationEventId(
  profileId: string,
  audienceId: string,
  kind: ActivationKind,
  version: number,
): string {
  // Unit separators: no id can make two different tuples hash the same text.
  return sha256Hex(`${profileId}\u001f${audienceId}\u001f${kind}\u001f${version}`).slice(0, 32);
}

/**
 * SHA-256 of `text`'s UTF-8 in hex. `crypto.hash` (Node 20.12+, as every runtime here) is one call
 * without a Hash object: about a third of the time of `createHash` for an id (a transition of every
 * write that enters or leaves an audience); `createHash` where an older Node 20 lacks it.
 */
const sha256Hex: (text: string) => string =
  typeof hash === 'function'
    ? (text) => hash('sha256', text, 'hex')
    : (text) => createHash('sha256').update(text, 'utf8').digest('hex');

function activationEvent(
  profileId: string,
  audienceId: string,
  kind: ActivationKind,
  version: number,
  at: number,
): ActivationEvent {
  return {
    schemaVersion: ACTIVATION_SCHEMA_VERSION,
    id: activationEventId(profileId, audienceId, kind, version),
    kind,
    audienceId,
    profileId,
    profileVersion: version,
    at,
  };
}

/** A committed write's transitions, and the log to store with it. */
export interface CommittedTransitions {
  events: ActivationEvent[];
  log: AudienceLog | undefined;
}

/**
 * The transitions of the write that replaces `before` by `after` as `version` (`at`: the profile's
 * latest event), and the log that write stores: entries and exits of this version, earlier ones kept,
 * exits older than the retention (or beyond the count) dropped.
 */
export function transitionsOf(
  profileId: string,
  before: AudienceMembership | undefined,
  after: AudienceMembership | undefined,
  previousLog: AudienceLog | undefined,
  version: number,
  at: number,
): CommittedTransitions {
  const events: ActivationEvent[] = [];
  const log: Record<string, [number] | [number, number]> = {};
  for (const id in after) {
    if (before?.[id] === undefined) {
      events.push(activationEvent(profileId, id, 'entered', version, after[id]!));
      log[id] = [version];
    } else {
      // A member since before the log existed has no entry: there is nothing of it to re-emit.
      const previous = previousLog?.[id];
      if (previous !== undefined && previous.length === 1) log[id] = previous;
    }
  }
  const exits: [string, [number, number]][] = [];
  for (const id in before) {
    if (after?.[id] !== undefined) continue;
    events.push(activationEvent(profileId, id, 'exited', version, at));
    exits.push([id, [version, at]]);
  }
  for (const id in previousLog) {
    const entry = previousLog[id]!;
    if (entry.length === 2 && after?.[id] === undefined && before?.[id] === undefined) {
      if (at - entry[1] <= ACTIVATION_LOG_LIMITS.exitRetentionMs) exits.push([id, entry]);
    }
  }
  exits.sort((a, b) => b[1][0] - a[1][0]);
  for (const [id, entry] of exits.slice(0, ACTIVATION_LOG_LIMITS.maxExits)) log[id] = entry;
  return { events, log: hasKeys(log) ? log : undefined };
}

function hasKeys(record: object): boolean {
  for (const _ in record) return true;
  return false;
}

/**
 * The transitions a stored item remembers (entries of current members, recent exits), as events: what a
 * writer re-emits when it finds its records already applied (a lost answer, a redelivery after a
 * failed feed put).
 */
export function rememberedTransitions(
  profileId: string,
  audiences: AudienceMembership | undefined,
  log: AudienceLog | undefined,
): ActivationEvent[] {
  const events: ActivationEvent[] = [];
  for (const id in log) {
    const entry = log[id]!;
    if (entry.length === 1) {
      const enteredAt = audiences?.[id];
      if (enteredAt !== undefined)
        events.push(activationEvent(profileId, id, 'entered', entry[0], enteredAt));
    } else events.push(activationEvent(profileId, id, 'exited', entry[0], entry[1]));
  }
  return events;
}
