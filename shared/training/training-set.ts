/**
 * Point-in-time correct training examples from an event archive, built with the SAME fold and feature
 * functions the ingest path uses, so a training row is bit-for-bit a vector the ingest function scored.
 *
 * Why cutoffs sit at event times. Ingest scores a profile right after folding an event in, as of that
 * profile's `lastEventAt` (event time, never the wall clock). A row whose cutoff `t` IS one of the
 * profile's event times, built by folding exactly the events with `occurredAt ≤ t` (time order, ties
 * in archive order) and featurizing as of `t`, is therefore exactly the vector ingest computed at that
 * event (`streaming-batch-parity.test.ts` checks it bitwise). A cutoff between events would describe a
 * state ingest never scores: its recency and decay features would be aged to `t`, which serving never
 * does. Hence no grid of arbitrary times.
 *
 * Cutoff sampling, per profile:
 * 1. Candidates: the profile's distinct event times `t` with `t + W ≤ end of data` (W = the longest
 *    label window, below; end of data = the latest `occurredAt` in the archive), so every label is
 *    fully observed.
 * 2. Thinning: with `cutoffStepMs > 0`, time is cut into cells `[k·step, (k+1)·step)` (epoch aligned)
 *    and ONE candidate per cell is kept, drawn uniformly (seeded) among the profile's distinct event
 *    times in that cell. Ingest scores at every event, so a uniform draw is an unbiased sample of the
 *    scores it produces; taking, say, the last event of a cell would over-represent the state right
 *    after a session (often right after its purchase) and under-represent the in-session moments
 *    before a purchase. Rows within one burst of activity are nearly identical; one per cell keeps
 *    heavy users from drowning the others. `0` keeps every event time.
 * 3. Split (below): candidates that fall in a purge gap are dropped.
 * 4. Cap: a profile with more than `maxCutoffsPerProfile` candidates keeps a seeded uniform sample.
 *
 * Labels, one per head (W = max(H, D) is the longest label window):
 * - purchase: 1 when the profile has a `purchase` with `occurredAt` in `(t, t + H]`: a purchase AT `t` is
 *   already in the features, one at exactly `t + H` still counts;
 * - churn: 1 when the profile has NO event in `(t, t + D]` (D = churn horizon);
 * - next category: the category of the profile's first event with a category in `(t, t + W]`, as an
 *   index into the K categories most frequent among the TRAIN rows' next categories plus `other`; −1
 *   when there is none (the row is then left out of that head's loss and metrics). The window is
 *   bounded by W so that this label, too, is fully observed and purged like the others.
 * Candidates (step 1) need `t + W ≤ end of data`, and the purge gaps below are W wide.
 *
 * Identity: histories are stitched by identify, with the rule ingest applies (`profile-merge.ts`):
 * an anonymous id belongs to the first user that identifies it (by event time; live, the first
 * identify processed, the same unless two users identify one device), while that user holds fewer
 * than `PROFILE_LIMITS.mergedAliases`. Sampling and labels are per PERSON (a user with the anonymous
 * ids it claims): a browsing session on an anonymous cookie is labelled by the purchase its user makes
 * after logging in. Each row's features are those of the profile the person's latest event at `t`
 * landed on, exactly as ingest served it: the anonymous profile before the merge, the user's merged
 * profile after; `rowMeta` names that profile.
 *
 * Split by time, with purge gaps, by row counts. With `T` every candidate cutoff sorted by time, the
 * validation period starts at a cutoff `sv` and the test period at a cutoff `st`:
 * - train: `t < sv − W`
 * - (purge gap `sv − W ≤ t < sv`: a training label window `(t, t+W]` there would reach into validation)
 * - validation: `sv ≤ t < st − W`
 * - (purge gap `st − W ≤ t < st`, likewise before test)
 * - test: `st ≤ t`
 * So every training label window ends before the first validation cutoff, and every validation label
 * window before the first test cutoff: no example is evaluated on an outcome a training label saw.
 * `sv` and `st` are chosen so that the rows KEPT come out in the requested shares (v validation, τ
 * test, the rest train): the latest `st` is searched for whose test rows are at most τ/(1 − v − τ) of
 * the train rows left once validation has its v/τ multiple of the test rows right before the gap (every
 * count moves one way with `st`, so a binary search finds it). Counting rows rather than fractions of
 * the time span matters for real archives: a few stray timestamps weeks before the rest stretch the
 * span, but they are a few rows, so they cannot empty a split.
 */
import { FieldRuleError } from '../errors';
import { type ContractEvent, profileIdOf } from '../contract/event-contract';
import {
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SCHEMA_VERSION,
  featurize,
  featurizeInto,
} from '../features/feature-vector';
import type { DatasetSplit } from '../model/dataset-split';
import { createRandom, type RandomSource, shuffleInPlace } from '../model/seeded-random';
import { fnv1a32 } from '../profile/hashing';
import { applyEventsToProfile, categoryKeyOf, type SequencedEvent } from '../profile/apply-events';
import { ANONYMOUS_PREFIX, IdentityFold } from '../profile/profile-merge';
import { PROFILE_LIMITS, type ProfileState } from '../profile/profile-state';

const HOUR_MS = 3_600_000;

