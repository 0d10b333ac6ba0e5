/**
 * Ed25519 API keys (Kalshi spec 3.31: `ApiKeyType` = rsa | ed25519, same `timestamp + METHOD +
 * path` message): the client signs with either kind from the PEM, the simulator registers and
 * verifies either kind — over REST and on the WebSocket upgrade — and `kalshiflow sim --key`
 * accepts both. RSA-PSS stays.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentials, generateKeyPair, loadPrivateKey, signRequest, WS_SIGN_PATH } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { apiKeyTypeOf, verifyRequestSignature } from '../../src/core/request-signature.ts';
import { runSimCommand } from '../../src/cli/sim.command.ts';
import { LINEAR, startHarness, WsProbe, type Harness } from './server.helpers.ts';

const ed = generateKeyPair('ed25519');
const edPrivate = createPrivateKey(ed.privateKeyPem);
const edPublic = createPublicKey(ed.publicKeyPem);

describe('Ed25519 signatures', () => {
  it('generateKeyPair makes Ed25519 PEMs, and the signature is Ed25519 over timestamp + METHOD + path', () => {
    expect(apiKeyTypeOf(edPrivate)).toBe('ed25519');
    expect(ed.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(ed.publicKeyPem).toContain('BEGIN PUBLIC KEY');
    const creds = createCredentials('ed-key', edPrivate);
    const headers = signRequest(creds, 'post', '/trade-api/v2/portfolio/events/orders?x=1', 1_703_123_456_789);
    expect(headers['KALSHI-ACCESS-KEY']).toBe('ed-key');
    // checked with node:crypto directly, not with our verifier
    const message = Buffer.from('1703123456789POST/trade-api/v2/portfolio/events/orders');
    const signature = Buffer.from(headers['KALSHI-ACCESS-SIGNATURE'], 'base64');
    expect(signature).toHaveLength(64);
    expect(verify(null, message, edPublic, signature)).toBe(true);
  });

  it('verifies Ed25519 and RSA signatures each with its own key type only', () => {
    const rsa = generateKeyPair('rsa');
    const rsaCreds = createCredentials('rsa-key', createPrivateKey(rsa.privateKeyPem));
    const edCreds = createCredentials('ed-key', edPrivate);
    const path = '/trade-api/v2/portfolio/balance';
    const edSig = signRequest(edCreds, 'GET', path, 1000)['KALSHI-ACCESS-SIGNATURE'];
    const rsaSig = signRequest(rsaCreds, 'GET', path, 1000)['KALSHI-ACCESS-SIGNATURE'];
    expect(verifyRequestSignature(edPublic, 'GET', path, '1000', edSig)).toBe(true);
    expect(verifyRequestSignature(createPublicKey(rsa.publicKeyPem), 'GET', path, '1000', rsaSig)).toBe(true);
    expect(verifyRequestSignature(edPublic, 'GET', path, '1000', rsaSig)).toBe(false);
    expect(verifyRequestSignature(createPublicKey(rsa.publicKeyPem), 'GET', path, '1000', edSig)).toBe(false);
    expect(verifyRequestSignature(edPublic, 'GET', path, '1001', edSig)).toBe(false);
    expect(verifyRequestSignature(edPublic, 'DELETE', path, '1000', edSig)).toBe(false);
    const other = createPublicKey(generateKeyPair('ed25519').publicKeyPem);
    expect(verifyRequestSignature(other, 'GET', path, '1000', edSig)).toBe(false);
  });

  it('loadPrivateKey reads an Ed25519 PEM from a file or inline; other curves are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-ed-'));
    try {
      const file = join(dir, 'ed.pem');
      writeFileSync(file, ed.privateKeyPem, { mode: 0o600 });
      expect(apiKeyTypeOf(loadPrivateKey({ path: file }))).toBe('ed25519');
      expect(apiKeyTypeOf(loadPrivateKey({ pem: ed.privateKeyPem.replace(/\n/g, '\\n') }))).toBe('ed25519');
      const x448 = generateKeyPairSync('x448').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      expect(() => loadPrivateKey({ pem: x448 })).toThrow(/x448 key; Kalshi API keys are RSA or Ed25519/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the simulator with an Ed25519 key', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ keys: [{ keyId: 'ed-key', publicKeyPem: ed.publicKeyPem, userId: 'bob' }] });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('our REST client trades with an Ed25519 key: create, list and cancel an order', async () => {
    const client = new KalshiRestClient({
      endpoints: endpointsFor('sim', { restBaseUrl: h.sim.restUrl, wsUrl: h.sim.wsUrl }),
      credentials: createCredentials('ed-key', edPrivate),
      clock: h.clock,
    });
    const placed = await client.createOrder({ ticker: LINEAR, clientOrderId: 'ed-1', side: 'bid', price: 1_000, count: 100, timeInForce: 'good_till_canceled' });
    expect(placed.orderId).toBeTruthy();
    const orders = await client.getOrders({ ticker: LINEAR });
    expect(orders.orders.map((o) => o.clientOrderId)).toContain('ed-1');
    await client.cancelOrder(placed.orderId);
    expect(await client.getBalance()).toBeTruthy();
  });

  it('401 for an Ed25519 signature by another key under the registered id', async () => {
    const impostor = createCredentials('ed-key', createPrivateKey(generateKeyPair('ed25519').privateKeyPem));
    const reply = await h.rest('GET', '/portfolio/balance', undefined, { creds: impostor });
    expect(reply.status).toBe(401);
  });

  it('the WebSocket upgrade accepts an Ed25519 signature and refuses a wrong one', async () => {
    const good = await WsProbe.connect(h.sim.wsUrl, signRequest(createCredentials('ed-key', edPrivate), 'GET', WS_SIGN_PATH, h.clock.now()));
    good.socket.send(JSON.stringify({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_tickers: [LINEAR] } }));
    const snapshot = await good.next((f) => f.type === 'orderbook_snapshot');
    expect(snapshot.msg.market_ticker).toBe(LINEAR);
    good.terminate();
    const impostor = createCredentials('ed-key', createPrivateKey(generateKeyPair('ed25519').privateKeyPem));
    await expect(WsProbe.connect(h.sim.wsUrl, signRequest(impostor, 'GET', WS_SIGN_PATH, h.clock.now()))).rejects.toThrow(/401/);
  });
});

describe('kalshiflow sim --key', () => {
  it('accepts an Ed25519 public key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-ed-sim-'));
    try {
      const path = join(dir, 'ed.pub.pem');
      writeFileSync(path, ed.publicKeyPem);
      const out: string[] = [];
      const err: string[] = [];
      let stop!: () => void;
      let printed!: () => void;
      const ready = new Promise<void>((r) => (printed = r));
      const code = runSimCommand(['--key', `ed-key=${path}`, '--port=0', '--markets=1', '--no-activity'], {
        out: (line) => {
          out.push(line);
          if (line.startsWith('Press Ctrl-C')) printed();
        },
        err: (line) => err.push(line),
        cwd: dir,
        untilStopped: () => new Promise<void>((r) => (stop = r)),
      });
      void code.finally(printed);
      await ready;
      expect(err).toEqual([]);
      expect(out.join('\n')).toMatch(/keys\s+ed-key/);
      stop();
      expect(await code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
