/**
 * Two `kalshiflow start` processes on one data folder (embedded database + embedded simulator),
 * as child processes: the second exits 1 with one clear line naming the holder, having closed
 * what it opened (before the fix its simulator kept it alive forever), and leaves the first one
 * and its lock alone. A lock left by a killed trader whose PID now belongs to an unrelated live
 * process (`sleep`) does not block the next start, in today's lock format or the bare PID of
 * earlier versions.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort, killAllCli, startCli } from '../helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'kf-lock-cli-'));
const dataDir = join(dir, 'data');
const lockPath = join(dataDir, 'db.lock');
let sleeper: ChildProcess | null = null;

afterEach(async () => {
  await killAllCli();
  sleeper?.kill('SIGKILL');
  sleeper = null;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `kalshiflow start` on the shared data folder: embedded simulator, embedded database. */
function spawnTrader(port: number): ReturnType<typeof startCli> {
  return startCli(['start', '--strategy', 'hold', '--markets', '2', '--port', String(port)], {
    ENVIRONMENT: 'sim',
    KALSHIFLOW_DATA_DIR: dataDir,
    DATABASE_URL: '',
    KALSHI_API_BASE_URL: '',
    KALSHI_WS_URL: '',
    RL_MODE: 'discovery',
  });
}

async function startTrader(): Promise<{ proc: ReturnType<typeof startCli>; url: string }> {
  const proc = spawnTrader(await freePort());
  return { proc, url: (await proc.waitForLine(/dashboard (http:\/\/[^/\s]+)\//, 60_000))[1] };
}

/** Resolves with the exit code, or 'running' if the process is still alive after `ms`. */
function exitWithin(proc: ReturnType<typeof startCli>, ms: number): Promise<number | string> {
  return Promise.race([proc.exited, new Promise<string>((r) => setTimeout(() => r('running'), ms))]);
}

describe('kalshiflow start and the embedded database lock (child processes)', () => {
  it('a second start on a folder in use exits 1 with the holder named, and closes what it opened', async () => {
    const first = await startTrader();
    const lockBefore = readFileSync(lockPath, 'utf8');
    expect(JSON.parse(lockBefore)).toMatchObject({ pid: first.proc.pid });

    const port = await freePort();
    const second = spawnTrader(port);
    // it would stay up forever with its simulator listening before the fix
    expect(await exitWithin(second, 30_000), second.output()).toBe(1);
    const errors = second.lines.filter((l) => l.startsWith('! '));
    expect(errors, second.output()).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^! kalshiflow start: embedded database .* is in use by process ${first.proc.pid} \\(locked since `));
    expect(second.output()).not.toMatch(/dashboard|embedded simulator/);
    // nothing of the second is reachable; the first runs on, its lock untouched
    await expect(fetch(`http://127.0.0.1:${port}/v3/health`)).rejects.toThrow();
    expect((await fetch(`${first.url}/v3/health`)).status).toBeLessThan(600);
    expect(readFileSync(lockPath, 'utf8')).toBe(lockBefore);

    first.proc.kill('SIGTERM');
    expect(await first.proc.exited, first.proc.output()).toBe(0);
    expect(existsSync(lockPath)).toBe(false);
  }, 120_000);

  it('a stale lock whose PID an unrelated live process now has does not block start', async () => {
    const killed = await startTrader();
    killed.proc.kill('SIGKILL');
    await killed.proc.exited;
    expect(existsSync(lockPath)).toBe(true); // left behind
    // the dead trader's PID, since reused by another program
    sleeper = spawn('sleep', ['120'], { stdio: 'ignore' });
    const stale = JSON.parse(readFileSync(lockPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(lockPath, JSON.stringify({ ...stale, pid: sleeper.pid }));

    const next = await startTrader();
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: next.proc.pid });
    next.proc.kill('SIGKILL');
    await next.proc.exited;

    // the same with the lock format of earlier versions (a bare PID), written an hour ago
    writeFileSync(lockPath, String(sleeper.pid));
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(lockPath, hourAgo, hourAgo);
    const last = await startTrader();
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: last.proc.pid });
    last.proc.kill('SIGTERM');
    expect(await last.proc.exited, last.proc.output()).toBe(0);
  }, 150_000);
});
