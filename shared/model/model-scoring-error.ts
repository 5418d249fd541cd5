/**
 * A model could not be loaded or run, or answered something other than one probability per row. The
 * ONNX runtime adapter raises it; the scorer turns it into a refusal, the champion check into "cannot
 * be compared".
 */
export class ModelScoringError extends Error {
  override readonly name = 'ModelScoringError';
  constructor(
    /** What went wrong, in words, e.g. `onnxruntime cannot load it: …`. */
    readonly reason: string,
  ) {
    super(`ONNX model could not be scored: ${reason}`);
  }
}
