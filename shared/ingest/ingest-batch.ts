/**
 * The ingest use case: one Kinesis batch in, profiles updated once in effect, refused records kept.
 *
 * Flow: decode + validate every record → group valid events by profile → read those profiles, then
 * the tombstones of those not stored → drop what belongs to erased people (counted, never stored) → quarantine
 * the other refused records (one object) → route records of merged anonymous profiles to their user
 * and freeze the anonymous profiles this batch's identifies merge (`merge-on-identify.ts`; one more read
 * and one conditional write per merge) → fold the events in (duplicates dropped by the profile's own
 * bookkeeping, merges applied once) → featurize every changed profile → ONE inference → computed
 * traits and audience membership of each → write each changed profile once under an optimistic lock
 * → put the audience transitions of the writes that landed on the activation feed (and re-emit the
 * remembered ones of profiles whose records were already applied) → report profiles whose write or
 * feed put kept failing by their lowest sequence number.
 */
import { profileIdOf, VIOLATION_KINDS, type ViolationKind } from '../contract/event-contract';
import { FEATURE_COUNT, featurizeMany } from '../features/feature-vector';
import type { SequencedEvent } from '../profile/apply-events';
import { foldIntoTarget, type MergeResolution } from '../profile/profile-merge';
import { MERGE_REFUSAL_REASONS, type MergeRefusalReason, type ProfileState } from '../profile/profile-state';
import type { ProfileScore } from '../model/model-outputs';
import { toProfileScores } from '../model/profile-score';
import { decodeProfileItem, encodeProfileItem, type DecodedProfileItem } from '../profile/profile-item-codec';
import { storedProfileIdOf, type DecodePrivacy } from '../privacy/pseudonymise';
import { decodeBatch, lowestSequenceNumber } from './decode-batch';
import { erasedAmong, type TombstoneKeys } from '../erasure/tombstones';
import type { CompiledAudienceSet, AudienceMembership } from '../audiences/audience-evaluation';
import { membershipChanges, profileExtrasOf, type ProfileExtras } from '../audiences/profile-extras';
import type { PopulationStats, TraitThresholds } from '../traits/computed-traits';
import { planMerges } from './merge-on-identify';
import {
  rememberedTransitions,
  transitionsOf,
  type ActivationEvent,
  type AudienceLog,
} from '../audiences/activation';
import type {
  AudienceSource,
  IngestRecord,
  ProfileScorer,
  ProfileStore,
  QuarantineSink,
  StoredProfileItem,
  TransitionSink,
} from './ingest-ports';

/** What the use case needs from the outside world. */
export interface IngestDependencies {
  profiles: ProfileStore;
  quarantine: QuarantineSink;
  scorer: ProfileScorer;
  /** Processing time (epoch ms). */
  now: () => number;
  /** Fingerprints and pseudonymous ids at decode (`shared/privacy/pseudonymise.ts`). @default none */
  privacy?: DecodePrivacy;
  /** Times an inference, for the metrics. @default performance.now */
  monotonicMs?: () => number;
  /**
   * How often a profile whose conditional write conflicts is re-applied to the stored item before it is
   * reported as failed. @default 3
   */
  maxConflictRetries?: number;
  /**
   * Tombstone keys under the erasure key: events and refused records of erased people are dropped and
   * counted as `erased`. @default undefined (no erasure check)
   */
  tombstones?: TombstoneKeys;
  /** The audience definitions evaluated for every changed profile. @default none: membership kept as stored */
  audiences?: AudienceSource;
  /** Lifecycle and abandoned-cart thresholds. @default DEFAULT_TRAIT_THRESHOLDS */
  traitThresholds?: TraitThresholds;
  /** The activation feed: audience entries and exits of the writes that land. @default none: not emitted */
  transitions?: TransitionSink;
}

