import type { StackParameters } from '../../infra/cdk/stack-parameters';

/**
 * A provisioned profiles table with every bound off its default, so a test can tell each one apart in
 * the template (and in what is read back from it).
 */
export const PROVISIONED_TABLE_PARAMETERS = {
  profilesTableBilling: 'provisioned',
  profilesTableMinWriteCapacity: 30,
  profilesTableMaxWriteCapacity: 3000,
  profilesTableMinReadCapacity: 40,
  profilesTableMaxReadCapacity: 2000,
  profilesTableTargetUtilisationPercent: 60,
} as const satisfies Partial<StackParameters>;
