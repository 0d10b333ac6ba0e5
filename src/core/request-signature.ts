/**
 * Kalshi's request-signature protocol, shared by the client (adapters/kalshi/auth.ts signs) and
 * the embedded exchange (sim/server/keys.ts verifies): RSA-PSS, SHA-256, MGF1-SHA-256, 32-byte
 * salt, base64, over `timestamp_ms + METHOD + path-without-query`. Pure computation (node:crypto).
 */
import { constants, sign, verify, type KeyObject } from 'node:crypto';

/** The path Kalshi expects to be signed on the WebSocket upgrade request. */
export const WS_SIGN_PATH = '/trade-api/ws/v2';

/** Digest length of SHA-256; Kalshi's reference signer uses PSS.DIGEST_LENGTH. */
const PSS_SALT_LENGTH = 32;

/** Path part that Kalshi signs: everything before `?` or `#`. */
function signedPath(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

function signatureMessage(timestamp: string, method: string, path: string): Buffer {
  return Buffer.from(timestamp + method.toUpperCase() + signedPath(path), 'utf8');
}

/** The base64 signature of one request. */
export function signatureOf(privateKey: KeyObject, method: string, path: string, timestamp: string): string {
  return sign('sha256', signatureMessage(timestamp, method, path), {
    key: privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: PSS_SALT_LENGTH,
  }).toString('base64');
}

/** Checks a request's signature headers the way Kalshi does. Any malformed input is simply `false`. */
export function verifyRequestSignature(
  publicKey: KeyObject,
  method: string,
  path: string,
  timestampMs: string,
  signatureB64: string,
): boolean {
  if (!/^\d+$/.test(timestampMs)) return false;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64)) return false;
  try {
    return verify(
      'sha256',
      signatureMessage(timestampMs, method, path),
      { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH },
      Buffer.from(signatureB64, 'base64'),
    );
  } catch {
    return false;
  }
}
