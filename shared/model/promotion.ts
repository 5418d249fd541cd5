/**
 * Whether a freshly trained candidate replaces the serving model (the champion), decided on metrics of
 * both models measured ON THE SAME held-out rows: the candidate's test split, scored by each model's own
 * ONNX graph. Metrics measured on different test sets are never compared: a lucky split could then
 * promote a worse model.
 *
 * Rule, in order:
 * 1. The candidate must be usable on its own: finite metrics and a ROC-AUC above
 *    {@link PromotionPolicy.minCandidateRocAuc} (better than chance by default). Otherwise: keep.
 * 2. No champion, or a champion that cannot be compared (another feature schema, missing or corrupt
 *    files): promote the usable candidate, and say why the comparison was impossible.
 * 3. ROC-AUC gain = candidate − champion. Above the margin (+ tolerance): promote. Below the margin
 *    (− tolerance): keep. Within the tolerance of the margin it is a tie, broken by log loss: promote
 *    only when the candidate's log loss is strictly lower.
 * 4. The other heads, where both models have them and were measured on the same rows: a candidate
 *    that would promote is still kept when any of them is worse than the champion's by more than
 *    {@link PromotionPolicy.maxHeadRegression}. A head the champion lacks never blocks (there is
 *    nothing to regress from); the tolerance exists because a secondary head's metric on a few
 *    hundred rows moves by about a hundredth between equally good models.
 *
 * The champion may have been trained on events that fall into the candidate's test split; that can only
 * flatter the champion, so the comparison errs towards keeping what serves.
 */
import type { MetricSummary } from './model-metadata';

/** Knobs of {@link decidePromotion}. */
export interface PromotionPolicy {
  /** ROC-AUC gain over the champion the candidate needs. @default 0 */
  minRocAucGain?: number;
  /** Gains within this distance of `minRocAucGain` count as a tie, broken by log loss. @default 0.0005 */
  tieTolerance?: number;
  /** A candidate at or below this ROC-AUC is never promoted, champion or not. @default 0.5 */
  minCandidateRocAuc?: number;
  /** How much worse than the champion another head's metric may be before it blocks. @default 0.01 */
  maxHeadRegression?: number;
}

/** Another head of both models, measured on the same rows (higher is better). */
export interface HeadMetricPair {
  /** e.g. `churn`, `nextCategories` */
  head: string;
  /** e.g. `rocAuc`, `recallAt3` */
  metric: string;
  candidate: number;
  champion: number;
}

/** The champion as the use case found it. */
export type ChampionAssessment =
  | {
      /** Scored on the candidate's held-out rows. */
      comparable: true;
      modelVersion: string;
      metrics: MetricSummary;
    }
  | {
      /** Could not be scored on the candidate's rows. */
      comparable: false;
      modelVersion: string;
      /** Why not, e.g. `feature schema 1, candidate 2`. */
      why: string;
    };

/** Input of {@link decidePromotion}. */
export interface PromotionInput {
  candidate: { modelVersion: string; metrics: MetricSummary };
  /** Absent when no model has ever been promoted. */
  champion?: ChampionAssessment;
  /** The other heads both models have, on the candidate's rows (rule 4). */
  otherHeads?: readonly HeadMetricPair[];
  policy?: PromotionPolicy;
}

/** The decision, with the reason in words and the metrics it rests on. */
export interface PromotionDecision {
  promote: boolean;
  reason: string;
  candidate: MetricSummary;
  /** Present when the champion was compared. */
  champion?: MetricSummary;
}

const DEFAULT_POLICY: Required<PromotionPolicy> = {
  minRocAucGain: 0,
  tieTolerance: 0.0005,
  minCandidateRocAuc: 0.5,
  maxHeadRegression: 0.01,
};

const fixed = (value: number) => value.toFixed(4);

function allFinite(metrics: MetricSummary): boolean {
  const { rocAucCi95, ...scalars } = metrics;
  return [...Object.values(scalars), rocAucCi95.lower, rocAucCi95.upper].every(Number.isFinite);
}

/** Decide whether the candidate replaces the champion (see the module comment for the rule). */
export function decidePromotion(input: PromotionInput): PromotionDecision {
  const decision = decideOnPurchaseHead(input);
  if (!decision.promote) return decision;
  const tolerance = input.policy?.maxHeadRegression ?? DEFAULT_POLICY.maxHeadRegression;
  const regressed = (input.otherHeads ?? []).find(
    // A NaN on either side (e.g. one class in the rows) is no evidence either way.
    (pair) => pair.candidate < pair.champion - tolerance,
  );
  if (regressed === undefined) return decision;
  const { head, metric, candidate, champion } = regressed;
  return {
    ...decision,
    promote: false,
    reason: `${decision.reason}, but the ${head} head regresses: ${metric} ${fixed(candidate)} vs ${fixed(champion)} (more than ${fixed(tolerance)} worse)`,
  };
}

function decideOnPurchaseHead(input: PromotionInput): PromotionDecision {
  const { candidate, champion } = input;
  const policy = { ...DEFAULT_POLICY, ...input.policy };
  const mine = candidate.metrics;
  const keep = (reason: string, theirs?: MetricSummary): PromotionDecision => ({
    promote: false,
    reason,
    candidate: mine,
    ...(theirs === undefined ? {} : { champion: theirs }),
  });
  const promote = (reason: string, theirs?: MetricSummary): PromotionDecision => ({
    ...keep(reason, theirs),
    promote: true,
  });

  if (!allFinite(mine)) return keep(`candidate ${candidate.modelVersion} has non-finite metrics`);
  if (!(mine.rocAuc > policy.minCandidateRocAuc)) {
    return keep(
      `candidate ROC-AUC ${fixed(mine.rocAuc)} is not above the floor ${fixed(policy.minCandidateRocAuc)}`,
    );
  }
  if (champion === undefined) return promote('no model serves yet');
  if (!champion.comparable) {
    return promote(`champion ${champion.modelVersion} cannot be compared (${champion.why})`);
  }

  const theirs = champion.metrics;
  const gain = mine.rocAuc - theirs.rocAuc;
  const versus = `ROC-AUC ${fixed(mine.rocAuc)} vs ${fixed(theirs.rocAuc)} (gain ${fixed(gain)}, margin ${fixed(policy.minRocAucGain)})`;
  if (gain > policy.minRocAucGain + policy.tieTolerance)
    return promote(`${versus} on the same test rows`, theirs);
  if (gain < policy.minRocAucGain - policy.tieTolerance)
    return keep(`${versus} on the same test rows`, theirs);
  const tie = `${versus} is a tie within ${fixed(policy.tieTolerance)}; log loss ${fixed(mine.logLoss)} vs ${fixed(theirs.logLoss)}`;
  return mine.logLoss < theirs.logLoss ? promote(tie, theirs) : keep(tie, theirs);
}
