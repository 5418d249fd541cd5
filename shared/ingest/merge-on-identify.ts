/**
 * The ingest side of merge on identify (protocol in `shared/profile/profile-merge.ts`): route each
 * profile's records of a batch to the profile they land on (a redirect sends them to its user), and
 * perform step 1 (freeze the anonymous profile as a redirect) for every identify that needs it, before
 * the batch's profile writes (step 2) go out.
 */
import type { SequencedEvent } from '../profile/apply-events';
import { decodeProfileItem, encodeProfileItem, type DecodedProfileItem } from '../profile/profile-item-codec';
import {
  ANONYMOUS_PREFIX,
  freezeAsRedirect,
  hasMerged,
  sourceOf,
  type MergeResolution,
} from '../profile/profile-merge';
import { PROFILE_LIMITS } from '../profile/profile-state';
import type { ProfileStore, StoredProfileItem } from './ingest-ports';
import { rememberedTransitions, transitionsOf, type ActivationEvent } from '../audiences/activation';

/** One profile the batch writes, with every record that lands on it in stream order. */
export interface RoutedTarget {
  profileId: string;
  events: SequencedEvent[];
  stored: DecodedProfileItem | undefined;
  /** What an identify or a redirect met in this batch resolves to, by anonymous id. */
  resolutions: Map<string, MergeResolution>;
}

/** What routing and freezing did. */
export interface MergePlan {
  targets: Map<string, RoutedTarget>;
  /** Targets that cannot be written this time (a freeze kept conflicting or was throttled). */
  failed: RoutedTarget[];
  /** Events applied, and duplicates recognised, by the freeze writes themselves. */
  frozenApplied: number;
  frozenDuplicates: number;
  /**
   * Audience exits of the anonymous profiles frozen here (a redirect is in no audience), and the
   * remembered ones of those found frozen already (a redelivery), with the user whose records carry them.
   */
  frozenTransitions: { profileId: string; user: RoutedTarget; events: ActivationEvent[] }[];
}

const decode = (item: StoredProfileItem | undefined) =>
  item === undefined ? undefined : decodeProfileItem(item);

/**
 * The batch's items by profile id. A redirect this batch writes is decoded only if asked for again
 * (another identify of the same anonymous id in the batch): most never are, and a decode per freeze
 * was a measurable part of planning.
 */
class BatchItems {
  private readonly decoded = new Map<string, DecodedProfileItem | undefined>();
  private readonly written = new Map<string, StoredProfileItem>();

  has(id: string): boolean {
    return this.decoded.has(id) || this.written.has(id);
  }

  get(id: string): DecodedProfileItem | undefined {
    const written = this.written.get(id);
    if (written !== undefined) {
      this.written.delete(id);
      this.decoded.set(id, decodeProfileItem(written));
    }
    return this.decoded.get(id);
  }

  /** The item as read (or as a conflict returned it), decoded now. */
  set(id: string, item: StoredProfileItem | undefined): void {
    this.written.delete(id);
    this.decoded.set(id, decode(item));
  }

  /** An item this batch wrote, decoded when first asked for. */
  setWritten(id: string, item: StoredProfileItem): void {
    this.decoded.delete(id);
    this.written.set(id, item);
  }
}

/**
 * Route the batch's records and freeze what its identifies merge.
 *
 * @param valid - the batch's valid records in stream order
 * @param profileOf - the profile id each record belongs to
 * @param stored - the stored items of the profiles the records belong to (absent: not stored yet)
 */
export async function planMerges(
  valid: readonly SequencedEvent[],
  profileOf: (event: SequencedEvent) => string,
  stored: Map<string, StoredProfileItem>,
  profiles: ProfileStore,
  options: { now: number; maxRetries: number },
): Promise<MergePlan> {
  // Each record's own profile id, asked once: the passes below read it by index.
  const owners = valid.map(profileOf);
  const items = new BatchItems();
  for (const id of owners) if (!items.has(id)) items.set(id, stored.get(id));

  // Which anonymous and target items are still unread: one more BatchGetItem for all of them. The
  // identifies are noted on the way, so that step 1 visits only them (most batches have none). Every
  // owner's item is read already, so only a redirect's user can be missing.
  const missing = new Set<string>();
  const identifies: number[] = [];
  for (let i = 0; i < valid.length; i++) {
    const into = items.get(owners[i]!)?.state.redirect?.into;
    if (into !== undefined && !items.has(into)) missing.add(into);
    const { event } = valid[i]!;
    if (event.type === 'identify' && event.anonymousId !== undefined) {
      identifies.push(i);
      const anonId = `${ANONYMOUS_PREFIX}${event.anonymousId}`;
      if (!items.has(anonId)) missing.add(anonId);
    }
  }
  if (missing.size > 0) {
    const more = await profiles.getMany([...missing]);
    for (const id of missing) items.set(id, more.get(id));
  }

  // Routing, decided once per owner (targets are created in stream order of their first record): its
  // own profile, or the user its redirect names, which then holds the source the redirect stands for.
  const targets = new Map<string, RoutedTarget>();
  const routes = new Map<string, RoutedTarget>();
  for (let i = 0; i < valid.length; i++) {
    const own = owners[i]!;
    let target = routes.get(own);
    if (target === undefined) {
      const state = items.get(own)?.state;
      const id = state?.redirect?.into ?? own;
      target = targets.get(id);
      if (target === undefined) {
        target = { profileId: id, events: [], stored: items.get(id), resolutions: new Map() };
        targets.set(id, target);
      }
      const source = id === own ? undefined : sourceOf(state!);
      if (source !== undefined) target.resolutions.set(source.anonymousId, source);
      routes.set(own, target);
    }
    target.events.push(valid[i]!);
  }

  const plan: MergePlan = {
    targets,
    failed: [],
    frozenApplied: 0,
    frozenDuplicates: 0,
    frozenTransitions: [],
  };
  // Step 1, in stream order: two identifies of one anonymous id in a batch are decided first come first.
  for (const i of identifies) {
    const anonymousId = valid[i]!.event.anonymousId!;
    const user = targets.get(owners[i]!)!;
    if (
      user.resolutions.has(anonymousId) ||
      (user.stored !== undefined && hasMerged(user.stored.state, anonymousId))
    ) {
      continue;
    }
    const resolution = await freeze(user, anonymousId, valid, i, items, targets, profiles, options, plan);
    if (resolution === undefined) plan.failed.push(user);
    else user.resolutions.set(anonymousId, resolution);
  }
  for (const target of plan.failed) targets.delete(target.profileId);
  return plan;
}