/** Counters of one batch, published as metrics by the handler. */
export interface IngestStats {
  recordsIn: number;
  /** Events folded into profiles whose write landed (a failed profile's events count on redelivery). */
  applied: number;
  /** Redeliveries and producer duplicates recognised in profiles that were written or needed no write. */
  duplicates: number;
  quarantined: Record<ViolationKind, number>;
  /** Records of erased people (by tombstone), valid or not: dropped, neither applied nor quarantined. */
  erased: number;
  unknownFieldsDropped: number;
  /** Valid records published under another partition key than the contract's (see `decodeBatch`). */
  partitionKeyMismatches: number;
  profilesWritten: number;
  profilesUnchanged: number;
  profilesFailed: number;
  writeConflicts: number;
  scoredProfiles: number;
  inferenceMs: number;
  modelVersion: string | undefined;
  /** Age of the oldest event of the batch at processing time (event time → now). */
  maxEventAgeMs: number;
  /** The audience set version evaluated, when one is loaded. */
  audienceSetVersion: string | undefined;
  /** Audience entries and exits in the profiles written. */
  audienceEntries: number;
  audienceExits: number;
  /** Events put on the activation feed (re-emissions of remembered transitions included). */
  activationEvents: number;
  /** Profiles reported as failed because their activation events could not be put (write landed). */
  activationFailed: number;
  /** Anonymous profiles folded into a user profile by a write that landed. */
  profilesMerged: number;
  /** Identifies that did not merge, by reason (`profile-merge.ts`). */
  mergesRefused: Record<MergeRefusalReason, number>;
  /** Of `applied`, events of a merged anonymous profile applied to its user through the redirect. */
  redirectedEvents: number;
}

/** The use case's answer: which sequence numbers to report as failed, and what happened. */
export interface IngestBatchResult {
  /** At most one per failed profile: its lowest sequence number (Lambda redelivers from the lowest). */
  failedSequenceNumbers: string[];
  stats: IngestStats;
}

interface PendingProfile {
  profileId: string;
  events: SequencedEvent[];
  resolutions: ReadonlyMap<string, MergeResolution>;
  /** Whether an item is stored (the write is then conditioned on `version`). */
  exists: boolean;
  state: ProfileState;
  version: number;
  /** The membership stored with the item folded into. */
  audiences: AudienceMembership | undefined;
  /** The activation log stored with the item folded into. */
  audienceLog: AudienceLog | undefined;
  /** What this fold did: counted once the write lands. */
  applied: number;
  duplicates: number;
  redirected: number;
  merged: number;
  refused: Record<MergeRefusalReason, number>;
}

/**
 * The item write names each of {@link ProfileExtras}' fields instead of spreading them (one object
 * shape for the codec): a field added there fails to compile here until the write passes it on.
 */
const EVERY_EXTRAS_FIELD_WRITTEN: Exclude<
  keyof ProfileExtras,
  'traits' | 'audiences' | 'anomalyScore'
> extends never
  ? true
  : never = true;
void EVERY_EXTRAS_FIELD_WRITTEN;

/** A fold's outcome: the profile to write, or only the duplicates it recognised. */
type Fold = { pending: PendingProfile; duplicates?: never } | { pending?: never; duplicates: number };

/**
 * Process one batch of stream records.
 *
 * @throws when the quarantine cannot be written or a store fails unexpectedly: the event source then
 *   retries (or bisects) the batch, and the profiles' bookkeeping makes the retry apply nothing twice.
 */
