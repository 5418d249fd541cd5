/**
 * The rescoring use case: one parallel-scan segment of the profiles table brought to the serving model.
 *
 * Flow, per page: look up the serving version → scan one page of the segment (only items that version
 * did not score come back) → decode → featurize as of each profile's latest event, as ingest does →
 * ONE inference → evaluate the current audience set on the rescored profile, as ingest does (scores
 * feed audience conditions) → write each back under its version (the lock ingest writes under), with
 * the new score, traits, membership and activation log → on a conflict take the item the store returns: skip it when it is gone or already carries
 * the serving version, else rescore it in the next round (again one inference for the round) → pace
 * the writes → put the audience entries and exits of the writes that landed on the activation feed,
 * with the same stable ids as ingest (`activation.ts`) → next page, until the segment ends or the
 * caller's time is up.
 *
 * Racing ingest: an ingest container may keep scoring with the previous model for up to its poll
 * interval (plus the batch in flight) after a promotion, and so write an old-version score behind this
 * scan. The use case does not try to prevent that; the caller runs the whole table twice, the second
 * time after that window has passed (see the README, "Rescoring"). The second pass finds only what
 * was written behind the first, so it costs one more read of the table and almost no writes.
 */
import type { AudienceMembership } from '../audiences/audience-evaluation';
import { membershipChanges, profileExtrasOf } from '../audiences/profile-extras';
import { transitionsOf, type ActivationEvent, type AudienceLog } from '../audiences/activation';
import { FEATURE_COUNT, featurizeMany } from '../features/feature-vector';
import type { AudienceSource, ProfileStore, StoredProfileItem, TransitionSink } from '../ingest/ingest-ports';
import { toProfileScores } from '../model/profile-score';
import { decodeProfileItem, encodeProfileItem, ProfileItemViolation } from '../profile/profile-item-codec';
import type { ProfileState } from '../profile/profile-state';
import type { ProfileSegmentScanner, ServingModel } from './rescoring-ports';

/** What the use case needs from the outside world. */
export interface RescoreDependencies {
  scanner: ProfileSegmentScanner;
  profiles: Pick<ProfileStore, 'putIfVersion'>;
  model: ServingModel;
  /** Epoch ms: `scoredAt`, and the clock of the write pacing. */
  now: () => number;
  /** Waits between pages so the writes keep to `maxWritesPerSecond`. */
  sleep: (ms: number) => Promise<void>;
  /** Items read per scan call (DynamoDB `Limit`). */
  pageSize: number;
  /** Upper bound of this segment's writes per second (one write unit each: profiles stay under 1 KB). */
  maxWritesPerSecond: number;
  /** Asked before each page; false stops the run with a continuation key. @default () => true */
  hasTimeLeft?: () => boolean;
  /** Rounds a conflicting profile is rescored again before it is left to the next pass. @default 3 */
  maxConflictRetries?: number;
  /**
   * The audience definitions, evaluated on every rescored profile as ingest evaluates them.
   * @default none: membership kept as stored
   */
  audiences?: AudienceSource;
  /** The activation feed: entries and exits of the rescores that land. @default none: not emitted */
  transitions?: TransitionSink;
}

/** Which segment to rescore, and where to resume. */
export interface RescoreSegmentRequest {
  segment: number;
  totalSegments: number;
  /** The continuation key a previous, interrupted run returned. */
  startKey?: string;
}

/** Why a run ended. */
export type RescoreStop = 'done' | 'deadline' | 'no-model';

/** Counters of one run. */
export interface RescoreStats {
  pages: number;
  /** Items read by the scan (its read cost). */
  scanned: number;
  /** Items the scan found scored by another version or unscored. */
  stale: number;
  /** Profiles written with the serving model's score. */
  rescored: number;
  /** Conflicts whose fresh item already carried the serving version (ingest got there first). */
  alreadyFresh: number;
  /** Conflicts whose item is gone (erased meanwhile): never written back. */
  vanished: number;
  writeConflicts: number;
  /** Profiles still conflicting after the retries: the next pass (or ingest itself) scores them. */
  gaveUp: number;
  /** Items that do not decode: left as they are, counted. */
  undecodable: number;
  inferenceMs: number;
  modelVersion: string | undefined;
  /** The audience set version evaluated, when one is loaded. */
  audienceSetVersion: string | undefined;
  /** Audience entries and exits in the profiles rewritten (a score crossed a condition). */
  audienceEntries: number;
  audienceExits: number;
  /** Events put on the activation feed. */
  activationEvents: number;
  /**
   * Profiles whose activation events could not be put after the sink's retries. Their rewrite landed
   * (and is no longer stale), so no later pass re-emits them: the item's `audienceLog` holds them.
   */
  activationFailed: number;
}

