import { App } from 'aws-cdk-lib';
import {
  DEFAULT_STACK_PARAMETERS,
  InvalidStackParameter,
  resolveStackParameters,
} from '../../infra/cdk/stack-parameters';

describe('resolveStackParameters', () => {
  it('falls back to the defaults', () => {
    // Act
    const parameters = resolveStackParameters(new App());

    // Assess
    expect(parameters).toEqual(DEFAULT_STACK_PARAMETERS);
  });

  it('prefers explicit overrides over context strings', () => {
    // Prepare
    const app = new App({ context: { shardCount: '4', trainingRateHours: '12' } });

    // Act
    const parameters = resolveStackParameters(app, { shardCount: 0 });

    // Assess
    expect(parameters).toEqual({
      ...DEFAULT_STACK_PARAMETERS,
      shardCount: 0,
      trainingRateHours: 12,
      labelHorizonHours: 24,
    });
  });

  it('reads pseudonymiseIds from a context string or a boolean, off by default', () => {
    // Act / Assess
    expect(DEFAULT_STACK_PARAMETERS.pseudonymiseIds).toBe(false);
    expect(resolveStackParameters(new App({ context: { pseudonymiseIds: 'true' } })).pseudonymiseIds).toBe(
      true,
    );
    expect(resolveStackParameters(new App({ context: { pseudonymiseIds: 'false' } })).pseudonymiseIds).toBe(
      false,
    );
    expect(resolveStackParameters(new App(), { pseudonymiseIds: true }).pseudonymiseIds).toBe(true);
  });

  it('refuses a no-promotion alarm window longer than CloudWatch evaluates (7 days)', () => {
    // Prepare: daily runs × 7 fits, × 8 does not; twice-daily × 14 fits.
    const app = (alarmAfterRunsWithoutPromotion: string, trainingRateHours = '24') =>
      new App({ context: { alarmAfterRunsWithoutPromotion, trainingRateHours } });

    // Act / Assess
    expect(resolveStackParameters(app('7')).alarmAfterRunsWithoutPromotion).toBe(7);
    expect(resolveStackParameters(app('14', '12')).alarmAfterRunsWithoutPromotion).toBe(14);
    expect(() => resolveStackParameters(app('8'))).toThrow(
      expect.objectContaining({ field: 'alarmAfterRunsWithoutPromotion', value: 8 }),
    );
    expect(() => resolveStackParameters(app('8'))).toThrow(/at most 168 hours/);
  });

  it.each([
    ['shardCount', '-1'],
    ['shardCount', '1.5'],
    ['trainingRateHours', '0'],
    ['labelHorizonHours', 'soon'],
    ['ingestBatchingWindowSeconds', '0.5'],
    ['ingestBatchingWindowSeconds', '301'],
    ['ingestBatchSize', '0'],
    ['ingestBatchSize', '10001'],
    ['ingestBatchSize', '250.5'],
    ['ingestFanOut', 'efo'],
    ['ingestParallelizationFactor', '0'],
    ['ingestParallelizationFactor', '11'],
    ['pseudonymiseIds', 'yes'],
    ['profilesTableBilling', 'reserved'],
    ['profilesTableTargetUtilisationPercent', '19'],
    ['profilesTableTargetUtilisationPercent', '91'],
    ['profilesTableMaxWriteCapacity', '0'],
    ['rescoreMaxWritesPerSecond', '0'],
    ['rescoreMaxWritesPerSecond', '40001'],
  ])('rejects %s = %s, naming the parameter', (field, value) => {
    // Prepare
    const app = new App({ context: { [field]: value } });

    // Act
    const resolve = (): unknown => resolveStackParameters(app);

    // Assess
    expect(resolve).toThrow(InvalidStackParameter);
    expect(resolve).toThrow(expect.objectContaining({ field, value }));
  });

  it('keeps the profiles table on demand by default, rescoring at 1,000 writes/s', () => {
    // Assess
    expect(DEFAULT_STACK_PARAMETERS).toMatchObject({
      profilesTableBilling: 'on-demand',
      profilesTableTargetUtilisationPercent: 70,
      rescoreMaxWritesPerSecond: 1000,
    });
  });

  it('takes provisioned capacity from context strings', () => {
    // Prepare
    const app = new App({
      context: {
        profilesTableBilling: 'provisioned',
        profilesTableMinWriteCapacity: '50',
        profilesTableMaxWriteCapacity: '2000',
        profilesTableTargetUtilisationPercent: '80',
        rescoreMaxWritesPerSecond: '1600',
      },
    });

    // Act
    const parameters = resolveStackParameters(app);

    // Assess
    expect(parameters).toMatchObject({
      profilesTableBilling: 'provisioned',
      profilesTableMinWriteCapacity: 50,
      profilesTableMaxWriteCapacity: 2000,
      profilesTableTargetUtilisationPercent: 80,
      rescoreMaxWritesPerSecond: 1600,
    });
  });

  it('refuses provisioned capacity whose range is empty', () => {
    // Prepare
    const app = new App({
      context: {
        profilesTableBilling: 'provisioned',
        profilesTableMinReadCapacity: '500',
        profilesTableMaxReadCapacity: '400',
      },
    });

    // Act / Assess
    expect(() => resolveStackParameters(app)).toThrow(
      expect.objectContaining({ field: 'profilesTableMaxReadCapacity', value: 400 }),
    );
  });

  it('refuses a rescoring rate the provisioned write capacity cannot reach at its target', () => {
    // Prepare: 2,000 WCU at 70 % is 1,400 writes/s; on demand the bound does not apply.
    const context = (rescoreMaxWritesPerSecond: string, profilesTableBilling = 'provisioned') => ({
      context: { profilesTableBilling, profilesTableMaxWriteCapacity: '2000', rescoreMaxWritesPerSecond },
    });

    // Act / Assess
    expect(resolveStackParameters(new App(context('1400'))).rescoreMaxWritesPerSecond).toBe(1400);
    expect(() => resolveStackParameters(new App(context('1401')))).toThrow(
      expect.objectContaining({ field: 'rescoreMaxWritesPerSecond', value: 1401 }),
    );
    expect(() => resolveStackParameters(new App(context('1401')))).toThrow(/1400 WCU/);
    expect(resolveStackParameters(new App(context('1401', 'on-demand'))).rescoreMaxWritesPerSecond).toBe(
      1401,
    );
  });
});
