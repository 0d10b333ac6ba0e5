/**
 * The embedded database's folder lock identifies its holder (PID + process start time), with
 * real processes: a live holder in another process blocks; a holder that died does not; a lock
 * whose PID now belongs to an unrelated live process (`sleep`) does not; a lock is only ever
 * removed by the process that took it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, acquireDataDirLock, processStartTicks } from '../../src/adapters/store/data-dir-lock.ts';
import { REPO_ROOT } from '../helpers/processes.ts';

const dir = mkdtempSync(join(tmpdir(), 'kf-lock-'));
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
  }
  children.clear();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A node process that takes the lock of `dataDir`, prints "locked" and waits to be killed. */
async function holdLockInChild(dataDir: string): Promise<ChildProcess> {
  const script = `const { acquireDataDirLock } = await import(${JSON.stringify(join(REPO_ROOT, 'src/adapters/store/data-dir-lock.ts'))});
acquireDataDirLock(${JSON.stringify(dataDir)}); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`lock holder did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', () => reject(new Error(`lock holder exited: ${out}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/** An unrelated live process: its PID stands for one the OS reused. */
function sleeper(): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.add(child);
  return child;
}

describe('embedded database folder lock', () => {
  it('a live holder in another process blocks, naming its PID; once it has died the lock is taken over', async () => {
    const dataDir = join(dir, 'held');
    const holder = await holdLockInChild(dataDir);
    expect(() => acquireDataDirLock(dataDir)).toThrow(DataDirLockedError);
    expect(() => acquireDataDirLock(dataDir)).toThrow(new RegExp(`in use by process ${holder.pid} \\(locked since `));
    await kill(holder); // leaves its lock file behind
    expect(existsSync(`${dataDir}.lock`)).toBe(true);
    const release = acquireDataDirLock(dataDir);
    expect(JSON.parse(readFileSync(`${dataDir}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    release();
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
  }, 30_000);

  it('a lock whose PID now belongs to an unrelated live process does not block', async () => {
    const dataDir = join(dir, 'reused');
    const holder = await holdLockInChild(dataDir);
    await kill(holder);
    // the dead holder's lock, its PID since reused by another program
    const sleep = sleeper();
    const stale = JSON.parse(readFileSync(`${dataDir}.lock`, 'utf8')) as Record<string, unknown>;
    writeFileSync(`${dataDir}.lock`, JSON.stringify({ ...stale, pid: sleep.pid }));
    expect(processStartTicks(sleep.pid!)).not.toBeNull();
    const release = acquireDataDirLock(dataDir);
    release();
  }, 30_000);

  it('an old-format lock (a bare PID) blocks only if that process started before the lock was written', () => {
    const dataDir = join(dir, 'legacy');
    const sleep = sleeper();
    writeFileSync(`${dataDir}.lock`, String(sleep.pid));
    // written after the process started: it could be the holder
    expect(() => acquireDataDirLock(dataDir)).toThrow(new RegExp(`in use by process ${sleep.pid}`));
    // written an hour ago, the process started just now: a reused PID
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(`${dataDir}.lock`, hourAgo, hourAgo);
    const release = acquireDataDirLock(dataDir);
    release();
  });

  it('one process holding the lock cannot take it a second time', () => {
    const dataDir = join(dir, 'twice');
    const release = acquireDataDirLock(dataDir);
    try {
      expect(() => acquireDataDirLock(dataDir)).toThrow(new RegExp(`in use by process ${process.pid}`));
    } finally {
      release();
    }
  });

  it('releasing removes only a lock that is still ours', () => {
    const dataDir = join(dir, 'replaced');
    const release = acquireDataDirLock(dataDir);
    // meanwhile another process took it over (say ours was judged stale)
    const theirs = JSON.stringify({ pid: 1, startTicks: null, token: 'theirs', acquiredAt: new Date().toISOString() });
    writeFileSync(`${dataDir}.lock`, theirs);
    release();
    expect(readFileSync(`${dataDir}.lock`, 'utf8')).toBe(theirs);
    rmSync(`${dataDir}.lock`);
  });
});
