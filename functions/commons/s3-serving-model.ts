import type { S3Client } from '@aws-sdk/client-s3';
import type { BatchScores } from '../../shared/model/model-outputs';
import type { ServingModel } from '../../shared/rescoring/rescoring-ports';
import { S3ModelScorer, type ModelScorerHooks } from './s3-model-scorer';

/** The model pointer could not be read (S3, network): the run fails and its caller retries it. */
export class ModelPointerUnreadableError extends Error {
  override readonly name = 'ModelPointerUnreadableError';
  constructor(readonly reason: string) {
    super(`could not read the model pointer: ${reason}`);
  }
}

/**
 * The serving model for the rescorer: ingest's own scorer (same pointer, same compatibility checks,
 * same refusals), but looked up only when asked. `servingVersion` reads the pointer afresh; `score`
 * never does, so a page is always scored by the version the page was scanned for.
 */
export class S3ServingModel implements ServingModel {
  private readonly scorer: S3ModelScorer;
  private pollFailure: string | undefined;

  constructor(s3: S3Client, bucket: string, hooks: ModelScorerHooks = {}) {
    // An infinite poll interval: the scorer refreshes only through `refresh()`, i.e. `servingVersion`.
    this.scorer = new S3ModelScorer(s3, bucket, Number.POSITIVE_INFINITY, {
      ...hooks,
      onPollFailed: (reason) => {
        this.pollFailure = reason;
        hooks.onPollFailed?.(reason);
      },
    });
  }

  /**
   * @throws {ModelPointerUnreadableError} when the pointer cannot be read: ingest keeps its model
   *   then, but a rescorer that went on with an old one (or none) would end a run it should retry
   */
  async servingVersion(): Promise<string | undefined> {
    this.pollFailure = undefined;
    await this.scorer.refresh();
    if (this.pollFailure !== undefined) throw new ModelPointerUnreadableError(this.pollFailure);
    return this.scorer.modelVersion;
  }

  score(features: Float32Array, rows: number, width: number): Promise<BatchScores | undefined> {
    return this.scorer.score(features, rows, width);
  }
}
