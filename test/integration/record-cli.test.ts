/**
 * `kalshiflow record` as the operator runs it: flag errors are one line and exit 2; a short
 * recording from the embedded simulator prints the session id, progress lines and the final
 * counts and leaves a closed session in the embedded database; a stop request before the planned
 * duration (Ctrl-C/SIGTERM) still flushes everything and closes the session as `interrupted`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrate, openDatabase, query } from '../../src/adapters/store/index.ts';
import { getRecordedSession } from '../../src/adapters/store/session-loader.ts';
import { main } from '../../src/cli/main.ts';
import { runRecordCommand } from '../../src/cli/record.command.ts';
import { durationFlag } from '../../src/cli/rl-support.ts';
import { killAllCli, startCli } from '../helpers/processes.ts';
import type { RecordCommandIo } from '../../src/cli/record.command.ts';

interface Run {
  code: Promise<number>;
  out: string[];
  err: string[];
  stop: () => void;
}

function record(argv: string[], dataDir: string): Run {
  const out: string[] = [];
  const err: string[] = [];
  let stop: () => void = () => {};
  const stopped = new Promise<void>((r) => (stop = r));
  const io: RecordCommandIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    untilStopped: () => stopped,
    env: { KALSHIFLOW_DATA_DIR: dataDir },
  };
  return { code: runRecordCommand(argv, io), out, err, stop };
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function sessionsIn(dataDir: string) {
  const db = await openDatabase({ dataDir: join(dataDir, 'db'), poolSize: 1 });
  try {
    await migrate(db.pool);
    const ids = await query<{ id: number }>(db.pool, 'SELECT id FROM recording_sessions ORDER BY id');
    const sessions = [];
    for (const { id } of ids) sessions.push(await getRecordedSession(db.pool, id));
    const deltaRows = await query<{ n: number }>(db.pool, 'SELECT count(*)::bigint AS n FROM book_deltas');
    return { sessions, deltaRows: deltaRows[0].n };
  } finally {
    await db.close();
  }
}

describe('kalshiflow record: flags', () => {
  let errors: string[];
  beforeAll(() => {
    errors = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
  });
  afterEach(() => {
    errors.length = 0;
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it.each([
    [['--bogus']],
    [['--duration', 'soon']],
    [['--duration', '0s']],
    [['--markets', '0']],
    [['--env', 'live']],
    [['--mode', 'random']],
    [['--db', 'not a url']],
    [['--progress', '-1']],
    [['--duration', '0'], /^kalshiflow record: --duration: must be longer than 0, got "0"$/],
    [['--duration', '0.0001'], /^kalshiflow record: --duration: has more precision than a millisecond$/],
    [['--duration', '99999999999999999d'], /^kalshiflow record: --duration: "99999999999999999d" is too long$/],
    [['--progress', '0'], /^kalshiflow record: --progress: must be at least 1s, got "0"$/],
    [['--progress', '10ms'], /^kalshiflow record: --progress: must be at least 1s, got "10ms"$/],
  ])('%j is one line on stderr and exit code 2', async (argv, message = /^kalshiflow record: /) => {
    expect(await main(['record', ...argv])).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
    expect(errors[0]).not.toContain('\n');
  });

  it('reads durations the way operators write them', () => {
    expect(durationFlag('duration', '90s')).toBe(90_000);
    expect(durationFlag('duration', '10m')).toBe(600_000);
    expect(durationFlag('duration', '1h30m')).toBe(5_400_000);
    expect(durationFlag('duration', '250ms')).toBe(250);
    expect(durationFlag('duration', '5')).toBe(5_000);
    expect(durationFlag('duration', '1.5')).toBe(1_500);
    expect(durationFlag('duration', '30d')).toBe(30 * 86_400_000);
  });
});

describe('kalshiflow record: recording from the embedded simulator', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kalshiflow-record-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    await killAllCli();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('records for --duration, printing the session id, progress and final counts', async () => {
    const dataDir = tempDir();
    const run = record(['--env', 'sim', '--markets', '3', '--duration', '4s', '--progress', '1s'], dataDir);
    expect(await run.code).toBe(0);
    expect(run.err).toEqual([]);
    const started = run.out.find((l) => l.startsWith('recording session '));
    expect(started).toMatch(/^recording session \d+: 3 markets from sim /);
    const id = Number(/^recording session (\d+)/.exec(started!)![1]);
    expect(run.out.some((l) => new RegExp(`^session ${id} \\d+s: \\d/3 markets live, \\d+ deltas \\(\\d+/s\\).*rows flushed \\d+, queued \\d+, drops 0`).test(l))).toBe(true);
    const final = run.out.at(-1)!;
    const m = new RegExp(`^session ${id} closed after [\\d.]+s: (\\d+) snapshots, (\\d+) deltas, (\\d+) trades, (\\d+) gaps, 0 dropped$`).exec(final);
    expect(m, final).not.toBeNull();

    const { sessions, deltaRows } = await sessionsIn(dataDir);
    expect(sessions).toHaveLength(1);
    const s = sessions[0]!;
    expect(s).toMatchObject({ id, status: 'closed', env: 'sim', mode: 'record', owner: 'recorder' });
    expect(s.tickers).toHaveLength(3);
    expect([s.counts.snapshots, s.counts.deltas, s.counts.trades, s.counts.gaps]).toEqual(m!.slice(1, 5).map(Number));
    expect(s.counts.snapshots).toBeGreaterThanOrEqual(3);
    expect(s.counts.deltas).toBeGreaterThan(0);
    expect(deltaRows).toBe(s.counts.deltas);
  }, 60_000);

  it('records for --duration 30d as a process: it keeps recording (it used to close at once), and Ctrl-C closes it as interrupted', async () => {
    const dataDir = tempDir();
    const cli = startCli(['record', '--env', 'sim', '--markets', '2', '--duration', '30d', '--progress', '1s'], { KALSHIFLOW_DATA_DIR: dataDir, DATABASE_URL: undefined });
    try {
      await cli.waitForLine(/^  until 720h have passed or Ctrl-C$/, 45_000);
      // two progress lines a second apart: the 30-day timer did not fire
      await cli.waitForLine(/^session \d+ [1-9]\d*s: \d\/2 markets live/, 20_000);
      await cli.waitForLine(/^session \d+ [2-9]\d*s: \d\/2 markets live/, 20_000);
      expect(cli.lines.some((l) => /^session \d+ (closed|interrupted) after/.test(l)), cli.output()).toBe(false);
      cli.kill('SIGINT');
      expect(await cli.exited, cli.output()).toBe(0);
    } finally {
      cli.kill('SIGKILL');
    }
    expect(cli.lines.at(-1)).toMatch(/^session \d+ interrupted after [\d.]+s: .* 0 dropped$/);
    const { sessions } = await sessionsIn(dataDir);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ status: 'interrupted' });
    expect(sessions[0]!.metadata).toMatchObject({ duration_ms: 30 * 86_400_000 });
  }, 90_000);

  it('keeps a --progress longer than node timers hold to its interval (no line within the recording, not one every millisecond)', async () => {
    const dataDir = tempDir();
    const run = record(['--env', 'sim', '--markets', '2', '--duration', '2s', '--progress', '30d'], dataDir);
    expect(await run.code).toBe(0);
    expect(run.out.filter((l) => /^session \d+ \d+s: /.test(l))).toEqual([]);
    expect(run.out.at(-1)).toMatch(/^session \d+ closed after [\d.]+s: /);
  }, 60_000);

  it('closes the session as interrupted when stopped before the planned duration', async () => {
    const dataDir = tempDir();
    const run = record(['--tickers', 'KXBTC-26JAN04-T22,KXFED-26JAN02-T63', '--duration', '10m', '--progress', '1s'], dataDir);
    await until('a progress line with deltas', () => run.out.some((l) => /markets live, [1-9]\d* deltas/.test(l)));
    run.stop();
    expect(await run.code).toBe(0);
    expect(run.out.at(-1)).toMatch(/^session \d+ interrupted after [\d.]+s: \d+ snapshots, [1-9]\d* deltas, .* 0 dropped$/);

    const { sessions, deltaRows } = await sessionsIn(dataDir);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ status: 'interrupted', tickers: ['KXBTC-26JAN04-T22', 'KXFED-26JAN02-T63'] });
    expect(deltaRows).toBe(sessions[0]!.counts.deltas);
  }, 60_000);
});