/** Default cutoff cell: 6 hours (about four scores per active day and profile). */
export const DEFAULT_CUTOFF_STEP_MS = 6 * HOUR_MS;
/** Default cap of rows per profile: 32, more than a week of 6-hour cells that hold activity. */
export const DEFAULT_MAX_CUTOFFS_PER_PROFILE = 32;
/** Default churn horizon D: one day, the longest nine days of history leave every split rows for. */
export const DEFAULT_CHURN_HORIZON_MS = 24 * HOUR_MS;
/** Default number of named categories K of the next-category head (plus `other`). */
export const DEFAULT_NEXT_CATEGORY_COUNT = 20;
/** The class of every category outside the K named ones. */
export const OTHER_CATEGORY = 'other';
/** Default seed of the per-profile sampling. */
export const DEFAULT_TRAINING_SET_SEED = 42;
/** Default shares of the kept rows for validation and test (train gets the rest, 70 %). */
export const DEFAULT_TIME_SPLIT = { validationFraction: 0.15, testFraction: 0.15 } as const;
/**
 * Feature the "recent cart activity" baseline scores by: add-to-cart count decayed with a 1-day
 * half-life, the rule a marketer would use without a model.
 */
export const CART_HEURISTIC_FEATURE = 'decay_1d_add_to_cart_log1p';

/** Shard id of the synthetic sequence numbers a training fold uses (they only have to increase). */
const TRAINING_SHARD_ID = 'training-set';

/** Options of {@link buildTrainingSet}. */
export interface TrainingSetOptions {
  /** Label horizon H: a row is positive when the profile buys in `(t, t + H]`. */
  labelHorizonMs: number;
  /** Churn horizon D: a row churns when the profile has no event in `(t, t + D]`. @default DEFAULT_CHURN_HORIZON_MS (1 day) */
  churnHorizonMs?: number;
  /** Named categories K of the next-category label (plus `other`). @default DEFAULT_NEXT_CATEGORY_COUNT (20) */
  nextCategoryCount?: number;
  /** Cutoff cell width; `0` keeps every event time. @default DEFAULT_CUTOFF_STEP_MS (6 h) */
  cutoffStepMs?: number;
  /** Rows kept per profile at most (seeded sample). @default DEFAULT_MAX_CUTOFFS_PER_PROFILE (32) */
  maxCutoffsPerProfile?: number;
  /** Seed of the cutoff draws and the per-profile cap. @default DEFAULT_TRAINING_SET_SEED (42) */
  seed?: number;
  /** Shares of the kept rows (each positive, summing below 1). @default DEFAULT_TIME_SPLIT (0.15 / 0.15) */
  split?: { validationFraction: number; testFraction: number };
}

/** How the examples came about, for logs and reports. */
export interface TrainingSetStats {
  /** Events handed in. */
  eventsIn: number;
  /** Events dropped because their `eventId` was seen before. */
  duplicateEvents: number;
  /** People: user profiles with the anonymous profiles they claimed, and unclaimed anonymous profiles. */
  profiles: number;
  /** Anonymous profiles stitched into a user's history. */
  mergedProfiles: number;
  /** Cutoffs after thinning (step 2 of the sampling). */
  candidateCutoffs: number;
  /** Candidates dropped in the purge gaps. */
  purgedCutoffs: number;
  /** Candidates dropped by the per-profile cap. */
  cappedCutoffs: number;
  positives: number;
}

/** Labelled examples, one row per (profile, cutoff), with a time split. */
export interface TrainingSet {
  /** Row-major `rows × FEATURE_COUNT`. */
  features: Float32Array;
  /** Purchase label, 0/1 per row. */
  labels: Uint8Array;
  /** Churn label, 0/1 per row: no event in `(t, t + D]`. */
  churnLabels: Uint8Array;
  /** Next-category label per row: an index into `categories`, −1 when no categorised event follows in the window. */
  nextCategoryLabels: Int16Array;
  /** The K most frequent next categories of the train rows (count desc, then key), then {@link OTHER_CATEGORY}. */
  categories: string[];
  /**
   * Row-major `rows × categories.length`: the profile's own category affinity at `t` (its state's
   * decayed scores, summed per class, as shares; all 0 without any). The affinity baseline ranks by it;
   * features cannot express it (they carry shares, not which category), so that baseline is served
   * from the profile state, not from the graph.
   */
  categoryAffinity: Float32Array;
  /** Per row, the class of the profile's last categorised event at or before `t`, −1 when none. */
  lastCategory: Int16Array;
  /** The label windows the set was built with. */
  horizons: { purchaseMs: number; churnMs: number };
  rows: number;
  featureNames: readonly string[];
  featureSchemaVersion: number;
  /**
   * Which profile and cutoff each row describes (the profile the person's latest event at the cutoff
   * landed on), and whose row it is (`personId`: the user id, or the unclaimed anonymous profile; the
   * unit of differential privacy). Rows are ordered by person, then cutoff.
   */
  rowMeta: { profileId: string; personId: string; cutoffMs: number }[];
  /** Row indices of each split, ascending. */
  split: DatasetSplit;
  /** Event-time span of the (deduplicated) events: earliest and latest `occurredAt`. */
  window: { fromMs: number; toMs: number };
  /**
   * Cutoff ranges of the splits: train `[from, to)`, validation `[from, to)`, test `[from, to]`
   * (see the module comment for how they are chosen).
   */
  cutoffs: { train: [number, number]; validation: [number, number]; test: [number, number] };
  stats: TrainingSetStats;
}

