/**
 * Kalshi request signing: signatures verify the way Kalshi verifies them (RSA-PSS, SHA-256, salt 32),
 * the query is never signed, kalshi-typescript's own signer agrees with our verifier, and the private
 * key never shows up in errors, logs or serialisations.
 */
import { constants, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KalshiAuth } from 'kalshi-typescript/dist/auth.js';
import {
  WS_SIGN_PATH,
  createCredentials,
  generateKeyPair,
  loadPrivateKey,
  signRequest,
  verifyRequestSignature,
  type KalshiCredentials,
} from '../../src/adapters/kalshi/auth.ts';

const keys = generateKeyPair();
const publicKey = createPublicKey(keys.publicKeyPem);
/** Lines of the key's base64 body: none of them may ever appear in output. */
const secretLines = keys.privateKeyPem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));
let creds: KalshiCredentials;
let dir: string;

function leaksKey(text: string): boolean {
  return secretLines.some((line) => text.includes(line)) || text.includes('-----BEGIN');
}

beforeAll(() => {
  creds = createCredentials('a952bcbe-ec3b-4b5b-b8f9-11dae589608c', loadPrivateKey({ pem: keys.privateKeyPem }));
  dir = mkdtempSync(join(tmpdir(), 'kalshiflow-auth-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('signRequest', () => {
  it('produces the three Kalshi headers with a signature node:crypto verifies with PSS salt 32', () => {
    const ts = 1_703_123_456_789;
    const headers = signRequest(creds, 'GET', '/trade-api/v2/portfolio/balance', ts);
    expect(headers['KALSHI-ACCESS-KEY']).toBe('a952bcbe-ec3b-4b5b-b8f9-11dae589608c');
    expect(headers['KALSHI-ACCESS-TIMESTAMP']).toBe('1703123456789');
    const ok = verify(
      'sha256',
      Buffer.from('1703123456789GET/trade-api/v2/portfolio/balance'),
      { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      Buffer.from(headers['KALSHI-ACCESS-SIGNATURE'], 'base64'),
    );
    expect(ok).toBe(true);
    expect(headers['KALSHI-ACCESS-SIGNATURE']).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
  });

  it('signs the path without its query string and upper-cases the method', () => {
    const ts = 1_700_000_000_000;
    const headers = signRequest(creds, 'get', '/trade-api/v2/portfolio/orders?limit=5&ticker=X', ts);
    expect(
      verifyRequestSignature(publicKey, 'GET', '/trade-api/v2/portfolio/orders', String(ts), headers['KALSHI-ACCESS-SIGNATURE']),
    ).toBe(true);
    // the message that includes the query is NOT what was signed
    const withQuery = verify(
      'sha256',
      Buffer.from(`${ts}GET/trade-api/v2/portfolio/orders?limit=5&ticker=X`),
      { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      Buffer.from(headers['KALSHI-ACCESS-SIGNATURE'], 'base64'),
    );
    expect(withQuery).toBe(false);
  });

  it('signs the WebSocket upgrade path', () => {
    const headers = signRequest(creds, 'GET', WS_SIGN_PATH, 1_700_000_000_123);
    expect(WS_SIGN_PATH).toBe('/trade-api/ws/v2');
    expect(verifyRequestSignature(publicKey, 'GET', WS_SIGN_PATH, '1700000000123', headers['KALSHI-ACCESS-SIGNATURE'])).toBe(true);
  });

  it('refuses a non-integer timestamp', () => {
    expect(() => signRequest(creds, 'GET', '/x', 1.5)).toThrow(/integer ms/);
  });
});

describe('verifyRequestSignature', () => {
  const ts = '1700000000000';
  const path = '/trade-api/v2/portfolio/events/orders';
  const signature = () => signRequest(creds, 'POST', path, Number(ts))['KALSHI-ACCESS-SIGNATURE'];

  it('rejects a changed method, path, timestamp or key', () => {
    const sig = signature();
    expect(verifyRequestSignature(publicKey, 'POST', path, ts, sig)).toBe(true);
    expect(verifyRequestSignature(publicKey, 'DELETE', path, ts, sig)).toBe(false);
    expect(verifyRequestSignature(publicKey, 'POST', `${path}/x`, ts, sig)).toBe(false);
    expect(verifyRequestSignature(publicKey, 'POST', path, '1700000000001', sig)).toBe(false);
    const other = createPublicKey(generateKeyPair().publicKeyPem);
    expect(verifyRequestSignature(other, 'POST', path, ts, sig)).toBe(false);
  });

  it('answers false (never throws) for malformed input', () => {
    expect(verifyRequestSignature(publicKey, 'POST', path, ts, 'not base64!!')).toBe(false);
    expect(verifyRequestSignature(publicKey, 'POST', path, ts, '')).toBe(false);
    expect(verifyRequestSignature(publicKey, 'POST', path, 'abc', signature())).toBe(false);
    expect(verifyRequestSignature(publicKey, 'POST', path, ts, Buffer.from('short').toString('base64'))).toBe(false);
  });

  it("accepts signatures made by kalshi-typescript's own KalshiAuth", () => {
    const auth = new KalshiAuth('key-id', keys.privateKeyPem);
    const headers = auth.generateAuthHeaders('GET', '/trade-api/v2/markets');
    expect(headers['KALSHI-ACCESS-KEY']).toBe('key-id');
    expect(
      verifyRequestSignature(publicKey, 'GET', '/trade-api/v2/markets', headers['KALSHI-ACCESS-TIMESTAMP'], headers['KALSHI-ACCESS-SIGNATURE']),
    ).toBe(true);
  });
});

describe('loadPrivateKey', () => {
  it('loads a PKCS#8 file and a PKCS#1 ("RSA PRIVATE KEY") PEM', () => {
    const file = join(dir, 'kalshi.pem');
    writeFileSync(file, keys.privateKeyPem);
    const fromFile = loadPrivateKey({ path: file });
    expect(fromFile.asymmetricKeyType).toBe('rsa');
    const pkcs1 = fromFile.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toContain('BEGIN RSA PRIVATE KEY');
    const key = loadPrivateKey({ pem: pkcs1 });
    const headers = signRequest(createCredentials('k', key), 'GET', '/p', 1);
    expect(verifyRequestSignature(publicKey, 'GET', '/p', '1', headers['KALSHI-ACCESS-SIGNATURE'])).toBe(true);
  });

  it('accepts inline PEM with literal \\n escapes or without BEGIN/END lines (as env vars carry it)', () => {
    const escaped = keys.privateKeyPem.replace(/\n/g, '\\n');
    expect(loadPrivateKey({ pem: escaped }).asymmetricKeyType).toBe('rsa');
    // every base64 line: the last one can be 20 characters or fewer (secretLines leaves those out)
    const bare = keys.privateKeyPem.split('\n').filter((line) => line !== '' && !line.startsWith('-----')).join('');
    expect(loadPrivateKey({ pem: bare }).asymmetricKeyType).toBe('rsa');
  });

  it('names the path problem without echoing key contents', () => {
    expect(() => loadPrivateKey({ path: join(dir, 'missing.pem') })).toThrow(/missing\.pem.*does not exist/);
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expect(() => loadPrivateKey({ path: sub })).toThrow(/a-directory.*is a directory/);
    const empty = join(dir, 'empty.pem');
    writeFileSync(empty, '  \n');
    expect(() => loadPrivateKey({ path: empty })).toThrow(/empty\.pem.*is empty/);
    expect(() => loadPrivateKey({})).toThrow(/KALSHI_PRIVATE_KEY_PATH/);

    // a corrupted key: the error names the file but contains none of the key's text
    const corrupt = join(dir, 'corrupt.pem');
    // half the body missing: the DER structure no longer parses
    const damaged = keys.privateKeyPem.split('\n').filter((_, i) => i < 3 || i > 12).join('\n');
    writeFileSync(corrupt, damaged);
    let message = '';
    try {
      loadPrivateKey({ path: corrupt });
    } catch (error) {
      message = String(error) + inspect(error);
    }
    expect(message).toMatch(/corrupt\.pem.*not a usable private key/);
    expect(leaksKey(message)).toBe(false);
    expect(secretLines.slice(4, 10).some((line) => message.includes(line))).toBe(false);
  });

  // root reads any file, so the permission check only means something for other users
  it.skipIf(process.getuid?.() === 0)('reports an unreadable file as such', () => {
    const locked = join(dir, 'locked.pem');
    writeFileSync(locked, keys.privateKeyPem);
    chmodSync(locked, 0o000);
    expect(() => loadPrivateKey({ path: locked })).toThrow(/locked\.pem.*not readable/);
  });

  it('rejects non-RSA keys and public keys', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadPrivateKey({ pem: ec })).toThrow(/ec key; Kalshi API keys are RSA or Ed25519/);
    let message = '';
    try {
      loadPrivateKey({ pem: keys.publicKeyPem });
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/not a usable private key/);
    expect(message).not.toContain(keys.publicKeyPem.split('\n')[1]);
  });
});

describe('credentials never reveal the private key', () => {
  it('is redacted in JSON, inspect, string conversion and object spreads', () => {
    const outputs = [
      JSON.stringify(creds),
      JSON.stringify({ nested: { creds } }),
      inspect(creds, { depth: 10, showHidden: true }),
      inspect({ creds }, { depth: 10 }),
      String(creds),
      `${creds}`,
      JSON.stringify({ ...creds }),
      Object.keys(creds).join(','),
    ];
    for (const text of outputs) expect(leaksKey(text)).toBe(false);
    expect(JSON.parse(JSON.stringify(creds))).toEqual({ keyId: creds.keyId, privateKey: '[redacted]' });
    expect(inspect(creds)).toContain('[redacted]');
    expect(Object.keys(creds)).toEqual(['keyId']);
    // the key is still usable
    expect(creds.privateKey.asymmetricKeyType).toBe('rsa');
  });

  it('refuses an empty key id or a public key', () => {
    expect(() => createCredentials('  ', creds.privateKey)).toThrow(/key id is empty/);
    expect(() => createCredentials('k', publicKey)).toThrow(/private key/);
  });
});
