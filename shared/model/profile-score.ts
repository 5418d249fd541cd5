/**
 * The one mapping from an inference's output to the score stored with each profile, shared by the
 * ingest and rescoring paths so a profile scored either way carries exactly the same attributes.
 */
import type { ScoreResult } from '../ingest/ingest-ports';
import type { ProfileScore } from './model-outputs';

/**
 * The stored score of each of the `rows` rows of one inference, in row order.
 *
 * @param result - the batch's inference
 * @param rows - how many profiles were scored
 * @param scoredAt - when (epoch ms), the same for the whole batch
 */
export function profileScoresOf(result: ScoreResult, rows: number, scoredAt: number): ProfileScore[] {
  return Array.from({ length: rows }, (_row, row) => ({
    propensity: result.probabilities[row]!,
    modelVersion: result.modelVersion,
    scoredAt,
  }));
}
