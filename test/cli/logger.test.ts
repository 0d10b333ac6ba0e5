/**
 * The terminal log (src/cli/logger.ts): JSON lines off a terminal, human lines on one, LOG_LEVEL,
 * and pino's redaction of the secret field names (plus URL passwords inside messages).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, LogLevelError, prettyLine } from '../../src/cli/logger.ts';

function sink(isTTY = false) {
  const lines: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, lines };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('terminal log', () => {
  it('writes JSON lines when not a terminal, secrets redacted', async () => {
    const { stream, lines } = sink(false);
    const log = createLogger({ stream });
    log.info({ url: 'http://127.0.0.1:8005/', token: 'tok-123', nested: { privateKey: 'PEM', apiKey: 'k' } }, 'ready: dashboard http://127.0.0.1:8005/');
    log.warn('database postgres://kf:hunter2@db/kf is unreachable');
    await settle();
    const first = JSON.parse(lines[0]) as Record<string, any>;
    expect(first).toMatchObject({ level: 30, msg: 'ready: dashboard http://127.0.0.1:8005/', url: 'http://127.0.0.1:8005/', token: '***', nested: { privateKey: '***', apiKey: '***' } });
    expect(lines.join('\n')).not.toMatch(/tok-123|PEM"|hunter2/);
    expect(JSON.parse(lines[1]).msg).toBe('database postgres://kf:***@db/kf is unreachable');
  });

  it('writes short human lines on a terminal', async () => {
    const { stream, lines } = sink(true);
    createLogger({ stream }).info({ openOrders: 3 }, 'summary: ready · 3 open orders');
    await settle();
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d INFO summary: ready · 3 open orders openOrders=3$/);
    expect(prettyLine('not json')).toBe('not json');
  });

  it('follows LOG_LEVEL and refuses a bad one naming the variable', async () => {
    const { stream, lines } = sink(false);
    const log = createLogger({ stream, level: 'warn' });
    log.info('hidden');
    log.warn('shown');
    await settle();
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
    expect(() => createLogger({ level: 'loud' })).toThrow(LogLevelError);
    expect(() => createLogger({ level: 'loud' })).toThrow(/^LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)$/);
  });
});
