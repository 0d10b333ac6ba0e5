/**
 * Child processes for integration tests that run `kalshiflow` as operators do (`node
 * bin/kalshiflow.js …`): output collected line by line, waiting for a line, signals, and a
 * registry so `afterAll` can kill whatever a failed test left running. Loopback only.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO_ROOT, 'bin', 'kalshiflow.js');

export interface CliProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout and stderr line so far, in arrival order (stderr lines prefixed `! `). */
  readonly lines: string[];
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Resolves with the first line (past or future) matching `pattern`; rejects on timeout or exit. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(signal: NodeJS.Signals): void;
  /** The collected output, for failure messages. */
  output(): string;
}

const running = new Set<CliProcess>();

/**
 * Starts `node bin/kalshiflow.js …args` with `env` added to (a copy of) this process's environment,
 * in `options.cwd` (default: the repository; `kalshiflow sim` keeps its demo key under it).
 */
export function startCli(args: string[], env: Record<string, string | undefined> = {}, options: { cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start kalshiflow ${args.join(' ')}`);
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const collect = (prefix: string) => {
    let partial = '';
    return (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) lines.push(prefix + line);
      for (const wake of waiters) wake();
    };
  };
  child.stdout!.on('data', collect(''));
  child.stderr!.on('data', collect('! '));
  let exitedWith: number | string | null = null;
  const exited = new Promise<number | string>((resolve) => {
    // 'close', not 'exit': by then every line the process wrote has been read
    child.once('close', (code, signal) => {
      exitedWith = code ?? signal ?? 'unknown';
      for (const wake of waiters) wake();
      resolve(exitedWith);
    });
  });
  const proc: CliProcess = {
    child,
    pid: child.pid,
    lines,
    exited,
    output: () => lines.join('\n'),
    kill(signal) {
      if (exitedWith === null) child.kill(signal);
    },
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        let checked = 0;
        const finish = (error: Error | null, match?: RegExpMatchArray) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve(match!);
        };
        const check = () => {
          for (; checked < lines.length; checked++) {
            const match = pattern.exec(lines[checked]);
            if (match) return finish(null, match);
          }
          if (exitedWith !== null) finish(new Error(`kalshiflow ${args[0]} exited (${exitedWith}) before printing ${pattern}:\n${proc.output()}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} from kalshiflow ${args[0]}:\n${proc.output()}`)),
          timeoutMs,
        );
        waiters.add(check);
        check();
      });
    },
  };
  running.add(proc);
  void exited.then(() => running.delete(proc));
  return proc;
}

/** SIGKILLs every process started by `startCli` that is still running, and waits for them. */
export async function killAllCli(): Promise<void> {
  const procs = [...running];
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `read` until `accept` holds for its value; returns that value. */
export async function pollUntil<T>(
  what: string,
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? `; last error: ${String(lastError)}` : `; last value: ${JSON.stringify(last)?.slice(0, 500)}`;
      throw new Error(`timed out waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}
