/**
 * What every profile write stores beside the state and the score: its computed traits and its
 * audience membership. One function for ingest and rescoring, so a profile reads the same whichever
 * of them wrote it.
 */
import type { ProfileScore } from '../model/model-outputs';
import type { ProfileState } from '../profile/profile-state';
import {
  computeTraits,
  type ComputedTraits,
  type PopulationStats,
  type TraitThresholds,
} from '../traits/computed-traits';
import { type AudienceMembership, type CompiledAudienceSet, evaluateMembership } from './audience-evaluation';

/** The traits and membership to store with one profile. */
export interface ProfileExtras {
  traits: ComputedTraits;
  /** Absent when no audience set is loaded and none was stored. */
  audiences?: AudienceMembership;
}

/**
 * Traits of `state` (against the serving model's `population`, refined by its churn head), and its
 * membership in `set` as of its latest event; without a set, the stored membership is kept as it is.
 */
export function profileExtrasOf(
  state: ProfileState,
  score: ProfileScore | undefined,
  population: PopulationStats | undefined,
  set: CompiledAudienceSet | undefined,
  previous: AudienceMembership | undefined,
  thresholds?: TraitThresholds,
): ProfileExtras {
  const traits = computeTraits(state, {
    ...(population === undefined ? {} : { population }),
    ...(score?.churnRisk === undefined ? {} : { churnRisk: score.churnRisk }),
    ...(thresholds === undefined ? {} : { thresholds }),
  });
  if (set === undefined) return previous === undefined ? { traits } : { traits, audiences: previous };
  const subject = {
    state,
    traits,
    ...(score === undefined ? {} : { score }),
    ...(population?.centroids === undefined ? {} : { centroids: population.centroids }),
  };
  return { traits, audiences: evaluateMembership(set, subject, previous, state.lastEventAt) };
}

/** Entries and exits between two memberships (for the metrics, and the activation feed to come). */
export function membershipChanges(
  before: AudienceMembership | undefined,
  after: AudienceMembership | undefined,
): { entered: number; exited: number } {
  let entered = 0;
  let exited = 0;
  for (const id in after) if (before?.[id] === undefined) entered++;
  for (const id in before) if (after?.[id] === undefined) exited++;
  return { entered, exited };
}
