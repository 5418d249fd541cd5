/**
 * Base of the domain's validation errors. Every one names the field at fault, the rule it broke and
 * a description of the value — redacted wherever the value could be personal data — so an operator
 * can act on the message alone.
 */
export abstract class FieldRuleError extends Error {
  constructor(
    /** Dotted path of the offending field (or argument), e.g. `occurredAt` or `layers[1].weights`. */
    readonly field: string,
    /** The rule that was broken, in words. */
    readonly rule: string,
    /** What the value was, described (sizes, types, numbers), never personal data. */
    readonly value: string,
  ) {
    super(`${field}: ${rule} (got ${value})`);
  }
}
