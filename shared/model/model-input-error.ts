import { FieldRuleError } from '../errors';

/** Raised when arrays handed to the model math do not fit together (lengths, shapes, label values). */
export class ModelInputError extends FieldRuleError {
  override readonly name = 'ModelInputError';
}