/** Options or data that cannot give a training set; names the field, the rule and the value. */
export class TrainingSetError extends FieldRuleError {
  override readonly name = 'TrainingSetError';
}

/** Events grouped by profile, each group deduplicated by `eventId` and in time order. */
export interface ProfileTimelines {
  /** Profile id → its events by `occurredAt` (ties keep archive order, as the stream delivers them). */
  byProfile: Map<string, ContractEvent[]>;
  duplicateEvents: number;
}

/**
 * De-duplicate by `eventId` (the first copy wins: an archive may hold a redelivered range twice) and
 * group by profile in event-time order.
 */
export function profileTimelines(events: readonly ContractEvent[]): ProfileTimelines {
  const seen = new Set<string>();
  const byProfile = new Map<string, ContractEvent[]>();
  let duplicateEvents = 0;
  for (const event of events) {
    if (seen.has(event.eventId)) {
      duplicateEvents++;
      continue;
    }
    seen.add(event.eventId);
    const id = profileIdOf(event);
    const list = byProfile.get(id);
    if (list === undefined) byProfile.set(id, [event]);
    else list.push(event);
  }
  // Array.prototype.sort is stable: equal times stay in archive order.
  for (const list of byProfile.values()) list.sort((x, y) => x.occurredAt - y.occurredAt);
  return { byProfile, duplicateEvents };
}

/** Events grouped by person (histories stitched by identify), each in time order. */
export interface PersonTimelines {
  /** Person id (the user id, or an unclaimed profile's own id) → the events of all its profiles. */
  byPerson: Map<string, ContractEvent[]>;
  /** Anonymous id → the user that claimed it (the module comment's rule), over all the data. */
  claims: ReadonlyMap<string, string>;
  /** Anonymous profiles stitched into this set's users (claims whose user is here). */
  mergedProfiles: number;
  duplicateEvents: number;
}

/** An identify that names an anonymous id: what the claim rule needs, and nothing personal. */
export interface IdentifyLink {
  userId: string;
  anonymousId: string;
  occurredAt: number;
  eventId: string;
}

/** The identify links of de-duplicated timelines (user profiles' identify events naming an anonymous id). */
export function identifyLinks(byProfile: ReadonlyMap<string, readonly ContractEvent[]>): IdentifyLink[] {
  const links: IdentifyLink[] = [];
  for (const [id, list] of byProfile) {
    if (id.startsWith(ANONYMOUS_PREFIX)) continue;
    for (const e of list) {
      if (e.type !== 'identify' || e.anonymousId === undefined) continue;
      links.push({ userId: id, anonymousId: e.anonymousId, occurredAt: e.occurredAt, eventId: e.eventId });
    }
  }
  return links;
}

const compareText = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

/**
 * The claims (anonymous id → user) of identify links gathered from anywhere, in any order: event time
 * decides, ties by user, anonymous id and event id (a total order, so the claim is the same however
 * the links were collected); a user claims at most `PROFILE_LIMITS.mergedAliases` ids.
 */
export function claimsOf(links: readonly IdentifyLink[]): Map<string, string> {
  const ordered = [...links].sort(
    (x, y) =>
      x.occurredAt - y.occurredAt ||
      compareText(x.userId, y.userId) ||
      compareText(x.anonymousId, y.anonymousId) ||
      compareText(x.eventId, y.eventId),
  );
  const claims = new Map<string, string>();
  const claimed = new Map<string, number>();
  for (const { userId, anonymousId } of ordered) {
    if (claims.has(anonymousId)) continue;
    if ((claimed.get(userId) ?? 0) >= PROFILE_LIMITS.mergedAliases) continue;
    claims.set(anonymousId, userId);
    claimed.set(userId, (claimed.get(userId) ?? 0) + 1);
  }
  return claims;
}

/** {@link profileTimelines}, with each claimed anonymous profile's events moved into its user's. */
export function personTimelines(events: readonly ContractEvent[]): PersonTimelines {
  const timelines = profileTimelines(events);
  return stitchPersons(timelines, claimsOf(identifyLinks(timelines.byProfile)));
}

/**
 * Group profile timelines by person under `claims` (computed over all the data). A claimed anonymous
 * profile whose user is not among `timelines` is left out: its events belong to the partition that
 * holds the user (the partitioned build ships them there, `partitioned-training-set.ts`).
 */
