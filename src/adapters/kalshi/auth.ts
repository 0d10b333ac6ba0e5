/**
 * Kalshi credentials for the REST and WebSocket clients: loading the private key (file or inline
 * PEM) and signing requests with the protocol of src/core/request-signature.ts.
 *
 * The private key lives in a KeyObject inside a credentials object that prints as `[redacted]`
 * through JSON, util.inspect and string conversion, so it cannot leak into logs or status output.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { apiKeyTypeOf, signatureOf, verifyRequestSignature, WS_SIGN_PATH, type ApiKeyType } from '../../core/request-signature.ts';

export interface KalshiCredentials {
  keyId: string;
  privateKey: KeyObject;
}

/** The signature protocol itself lives in src/core/request-signature.ts (the simulator verifies with it). */
export { WS_SIGN_PATH, verifyRequestSignature, type ApiKeyType };

const REDACTED = '[redacted]';

class RedactedCredentials implements KalshiCredentials {
  readonly keyId: string;
  declare readonly privateKey: KeyObject;

  constructor(keyId: string, privateKey: KeyObject) {
    this.keyId = keyId;
    // non-enumerable: object spreads, Object.entries and structured logging skip it
    Object.defineProperty(this, 'privateKey', { value: privateKey, enumerable: false, writable: false });
  }

  toJSON(): { keyId: string; privateKey: string } {
    return { keyId: this.keyId, privateKey: REDACTED };
  }

  toString(): string {
    return `KalshiCredentials(${this.keyId}, privateKey: ${REDACTED})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Wraps a key id and a loaded private key in a credentials object that never prints the key. */
export function createCredentials(keyId: string, privateKey: KeyObject): KalshiCredentials {
  if (typeof keyId !== 'string' || keyId.trim() === '') throw new Error('Kalshi API key id is empty');
  if (privateKey.type !== 'private') throw new Error('Kalshi credentials need a private key');
  return new RedactedCredentials(keyId.trim(), privateKey);
}

/**
 * Inline PEM as it arrives from environment variables: literal `\n` sequences, CRLF, or a bare
 * base64 body without the BEGIN/END lines (which the original system also accepted).
 */
function normalisePem(text: string): string {
  const unescaped = text.replace(/\\r/g, '').replace(/\\n/g, '\n').replace(/\r\n?/g, '\n').trim();
  if (unescaped.includes('-----BEGIN')) return `${unescaped}\n`;
  const body = unescaped.replace(/\s+/g, '');
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function parseApiPrivateKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: normalisePem(pem), format: 'pem' });
  } catch (error) {
    // Node's own message never contains key material, but its code is all that is useful here
    const code = error instanceof Error && 'code' in error ? ` (${String(error.code)})` : '';
    throw new Error(
      `${source} is not a usable private key: expected an unencrypted RSA or Ed25519 key in PEM form (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY")${code}`,
    );
  }
  if (apiKeyTypeOf(key) === null) {
    throw new Error(`${source} is a ${key.asymmetricKeyType ?? 'non-asymmetric'} key; Kalshi API keys are RSA or Ed25519`);
  }
  return key;
}

/**
 * Loads the API private key (RSA or Ed25519) from inline PEM text or from a file. Errors name the file and what is
 * wrong with it, never the key's contents.
 */
export function loadPrivateKey(pemOrPath: { pem?: string; path?: string }): KeyObject {
  const { pem, path } = pemOrPath;
  if (pem !== undefined && pem.trim() !== '') return parseApiPrivateKey(pem, 'the inline private key (KALSHI_PRIVATE_KEY)');
  if (path === undefined || path.trim() === '') {
    throw new Error('no Kalshi private key given: set KALSHI_PRIVATE_KEY_PATH (a PEM file) or KALSHI_PRIVATE_KEY');
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    const why =
      code === 'ENOENT' ? 'does not exist'
      : code === 'EACCES' || code === 'EPERM' ? 'is not readable (permission denied)'
      : code === 'EISDIR' ? 'is a directory, not a file'
      : `cannot be read${code ? ` (${code})` : ''}`;
    throw new Error(`private key file ${JSON.stringify(path)} ${why}`);
  }
  if (text.trim() === '') throw new Error(`private key file ${JSON.stringify(path)} is empty`);
  return parseApiPrivateKey(text, `private key file ${JSON.stringify(path)}`);
}

export function signRequest(
  creds: KalshiCredentials,
  method: string,
  path: string,
  timestampMs: number,
): Record<'KALSHI-ACCESS-KEY' | 'KALSHI-ACCESS-TIMESTAMP' | 'KALSHI-ACCESS-SIGNATURE', string> {
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) throw new Error(`signature timestamp must be integer ms, got ${timestampMs}`);
  const timestamp = String(timestampMs);
  return {
    'KALSHI-ACCESS-KEY': creds.keyId,
    'KALSHI-ACCESS-TIMESTAMP': timestamp,
    'KALSHI-ACCESS-SIGNATURE': signatureOf(creds.privateKey, method, path, timestamp),
  };
}

/**
 * A fresh key pair in PEM (SPKI public, PKCS#8 private): RSA-2048 (default) or Ed25519. The keys
 * kalshiflow makes for itself — the simulator's demo key, the one `start` and scripted sessions
 * sign with on the simulator — are Ed25519: it signs ~9× faster than RSA-2048 (bench/signing),
 * and the order path signs every request. Verifying is slower, but that is the exchange's side.
 */
export function generateKeyPair(type: ApiKeyType = 'rsa'): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
