/**
 * The terminal log of the long-running commands (`kalshiflow start`): pino, at `LOG_LEVEL`
 * (`KALSHIFLOW_LOG_LEVEL`; default info). JSON lines when the output is not a terminal (a
 * supervisor, a log shipper), short human lines on a terminal (`14:03:22 INFO message key=value`;
 * a tiny formatter of our own: pino-pretty is not a dependency). Fields whose names hold a secret
 * (core/secrets.ts: token, password, privateKey, authorization, signature…) are censored by pino's
 * `redact`, at the top level and one level down, and passwords inside URLs in messages are masked.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { redactUrlPasswords } from '../core/secrets.ts';

/** The secret field names redacted (core/secrets.ts's fragments, as field names are spelt). */
export const REDACTED_FIELDS = [
  'privateKey',
  'privateKeyPem',
  'private_key',
  'secret',
  'password',
  'passwd',
  'passphrase',
  'token',
  'authToken',
  'accessToken',
  'apiKey',
  'api_key',
  'authorization',
  'Authorization',
  'signature',
  'credentials',
  'cookie',
  'pem',
  'KALSHI_PRIVATE_KEY',
  'V3_AUTH_TOKEN',
  'KALSHIFLOW_AUTH_TOKEN',
  'KALSHI-ACCESS-SIGNATURE',
];

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

export interface LoggerOptions {
  /** `LOG_LEVEL` or `KALSHIFLOW_LOG_LEVEL`. */
  level?: string;
  /** Where lines go (default stdout). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Human lines instead of JSON (default: when `stream` is a terminal). */
  pretty?: boolean;
}

export class LogLevelError extends Error {}

/** A JSON line of pino as one human line: `14:03:22 INFO message key=value`. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, pid: _pid, hostname: _host, ...rest } = entry;
  const at = typeof time === 'number' ? new Date(time).toISOString().slice(11, 19) : '';
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${at} ${LEVEL_NAMES[level as number] ?? String(level)} ${String(msg ?? '')}${fields ? ` ${fields}` : ''}`;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = (options.level ?? 'info').trim().toLowerCase();
  if (!(LEVELS as readonly string[]).includes(level)) throw new LogLevelError(`LOG_LEVEL: must be one of ${LEVELS.join(', ')} (got ${JSON.stringify(options.level)})`);
  const stream = options.stream ?? process.stdout;
  const pretty = options.pretty ?? stream.isTTY === true;
  const destination = pretty
    ? new Writable({
        write(chunk: Buffer, _encoding, done) {
          const lines = chunk.toString('utf8').split('\n').filter(Boolean);
          stream.write(lines.map(prettyLine).join('\n') + '\n');
          done();
        },
      })
    : stream;
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: [...REDACTED_FIELDS.map((f) => (/^[A-Za-z_$][\w$]*$/.test(f) ? f : `["${f}"]`)), ...REDACTED_FIELDS.map((f) => (/^[A-Za-z_$][\w$]*$/.test(f) ? `*.${f}` : `*["${f}"]`))], censor: '***' },
      hooks: {
        // a message may quote a connection string
        logMethod(args, method) {
          const i = typeof args[0] === 'string' ? 0 : 1;
          if (typeof args[i] === 'string') args[i] = redactUrlPasswords(args[i] as string);
          method.apply(this, args as Parameters<typeof method>);
        },
      },
    },
    destination as NodeJS.WritableStream as pino.DestinationStream,
  );
}
