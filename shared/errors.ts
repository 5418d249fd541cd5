import type { ZodError } from 'zod';

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

/** The first issue of a failed zod parse, as the field, rule and value a {@link FieldRuleError} names. */
export interface FieldRuleIssue {
  /** Dotted path of the offending field (`context.device`, `layers.1.bias`), or the caller's root name. */
  readonly field: string;
  /** zod's message for the issue: the schemas word their messages as rules (`is required`). */
  readonly rule: string;
  /** The raw value at that path of the input (`undefined` when absent): describe or redact it before use. */
  readonly value: unknown;
}

/**
 * Translate a failed zod parse into the field, rule and offending value of its first issue, so every
 * validator reports errors the same way.
 *
 * @param input - what was parsed, to look the offending value up in
 * @param rootField - the name for the whole input, used when the issue has no path (e.g. `(record)`)
 * @param under - where `input` sits in a larger value whose paths the field names (a field parsed on
 *   its own by its schema) @default []
 */
export function fieldRuleFromZod(
  error: ZodError,
  input: unknown,
  rootField: string,
  under: readonly PropertyKey[] = [],
): FieldRuleIssue {
  const issue = error.issues[0];
  const path = issue?.path ?? [];
  const fieldPath = under.length === 0 ? path : [...under, ...path];
  return {
    field: fieldPath.length === 0 ? rootField : fieldPath.map(String).join('.'),
    rule: issue?.message ?? 'invalid',
    value: valueAt(input, path),
  };
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
