/**
 * The control routes (`POST /v3/control/pause|resume|cancel-all|flatten`) over a scripted
 * SystemView: token, CSRF (JSON bodies only, foreign Origin and Host refused), bad bodies, and the
 * answer, the status log line and the availability they report.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { hostAllowList } from '../../src/adapters/http/host-guard.ts';
import { createServerApp } from '../../src/server/app.ts';
import { FakeSystemView } from './fake-view.ts';

const json = (res: Response): Promise<any> => res.json() as Promise<any>;
const TOKEN = 'a-long-operator-token-123';

let clock: VirtualClock;
let view: FakeSystemView;

beforeEach(() => {
  clock = new VirtualClock(Date.UTC(2026, 0, 5, 14, 0, 0));
  view = new FakeSystemView(clock);
  view.bootToReady((ms) => clock.advance(ms));
  view.addOrder({ clientOrderId: 'trader-1', ticker: 'KXTEST-A', price: 5000, count: 100, state: 'accepted' });
});

const app = (authToken?: string) => createServerApp(view, { clock, allowedHosts: hostAllowList('127.0.0.1'), ...(authToken ? { authToken } : {}) });
const post = (path: string, init: { body?: string; headers?: Record<string, string> } = {}, authToken?: string) =>
  app(authToken).request(`http://127.0.0.1:8005${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });

describe('POST /v3/control/*', () => {
  it('pause answers with what it did, and the status log shows it', async () => {
    const res = await post('/v3/control/pause', { body: '{}' });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ applied: true, action: 'pause', ticker: null, trader: { state: 'paused', reason: 'operator' }, cancelsSent: 1, journaled: true });
    const log = await (await app().request('http://127.0.0.1:8005/v3/status/log')).text();
    expect(log.split('\n')[0]).toMatch(/^\d\d:\d\d:\d\d \[ready → ready\] operator pause: trader paused \(operator\) \(0\.0s\)$/);
    const status = await json(await app().request('http://127.0.0.1:8005/v3/status'));
    expect(status.trader).toMatchObject({ state: 'paused', reason: 'operator' });
    expect(status.controls.pause).toEqual({ allowed: false, reason: 'already paused by the operator' });
    expect(status.controls.resume).toEqual({ allowed: true, reason: null });
  });

  it('an empty body is {}; cancel-all and flatten take a ticker', async () => {
    expect((await post('/v3/control/cancel-all', { body: '{"ticker":"KXTEST-B"}' })).status).toBe(200);
    expect(view.controlCalls).toEqual([{ action: 'cancel-all', ticker: 'KXTEST-B' }]);
    expect((await post('/v3/control/flatten')).status).toBe(200);
    expect(view.controlCalls[1]).toEqual({ action: 'flatten' });
  });

  it('a control the state does not allow is 409 with the reason, nothing done', async () => {
    const res = await post('/v3/control/resume', { body: '{}' });
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({ applied: false, message: 'resume refused: not paused (ready)' });
  });

  it('needs the token when one is configured', async () => {
    const refused = await post('/v3/control/pause', { body: '{}' }, TOKEN);
    expect(refused.status).toBe(401);
    expect(view.controlCalls).toEqual([]);
    const wrong = await post('/v3/control/pause', { body: '{}', headers: { Authorization: 'Bearer nope' } }, TOKEN);
    expect(wrong.status).toBe(401);
    const ok = await post('/v3/control/pause', { body: '{}', headers: { Authorization: `Bearer ${TOKEN}` } }, TOKEN);
    expect(ok.status).toBe(200);
    expect(view.controlCalls).toHaveLength(1);
  });

  it('CSRF: a form post, a foreign Origin or a rebinding Host is refused before anything is done', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
      const res = await post('/v3/control/pause', { body: 'ticker=X', headers: { 'Content-Type': type } });
      expect(res.status, type).toBe(415);
    }
    const noType = await app().request('http://127.0.0.1:8005/v3/control/pause', { method: 'POST', body: '{}' });
    expect(noType.status).toBe(415);
    const foreign = await post('/v3/control/pause', { body: '{}', headers: { Origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    const rebound = await app().request('http://evil.example:8005/v3/control/pause', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(rebound.status).toBe(403);
    const sameOrigin = await post('/v3/control/pause', { body: '{}', headers: { Origin: 'http://127.0.0.1:8005' } });
    expect(sameOrigin.status).toBe(200);
    expect(view.controlCalls).toHaveLength(1);
  });

  it('a bad body is 400 naming the field; an unknown control is 404; GET is not a control', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['/v3/control/pause', '{', /not JSON/],
      ['/v3/control/cancel-all', '{"ticker":"lower-case"}', /^ticker: tickers are upper-case/],
      ['/v3/control/cancel-all', '{"ticker":7}', /^ticker: /],
      ['/v3/control/flatten', '{"tickers":["A"]}', /^body: .*tickers/i],
      ['/v3/control/flatten', '[]', /^body: /],
      ['/v3/control/pause', '{"ticker":"KXTEST-A"}', /^ticker: pause applies to the whole trader/],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(path, { body });
      expect(res.status, body).toBe(400);
      expect((await json(res)).message, body).toMatch(message);
    }
    expect((await post('/v3/control/shutdown', { body: '{}' })).status).toBe(404);
    expect((await post('/v3/control/pause', { body: 'x'.repeat(5000) })).status).toBe(413);
    expect((await app().request('http://127.0.0.1:8005/v3/control/pause')).status).toBe(404);
    expect(view.controlCalls).toEqual([]);
  });

  it('GET /v3/control lists what the state allows', async () => {
    const res = await json(await app().request('http://127.0.0.1:8005/v3/control'));
    expect(res.controls).toEqual({
      pause: { allowed: true, reason: null },
      resume: { allowed: false, reason: 'not paused (ready)' },
      'cancel-all': { allowed: true, reason: null },
      flatten: { allowed: true, reason: null },
    });
  });
});
