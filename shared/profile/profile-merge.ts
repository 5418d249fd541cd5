/**
 * Merge on identify: an anonymous profile's state folds into the user profile that identified it, and
 * the anonymous profile becomes a redirect, so its later events (still partitioned by `anonymousId`,
 * so on another shard) are applied to the user profile.
 *
 * The state rule ({@link mergeProfiles}) is a homomorphism of the fold within the order-independence
 * envelope of `apply-events.ts`: merging the fold of X into the fold of Y gives exactly the fold of
 * X ∪ Y, so whether an anonymous event lands before the merge (in the frozen anonymous state) or after
 * (through the redirect) does not change the result (property-tested). Per part:
 * counts and revenue add; decays and affinities are brought to the later anchor and added (exact, as
 * in the fold); recent products / searches / aliases, the dedupe window and the cart log are unions
 * of "top-N by time" sets (exact for any events); an order whose id hash is in both dedupe windows
 * counts once; sessions are one session when both current sessions are the same (same `sessionId`, or
 * both gap-delimited and within the gap), else the later one is current.
 *
 * Exactly once in effect without transactions (dynalite has none; DynamoDB's would cost 2 units per
 * KB): an ordered pair of conditional writes, each idempotent, and either half completes the other.
 * 1. Freeze: the user's consumer, applying an `identify` (userId U, anonymousId A), writes A's item as a
 *    redirect (`mergedInto` U) conditioned on A's version (or on its absence), keeping A's state and
 *    folding in A's events of the same batch that precede the identify (later ones go through the
 *    redirect, as they would in the next batch: where a batch is cut never changes the merge). A is
 *    never written again but by erasure.
 * 2. Fold: U is written (conditioned on its version) with the identify applied AND A's frozen state
 *    merged, recording A in `merges` (the idempotence marker) with A's sequence marks.
 * A crash between 1 and 2 leaves the identify unapplied on U: its redelivery meets the redirect into U
 * and does 2. A's own consumer meeting the redirect into U while U lacks the marker does 2 first (a
 * "completion", without the identify), then applies A's events to U. A merge already in `merges` is
 * never applied again, so 2 happens once whoever does it; each of A's later events is checked against
 * the marks recorded under A (redelivery, exact), the frozen A's own dedupe window (aged by A's latest
 * event, so a merge into a later user history does not shorten A's horizon) and the merged window.
 *
 * Guards: an anonymous id already redirected into another user is not merged again (a shared device),
 * nor once a user holds `PROFILE_LIMITS.mergedAliases` merges; either refusal is recorded on the user
 * (`mergeRefusals`) and counted. Only U's consumer freezes into U (identifies are keyed by userId), so
 * the bound is decided serially. The audit lives in the two items themselves (`mergedInto`/`linkedAt`
 * on A, `merges` / `mergeRefusals` on U): written by the same conditional writes that merge, it can
 * never disagree with the state, and costs no extra request (an S3 object would be a third,
 * non-atomic write).
 */
import { mergeRiskStates } from '../risk/risk-signals';
import { profileIdOf } from '../contract/event-contract';
import { decayAnchor, rescaleDecay } from './fixed-point-decay';
import {
  addCartEvent,
  advanceTo,
  byScore,
  foldEvent,
  ProfileMismatchError,
  pruneCart,
  sessionKeyOf,
  type SequencedEvent,
} from './apply-events';
import {
  AFFINITY_HALF_LIFE_MS,
  cloneProfile,
  emptyProfile,
  HALF_LIVES_MS,
  PROFILE_LIMITS,
  SESSION_GAP_SECONDS,
  type CategoryScore,
  type MergedAlias,
  type MergeRefusalReason,
  type ProfileState,
} from './profile-state';
import { indexOfRecent, insertionSort, pruneRecent, touchRecent } from './recent-set';

/** Prefix of anonymous profile ids (see `profileIdOf`). */
export const ANONYMOUS_PREFIX = 'anon:';

/** A frozen anonymous profile, ready to fold into its user. */
export interface MergeSource {
  anonymousId: string;
  /** The frozen state (its `redirect` names the user). */
  state: ProfileState;
  /** Event time of the identify that linked it, epoch ms. */
  linkedAt: number;
  /** FNV-1a of the identify's `sessionId`, 0 when it had none. */
  linkedSessionKey: number;
}