export async function ingestBatch(
  records: readonly IngestRecord[],
  deps: IngestDependencies,
): Promise<IngestBatchResult> {
  const nowMs = deps.now();
  const stats = emptyStats(records.length);

  const decoded = decodeBatch(records, deps.privacy);
  for (const count of decoded.unknownFields.values()) stats.unknownFieldsDropped += count;
  stats.partitionKeyMismatches = decoded.partitionKeyMismatches;

  const byProfile = new Map<string, SequencedEvent[]>();
  for (const sequenced of decoded.valid) {
    const id = profileIdOf(sequenced.event);
    const list = byProfile.get(id);
    if (list === undefined) byProfile.set(id, [sequenced]);
    else list.push(sequenced);
    stats.maxEventAgeMs = Math.max(stats.maxEventAgeMs, nowMs - sequenced.event.occurredAt);
  }

  const { tombstones } = deps;
  // A refused record names its person only by its partition key: the raw userId, else anonymousId —
  // hashed as decoding hashes ids, since tombstones are keyed by the stored profile id.
  const storedIdOf = storedProfileIdOf(deps.privacy);
  const quarantineOwners = (q: { partitionKey: string }) => [
    storedIdOf(q.partitionKey),
    storedIdOf(`anon:${q.partitionKey}`),
  ];
  const profileIds = [...byProfile.keys()];
  const stored =
    profileIds.length === 0 ? new Map<string, StoredProfileItem>() : await deps.profiles.getMany(profileIds);
  // Tombstones only of the profiles not stored (and the owners of refused records): erasure writes the
  // tombstone before it deletes the profile, so a stored profile is one not erased yet, and a write to
  // one deleted since fails its version condition, whose conflict checks the tombstone (`isErasedNow`).
  // A profile keeps being written long after it is first seen, so most keys of a batch are found and
  // the strongly consistent tombstone read — a whole read unit per key, twice an eventual profile
  // read's — shrinks to the new profiles' (README, "Cost").
  const candidates =
    tombstones === undefined
      ? []
      : [...profileIds.filter((id) => !stored.has(id)), ...decoded.quarantined.flatMap(quarantineOwners)];
  const tombstoneKeys = [...new Set(candidates.map((id) => tombstones!.keyOf(id)))];
  const found = tombstoneKeys.length === 0 ? stored : await deps.profiles.getMany(tombstoneKeys);
  const erased = tombstones === undefined ? new Set<string>() : erasedAmong(candidates, found, tombstones);

  const quarantined = decoded.quarantined.filter((q) => !quarantineOwners(q).some((id) => erased.has(id)));
  stats.erased += decoded.quarantined.length - quarantined.length;
  for (const q of quarantined) stats.quarantined[q.kind]++;
  if (quarantined.length > 0) await deps.quarantine.putBatch(quarantined, batchIdOf(records));
  for (const id of erased) {
    stats.erased += byProfile.get(id)?.length ?? 0;
    byProfile.delete(id);
  }
  if (byProfile.size === 0) return { failedSequenceNumbers: [], stats };

  const profileOf = (sequenced: SequencedEvent) => profileIdOf(sequenced.event);
  const maxRetries = deps.maxConflictRetries ?? 3;
  const valid =
    erased.size === 0
      ? decoded.valid
      : decoded.valid.filter((sequenced) => byProfile.has(profileOf(sequenced)));
  const plan = await planMerges(valid, profileOf, stored, deps.profiles, { now: nowMs, maxRetries });
  stats.applied += plan.frozenApplied;
  stats.duplicates += plan.frozenDuplicates;
  const feed = new ActivationBatch(deps.transitions);
  for (const frozen of plan.frozenTransitions) feed.add(frozen.profileId, frozen.user.events, frozen.events);
  const failed: string[] = [];
  for (const target of plan.failed) {
    stats.profilesFailed++;
    failed.push(reportedSequenceNumber(target.events));
  }
  const changed: PendingProfile[] = [];
  for (const target of plan.targets.values()) {
    const fold = foldInto(target.profileId, target.events, target.stored, target.resolutions);
    if (fold.pending !== undefined) changed.push(fold.pending);
    else {
      stats.profilesUnchanged++;
      stats.duplicates += fold.duplicates;
      // Already applied (a redelivery): what the landed version emitted may have been lost with it.
      feed.remember(target.profileId, target.events, target.stored);
    }
  }

  const { scores, population } = await scoreProfiles(
    changed.map((p) => p.state),
    deps,
    stats,
  );
  const context: WriteContext = {
    deps,
    stats,
    population,
    audiences: await deps.audiences?.current(),
    feed,
  };
  stats.audienceSetVersion = context.audiences?.version;
  // allSettled, then throw: no write may still be running when the invocation ends with an error.
  const outcomes = await Promise.allSettled(
    changed.map(async (pending, i) => {
      const outcome = await writeWithRetries(pending, scores[i], context, maxRetries);
      if (outcome === 'landed') stats.profilesWritten++;
      else if (outcome === 'failed') {
        stats.profilesFailed++;
        failed.push(reportedSequenceNumber(pending.events));
      }
    }),
  );
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
  // After every write settled: only transitions of versions that landed are put.
  const unsent = await feed.flush(stats);
  for (const events of unsent) {
    stats.activationFailed++;
    failed.push(reportedSequenceNumber(events));
  }
  return { failedSequenceNumbers: failed, stats };
}

/** What a failed profile reports: its lowest record in the stream now (a replay's own, not its original). */
function reportedSequenceNumber(events: readonly SequencedEvent[]): string {
  return lowestSequenceNumber(events.map((e) => e.streamSequenceNumber ?? e.sequenceNumber))!;
}