export function stitchPersons(
  timelines: ProfileTimelines,
  claims: ReadonlyMap<string, string>,
): PersonTimelines {
  const { byProfile, duplicateEvents } = timelines;
  const byPerson = new Map<string, ContractEvent[]>();
  const aliasesOf = new Map<string, string[]>();
  for (const [id, list] of byProfile) {
    const owner = id.startsWith(ANONYMOUS_PREFIX) ? claims.get(id.slice(ANONYMOUS_PREFIX.length)) : undefined;
    if (owner === undefined) byPerson.set(id, list);
    else if (byProfile.has(owner)) aliasesOf.set(owner, [...(aliasesOf.get(owner) ?? []), id]);
  }
  // The user's own events, then each alias's in id order, stable-sorted by time: equal times keep
  // that order, whatever order the profiles were read in (one archive or partitions plus shipped events).
  for (const [user, aliases] of aliasesOf) {
    const merged = [...byPerson.get(user)!];
    for (const alias of aliases.sort()) merged.push(...byProfile.get(alias)!);
    byPerson.set(
      user,
      merged.sort((x, y) => x.occurredAt - y.occurredAt),
    );
  }
  let mergedProfiles = 0;
  for (const user of claims.values()) if (byProfile.has(user)) mergedProfiles++;
  return { byPerson, claims, mergedProfiles, duplicateEvents };
}

/**
 * Folds a person's time-ordered timeline forward: the plain fold for a person of one profile with no
 * identify (the common case, batched), the identity fold otherwise (merges as ingest applies them).
 */
class PersonFold {
  private state: ProfileState | undefined;
  private readonly identity: IdentityFold | undefined;
  private target: string;

  constructor(
    private readonly personId: string,
    private readonly timeline: readonly ContractEvent[],
    claims: ReadonlyMap<string, string>,
  ) {
    this.target = personId;
    const stitched = timeline.some((e) => e.type === 'identify' || profileIdOf(e) !== personId);
    this.identity = stitched
      ? new IdentityFold({ claimedBy: (anonymousId) => claims.get(anonymousId) })
      : undefined;
  }

  /** Fold `timeline[from, to)`. */
  advance(from: number, to: number): void {
    if (this.identity === undefined) {
      this.state = foldRange(this.state, this.timeline, from, to, this.personId);
      return;
    }
    for (let i = from; i < to; i++) {
      this.target = this.identity.apply({
        event: this.timeline[i]!,
        shardId: TRAINING_SHARD_ID,
        sequenceNumber: String(i + 1),
      });
    }
  }

  /** The profile the latest folded event landed on, and its state. */
  current(): { profileId: string; state: ProfileState | undefined } {
    if (this.identity === undefined) return { profileId: this.personId, state: this.state };
    return { profileId: this.target, state: this.identity.states.get(this.target) };
  }

  /** The state of one of the person's profiles (frozen or live). */
  stateOf(profileId: string): ProfileState | undefined {
    return this.identity === undefined
      ? profileId === this.personId
        ? this.state
        : undefined
      : this.identity.states.get(profileId);
  }
}

/** Fold `timeline[from, to)` into `state` exactly as ingest would (sequence numbers = positions + 1). */
function foldRange(
  state: ProfileState | undefined,
  timeline: readonly ContractEvent[],
  from: number,
  to: number,
  profileId: string,
): ProfileState | undefined {
  if (to <= from) return state;
  const sequenced: SequencedEvent[] = [];
  for (let i = from; i < to; i++) {
    sequenced.push({ event: timeline[i]!, shardId: TRAINING_SHARD_ID, sequenceNumber: String(i + 1) });
  }
  return applyEventsToProfile(state, sequenced, profileId).state;
}

/** Index of the first event after `t` in a time-ordered timeline, searching from `from`. */
function firstAfter(timeline: readonly ContractEvent[], t: number, from: number): number {
  let i = from;
  while (i < timeline.length && timeline[i]!.occurredAt <= t) i++;
  return i;
}

/**
 * The features of `profileId` as of `asOfMs`, from its events with `occurredAt ≤ asOfMs` only. When
 * `asOfMs` is one of the profile's event times this is exactly what ingest computed there.
 *
 * @returns undefined when the profile has no event at or before `asOfMs`
 */
export function featuresAt(
  events: readonly ContractEvent[],
  profileId: string,
  asOfMs: number,
): Float32Array | undefined {
  const { byPerson, claims } = personTimelines(events);
  const anonymousId = profileId.startsWith(ANONYMOUS_PREFIX)
    ? profileId.slice(ANONYMOUS_PREFIX.length)
    : undefined;
  const personId = (anonymousId === undefined ? undefined : claims.get(anonymousId)) ?? profileId;
  const timeline = byPerson.get(personId);
  if (timeline === undefined) return undefined;
  const fold = new PersonFold(personId, timeline, claims);
  fold.advance(0, firstAfter(timeline, asOfMs, 0));
  const state = fold.stateOf(profileId);
  return state === undefined ? undefined : featurize(state, asOfMs);
}

/**
 * Distinct event times `t ≤ lastCutoff`, one drawn uniformly per cell of `stepMs` (all when 0).
 */
function candidateCutoffs(
  timeline: readonly ContractEvent[],
  lastCutoff: number,
  stepMs: number,
  random: RandomSource,
): number[] {
  const out: number[] = [];
  let cell = Number.NaN;
  let timesInCell = 0;
  let previous = Number.NaN;
  for (const { occurredAt: t } of timeline) {
    if (t > lastCutoff) break;
    if (t === previous) continue;
    previous = t;
    const tCell = stepMs > 0 ? Math.floor(t / stepMs) : t;
    if (tCell !== cell) {
      cell = tCell;
      timesInCell = 1;
      out.push(t);
    } else if (random() * ++timesInCell < 1) {
      // Reservoir sampling of one: every distinct time in the cell ends up kept with probability 1/n.
      out[out.length - 1] = t;
    }
  }
  return out;
}

