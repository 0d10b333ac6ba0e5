/**
 * The private folder the embedded database's Unix socket lives in: `kf-pglite-<pid>-<start>-…`
 * under the OS temp folder, mode 0700 (mkdtemp), so only this user can reach the socket.
 * Removed when the database closes, or when the process exits without closing it; a folder left
 * by a killed process (SIGKILL) is swept by the next open, recognised by its owner's identity
 * (PID + start time, the rule of data-dir-lock.ts). Part of src/adapters/store; used by database.ts.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processStartTicks } from './data-dir-lock.ts';

const PREFIX = 'kf-pglite-';
const open = new Set<string>();
let exitHookInstalled = false;

function removeAllOpen(): void {
  for (const dir of open) rmSync(dir, { recursive: true, force: true });
  open.clear();
}

/** Removes folders whose owning process is gone (a live owner, or one we cannot judge, keeps its folder). */
function sweepStale(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    if (processStartTicks(Number(m[1])) !== m[2]) rmSync(join(root, name), { recursive: true, force: true });
  }
}

export interface PrivateSocketDir {
  /** Where the socket goes: `<dir>/.s.PGSQL.5432`, the name libpq would look for. */
  socketPath: string;
  remove(): void;
}

export function createPrivateSocketDir(): PrivateSocketDir {
  const root = tmpdir();
  sweepStale(root);
  const dir = mkdtempSync(join(root, `${PREFIX}${process.pid}-${processStartTicks('self') ?? 'x'}-`));
  open.add(dir);
  if (!exitHookInstalled) {
    // synchronous, so it also runs on process.exit(); one hook for every database of the process
    process.once('exit', removeAllOpen);
    exitHookInstalled = true;
  }
  return {
    socketPath: join(dir, '.s.PGSQL.5432'),
    remove() {
      open.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
