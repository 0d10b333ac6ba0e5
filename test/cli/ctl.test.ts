/**
 * `kalshiflow ctl` against a real operator server (over a scripted SystemView): the one-line
 * answer and exit code, the token, an unreachable server, and usage errors naming the flag.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { UsageError } from '../../src/app/errors.ts';
import { runCtlCommand } from '../../src/cli/ctl.command.ts';
import { startHttpServer, type RunningHttpServer } from '../../src/server/http-server.ts';
import { FakeSystemView } from '../server/fake-view.ts';

const TOKEN = 'ctl-test-token-0123456789';
let view: FakeSystemView;
let server: RunningHttpServer;
let out: string[];
let err: string[];

beforeAll(async () => {
  view = new FakeSystemView(systemClock);
  view.bootToReady(() => {});
  server = await startHttpServer(view, { port: 0, authToken: TOKEN, buildWeb: false, log: () => {} });
});
afterAll(async () => {
  await server?.close();
});

function capture() {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
}
afterEach(() => vi.restoreAllMocks());

describe('kalshiflow ctl', () => {
  it('pause prints what it did and exits 0; a second pause is refused with the reason, exit 1', async () => {
    capture();
    expect(await runCtlCommand(['pause', '--url', server.url, '--token', TOKEN], {})).toBe(0);
    expect(out).toEqual(['pause: trader paused (operator)']);
    expect(view.controlCalls).toEqual([{ action: 'pause' }]);
    capture();
    expect(await runCtlCommand(['pause', '--url', server.url], { V3_AUTH_TOKEN: TOKEN })).toBe(1);
    expect(err).toEqual(['kalshiflow ctl: pause refused: already paused by the operator']);
  });

  it('sends the ticker; --json prints the whole answer', async () => {
    view.addOrder({ clientOrderId: 'o-1', ticker: 'KXTEST-A', price: 5000, count: 100, state: 'accepted' });
    capture();
    expect(await runCtlCommand(['cancel-all', '--ticker', 'KXTEST-A', '--url', server.url, '--token', TOKEN, '--json'], {})).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ applied: true, action: 'cancel-all', ticker: 'KXTEST-A', cancelsSent: 1 });
  });

  it('without the token: says so, exit 1', async () => {
    capture();
    expect(await runCtlCommand(['resume', '--url', server.url], {})).toBe(1);
    expect(err[0]).toMatch(/needs the API token: --token or V3_AUTH_TOKEN/);
  });

  it('an unreachable server: one line, exit 1', async () => {
    capture();
    expect(await runCtlCommand(['pause', '--url', 'http://127.0.0.1:1'], {})).toBe(1);
    expect(err[0]).toMatch(/^kalshiflow ctl: cannot reach http:\/\/127\.0\.0\.1:1 .*is `kalshiflow start` running there\?$/);
  });

  it('usage errors name what the user typed', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /^which control\? one of pause, resume, cancel-all, flatten/],
      [['stop'], /^unknown control "stop"/],
      [['pause', '--tickr', 'X'], /^unknown flag --tickr \(did you mean --ticker\?\)/],
      [['pause', '--ticker', 'KXA'], /^--ticker: pause applies to the whole trader$/],
      [['flatten', '--ticker', 'lower'], /^--ticker: tickers are upper-case/],
      [['flatten', '--ticker'], /^--ticker: needs a value/],
      [['flatten', '--url', 'ftp://x'], /^--url: not an http\(s\) URL/],
    ];
    for (const [argv, message] of cases) {
      const error = await runCtlCommand(argv, {}).catch((e: unknown) => e);
      expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((error as Error).message, argv.join(' ')).toMatch(message);
    }
  });
});