type SplitName = keyof DatasetSplit;

/** Index of the first element of ascending `sorted` that is ≥ `value`. */
function lowerBound(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The validation and test starts that give the kept rows the requested shares (module comment), or
 * undefined when no choice leaves every split a row.
 */
function splitBoundaries(
  sorted: ArrayLike<number>,
  horizon: number,
  validationFraction: number,
  testFraction: number,
): { validationStart: number; testStart: number } | undefined {
  const trainPerTest = (1 - validationFraction - testFraction) / testFraction;
  const validationPerTest = validationFraction / testFraction;
  const cut = (k: number) => {
    const testStart = sorted[k]!;
    const testRows = sorted.length - lowerBound(sorted, testStart);
    const pool = lowerBound(sorted, testStart - horizon);
    const validationRows = Math.max(1, Math.round(validationPerTest * testRows));
    if (validationRows > pool) return undefined;
    const validationStart = sorted[pool - validationRows]!;
    const trainRows = lowerBound(sorted, validationStart - horizon);
    return trainRows >= Math.max(1, trainPerTest * testRows) ? { validationStart, testStart } : undefined;
  };
  // The train rows grow and the test rows shrink as the test start moves later: the first k that
  // works leaves test its largest share within the ratio.
  let found: { validationStart: number; testStart: number } | undefined;
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const boundaries = cut(mid);
    if (boundaries === undefined) lo = mid + 1;
    else {
      found = boundaries;
      hi = mid - 1;
    }
  }
  return found;
}

function checkOptions(options: TrainingSetOptions): Required<TrainingSetOptions> {
  const {
    labelHorizonMs,
    churnHorizonMs = DEFAULT_CHURN_HORIZON_MS,
    nextCategoryCount = DEFAULT_NEXT_CATEGORY_COUNT,
    cutoffStepMs = DEFAULT_CUTOFF_STEP_MS,
    maxCutoffsPerProfile = DEFAULT_MAX_CUTOFFS_PER_PROFILE,
    seed = DEFAULT_TRAINING_SET_SEED,
    split = DEFAULT_TIME_SPLIT,
  } = options;
  if (!(Number.isFinite(labelHorizonMs) && labelHorizonMs > 0)) {
    throw new TrainingSetError('labelHorizonMs', 'must be a positive number', String(labelHorizonMs));
  }
  if (!(Number.isFinite(churnHorizonMs) && churnHorizonMs > 0)) {
    throw new TrainingSetError('churnHorizonMs', 'must be a positive number', String(churnHorizonMs));
  }
  if (!(Number.isSafeInteger(nextCategoryCount) && nextCategoryCount >= 1 && nextCategoryCount < 1000)) {
    throw new TrainingSetError(
      'nextCategoryCount',
      'must be an integer in [1, 999]',
      String(nextCategoryCount),
    );
  }
  if (!(Number.isFinite(cutoffStepMs) && cutoffStepMs >= 0)) {
    throw new TrainingSetError('cutoffStepMs', 'must be a non-negative number', String(cutoffStepMs));
  }
  if (!(Number.isSafeInteger(maxCutoffsPerProfile) && maxCutoffsPerProfile >= 1)) {
    throw new TrainingSetError(
      'maxCutoffsPerProfile',
      'must be a positive integer',
      String(maxCutoffsPerProfile),
    );
  }
  const { validationFraction: v, testFraction: t } = split;
  if (!(v > 0 && t > 0 && v + t < 1)) {
    throw new TrainingSetError('split', 'fractions must be positive and sum below 1', `${v}+${t}`);
  }
  return {
    labelHorizonMs,
    churnHorizonMs,
    nextCategoryCount,
    cutoffStepMs,
    maxCutoffsPerProfile,
    seed,
    split,
  };
}

/**
 * Build labelled examples with a purged time split (see the module comment for the sampling and the
 * cut). One pass per profile over its time-ordered events: the state is folded forward from cutoff
 * to cutoff, never rebuilt from scratch.
 *
 * It is the one-partition case of the partitioned build (`partitioned-training-set.ts`): every step
 * that looks across profiles (end of data, split boundaries, category classes, row order) goes through
 * the same functions, so any split of the profiles into partitions gives the same set.
 *
 * @throws {TrainingSetError} for invalid options, or when a split is left without rows once the purge
 *   gaps are taken out (too little data for the horizon)
 */
export function buildTrainingSet(events: readonly ContractEvent[], options: TrainingSetOptions): TrainingSet {
  const checked = checkOptions(options);
  const timelines = personTimelines(events);
  const extent = extentOf(timelines.byPerson);
  const candidates = partitionCandidates(timelines, extent.toMs, checked);
  const plan = planSplit([candidates.sorted], extent, checked);
  const rows = partitionRows(timelines, candidates, plan, checked);
  return assembleTrainingSet([{ rows, eventsIn: events.length }], plan, checked);
}

/** Earliest and latest `occurredAt` of deduplicated timelines (±Infinity when empty). */
export function extentOf(timelines: ReadonlyMap<string, readonly ContractEvent[]>): {
  fromMs: number;
  toMs: number;
} {
  let fromMs = Infinity;
  let toMs = -Infinity;
  for (const timeline of timelines.values()) {
    fromMs = Math.min(fromMs, timeline[0]!.occurredAt);
    toMs = Math.max(toMs, timeline[timeline.length - 1]!.occurredAt);
  }
  return { fromMs, toMs };
}

