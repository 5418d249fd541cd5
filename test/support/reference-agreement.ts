/**
 * The pipeline tests' check of a stored profile against the reference fold, by the rule `npm start`'s
 * accounting applies (`agreementWithReference`): exact, or a merged profile inside the order envelope.
 */
import type { ProfileState } from '../../shared/profile/profile-state';
import { agreementWithReference, comparableState } from '../../infra/local/reference-fold';

/** Expect `stored` to agree with `expected`; when it does not, the failure shows the field-by-field diff. */
export function expectAgreesWithReference(stored: ProfileState, expected: ProfileState | undefined): void {
  expect(expected).toBeDefined();
  if (agreementWithReference(stored, expected!) === 'differs') {
    expect(comparableState(stored)).toEqual(comparableState(expected!));
  }
}
