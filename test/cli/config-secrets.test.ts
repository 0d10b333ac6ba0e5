/**
 * Config errors name the variable but never echo a secret: a bad V3_AUTH_TOKEN is not quoted, a
 * bad DATABASE_URL is quoted with its password masked — in-process and from a real `kalshiflow`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadEnvConfig } from '../../src/app/config.ts';
import { isSecretName, redactUrl, redactUrlPasswords } from '../../src/core/secrets.ts';
import { killAllCli, startCli } from '../helpers/processes.ts';

afterAll(() => killAllCli());

function configError(env: Record<string, string>): string {
  try {
    loadEnvConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config errors', () => {
  it('never echo V3_AUTH_TOKEN', () => {
    const message = configError({ V3_AUTH_TOKEN: 'tok-hunter2' });
    expect(message).toMatch(/^V3_AUTH_TOKEN: must be at least 16 characters$/);
    expect(message).not.toContain('hunter2');
  });

  it('mask the password of DATABASE_URL', () => {
    for (const url of ['postgres://kf:hunter2@db:notaport/kf', 'kf:hunter2@db/kf', 'mysql://kf:hunter2@db/kf', 'postgres://kf:hun@ter2@db:x/kf']) {
      const message = configError({ DATABASE_URL: url });
      expect(message, url).toMatch(/^DATABASE_URL: must be a postgres:\/\/ URL \(got ".*kf:\*\*\*@db.*"\)$/);
      expect(message, url).not.toMatch(/hunter2|ter2/);
    }
  });

  it('from a real process, on stderr', async () => {
    const cli = startCli(['start'], { V3_AUTH_TOKEN: 'tok-hunter2', DATABASE_URL: '' });
    expect(await cli.exited).toBe(2);
    expect(cli.output()).toMatch(/V3_AUTH_TOKEN: must be at least 16 characters/);
    expect(cli.output()).not.toContain('hunter2');
    const db = startCli(['start'], { DATABASE_URL: 'postgres://kf:hunter2@db:notaport/kf', V3_AUTH_TOKEN: '' });
    expect(await db.exited).toBe(2);
    expect(db.output()).toMatch(/DATABASE_URL: must be a postgres:\/\/ URL \(got "postgres:\/\/kf:\*\*\*@db:notaport\/kf"\)/);
    expect(db.output()).not.toContain('hunter2');
  }, 60_000);
});

describe('V3_ALLOWED_HOSTS', () => {
  it('is a comma-separated list of host names', () => {
    expect(loadEnvConfig({ V3_ALLOWED_HOSTS: 'trader.lan, 10.0.0.5 ,[::1]' }).V3_ALLOWED_HOSTS).toEqual(['trader.lan', '10.0.0.5', '[::1]']);
    expect(configError({ V3_ALLOWED_HOSTS: 'evil.example/path' })).toMatch(/^V3_ALLOWED_HOSTS: host names are/);
  });
});

describe('KALSHI_REST_TIMEOUT_MS', () => {
  it('is a whole number of milliseconds from 1000 to 120000 (unset: the client default)', () => {
    expect(loadEnvConfig({ KALSHI_REST_TIMEOUT_MS: '25000' }).KALSHI_REST_TIMEOUT_MS).toBe(25_000);
    expect(loadEnvConfig({}).KALSHI_REST_TIMEOUT_MS).toBeUndefined();
    expect(configError({ KALSHI_REST_TIMEOUT_MS: '500' })).toMatch(/^KALSHI_REST_TIMEOUT_MS: must be at least 1000/);
    expect(configError({ KALSHI_REST_TIMEOUT_MS: '1.5' })).toMatch(/^KALSHI_REST_TIMEOUT_MS: must be a whole number/);
  });
});

describe('secret rules', () => {
  it('recognise secret names by substring', () => {
    for (const name of ['KALSHI-ACCESS-SIGNATURE', 'apiKey', 'accessToken', 'V3_AUTH_TOKEN', 'DB_PASSWORD', 'privateKeyPem', 'x-api-key', 'client_secret', 'Authorization', 'pem']) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ['ticker', 'keyId', 'KALSHI-ACCESS-KEY', 'market', 'orderbook', 'temperature', 'timestamp']) expect(isSecretName(name), name).toBe(false);
  });

  it('mask URL passwords in values and in free text', () => {
    expect(redactUrl('postgres://kf:s3cret@db.example:5432/kf')).toBe('postgres://kf:***@db.example:5432/kf');
    expect(redactUrl('postgres://kf@db.example/kf')).toBe('postgres://kf@db.example/kf');
    expect(redactUrl('postgres://db.example:5432/kf')).toBe('postgres://db.example:5432/kf');
    expect(redactUrlPasswords('connect postgres://kf:s3cret@db/kf failed; also redis://:pw@cache:6379')).toBe('connect postgres://kf:***@db/kf failed; also redis://:***@cache:6379');
  });
});