/** The session key of an identify, as sessions hash it. */
export { sessionKeyOf } from './apply-events';

/** What a fold may do with an anonymous id an identify names (or a redirect leads to). */
export type MergeResolution = MergeSource | { refused: MergeRefusalReason };

/** Decides, for an anonymous id not yet merged here, whether and what to merge. */
export type MergeResolver = (anonymousId: string) => MergeResolution | undefined;

/** Result of {@link foldIntoTarget}. */
export interface TargetFoldResult {
  state: ProfileState;
  /** Events that changed the profile (own and redirected). */
  applied: number;
  duplicates: number;
  /** Of `applied`, events that came through a redirect. */
  redirected: number;
  /** Anonymous profiles merged by this fold. */
  merged: number;
  refused: Record<MergeRefusalReason, number>;
  changed: boolean;
}

/** The anonymous id of an anonymous profile id, or undefined for a user profile. */
export function anonymousIdOf(profileId: string): string | undefined {
  return profileId.startsWith(ANONYMOUS_PREFIX) ? profileId.slice(ANONYMOUS_PREFIX.length) : undefined;
}

/** `profileIdOf(event) === profileId`, without building an anonymous profile id per event. */
function isOwnEvent(event: SequencedEvent['event'], profileId: string): boolean {
  if (event.userId !== undefined) return event.userId === profileId;
  const anonymousId = event.anonymousId!;
  return (
    profileId.length === ANONYMOUS_PREFIX.length + anonymousId.length &&
    profileId.startsWith(ANONYMOUS_PREFIX) &&
    profileId.endsWith(anonymousId)
  );
}

/** Whether `anonymousId` is already merged into `state`. */
export function hasMerged(state: ProfileState, anonymousId: string): boolean {
  return mergedAlias(state, anonymousId) !== undefined;
}

/** The merge of `anonymousId` in `state`, if any (a loop: at most `PROFILE_LIMITS.mergedAliases`). */
function mergedAlias(state: ProfileState, anonymousId: string): MergedAlias | undefined {
  for (const merge of state.merges) if (merge.anonymousId === anonymousId) return merge;
  return undefined;
}

/** Bring a decay array held at anchor `from` to anchor `to` (per half-life), mutating it. */
function rescaleDecays(decays: number[], fromMs: number, toMs: number): void {
  const count = HALF_LIVES_MS.length;
  for (let h = 0; h < count; h++) {
    const periods = decayAnchor(toMs, HALF_LIVES_MS[h]!) - decayAnchor(fromMs, HALF_LIVES_MS[h]!);
    if (periods <= 0) continue;
    for (let i = h; i < decays.length; i += count) decays[i] = rescaleDecay(decays[i]!, periods);
  }
}

function sameSession(a: ProfileState, b: ProfileState): boolean {
  if (a.sessionKey !== b.sessionKey) return false;
  if (a.sessionKey !== 0) return true;
  return (
    a.sessionStart <= b.sessionEnd + SESSION_GAP_SECONDS &&
    b.sessionStart <= a.sessionEnd + SESSION_GAP_SECONDS
  );
}

function mergeSessions(into: ProfileState, from: ProfileState): void {
  if (from.sessionCount === 0) return;
  if (into.sessionCount === 0 || !sameSession(into, from)) {
    const fromIsCurrent = into.sessionCount === 0 || from.sessionEnd > into.sessionEnd;
    into.sessionCount += from.sessionCount;
    if (fromIsCurrent) {
      into.sessionKey = from.sessionKey;
      into.sessionStart = from.sessionStart;
      into.sessionEnd = from.sessionEnd;
      into.sessionEvents = from.sessionEvents;
    }
    return;
  }
  into.sessionCount += from.sessionCount - 1;
  into.sessionStart = Math.min(into.sessionStart, from.sessionStart);
  into.sessionEnd = Math.max(into.sessionEnd, from.sessionEnd);
  into.sessionEvents += from.sessionEvents;
}

/**
 * Fold the frozen anonymous profile `source` into `target` (module comment). Pure; records the merge
 * (with the source's sequence marks) so it is never applied twice.
 *
 * @throws {ProfileMismatchError} when `target` is itself a redirect or already holds the merge
 */
