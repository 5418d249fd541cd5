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
  ])('rejects %s = %s, naming the parameter', (field, value) => {
    // Prepare
    const app = new App({ context: { [field]: value } });

    // Act
    const resolve = (): unknown => resolveStackParameters(app);

    // Assess
    expect(resolve).toThrow(InvalidStackParameter);
    expect(resolve).toThrow(expect.objectContaining({ field, value }));
  });
});
