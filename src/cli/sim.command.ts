/**
 * `kalshiflow sim`: runs the Kalshi-compatible exchange simulator standalone until SIGINT/SIGTERM.
 * Prints the REST and WebSocket URLs and the API key to use; with no `--key`, creates (once) a
 * demo key pair under `.kalshiflow/sim-keys/` and prints its key id and private-key path, never
 * the key itself. Bad flags are one line on stderr and exit code 2.
 */
import { parseFlags } from './flags.ts';
import { createPublicKey, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { generateKeyPair } from '../adapters/kalshi/auth.ts';
import { parseDuration } from '../core/duration.ts';
import { apiKeyTypeOf } from '../core/request-signature.ts';
import type { HistoryRetention } from '../sim/matching/history.ts';
import { SIM_RATE_TIERS, type SimRateTier } from '../sim/server/rate-limits.ts';
import { SIMULATOR_HISTORY, startSimulator, SimulatorConfigError, type SimulatorKey } from '../sim/simulator.ts';

export const SIM_USAGE = [
  'usage: kalshiflow sim [--host 127.0.0.1] [--port 8100] [--markets N] [--seed S]',
  '                      [--key KEY_ID=PUBLIC_KEY_PEM_PATH ...] [--no-activity]',
  '                      [--history-age 1h|all] [--history-count 10000|all]',
  '                      [--rate-tier off|basic|advanced|premier|paragon|prime]',
  '',
  'Runs the Kalshi-compatible simulator (REST /trade-api/v2, WebSocket /trade-api/ws/v2,',
  'control API /_sim on loopback) until interrupted. Without --key a demo key pair is kept in',
  '.kalshiflow/sim-keys/. Finished orders, fills, settlements and trades are kept for queries',
  `for --history-age of simulator time and at most --history-count per account or market`,
  `(default ${SIMULATOR_HISTORY.maxAgeMs / 3_600_000}h and ${SIMULATOR_HISTORY.maxCount}); resting orders are always kept.`,
  '--rate-tier applies Kalshi\'s token-bucket rate limits of that usage tier per account (429 when',
  'a bucket is empty; default off).',
].join('\n');

export interface SimCommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Directory that holds `.kalshiflow/` (default: the working directory). */
  cwd: string;
  /** Resolves when the simulator should stop (default: SIGINT or SIGTERM). */
  untilStopped: () => Promise<void>;
}

interface SimFlags {
  host: string;
  port: number;
  markets: number;
  seed: number;
  keys: Array<{ keyId: string; path: string }>;
  activity: boolean;
  history: Partial<HistoryRetention>;
  rateTier: SimRateTier;
  help: boolean;
}

class FlagError extends Error {}

function intFlag(name: string, raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw)) throw new FlagError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new FlagError(`${name} must be between ${min} and ${max}, got ${raw}`);
  return n;
}

const SIM_FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  markets: { type: 'string' },
  seed: { type: 'string' },
  key: { type: 'string', multiple: true },
  'history-age': { type: 'string' },
  'history-count': { type: 'string' },
  'rate-tier': { type: 'string' },
  'no-activity': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseSimFlags(argv: string[]): SimFlags {
  const flags: SimFlags = { host: '127.0.0.1', port: 8100, markets: 10, seed: 1, keys: [], activity: true, history: {}, rateTier: 'off', help: false };
  let values;
  try {
    ({ values } = parseFlags(argv, SIM_FLAGS, { allowPositionals: false }));
  } catch (error) {
    throw new FlagError((error as Error).message);
  }
  if (values.help) flags.help = true;
  if (values['no-activity']) flags.activity = false;
  if (values.host !== undefined) {
    if (!/^[\w.:-]{1,253}$/.test(values.host)) throw new FlagError(`--host must be a host name or IP address, got ${JSON.stringify(values.host)}`);
    flags.host = values.host;
  }
  if (values.port !== undefined) flags.port = intFlag('--port', values.port, 0, 65535);
  if (values.markets !== undefined) flags.markets = intFlag('--markets', values.markets, 1, 10_000);
  if (values.seed !== undefined) flags.seed = intFlag('--seed', values.seed, -2147483648, 2147483647);
  const age = values['history-age'];
  if (age !== undefined) {
    if (age === 'all') flags.history.maxAgeMs = Infinity;
    else {
      try {
        flags.history.maxAgeMs = parseDuration(age);
      } catch (error) {
        throw new FlagError(`--history-age ${(error as Error).message}`);
      }
    }
  }
  const tier = values['rate-tier'];
  if (tier !== undefined) {
    if (!SIM_RATE_TIERS.includes(tier as SimRateTier)) throw new FlagError(`--rate-tier must be one of ${SIM_RATE_TIERS.join(', ')}, got ${JSON.stringify(tier)}`);
    flags.rateTier = tier as SimRateTier;
  }
  const count = values['history-count'];
  if (count !== undefined) flags.history.maxCount = count === 'all' ? Infinity : intFlag('--history-count', count, 0, 100_000_000);
  for (const value of values.key ?? []) {
    const sep = value.indexOf('=');
    if (sep <= 0 || sep === value.length - 1) throw new FlagError(`--key must be KEY_ID=PUBLIC_KEY_PEM_PATH, got ${JSON.stringify(value)}`);
    flags.keys.push({ keyId: value.slice(0, sep), path: value.slice(sep + 1) });
  }
  return flags;
}

