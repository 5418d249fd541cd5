import { FieldRuleError } from '../errors';

/** A stored item that does not match the schema (corrupt or from an unknown layout). */
export class ProfileItemViolation extends FieldRuleError {
  override readonly name = 'ProfileItemViolation';
}
