/**
 * The lock of an embedded database folder: PGlite is a single-process database, two programs
 * opening the same folder would corrupt it. `<folder>.lock` names its holder by identity, not by
 * PID alone — a PID is reused once its process is gone, and a stale lock whose PID now belongs to
 * an unrelated live process (a `sleep`, a shell) must not keep the database locked forever.
 *
 * Identity = PID + the process's start time (field 22 of /proc/<pid>/stat, clock ticks since
 * boot): a process that reuses the PID has a different start time. The lock also carries a random
 * token, so a process only ever removes its own lock. Where /proc is not available the check
 * falls back to PID liveness. A lock in the old format (a bare PID) counts as held only if that
 * process started before the lock file was written.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
}

const lockSchema = z.object({
  pid: z.number().int().positive(),
  /** /proc/<pid>/stat start time in clock ticks since boot; null where /proc is unavailable. */
  startTicks: z.string().regex(/^\d+$/).nullable(),
  token: z.string().min(1),
  acquiredAt: z.string(),
});
type LockRecord = z.infer<typeof lockSchema>;

/** Start time of a process in clock ticks since boot, or null (no such process, or no /proc). */
export function processStartTicks(pid: number | 'self'): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19]; // field 22 overall; field 3 (state) is fields[0]
    return ticks && /^\d+$/.test(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Boot time in ms since the epoch (/proc/stat btime), or null. */
function bootTimeMs(): number | null {
  try {
    const match = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return match ? Number(match[1]) * 1000 : null;
  } catch {
    return null;
  }
}

// /proc reports start times in USER_HZ, 100 on Linux.
const USER_HZ = 100;

/** Why the lock at `lockPath` is held by a live process, or null if it is stale. */
function liveHolder(text: string, lockPath: string): string | null {
  let record: LockRecord | null = null;
  try {
    const parsed = lockSchema.safeParse(JSON.parse(text));
    if (parsed.success) record = parsed.data;
  } catch {
    record = null;
  }
  if (record) {
    if (!pidAlive(record.pid)) return null;
    const ticks = processStartTicks(record.pid);
    // same PID, another start time: the holder died and its PID was reused
    if (record.startTicks !== null && ticks !== null && ticks !== record.startTicks) return null;
    return `process ${record.pid} (locked since ${record.acquiredAt})`;
  }
  // the old format: a bare PID
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0 || !pidAlive(pid)) return null;
  const ticks = processStartTicks(pid);
  const boot = bootTimeMs();
  if (ticks !== null && boot !== null) {
    const startedMs = boot + (Number(ticks) * 1000) / USER_HZ;
    // a process that started after the lock was written cannot have written it (1 s of slack)
    if (startedMs > statSync(lockPath).mtimeMs + 1000) return null;
  }
  return `process ${pid}`;
}

/**
 * Takes `<dataDir>.lock` or throws DataDirLockedError naming the live holder; a stale lock is
 * taken over. Returns the release function, which removes the lock only while it is still ours.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  const lockPath = `${resolve(dataDir)}.lock`;
  mkdirSync(dirname(lockPath), { recursive: true });
  const record: LockRecord = {
    pid: process.pid,
    startTicks: processStartTicks('self'),
    token: randomBytes(16).toString('hex'),
    acquiredAt: new Date().toISOString(),
  };
  const content = `${JSON.stringify(record)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(lockPath, content, { flag: 'wx', mode: 0o644 });
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8') === content) rmSync(lockPath, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let text: string;
    try {
      text = readFileSync(lockPath, 'utf8');
    } catch {
      continue; // removed meanwhile: try again
    }
    const holder = liveHolder(text, lockPath);
    if (holder) throw new DataDirLockedError(`embedded database ${dataDir} is in use by ${holder}; lock file ${lockPath}`);
    // stale: remove it unless someone replaced it since we read it
    try {
      if (readFileSync(lockPath, 'utf8') === text) rmSync(lockPath, { force: true });
    } catch {
      // gone already
    }
  }
  throw new DataDirLockedError(`could not lock embedded database ${dataDir} (lock file ${lockPath} keeps changing)`);
}
