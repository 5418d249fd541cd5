import { ConfigurationError, INGEST_CONFIG, readConfig } from '../../../functions/commons/config';

describe('readConfig', () => {
  const complete = { PROFILES_TABLE: 't', QUARANTINE_BUCKET: 'q', MODELS_BUCKET: 'm' };

  it('names the missing variable and the rule it breaks', () => {
    // Act
    const read = () => readConfig(INGEST_CONFIG, { ...complete, QUARANTINE_BUCKET: '' });
    // Assess
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(expect.objectContaining({ variable: 'QUARANTINE_BUCKET', rule: 'is required' }));
  });

  it('names a variable whose value breaks its rule', () => {
    // Act
    const read = () => readConfig(INGEST_CONFIG, { ...complete, MODEL_POLL_SECONDS: '-1' });
    // Assess
    expect(read).toThrow(expect.objectContaining({ variable: 'MODEL_POLL_SECONDS' }));
  });

  it('returns the parsed configuration with its defaults', () => {
    expect(readConfig(INGEST_CONFIG, complete)).toEqual({
      ...complete,
      MODEL_POLL_SECONDS: 60,
      PSEUDONYMISE_IDS: false,
    });
  });

  it('reads PSEUDONYMISE_IDS as true or false only', () => {
    expect(readConfig(INGEST_CONFIG, { ...complete, PSEUDONYMISE_IDS: 'true' }).PSEUDONYMISE_IDS).toBe(true);
    expect(() => readConfig(INGEST_CONFIG, { ...complete, PSEUDONYMISE_IDS: 'yes' })).toThrow(
      expect.objectContaining({ variable: 'PSEUDONYMISE_IDS' }),
    );
  });
});