export function mergeProfiles(target: ProfileState, source: MergeSource): ProfileState {
  if (target.redirect !== undefined || hasMerged(target, source.anonymousId)) {
    throw new ProfileMismatchError(
      'profileId',
      'a merge target must be live and not hold the merge yet',
      target.profileId,
    );
  }
  const next = cloneProfile(target);
  mergeInPlace(next, source);
  return next;
}

/** {@link mergeProfiles} into a state the caller owns (checked by the caller), mutating it. */
function mergeInPlace(next: ProfileState, source: MergeSource): void {
  const from = mergeableCopyOf(source.state);
  const lastEventAt = Math.max(next.lastEventAt, from.lastEventAt);
  if (from.lastEventAt > 0) {
    if (lastEventAt > next.lastEventAt) advanceTo(next, lastEventAt);
    rescaleDecays(from.decays, from.lastEventAt, lastEventAt);
    const affinityPeriods =
      decayAnchor(lastEventAt, AFFINITY_HALF_LIFE_MS) - decayAnchor(from.lastEventAt, AFFINITY_HALF_LIFE_MS);

    next.firstSeenAt =
      next.firstSeenAt === 0 ? from.firstSeenAt : Math.min(next.firstSeenAt, from.firstSeenAt);
    for (let i = 0; i < next.counts.length; i++) next.counts[i]! += from.counts[i]!;
    for (let i = 0; i < next.decays.length; i++) next.decays[i]! += from.decays[i]!;
    for (const { key, score } of from.categories) {
      const scaled = rescaleDecay(score, affinityPeriods);
      const found = categoryOf(next, key);
      if (found !== undefined) found.score += scaled;
      else next.categories.push({ key, score: scaled });
    }
    insertionSort(next.categories, byScore);
    next.categories.length = Math.min(next.categories.length, PROFILE_LIMITS.categories);
    for (const e of from.recentProducts)
      touchRecent(next.recentProducts, e.key, e.at, PROFILE_LIMITS.recentProducts);
    for (const e of from.recentSearches)
      touchRecent(next.recentSearches, e.key, e.at, PROFILE_LIMITS.recentSearches);
    for (const e of from.aliases) touchRecent(next.aliases, e.key, e.at, PROFILE_LIMITS.aliases);
    // Only order ids can sit in both windows (an event belongs to one profile): each such order once.
    for (const e of from.dedupe) if (indexOfRecent(next.dedupe, e.key) >= 0) next.orderCount--;
    for (const e of from.dedupe) touchRecent(next.dedupe, e.key, e.at, PROFILE_LIMITS.dedupeWindow);
    pruneRecent(next.dedupe, Math.floor(lastEventAt / 60_000) - PROFILE_LIMITS.dedupeMaxAgeMinutes);
    next.orderCount += from.orderCount;
    next.revenueCents += from.revenueCents;
    next.lastPurchaseAt = Math.max(next.lastPurchaseAt, from.lastPurchaseAt);
    for (const e of from.cart) addCartEvent(next.cart, e);
    pruneCart(next.cart, next.lastPurchaseAt);
    mergeSessions(next, from);
    mergeRiskStates(next.risk, from.risk);
  }
  const { sessionCount, sessionKey, sessionStart, sessionEnd, sessionEvents } = from;
  next.merges.push({
    anonymousId: source.anonymousId,
    at: Math.floor(source.linkedAt / 1000),
    shardMarks: from.shardMarks,
    session: { sessionCount, sessionKey, sessionStart, sessionEnd, sessionEvents },
    sharedSessionKey: source.linkedSessionKey,
    dedupe: from.dedupe,
  });
  insertionSort(next.merges, byAnonymousId);
}

/** Canonical order of merges. */
function byAnonymousId(a: MergedAlias, b: MergedAlias): number {
  return a.anonymousId < b.anonymousId ? -1 : a.anonymousId > b.anonymousId ? 1 : 0;
}

/** The affinity entry of `key` in `state` (a loop: at most `PROFILE_LIMITS.categories`, no closure). */
function categoryOf(state: ProfileState, key: string): CategoryScore | undefined {
  for (const category of state.categories) if (category.key === key) return category;
  return undefined;
}

/**
 * The parts of a merge source that a merge changes or keeps, copied; the rest is only read, and shared.
 * Copied: the decays (rescaled in place), the cart entries (inserted as they are into the target's
 * cart log) and the shard marks and dedupe window (kept in `merges`, and updated by the alias's later
 * events). Every list the merge only reads (categories, recent sets, counts, risk) is the source's own:
 * a whole clone per merge was most of its allocations.
 */
