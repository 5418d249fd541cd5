/** Raised when arrays handed to the model math do not fit together (lengths, shapes, label values). */
export class ModelInputError extends Error {
  override readonly name = 'ModelInputError';
  constructor(
    /** The argument or field at fault, e.g. `labels` or `layers[1].weights`. */
    readonly field: string,
    /** The rule that was broken, in words. */
    readonly rule: string,
    /** The offending value, described (sizes and numbers only; model inputs carry no personal data). */
    readonly value: string,
  ) {
    super(`${field}: ${rule} (got ${value})`);
  }
}
