import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/app/errors.ts';
import { runStartCommand } from '../../src/cli/start.command.ts';

describe('CLI flag errors', () => {
  it('reports a flag whose value looks like another flag in one line, pointing at --help', async () => {
    // node's own message for this spans three lines
    const error = await runStartCommand(['--seed', '-1']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as UsageError).message;
    expect(message).toMatch(/--seed/);
    expect(message).toMatch(/\(see --help\)$/);
    expect(message).not.toContain('\n');
  });

  it('reports an unknown flag in one line', async () => {
    const error = await runStartCommand(['--no-such-flag']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/no-such-flag.*\(see --help\)$/);
  });
});