/** The use case's answer. */
export interface RescoreSegmentResult {
  stoppedBecause: RescoreStop;
  /** Where to resume: present only when stopped by the deadline (or by the model mid-segment). */
  nextStartKey?: string;
  stats: RescoreStats;
}

/** The table refused writes even after the SDK's retries: the caller retries the run later. */
export class RescoreThrottledError extends Error {
  override readonly name = 'RescoreThrottledError';
  constructor(readonly profileId: string) {
    super(`the profiles table throttled the rescore write of a profile after the SDK's retries`);
  }
}

/**
 * Whether a stored item needs the serving model's score: scored by another version, or unscored. The
 * DynamoDB scanner's filter expression states the same rule.
 */
export function needsRescore(item: StoredProfileItem, servingVersion: string): boolean {
  return item.modelVersion !== servingVersion;
}

interface Candidate {
  stored: StoredProfileItem;
  state: ProfileState;
  version: number;
  /** As stored: the membership the transitions of the rewrite are diffed against. */
  audiences: AudienceMembership | undefined;
  /** As stored: the log the rewrite continues. */
  audienceLog: AudienceLog | undefined;
}

/**
 * Rescore one segment, page by page, until it ends or `hasTimeLeft` says stop.
 *
 * @throws {RescoreThrottledError} when the table keeps throttling writes; the run is idempotent (what
 *   it already rewrote is no longer stale), so the caller simply retries it from the same start key
 */
export async function rescoreSegment(
  request: RescoreSegmentRequest,
  deps: RescoreDependencies,
): Promise<RescoreSegmentResult> {
  const stats = emptyStats();
  const hasTimeLeft = deps.hasTimeLeft ?? (() => true);
  let startKey = request.startKey;
  let paceUntil = deps.now();
  for (;;) {
    if (!hasTimeLeft()) return { stoppedBecause: 'deadline', nextStartKey: startKey, stats };
    const servingVersion = await deps.model.servingVersion();
    if (servingVersion === undefined) return stopped('no-model', startKey, stats);
    const page = await deps.scanner.scanPage({
      segment: request.segment,
      totalSegments: request.totalSegments,
      limit: deps.pageSize,
      servingVersion,
      ...(startKey === undefined ? {} : { startKey }),
    });
    stats.pages++;
    stats.scanned += page.scanned;
    const stale = page.items.filter((item) => needsRescore(item, servingVersion));
    stats.stale += stale.length;
    const written = await rescoreAll(decodeAll(stale, stats), deps, stats);
    if (written === undefined) return stopped('no-model', startKey, stats);
    if (page.nextStartKey === undefined) return { stoppedBecause: 'done', stats };
    startKey = page.nextStartKey;
    // Pacing: the writes of this segment average at most maxWritesPerSecond.
    paceUntil = Math.max(paceUntil, deps.now() - 1000) + (written / deps.maxWritesPerSecond) * 1000;
    const wait = paceUntil - deps.now();
    if (wait > 0) await deps.sleep(wait);
  }
}

function stopped(
  reason: RescoreStop,
  startKey: string | undefined,
  stats: RescoreStats,
): RescoreSegmentResult {
  return { stoppedBecause: reason, ...(startKey === undefined ? {} : { nextStartKey: startKey }), stats };
}

function decodeAll(items: readonly StoredProfileItem[], stats: RescoreStats): Candidate[] {
  const candidates: Candidate[] = [];
  for (const stored of items) {
    const candidate = candidateOf(stored);
    if (candidate === undefined) stats.undecodable++;
    else candidates.push(candidate);
  }
  return candidates;
}

function candidateOf(stored: StoredProfileItem): Candidate | undefined {
  try {
    const decoded = decodeProfileItem(stored);
    return {
      stored,
      state: decoded.state,
      version: decoded.version,
      audiences: decoded.audiences,
      audienceLog: decoded.audienceLog,
    };
  } catch (error) {
    // A corrupt item is not the rescorer's to repair (ingest refuses it the same way): leave it.
    if (error instanceof ProfileItemViolation) return undefined;
    throw error;
  }
}

/**
 * Score and write `candidates` in rounds of one inference each; a round's conflicts that still need
 * the score form the next round. Returns the writes made, or `undefined` when no model answered.
 */
