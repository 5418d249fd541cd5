/**
 * What every profile write stores beside the state and the score: its computed traits, its anomaly
 * score and its audience membership. One function for ingest and rescoring, so a profile reads the same
 * whichever of them wrote it.
 */
import type { ProfileScore } from '../model/model-outputs';
import type { ProfileState } from '../profile/profile-state';
import {
  computeTraits,
  type ComputedTraits,
  type PopulationStats,
  type TraitThresholds,
} from '../traits/computed-traits';
import { assessRisk } from '../risk/anomaly-score';
import {
  type AudienceMembership,
  type AudienceSubject,
  type CompiledAudienceSet,
  evaluateMembership,
} from './audience-evaluation';

/** The traits, anomaly score and membership to store with one profile. */
export interface ProfileExtras {
  traits: ComputedTraits;
  /**
   * The anomaly score of the default scoring (`assessRisk`), unrounded: computed once per write for both
   * the audience field `risk.anomalyScore` and the item's `riskScore`.
   */
  anomalyScore: number;
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
  // Inputs and subject are plain literals of one shape (an undefined field reads as an absent one):
  // spreads of conditional objects made a new shape and several garbage objects per profile write.
  const traits = computeTraits(state, { population, churnRisk: score?.churnRisk, thresholds });
  const { anomalyScore } = assessRisk(state);
  if (set === undefined) return { traits, anomalyScore, audiences: previous };
  const subject: AudienceSubject = { state, traits, score, centroids: population?.centroids, anomalyScore };
  return { traits, anomalyScore, audiences: evaluateMembership(set, subject, previous, state.lastEventAt) };
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
