import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/config/load.js';

describe('reference server configuration', () => {
  it('refuses bad configuration with a clear message', () => {
    expect(() => configFromEnv({ PBXKIT_PORT: 'http' })).toThrow(/PBXKIT_PORT/);
    expect(() => configFromEnv({ PBXKIT_CDR_RETENTION_DAYS: '0' })).toThrow(/RETENTION/);
  });

  it('refuses a CDR password without a user, and a user without a password, instead of running without authentication', () => {
    expect(() => configFromEnv({ PBXKIT_CDR_PASSWORD: 'secret' })).toThrow(
      /PBXKIT_CDR_PASSWORD is set but PBXKIT_CDR_USER is not/,
    );
    expect(() => configFromEnv({ PBXKIT_CDR_USER: '', PBXKIT_CDR_PASSWORD: 'secret' })).toThrow(
      /PBXKIT_CDR_USER is not/,
    );
    expect(() => configFromEnv({ PBXKIT_CDR_USER: 'fs' })).toThrow(
      /PBXKIT_CDR_USER is set but PBXKIT_CDR_PASSWORD is not/,
    );
  });

  it('asks for credentials when both are set, and for none when neither is', () => {
    expect(configFromEnv({ PBXKIT_CDR_USER: 'fs', PBXKIT_CDR_PASSWORD: 's3cr:et' }).cdr.credentials).toEqual({
      username: 'fs',
      password: 's3cr:et',
    });
    expect(configFromEnv({}).cdr.credentials).toBeUndefined();
  });
});