function mergeableCopyOf(state: ProfileState): ProfileState {
  return {
    ...state,
    decays: state.decays.slice(),
    cart: state.cart.map(({ at, productId, quantity, priceCents }) => ({
      at,
      productId,
      quantity,
      priceCents,
    })),
    shardMarks: state.shardMarks.map(({ shardId, sequenceNumber }) => ({ shardId, sequenceNumber })),
    dedupe: state.dedupe.map(({ key, at }) => ({ key, at })),
  };
}

function recordRefusal(
  state: ProfileState,
  anonymousId: string,
  atMs: number,
  reason: MergeRefusalReason,
): void {
  const at = Math.floor(atMs / 1000);
  const list = state.mergeRefusals.filter((r) => r.anonymousId !== anonymousId);
  list.push({ anonymousId, at, reason });
  list.sort((a, b) => b.at - a.at || (a.anonymousId < b.anonymousId ? -1 : 1));
  state.mergeRefusals = list.slice(0, PROFILE_LIMITS.mergeRefusals);
}

/**
 * Fold one batch's records for `profileId` — its own events and events redirected from anonymous
 * profiles merged into it — in stream order, merging when an applied `identify` names an anonymous id
 * not merged yet, or when a redirected event meets one (a completion). `resolve` answers for those ids
 * (the frozen source or a refusal; undefined = leave unmerged, e.g. when the freeze could not be
 * written). Pure: `state` is not mutated, unless the caller hands it over with `owned`.
 *
 * @param owned - `state` is the caller's own fresh copy (e.g. just decoded from its item) that nothing
 *   else reads again: it is folded in place instead of cloned first (a clone per profile and batch was a
 *   measurable share of ingest's allocations). @default false
 * @throws {ProfileMismatchError} when an event belongs to neither the profile nor a resolvable alias
 */
export function foldIntoTarget(
  state: ProfileState | undefined,
  events: readonly SequencedEvent[],
  profileId: string,
  resolve: MergeResolver,
  owned = false,
): TargetFoldResult {
  const next = state === undefined ? emptyProfile(profileId) : owned ? state : cloneProfile(state);
  if (next.redirect !== undefined) {
    throw new ProfileMismatchError('profileId', 'a redirected profile is frozen', next.redirect.into);
  }
  const result: TargetFoldResult = {
    state: next,
    applied: 0,
    duplicates: 0,
    redirected: 0,
    merged: 0,
    refused: { 'shared-device': 0, 'alias-limit': 0 },
    changed: false,
  };
  // `next` is this fold's own copy from here on: merges fold into it in place, no clone per merge.
  for (let i = 0; i < events.length; i++) {
    const sequenced = events[i]!;
    const event = sequenced.event;
    if (isOwnEvent(event, profileId)) {
      if (!foldEvent(next, sequenced, next.shardMarks)) {
        result.duplicates++;
        continue;
      }
      result.applied++;
      const anonymousId = event.anonymousId;
      if (event.type === 'identify' && anonymousId !== undefined && !hasMerged(next, anonymousId)) {
        mergeIn(result, resolve, anonymousId, event.occurredAt);
      }
      continue;
    }
    // Whose alias the event is, as `anonymousIdOf(profileIdOf(event))`, without building the id.
    const anonymousId = event.userId === undefined ? event.anonymousId : anonymousIdOf(event.userId);
    let alias = anonymousId === undefined ? undefined : mergedAlias(next, anonymousId);
    if (
      alias === undefined &&
      anonymousId !== undefined &&
      mergeIn(result, resolve, anonymousId, event.occurredAt)
    ) {
      alias = mergedAlias(next, anonymousId);
    }
    if (alias === undefined) {
      throw new ProfileMismatchError(
        'profileId',
        'every event must belong to the profile or an alias merged into it',
        profileId,
      );
    }
    if (foldEvent(next, sequenced, alias.shardMarks, alias)) {
      result.applied++;
      result.redirected++;
    } else result.duplicates++;
  }
  result.changed = result.applied > 0 || result.merged > 0;
  return result;
}

/**
 * Merge what `resolve` answers for `anonymousId` into the fold's state, or record its refusal.
 *
 * @returns whether it merged
 */