/**
 * The seeded generator of one profile's draws. Seeding per profile (rather than one sequence across
 * profiles in id order) makes a profile's cutoffs independent of which other profiles share its
 * partition: the property the partitioned build rests on.
 */
function profileRandom(seed: number, profileId: string, phase: number): RandomSource {
  return createRandom((seed ^ fnv1a32(profileId) ^ Math.imul(phase, 0x9e3779b9)) >>> 0);
}

/** Candidate cutoffs of one partition's people (phase 1). */
export interface PartitionCandidates {
  /** Person id → its candidate cutoffs, ascending; people in id order. */
  byPerson: Map<string, number[]>;
  /** Every candidate, ascending: what the split needs from the partition. */
  sorted: Float64Array;
}

/** Phase 1: candidate cutoffs (steps 1–2 of the module comment) given the end of all data `toMs`. */
export function partitionCandidates(
  timelines: PersonTimelines,
  toMs: number,
  options: TrainingSetOptions,
): PartitionCandidates {
  const { labelHorizonMs, churnHorizonMs, cutoffStepMs, seed } = checkOptions(options);
  const window = Math.max(labelHorizonMs, churnHorizonMs);
  const byPerson = new Map<string, number[]>();
  let count = 0;
  for (const id of [...timelines.byPerson.keys()].sort()) {
    const random = profileRandom(seed, id, 1);
    const cutoffs = candidateCutoffs(timelines.byPerson.get(id)!, toMs - window, cutoffStepMs, random);
    if (cutoffs.length === 0) continue;
    byPerson.set(id, cutoffs);
    count += cutoffs.length;
  }
  const sorted = new Float64Array(count);
  let i = 0;
  for (const cutoffs of byPerson.values()) for (const t of cutoffs) sorted[i++] = t;
  sorted.sort();
  return { byPerson, sorted };
}

/** The global part of the cut: what every partition needs to label and split its rows. */
export interface SplitPlan {
  window: { fromMs: number; toMs: number };
  validationStart: number;
  testStart: number;
  cutoffs: TrainingSet['cutoffs'];
  candidateCutoffs: number;
  /** Candidates outside the purge gaps: the rows before the per-profile cap. */
  unpurgedCutoffs: number;
}

/**
 * The split boundaries from every partition's sorted candidates (merged: the order statistics are
 * global). Memory: 8 bytes per candidate.
 *
 * @throws {TrainingSetError} when no cut leaves every split a row
 */
export function planSplit(
  sortedPerPartition: readonly Float64Array[],
  window: { fromMs: number; toMs: number },
  options: TrainingSetOptions,
): SplitPlan {
  const { labelHorizonMs, churnHorizonMs, split } = checkOptions(options);
  const longest = Math.max(labelHorizonMs, churnHorizonMs);
  const sorted = new Float64Array(sortedPerPartition.reduce((n, s) => n + s.length, 0));
  let offset = 0;
  for (const part of sortedPerPartition) {
    sorted.set(part, offset);
    offset += part.length;
  }
  sorted.sort();
  const boundaries = splitBoundaries(sorted, longest, split.validationFraction, split.testFraction);
  const c0 = sorted[0] ?? Infinity;
  const c1 = sorted[sorted.length - 1] ?? -Infinity;
  if (boundaries === undefined) {
    const span = sorted.length === 0 ? 'no cutoffs' : `${((c1 - c0) / HOUR_MS).toFixed(2)} h of cutoffs`;
    throw new TrainingSetError(
      'split',
      'every split needs cutoffs outside the purge gaps of the longest label window',
      span,
    );
  }
  const { validationStart, testStart } = boundaries;
  let unpurgedCutoffs = 0;
  for (const t of sorted) if (splitOfCutoff({ validationStart, testStart }, longest, t)) unpurgedCutoffs++;
  return {
    window,
    unpurgedCutoffs,
    validationStart,
    testStart,
    candidateCutoffs: sorted.length,
    cutoffs: {
      train: [c0, validationStart - longest],
      validation: [validationStart, testStart - longest],
      test: [testStart, c1],
    },
  };
}

/** The split of a cutoff under a plan, `undefined` in a purge gap. */
function splitOfCutoff(
  plan: Pick<SplitPlan, 'validationStart' | 'testStart'>,
  longest: number,
  t: number,
): SplitName | undefined {
  const { validationStart, testStart } = plan;
  return t < validationStart - longest
    ? 'train'
    : t < validationStart
      ? undefined
      : t < testStart - longest
        ? 'validation'
        : t < testStart
          ? undefined
          : 'test';
}

/**
 * One partition's rows before the category classes are known (they are counted over every
 * partition's train rows): next and last categories as keys, affinities as raw state scores.
 */
