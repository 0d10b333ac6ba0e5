/**
 * The command-line conventions: one flag parser for every command (src/cli/flags.ts) with errors
 * that name the flag the user typed, a suggestion for a mistyped flag or command, a value that
 * starts with '-' judged as a value (`--markets -3`), `--version` and `kalshiflow help <command>`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/app/errors.ts';
import { parseFlags, suggestFlag } from '../../src/cli/flags.ts';
import { main, packageVersion } from '../../src/cli/main.ts';
import { runStartCommand } from '../../src/cli/start.command.ts';
import { runDbCommand } from '../../src/cli/db.command.ts';
import { runRecordCommand } from '../../src/cli/record.command.ts';

const usage = async (run: () => Promise<unknown>): Promise<string> => {
  const error = await run().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UsageError);
  const message = (error as UsageError).message;
  expect(message).not.toContain('\n');
  return message;
};

afterEach(() => vi.restoreAllMocks());

describe('the shared flag parser', () => {
  const specs = { markets: { type: 'string' }, tickers: { type: 'string' }, json: { type: 'boolean' }, key: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } } as const;

  it('reads --flag value, --flag=value, booleans, short flags, repeats, positionals and --', () => {
    expect(parseFlags(['run', '--markets', '3', '--tickers=A,B', '--json', '-h', '--key', 'a=1', '--key=b=2', '--', '--not-a-flag'], specs)).toEqual({
      values: { markets: '3', tickers: 'A,B', json: true, help: true, key: ['a=1', 'b=2'] },
      positionals: ['run', '--not-a-flag'],
    });
  });

  it('a value may start with "-" (the command judges it); a known flag is not a value', () => {
    expect(parseFlags(['--markets', '-3'], specs).values.markets).toBe('-3');
    expect(() => parseFlags(['--tickers', '--json'], specs)).toThrow('--tickers: needs a value (see --help)');
  });

  it('names what the user typed, with a suggestion for a typo', () => {
    expect(() => parseFlags(['--markts', '3'], specs)).toThrow('unknown flag --markts (did you mean --markets?) (see --help)');
    expect(() => parseFlags(['--zzzzzz'], specs)).toThrow('unknown flag --zzzzzz (see --help)');
    expect(() => parseFlags(['--json=yes'], specs)).toThrow('--json: takes no value (got "yes")');
    expect(() => parseFlags(['-x'], specs)).toThrow('unknown flag -x (see --help)');
    expect(suggestFlag('max-positon', ['max-position', 'max-order-size'])).toBe('max-position');
  });
});

describe('kalshiflow commands', () => {
  it('start: --markets -3 is a bad value, not "ambiguous"; errors name the flag typed, not the variable behind it', async () => {
    expect(await usage(() => runStartCommand(['--markets', '-3']))).toBe('--markets: must be at least 1 (got "-3")');
    expect(await usage(() => runStartCommand(['--max-open-orders', '0']))).toBe('--max-open-orders: must be at least 1 (got "0")');
    expect(await usage(() => runStartCommand(['--markts', '3']))).toBe('unknown flag --markts (did you mean --markets?) (see --help)');
    expect(await usage(() => runStartCommand(['--port']))).toBe('--port: needs a value (see --help)');
    expect(await usage(() => runStartCommand(['stray']))).toBe('unexpected argument "stray" (see --help)');
  });

  it('record and db use the same parser', async () => {
    expect(await usage(() => runRecordCommand(['--duratin', '1m']))).toBe('unknown flag --duratin (did you mean --duration?) (see --help)');
    expect(await usage(() => runDbCommand(['prune', '--older-then', '7d'], {}))).toBe('unknown flag --older-then (did you mean --older-than?) (see --help)');
  });

  it('--version, help <command>, and a suggestion for a mistyped command', async () => {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
    expect(await main(['--version'])).toBe(0);
    expect(out).toEqual([`kalshiflow ${packageVersion()}`]);
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
    out.length = 0;
    expect(await main(['help', 'ctl'])).toBe(0);
    expect(out[0]).toMatch(/^usage: kalshiflow ctl pause\|resume\|cancel-all\|flatten/);
    expect(await main(['strat'])).toBe(2);
    expect(err[0]).toMatch(/^kalshiflow: unknown command 'strat' \(did you mean 'start'\?\)/);
  });
});