function mergeIn(
  result: TargetFoldResult,
  resolve: MergeResolver,
  anonymousId: string,
  atMs: number,
): boolean {
  const resolution = resolve(anonymousId);
  if (resolution === undefined) return false;
  if ('refused' in resolution) {
    recordRefusal(result.state, anonymousId, atMs, resolution.refused);
    result.refused[resolution.refused]++;
    return false;
  }
  mergeInPlace(result.state, resolution);
  result.merged++;
  return true;
}

/**
 * Freeze an anonymous profile as a redirect into `userId` (step 1), folding in `events` of its own
 * that arrived with the identify. Pure.
 */
export function freezeAsRedirect(
  state: ProfileState | undefined,
  anonymousId: string,
  userId: string,
  identify: Pick<SequencedEvent['event'], 'occurredAt' | 'sessionId'>,
  events: readonly SequencedEvent[],
): { source: MergeSource; applied: number; duplicates: number } {
  const profileId = `${ANONYMOUS_PREFIX}${anonymousId}`;
  const folded = foldIntoTarget(state, events, profileId, () => undefined);
  const frozen = folded.state;
  const linkedAt = identify.occurredAt;
  const linkedSessionKey = sessionKeyOf(identify.sessionId);
  frozen.redirect = { into: userId, linkedAt, linkedSessionKey };
  return {
    source: { anonymousId, state: frozen, linkedAt, linkedSessionKey },
    applied: folded.applied,
    duplicates: folded.duplicates,
  };
}

/** The source a redirect item stands for. */
export function sourceOf(state: ProfileState): MergeSource | undefined {
  const anonymousId = anonymousIdOf(state.profileId);
  return state.redirect === undefined || anonymousId === undefined
    ? undefined
    : {
        anonymousId,
        state,
        linkedAt: state.redirect.linkedAt,
        linkedSessionKey: state.redirect.linkedSessionKey,
      };
}

/** Options of {@link IdentityFold}. */
export interface IdentityFoldOptions {
  /**
   * Who owns each anonymous id, decided beforehand (the training set decides by event time over the
   * whole archive); by default the first identify this fold applies wins, as live.
   */
  claimedBy?: (anonymousId: string) => string | undefined;
}

/**
 * The merge rule in memory, record by record in the given order, with no storage in between: the
 * reference the pipeline is checked against, and the training set's way of stitching histories. The
 * same decisions as ingest: the first identify of an anonymous id wins, a user keeps at most
 * `PROFILE_LIMITS.mergedAliases` merges, anonymous events after the merge go to the user.
 */
export class IdentityFold {
  /** Every profile, frozen anonymous ones included (they carry `redirect`). */
  readonly states = new Map<string, ProfileState>();
  constructor(private readonly options: IdentityFoldOptions = {}) {}

  /** Where an event's record lands now: its own profile, or the user its anonymous profile merged into. */
  targetOf(profileId: string): string {
    return this.states.get(profileId)?.redirect?.into ?? profileId;
  }

  /** Fold one record; returns the profile it landed on. */
  apply(sequenced: SequencedEvent): string {
    const target = this.targetOf(profileIdOf(sequenced.event));
    const result = foldIntoTarget(this.states.get(target), [sequenced], target, (anonymousId) =>
      this.resolve(target, anonymousId, sequenced),
    );
    this.states.set(target, result.state);
    return target;
  }

  /** Live profiles only (frozen anonymous ones left out: their events are in their user's). */
  liveProfiles(): Map<string, ProfileState> {
    const live = new Map<string, ProfileState>();
    for (const [id, state] of this.states) if (state.redirect === undefined) live.set(id, state);
    return live;
  }

  private resolve(userId: string, anonymousId: string, by: SequencedEvent): MergeResolution {
    const anonId = `${ANONYMOUS_PREFIX}${anonymousId}`;
    const current = this.states.get(anonId);
    if (current?.redirect !== undefined) {
      return current.redirect.into === userId ? sourceOf(current)! : { refused: 'shared-device' };
    }
    const owner = this.options.claimedBy?.(anonymousId);
    if (owner !== undefined && owner !== userId) return { refused: 'shared-device' };
    if ((this.states.get(userId)?.merges.length ?? 0) >= PROFILE_LIMITS.mergedAliases) {
      return { refused: 'alias-limit' };
    }
    const { source } = freezeAsRedirect(current, anonymousId, userId, by.event, []);
    this.states.set(anonId, source.state);
    return source;
  }
}