export interface PartitionRows {
  /** Row-major `rows × FEATURE_COUNT`. */
  features: Float32Array;
  labels: Uint8Array;
  churnLabels: Uint8Array;
  nextKeys: (string | undefined)[];
  lastKeys: (string | undefined)[];
  affinities: { key: string; score: number }[][];
  /** By person id, then cutoff. */
  rowMeta: TrainingSet['rowMeta'];
  splitOfRow: SplitName[];
  profiles: number;
  mergedProfiles: number;
  duplicateEvents: number;
  purgedCutoffs: number;
  cappedCutoffs: number;
}

/** Phases 2–3 for one partition: purge, cap (seeded per profile), fold forward and featurize. */
export function partitionRows(
  timelines: PersonTimelines,
  candidates: PartitionCandidates,
  plan: SplitPlan,
  options: TrainingSetOptions,
): PartitionRows {
  const { labelHorizonMs: horizon, churnHorizonMs, maxCutoffsPerProfile, seed } = checkOptions(options);
  const window = Math.max(horizon, churnHorizonMs);
  let purged = 0;
  let capped = 0;
  let rows = 0;
  const keptByProfile = new Map<string, number[]>();
  for (const [id, cutoffs] of candidates.byPerson) {
    let kept = cutoffs.filter((t) => splitOfCutoff(plan, window, t) !== undefined);
    purged += cutoffs.length - kept.length;
    if (kept.length > maxCutoffsPerProfile) {
      capped += kept.length - maxCutoffsPerProfile;
      kept = shuffleInPlace(kept, profileRandom(seed, id, 2))
        .slice(0, maxCutoffsPerProfile)
        .sort((x, y) => x - y);
    }
    keptByProfile.set(id, kept);
    rows += kept.length;
  }

  const out: PartitionRows = {
    features: new Float32Array(rows * FEATURE_COUNT),
    labels: new Uint8Array(rows),
    churnLabels: new Uint8Array(rows),
    nextKeys: [],
    lastKeys: [],
    affinities: [],
    rowMeta: [],
    splitOfRow: [],
    profiles: timelines.byPerson.size,
    mergedProfiles: timelines.mergedProfiles,
    duplicateEvents: timelines.duplicateEvents,
    purgedCutoffs: purged,
    cappedCutoffs: capped,
  };
  for (const [id, cutoffs] of keptByProfile) {
    const timeline = timelines.byPerson.get(id)!;
    const purchases = timeline.filter((e) => e.type === 'purchase').map((e) => e.occurredAt);
    const fold = new PersonFold(id, timeline, timelines.claims);
    let folded = 0;
    let nextPurchase = 0;
    let lastKey: string | undefined;
    for (const t of cutoffs) {
      const upTo = firstAfter(timeline, t, folded);
      fold.advance(folded, upTo);
      const { profileId, state } = fold.current();
      for (let i = folded; i < upTo; i++) lastKey = categoryKeyOf(timeline[i]!) ?? lastKey;
      folded = upTo;
      const row = out.rowMeta.length;
      featurizeInto(state!, t, out.features, row * FEATURE_COUNT);
      while (nextPurchase < purchases.length && purchases[nextPurchase]! <= t) nextPurchase++;
      out.labels[row] = nextPurchase < purchases.length && purchases[nextPurchase]! <= t + horizon ? 1 : 0;
      out.churnLabels[row] =
        upTo >= timeline.length || timeline[upTo]!.occurredAt > t + churnHorizonMs ? 1 : 0;
      let next: string | undefined;
      for (let i = upTo; next === undefined && i < timeline.length; i++) {
        if (timeline[i]!.occurredAt > t + window) break;
        next = categoryKeyOf(timeline[i]!);
      }
      out.nextKeys.push(next);
      out.lastKeys.push(lastKey);
      out.affinities.push(state!.categories.map(({ key, score }) => ({ key, score })));
      out.rowMeta.push({ profileId, personId: id, cutoffMs: t });
      out.splitOfRow.push(splitOfCutoff(plan, window, t)!);
    }
  }
  return out;
}

/** One partition's rows as the assembly takes them, with the events it was built from. */
export interface AssembledPartition {
  rows: PartitionRows;
  /** Events handed in (before de-duplication). */
  eventsIn: number;
}

/**
 * Phase 4 and the stitch: rows of every partition in profile-id order (each partition's rows already
 * are; ids are unique to one partition), the category classes counted on the train rows of all of
 * them, labels and affinities mapped to those classes.
 */