async function rescoreAll(
  candidates: Candidate[],
  deps: RescoreDependencies,
  stats: RescoreStats,
): Promise<number | undefined> {
  const maxRetries = deps.maxConflictRetries ?? 3;
  let round = candidates;
  let writes = 0;
  for (let attempt = 0; round.length > 0; attempt++) {
    const states = round.map((c) => c.state);
    // "As of" each profile's latest event, exactly as ingest scores it: a profile rescored here gets the
    // score ingest would have given it with this model.
    const matrix = featurizeMany(
      states,
      states.map((s) => s.lastEventAt),
    );
    const started = performance.now();
    const result = await deps.model.score(matrix, states.length, FEATURE_COUNT);
    stats.inferenceMs += performance.now() - started;
    if (result === undefined) return undefined;
    stats.modelVersion = result.modelVersion;
    const scores = toProfileScores(result, states.length, deps.now(), states);
    const audienceSet = await deps.audiences?.current();
    stats.audienceSetVersion = audienceSet?.version;
    const landed: ActivationEvent[] = [];
    const next: Candidate[] = [];
    let throttled: string | undefined;
    // allSettled, then throw: no write may still be running when the run ends with an error.
    const outcomes = await Promise.allSettled(
      round.map(async (candidate, i) => {
        writes++;
        const { profileId } = candidate.stored;
        const version = candidate.version + 1;
        // Traits follow the new model (its population, its churn head), and so does membership: the
        // same evaluation, and the same transitions and log, as an ingest write of this profile.
        const extras = profileExtrasOf(
          candidate.state,
          scores[i],
          result.population,
          // A redirect (an anonymous profile merged into its user) is in no audience, as ingest keeps it.
          candidate.state.redirect === undefined ? audienceSet : undefined,
          candidate.audiences,
        );
        const committed = transitionsOf(
          profileId,
          candidate.audiences,
          extras.audiences,
          candidate.audienceLog,
          version,
          candidate.state.lastEventAt,
        );
        const item = {
          ...encodeProfileItem(candidate.state, {
            version,
            score: scores[i],
            ...extras,
            ...(committed.log === undefined ? {} : { audienceLog: committed.log }),
          }),
          // Rescoring is not activity: the TTL stays where the profile's last write put it, so a
          // profile nobody has seen for 400 days still expires however often models change.
          ...(typeof candidate.stored.expiresAt === 'number'
            ? { expiresAt: candidate.stored.expiresAt }
            : {}),
        };
        const outcome = await deps.profiles.putIfVersion(item, candidate.version);
        if (outcome.status === 'written') {
          stats.rescored++;
          const changes = membershipChanges(candidate.audiences, extras.audiences);
          stats.audienceEntries += changes.entered;
          stats.audienceExits += changes.exited;
          landed.push(...committed.events);
          return;
        }
        if (outcome.status === 'throttled') {
          throttled = candidate.stored.profileId;
          return;
        }
        stats.writeConflicts++;
        const current = outcome.current;
        // Gone: erased (or expired) since the scan; a conditional put never brings it back.
        if (current === undefined) stats.vanished++;
        else if (!needsRescore(current, result.modelVersion)) stats.alreadyFresh++;
        else if (attempt >= maxRetries) stats.gaveUp++;
        else {
          const fresh = candidateOf(current);
          if (fresh === undefined) stats.undecodable++;
          else next.push(fresh);
        }
      }),
    );
    const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (rejected !== undefined) throw rejected.reason;
    // After every write settled: only transitions of versions that landed are put.
    await putTransitions(landed, deps.transitions, stats);
    if (throttled !== undefined) throw new RescoreThrottledError(throttled);
    round = next;
  }
  return writes;
}

async function putTransitions(
  events: readonly ActivationEvent[],
  sink: TransitionSink | undefined,
  stats: RescoreStats,
): Promise<void> {
  if (sink === undefined || events.length === 0) return;
  const unsent = await sink.put(events);
  stats.activationEvents += events.filter((e) => !unsent.has(e.profileId)).length;
  stats.activationFailed += unsent.size;
}

function emptyStats(): RescoreStats {
  return {
    pages: 0,
    scanned: 0,
    stale: 0,
    rescored: 0,
    alreadyFresh: 0,
    vanished: 0,
    writeConflicts: 0,
    gaveUp: 0,
    undecodable: 0,
    inferenceMs: 0,
    modelVersion: undefined,
    audienceSetVersion: undefined,
    audienceEntries: 0,
    audienceExits: 0,
    activationEvents: 0,
    activationFailed: 0,
  };
}