function readPublicKey(keyId: string, path: string): SimulatorKey {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    throw new FlagError(`--key ${keyId}: cannot read ${JSON.stringify(path)}${code === 'ENOENT' ? ' (no such file)' : code ? ` (${code})` : ''}`);
  }
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    if (apiKeyTypeOf(key) === null) throw new Error('neither RSA nor Ed25519');
  } catch {
    throw new FlagError(`--key ${keyId}: ${JSON.stringify(path)} is not an RSA or Ed25519 public key in PEM form`);
  }
  if (pem.includes('PRIVATE KEY')) {
    throw new FlagError(`--key ${keyId}: ${JSON.stringify(path)} holds a private key; give the simulator the public key only`);
  }
  return { keyId, publicKeyPem: pem };
}

/** The demo key pair under `<cwd>/.kalshiflow/sim-keys/`, created on first use and then reused. */
export function ensureDemoKey(cwd: string): { keyId: string; publicKeyPem: string; privateKeyPath: string } {
  const dir = join(cwd, '.kalshiflow', 'sim-keys');
  const idPath = join(dir, 'demo-key-id');
  const privatePath = join(dir, 'demo-private.pem');
  const publicPath = join(dir, 'demo-public.pem');
  if (existsSync(idPath) && existsSync(privatePath) && existsSync(publicPath)) {
    return { keyId: readFileSync(idPath, 'utf8').trim(), publicKeyPem: readFileSync(publicPath, 'utf8'), privateKeyPath: privatePath };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = generateKeyPair('ed25519');
  const keyId = `sim-demo-${randomUUID()}`;
  writeFileSync(privatePath, pair.privateKeyPem, { mode: 0o600 });
  chmodSync(privatePath, 0o600);
  writeFileSync(publicPath, pair.publicKeyPem, { mode: 0o644 });
  writeFileSync(idPath, `${keyId}\n`, { mode: 0o644 });
  return { keyId, publicKeyPem: pair.publicKeyPem, privateKeyPath: privatePath };
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

const defaultIo = (): SimCommandIo => ({
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  cwd: process.cwd(),
  untilStopped: untilSignal,
});

export async function runSimCommand(argv: string[], io: SimCommandIo = defaultIo()): Promise<number> {
  let flags: SimFlags;
  let keys: SimulatorKey[];
  let demo: { keyId: string; privateKeyPath: string } | null = null;
  try {
    flags = parseSimFlags(argv);
    if (flags.help) {
      io.out(SIM_USAGE);
      return 0;
    }
    keys = flags.keys.map((k) => readPublicKey(k.keyId, k.path));
  } catch (error) {
    if (error instanceof FlagError) {
      io.err(`kalshiflow sim: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (keys.length === 0) {
    const d = ensureDemoKey(io.cwd);
    keys = [{ keyId: d.keyId, publicKeyPem: d.publicKeyPem }];
    demo = { keyId: d.keyId, privateKeyPath: d.privateKeyPath };
  }

  let sim;
  try {
    sim = await startSimulator({ host: flags.host, port: flags.port, markets: flags.markets, seed: flags.seed, keys, activity: flags.activity, history: flags.history, rateLimitTier: flags.rateTier });
  } catch (error) {
    if (error instanceof SimulatorConfigError) {
      io.err(`kalshiflow sim: ${error.message}`);
      return 2;
    }
    throw error;
  }
  io.out(`kalshiflow sim: ${flags.markets} markets (seed ${flags.seed}), synthetic activity ${flags.activity ? 'on' : 'off'}`);
  io.out(`  REST     ${sim.restUrl}`);
  io.out(`  WS       ${sim.wsUrl}`);
  io.out(`  control  ${sim.controlUrl} (loopback clients only, Content-Type: application/json)`);
  if (demo) {
    const shown = isAbsolute(demo.privateKeyPath) ? relative(io.cwd, demo.privateKeyPath) || demo.privateKeyPath : demo.privateKeyPath;
    io.out(`  demo key id       ${demo.keyId}`);
    io.out(`  demo private key  ${shown}`);
    io.out(
      `  e.g. KALSHI_API_KEY_ID=${demo.keyId} KALSHI_PRIVATE_KEY_PATH=${shown} KALSHI_API_BASE_URL=${sim.restUrl} KALSHI_WS_URL=${sim.wsUrl}`,
    );
  } else {
    io.out(`  keys     ${keys.map((k) => k.keyId).join(', ')}`);
  }
  io.out('Press Ctrl-C to stop.');
  await io.untilStopped();
  await sim.close();
  io.out('kalshiflow sim: stopped');
  return 0;
}