export function assembleTrainingSet(
  partitions: readonly AssembledPartition[],
  plan: SplitPlan,
  options: TrainingSetOptions,
): TrainingSet {
  const { labelHorizonMs: horizon, churnHorizonMs, nextCategoryCount } = checkOptions(options);
  // Merge the partitions' id-ordered runs into one id order (k-way: each run is already sorted).
  const order: [number, number][] = [];
  const heads = partitions.map(() => 0);
  for (;;) {
    let best = -1;
    for (let p = 0; p < partitions.length; p++) {
      const meta = partitions[p]!.rows.rowMeta[heads[p]!];
      if (meta === undefined) continue;
      const bestMeta = best < 0 ? undefined : partitions[best]!.rows.rowMeta[heads[best]!]!;
      if (bestMeta === undefined || meta.personId < bestMeta.personId) best = p;
    }
    if (best < 0) break;
    // A person's rows are contiguous in its partition: take them all.
    const part = partitions[best]!.rows;
    const id = part.rowMeta[heads[best]!]!.personId;
    while (part.rowMeta[heads[best]!]?.personId === id) order.push([best, heads[best]!++]);
  }

  const rows = order.length;
  const features = new Float32Array(rows * FEATURE_COUNT);
  const labels = new Uint8Array(rows);
  const churnLabels = new Uint8Array(rows);
  const rowMeta: TrainingSet['rowMeta'] = new Array(rows);
  const splitRows: DatasetSplit = { train: [], validation: [], test: [] };
  let positives = 0;
  order.forEach(([p, r], row) => {
    const part = partitions[p]!.rows;
    features.set(part.features.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), row * FEATURE_COUNT);
    labels[row] = part.labels[r]!;
    positives += part.labels[r]!;
    churnLabels[row] = part.churnLabels[r]!;
    rowMeta[row] = part.rowMeta[r]!;
    splitRows[part.splitOfRow[r]!].push(row);
  });

  // The category classes, counted on the train rows only (no peek at later periods).
  const counts = new Map<string, number>();
  for (const row of splitRows.train) {
    const [p, r] = order[row]!;
    const key = partitions[p]!.rows.nextKeys[r];
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const categories = [...counts]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, nextCategoryCount)
    .map(([key]) => key);
  const classOf = new Map(categories.map((key, k) => [key, k]));
  const other = categories.length;
  categories.push(OTHER_CATEGORY);
  const toClass = (key: string | undefined) => (key === undefined ? -1 : (classOf.get(key) ?? other));
  const nextCategoryLabels = new Int16Array(rows);
  const lastCategory = new Int16Array(rows);
  const categoryAffinity = new Float32Array(rows * categories.length);
  order.forEach(([p, r], row) => {
    const part = partitions[p]!.rows;
    nextCategoryLabels[row] = toClass(part.nextKeys[r]);
    lastCategory[row] = toClass(part.lastKeys[r]);
    const scores = part.affinities[r]!;
    const total = scores.reduce((sum, { score }) => sum + score, 0);
    if (!(total > 0)) return;
    for (const { key, score } of scores)
      categoryAffinity[row * categories.length + toClass(key)]! += score / total;
  });

  const sum = (
    field: 'profiles' | 'mergedProfiles' | 'duplicateEvents' | 'purgedCutoffs' | 'cappedCutoffs',
  ) => partitions.reduce((n, { rows: part }) => n + part[field], 0);
  return {
    features,
    labels,
    churnLabels,
    nextCategoryLabels,
    categories,
    categoryAffinity,
    lastCategory,
    horizons: { purchaseMs: horizon, churnMs: churnHorizonMs },
    rows,
    featureNames: FEATURE_NAMES,
    featureSchemaVersion: FEATURE_SCHEMA_VERSION,
    rowMeta,
    split: splitRows,
    window: plan.window,
    cutoffs: plan.cutoffs,
    stats: {
      eventsIn: partitions.reduce((n, p) => n + p.eventsIn, 0),
      duplicateEvents: sum('duplicateEvents'),
      profiles: sum('profiles'),
      mergedProfiles: sum('mergedProfiles'),
      candidateCutoffs: plan.candidateCutoffs,
      purgedCutoffs: sum('purgedCutoffs'),
      cappedCutoffs: sum('cappedCutoffs'),
      positives,
    },
  };
}

const iso = (ms: number) => new Date(Math.round(ms)).toISOString();
const hours = (ms: number) => `${Number((ms / HOUR_MS).toFixed(2))} h`;

/**
 * Label/value lines that say how a training set was cut, for reports and logs (the trainer's own
 * report knows the rows, not where they came from).
 */
export function describeTrainingSet(set: TrainingSet, labelHorizonMs: number): [string, string][] {
  const { stats, cutoffs, split, labels } = set;
  const positivesOf = (rows: readonly number[]) => rows.reduce((n, r) => n + labels[r]!, 0);
  const line = (name: keyof DatasetSplit, closing: string) =>
    `[${iso(cutoffs[name][0])}, ${iso(cutoffs[name][1])}${closing}: ` +
    `${split[name].length} rows, ${positivesOf(split[name])} positive`;
  return [
    ['Events (window)', `${stats.eventsIn} (${iso(set.window.fromMs)} – ${iso(set.window.toMs)})`],
    ['Duplicate eventIds dropped', String(stats.duplicateEvents)],
    ['Profiles', String(stats.profiles)],
    ['Label', `purchase in (t, t + ${hours(labelHorizonMs)}]`],
    [
      'Churn label',
      `no event in (t, t + ${hours(set.horizons.churnMs)}]: ${set.churnLabels.reduce((n, l) => n + l, 0)} of ${set.rows} rows`,
    ],
    [
      'Next-category label',
      `${set.categories.length - 1} categories + other (train counts); ` +
        `${set.nextCategoryLabels.filter((c) => c >= 0).length} of ${set.rows} rows have one`,
    ],
    [
      'Cutoffs',
      `${stats.candidateCutoffs} candidates at event times; ${stats.purgedCutoffs} purged, ` +
        `${stats.cappedCutoffs} over the per-profile cap`,
    ],
    ['Train cutoffs', line('train', ')')],
    ['Validation cutoffs', line('validation', ')')],
    ['Test cutoffs', line('test', ']')],
  ];
}