/** Fold events into a stored profile; nothing to write when every event was a duplicate. */
function foldInto(
  profileId: string,
  events: SequencedEvent[],
  current: DecodedProfileItem | undefined,
  resolutions: ReadonlyMap<string, MergeResolution>,
): Fold {
  // `current` was decoded for this fold alone (planMerges' read, or the item a conflict returned).
  const result = foldIntoTarget(
    current?.state,
    events,
    profileId,
    (anonymousId) => resolutions.get(anonymousId),
    true,
  );
  if (!result.changed) return { duplicates: result.duplicates };
  return {
    pending: {
      profileId,
      events,
      resolutions,
      exists: current !== undefined,
      state: result.state,
      version: current?.version ?? 0,
      audiences: current?.audiences,
      audienceLog: current?.audienceLog,
      applied: result.applied,
      duplicates: result.duplicates,
      redirected: result.redirected,
      merged: result.merged,
      refused: result.refused,
    },
  };
}

/** The batch's scores, and the population statistics of the model that gave them. */
interface ScoredBatch {
  scores: (ProfileScore | undefined)[];
  population: PopulationStats | undefined;
}

/** What every write of a batch shares. */
interface WriteContext {
  deps: IngestDependencies;
  stats: IngestStats;
  population: PopulationStats | undefined;
  audiences: CompiledAudienceSet | undefined;
  feed: ActivationBatch;
}

async function scoreProfiles(
  states: readonly ProfileState[],
  deps: IngestDependencies,
  stats: IngestStats,
): Promise<ScoredBatch> {
  if (states.length === 0) return { scores: [], population: undefined };
  // "As of" each profile's latest event, not the wall clock: a replay scores exactly as live did.
  const matrix = featurizeMany(
    states,
    states.map((s) => s.lastEventAt),
  );
  const clock = deps.monotonicMs ?? (() => performance.now());
  const started = clock();
  const result = await deps.scorer.score(matrix, states.length, FEATURE_COUNT);
  stats.inferenceMs += clock() - started;
  if (result === undefined) return { scores: states.map(() => undefined), population: undefined };
  stats.modelVersion = result.modelVersion;
  return {
    scores: toProfileScores(result, states.length, deps.now(), states),
    population: result.population,
  };
}

/**
 * Write one profile under its version; on a conflict (another writer got there first) re-apply this
 * batch's events to the item stored now, which the store returns with the conflict (its bookkeeping
 * drops what the other writer already applied), re-score it and try again. Returns `failed` when the
 * retries are used up or the table throttles, `erased` when the profile was erased meanwhile (its
 * events are counted as erased), else `landed` (also when the other writer had applied everything).
 */
async function writeWithRetries(
  pending: PendingProfile,
  score: ProfileScore | undefined,
  context: WriteContext,
  maxRetries: number,
): Promise<'landed' | 'erased' | 'failed'> {
  const { deps, stats } = context;
  let current = pending;
  let currentScore = score;
  let population = context.population;
  for (let attempt = 0; ; attempt++) {
    const extras = profileExtrasOf(
      current.state,
      currentScore,
      population,
      context.audiences,
      current.audiences,
      deps.traitThresholds,
    );
    const version = current.version + 1;
    const committed = transitionsOf(
      current.profileId,
      current.audiences,
      extras.audiences,
      current.audienceLog,
      version,
      current.state.lastEventAt,
    );
    // One literal of one shape for every write (the codec reads an absent field and an undefined alike).
    const item = encodeProfileItem(current.state, {
      version,
      score: currentScore,
      writtenAt: deps.now(),
      traits: extras.traits,
      audiences: extras.audiences,
      anomalyScore: extras.anomalyScore,
      audienceLog: committed.log,
    });
    const outcome = await deps.profiles.putIfVersion(item, current.exists ? current.version : undefined);
    if (outcome.status === 'written') {
      // Counted only now: a profile whose write fails is redelivered and counted then.
      stats.applied += current.applied;
      stats.duplicates += current.duplicates;
      stats.redirectedEvents += current.redirected;
      stats.profilesMerged += current.merged;
      for (const reason of MERGE_REFUSAL_REASONS) stats.mergesRefused[reason] += current.refused[reason];
      if (currentScore !== undefined) stats.scoredProfiles++;
      const changes = membershipChanges(current.audiences, extras.audiences);
      stats.audienceEntries += changes.entered;
      stats.audienceExits += changes.exited;
      context.feed.add(current.profileId, current.events, committed.events);
      // Some records were applied before (a redelivery): re-emit what the item they landed in remembers.
      if (current.duplicates > 0) context.feed.remember(current.profileId, current.events, current);
      return 'landed';
    }
    // Throttled after the SDK's retries: report the profile so Lambda redelivers it later.
    if (outcome.status === 'throttled') return 'failed';
    stats.writeConflicts++;
    if (attempt >= maxRetries) return 'failed';
    if (outcome.current === undefined && (await isErasedNow(pending, deps))) {
      // Erased between our read and this write: the tombstone is written before the profile is deleted.
      stats.erased += pending.events.length;
      return 'erased';
    }
    const stored = outcome.current === undefined ? undefined : decodeProfileItem(outcome.current);
    // Frozen meanwhile by an identify on another shard: the redelivery routes these records to the user.
    if (stored?.state.redirect !== undefined) return 'failed';
    const fold = foldInto(pending.profileId, pending.events, stored, pending.resolutions);
    if (fold.pending === undefined) {
      // The other writer already applied every event: nothing left to write. That writer may be this
      // one (the write landed, its answer was lost): the stored item's transitions are re-emitted.
      stats.duplicates += fold.duplicates;
      context.feed.remember(pending.profileId, pending.events, stored);
      return 'landed';
    }
    current = fold.pending;
    const rescored = await scoreProfiles([current.state], deps, stats);
    [currentScore] = rescored.scores;
    population = rescored.population;
  }
}

