/**
 * One KALSHIFLOW_ prefix for every variable, the earlier names as aliases, and a .env file read at
 * start; messages name the variable the user set, and a flag wins over either name.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_NAMES, loadDotEnv, loadEnvConfig } from '../../src/app/config.ts';
import { UsageError } from '../../src/app/errors.ts';
import { runStartCommand } from '../../src/cli/start.command.ts';

describe('KALSHIFLOW_ variables', () => {
  it('every variable has a KALSHIFLOW_ name; the old one is an alias; the KALSHIFLOW_ name wins', () => {
    for (const name of Object.values(ENV_NAMES)) expect(name).toMatch(/^KALSHIFLOW_[A-Z_]+$/);
    expect(loadEnvConfig({ KALSHIFLOW_PORT: '9001' }).V3_PORT).toBe(9001);
    expect(loadEnvConfig({ V3_PORT: '9002' }).V3_PORT).toBe(9002);
    expect(loadEnvConfig({ V3_PORT: '9002', KALSHIFLOW_PORT: '9003' }).V3_PORT).toBe(9003);
    expect(loadEnvConfig({ KALSHIFLOW_MAX_OPEN_ORDERS: '7', KALSHIFLOW_STRATEGY: 'hold' })).toMatchObject({ TRADER_MAX_OPEN_ORDERS: 7, TRADER_STRATEGY: 'hold' });
  });

  it('a bad value names the variable that was set', () => {
    expect(() => loadEnvConfig({ KALSHIFLOW_MARKETS: '0' })).toThrow(new ConfigError('KALSHIFLOW_MARKETS: must be at least 1 (got "0")'));
    expect(() => loadEnvConfig({ RL_ORDERBOOK_MARKET_LIMIT: '0' })).toThrow(new ConfigError('RL_ORDERBOOK_MARKET_LIMIT: must be at least 1 (got "0")'));
  });

  it('a flag wins over the variable and is the one named', async () => {
    const saved = process.env.KALSHIFLOW_MAX_OPEN_ORDERS;
    process.env.KALSHIFLOW_MAX_OPEN_ORDERS = '5';
    try {
      const error = await runStartCommand(['--max-open-orders', '0']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toBe('--max-open-orders: must be at least 1 (got "0")');
    } finally {
      if (saved === undefined) delete process.env.KALSHIFLOW_MAX_OPEN_ORDERS;
      else process.env.KALSHIFLOW_MAX_OPEN_ORDERS = saved;
    }
  });

  it('reads a .env file; variables already set win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-dotenv-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'KALSHIFLOW_TEST_DOTENV_A=from-file\nKALSHIFLOW_TEST_DOTENV_B=from-file\n');
    process.env.KALSHIFLOW_TEST_DOTENV_B = 'already-set';
    try {
      expect(loadDotEnv(file)).toBe(true);
      expect(process.env.KALSHIFLOW_TEST_DOTENV_A).toBe('from-file');
      expect(process.env.KALSHIFLOW_TEST_DOTENV_B).toBe('already-set');
      expect(loadDotEnv(join(dir, 'missing.env'))).toBe(false);
    } finally {
      delete process.env.KALSHIFLOW_TEST_DOTENV_A;
      delete process.env.KALSHIFLOW_TEST_DOTENV_B;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