/**
 * Step 1 for the identify `valid[identifyIndex]`: the redirect into `user` (written, or found), a
 * refusal, or undefined (retry later).
 */
async function freeze(
  user: RoutedTarget,
  anonymousId: string,
  valid: readonly SequencedEvent[],
  identifyIndex: number,
  items: BatchItems,
  targets: Map<string, RoutedTarget>,
  profiles: ProfileStore,
  options: { now: number; maxRetries: number },
  plan: MergePlan,
): Promise<MergeResolution | undefined> {
  const anonId = `${ANONYMOUS_PREFIX}${anonymousId}`;
  const identify = valid[identifyIndex]!.event;
  let frozenHere = 0;
  for (const resolution of user.resolutions.values()) if (!('refused' in resolution)) frozenHere++;
  for (let attempt = 0; attempt <= options.maxRetries; attempt++) {
    const current = items.get(anonId);
    const redirect = current?.state.redirect;
    if (redirect !== undefined) {
      if (redirect.into !== user.profileId) return { refused: 'shared-device' };
      // Frozen by an earlier delivery of this identify: its exits may have been lost with that one.
      const events = rememberedTransitions(anonId, current!.audiences, current!.audienceLog);
      if (events.length > 0) plan.frozenTransitions.push({ profileId: anonId, user, events });
      return sourceOf(current!.state)!;
    }
    if ((user.stored?.state.merges.length ?? 0) + frozenHere >= PROFILE_LIMITS.mergedAliases) {
      return { refused: 'alias-limit' };
    }
    // The anonymous profile's records in this batch before the identify go into the frozen state, not
    // into a write of their own; those after it reach the user through the redirect, as they would in
    // the next batch (else where the batch was cut would decide whether they merge or arrive as an alias's).
    const own = targets.get(anonId)?.events ?? [];
    const before = countBefore(valid, identifyIndex, own);
    const frozen = freezeAsRedirect(
      current?.state,
      anonymousId,
      user.profileId,
      identify,
      own.slice(0, before),
    );
    const version = (current?.version ?? 0) + 1;
    const exits = transitionsOf(
      anonId,
      current?.audiences,
      undefined,
      current?.audienceLog,
      version,
      frozen.source.state.lastEventAt,
    );
    const item = encodeProfileItem(frozen.source.state, {
      version,
      ...(current?.score === undefined ? {} : { score: current.score }),
      writtenAt: options.now,
      ...(exits.log === undefined ? {} : { audienceLog: exits.log }),
    });
    const outcome = await profiles.putIfVersion(item, current?.version);
    if (outcome.status === 'written') {
      if (exits.events.length > 0)
        plan.frozenTransitions.push({ profileId: anonId, user, events: exits.events });
      items.setWritten(anonId, item);
      plan.frozenApplied += frozen.applied;
      plan.frozenDuplicates += frozen.duplicates;
      targets.delete(anonId);
      if (before < own.length) user.events = inStreamOrder(valid, user.events, own.slice(before));
      return frozen.source;
    }
    if (outcome.status === 'throttled') return undefined;
    items.set(anonId, outcome.current);
  }
  return undefined;
}

/** How many of `subsequence` (records of `valid`, in its order) come before `valid[index]`. */
function countBefore(
  valid: readonly SequencedEvent[],
  index: number,
  subsequence: readonly SequencedEvent[],
): number {
  let count = 0;
  for (let i = 0; i < index && count < subsequence.length; i++) if (valid[i] === subsequence[count]) count++;
  return count;
}

/** Two disjoint subsequences of `valid` as one, in `valid`'s order. */
function inStreamOrder(
  valid: readonly SequencedEvent[],
  a: readonly SequencedEvent[],
  b: readonly SequencedEvent[],
): SequencedEvent[] {
  const merged: SequencedEvent[] = [];
  let i = 0;
  let j = 0;
  for (const record of valid) {
    if (record === a[i]) merged.push(a[i++]!);
    else if (record === b[j]) merged.push(b[j++]!);
  }
  return merged;
}