async function isErasedNow(pending: PendingProfile, deps: IngestDependencies): Promise<boolean> {
  if (deps.tombstones === undefined) return false;
  const key = deps.tombstones.keyOf(pending.profileId);
  return (await deps.profiles.getMany([key])).has(key);
}

function emptyStats(recordsIn: number): IngestStats {
  return {
    recordsIn,
    applied: 0,
    duplicates: 0,
    quarantined: Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as Record<ViolationKind, number>,
    erased: 0,
    unknownFieldsDropped: 0,
    partitionKeyMismatches: 0,
    profilesWritten: 0,
    profilesUnchanged: 0,
    profilesFailed: 0,
    writeConflicts: 0,
    scoredProfiles: 0,
    inferenceMs: 0,
    modelVersion: undefined,
    maxEventAgeMs: 0,
    audienceSetVersion: undefined,
    audienceEntries: 0,
    audienceExits: 0,
    activationEvents: 0,
    activationFailed: 0,
    profilesMerged: 0,
    mergesRefused: Object.fromEntries(MERGE_REFUSAL_REASONS.map((r) => [r, 0])) as Record<
      MergeRefusalReason,
      number
    >,
    redirectedEvents: 0,
  };
}

/**
 * The activation events of one batch, by profile, put at once when every write has settled. Without a
 * sink nothing is collected.
 */
class ActivationBatch {
  private readonly byProfile = new Map<string, { records: SequencedEvent[]; events: ActivationEvent[] }>();

  constructor(private readonly sink: TransitionSink | undefined) {}

  /** Transitions of a version this batch committed for `profileId`. */
  add(profileId: string, records: SequencedEvent[], events: readonly ActivationEvent[]): void {
    if (this.sink === undefined || events.length === 0) return;
    const entry = this.byProfile.get(profileId);
    if (entry === undefined) this.byProfile.set(profileId, { records, events: [...events] });
    else entry.events.push(...events);
  }

  /** The transitions a stored (committed) item remembers, re-emitted under their own ids. */
  remember(
    profileId: string,
    records: SequencedEvent[],
    stored: { audiences?: AudienceMembership; audienceLog?: AudienceLog } | undefined,
  ): void {
    if (this.sink === undefined || stored?.audienceLog === undefined) return;
    this.add(profileId, records, rememberedTransitions(profileId, stored.audiences, stored.audienceLog));
  }

  /** Put everything; resolves with the records of each profile whose events were not stored. */
  async flush(stats: IngestStats): Promise<SequencedEvent[][]> {
    if (this.sink === undefined || this.byProfile.size === 0) return [];
    const events = [...this.byProfile.values()].flatMap((entry) => entry.events);
    const unsent = await this.sink.put(events);
    stats.activationEvents += events.length;
    return [...unsent].flatMap((profileId) => {
      const entry = this.byProfile.get(profileId);
      if (entry === undefined) return [];
      stats.activationEvents -= entry.events.length;
      return [entry.records];
    });
  }
}

/** A stable id for a batch: its shard and first sequence number. */
function batchIdOf(records: readonly IngestRecord[]): string {
  const first = records[0];
  return first === undefined ? 'empty' : `${first.shardId}:${first.sequenceNumber}`;
}
